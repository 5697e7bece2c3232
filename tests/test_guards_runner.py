"""The private parts of jupyter_client and papermill that labbook.runner.guards touches: each test
exercises the behaviour relied on against the installed library (a real kernel, a real papermill
run), so an upgrade that moves it fails here, naming the guard, not as a hung or silent build."""

import asyncio
import json
from queue import Empty
from types import SimpleNamespace

import jupyter_client
import nbformat
import papermill
import pytest
from jupyter_client._version import protocol_version_info
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from labbook import paths
from labbook.runner import kernelpool
from labbook.runner.guards import jupyter_client as jc_guard
from labbook.runner.guards import papermill as pm_guard

JC = (
    f"jupyter_client {jupyter_client.__version__} changed under "
    "labbook.runner.guards.jupyter_client"
)
PM = f"papermill {papermill.__version__} changed under labbook.runner.guards.papermill"
GENEROUS = 300  # seconds: the limit of every step that is not the one under test


@pytest.fixture(autouse=True)
def no_pool(monkeypatch):
    """Kernels start as ordinary kernels here, never through a build's fork server."""
    monkeypatch.delenv(kernelpool.SOCKET_ENV, raising=False)


# ---------------------------------------------------------------- jupyter_client


@pytest.mark.parametrize("stated,adapted", [("4.1", 4), (f"{protocol_version_info[0]}.9", 0)])
def test_kernel_info_reply_adapts_the_session_to_the_kernels_protocol(stated, adapted):
    client = AsyncKernelClient()
    assert client.session.adapt_version == 0, JC
    jc_guard.adopt_kernel_info(client, {"content": {"protocol_version": stated}})
    assert client.session.adapt_version == adapted, (
        f"{JC}: KernelClient._handle_kernel_info_reply no longer sets session.adapt_version to "
        f"the kernel's major protocol version ({stated} -> {adapted})"
    )


class _SilentKernel:
    """A kernel client whose kernel never answers kernel_info; alive or dead as told."""

    def __init__(self, alive: bool):
        self.alive, self.asked = alive, 0
        self.shell_channel = self.iopub_channel = self

    def kernel_info(self):
        self.asked += 1

    async def get_msg(self, timeout=None):
        await asyncio.sleep(min(timeout or 0, 0.01))
        raise Empty

    async def is_alive(self):
        return self.alive


def test_kernel_start_is_bounded_and_says_what_did_not_happen(monkeypatch):
    """The guard's clock advances 0.25 s each time it is read, whatever the machine's load: the
    1 s limit passes after the same number of questions every time."""
    now = [0.0]

    def clock():
        now[0] += 0.25
        return now[0]

    monkeypatch.setattr(jc_guard, "time", SimpleNamespace(monotonic=clock))
    silent = _SilentKernel(alive=True)
    with pytest.raises(jc_guard.KernelStartError, match=r"did not answer kernel_info within 1 s"):
        asyncio.run(jc_guard.wait_for_ready(silent, timeout=1))
    assert silent.asked == 5  # deadline 0.25 + 1 s; the clock reads 1.5 s after the fifth question
    with pytest.raises(jc_guard.KernelStartError, match=r"died before it answered kernel_info"):
        asyncio.run(jc_guard.wait_for_ready(_SilentKernel(alive=False), timeout=30))


def test_a_real_kernel_starts_answers_and_shuts_down_through_the_guards(monkeypatch):
    """The build's kernel manager on the project kernel: ready through guard.wait_for_ready (which
    hands the reply to _handle_kernel_info_reply), then shut down through _async_finish_shutdown
    with the guard's poll interval; the kernel's process is gone afterwards."""
    polls = []
    original = AsyncKernelManager._async_wait

    async def spy(self, pollinterval=0.1):
        polls.append(pollinterval)
        await original(self, pollinterval=pollinterval)

    monkeypatch.setattr(AsyncKernelManager, "_async_wait", spy)

    async def session():
        km = kernelpool.kernel_manager_class()(kernel_name=paths.KERNEL_NAME)
        await km.start_kernel(cwd=str(paths.ROOT))
        client = km.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=GENEROUS)
            reply = await client.execute_interactive("x = 6 * 7", timeout=GENEROUS)
            assert reply["content"]["status"] == "ok"
            assert client.session.adapt_version == 0  # the kernel speaks the current protocol
        finally:
            client.stop_channels()
            await km.shutdown_kernel()
        return km

    km = asyncio.run(session())
    assert polls and set(polls) == {jc_guard.SHUTDOWN_POLL}, (
        f"{JC}: shutdown_kernel no longer waits through _async_finish_shutdown's pollinterval "
        f"(polled with {polls})"
    )
    assert not km.has_kernel, f"{JC}: the kernel still runs after shutdown_kernel"


# ---------------------------------------------------------------- papermill


def _notebook(tmp_path, *sources: str):
    path = tmp_path / "in.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {
        "name": paths.KERNEL_NAME,
        "language": "python",
        "display_name": "k",
    }
    nbformat.write(nb, path)
    return path


def _execute(src, out, short: str | None = None):
    """Run *src* through the build's engine into *out*. The cell whose source is *short* may run
    3 s (the step under test); every other cell, and the kernel's start, GENEROUS seconds."""
    papermill.execute_notebook(
        str(src),
        str(out),
        engine_name=pm_guard.engine_name(),
        request_save_on_cell_execute=False,
        partial_path=str(out),
        kernel_name=paths.KERNEL_NAME,
        execution_timeout=GENEROUS,
        start_timeout=GENEROUS,
        timeout_func=lambda cell: 3 if cell.source == short else GENEROUS,
        progress_bar=False,
        kernel_manager_class=kernelpool.kernel_manager_class(),
    )


def test_the_executed_notebook_is_written_once_at_the_end(tmp_path):
    out = tmp_path / "out.ipynb"
    src = _notebook(tmp_path, f"import os\n\nprint(os.path.exists({str(out)!r}))", "y = 2")
    _execute(src, out)
    cells = nbformat.read(out, as_version=4).cells
    printed = "".join(o.get("text", "") for o in cells[0].outputs)
    assert printed.strip() == "False", f"{PM}: the notebook was written while its cells ran"
    assert [c.execution_count for c in cells] == [1, 2], PM


@pytest.mark.parametrize(
    "last,error",
    [("import time\n\ntime.sleep(600)", CellTimeoutError), ("import os\n\nos._exit(3)", None)],
    ids=["timeout", "dead kernel"],
)
def test_a_stopped_run_raises_nbclients_own_error_and_keeps_the_cells_before(tmp_path, last, error):
    """Only the sleeping cell has a short limit: the first cell, a dead kernel's detection and
    the kernel's start keep generous ones on a busy machine."""
    error = error or DeadKernelError
    out = tmp_path / "out.ipynb"
    src = _notebook(tmp_path, "print('first cell ran')", last)
    with pytest.raises(Exception) as raised:
        _execute(src, out, short="import time\n\ntime.sleep(600)")
    assert type(raised.value) is error, (
        f"{PM}: execute_notebook raised {type(raised.value).__name__}, not nbclient's "
        f"{error.__name__} (the build tells a timeout from a dead kernel by this type)"
    )
    assert out.exists(), (
        f"{PM}: nothing written after {error.__name__}: notebook_complete() no longer saves "
        "nb_man.nb to nb_man.output_path set while the exception passed"
    )
    cells = json.loads(out.read_text())["cells"]
    assert "first cell ran" in json.dumps(cells[0]["outputs"]), PM
