"""The private parts of jupyter_client the runner's kernels rely on, and nothing else.

The build's kernel manager (labbook.runner.kernelpool) waits for a kernel without jupyter_client's
fixed pauses. That reaches into two private methods, used only here:

- ``KernelClient._handle_kernel_info_reply(msg)``: adapts the client's session to the protocol
  version the kernel states in its kernel_info reply (jupyter_client's own wait_for_ready calls it
  when the kernel first answers; ``wait_for_ready`` below does what it does, without the pause).
- ``KernelManager._async_finish_shutdown(waittime, pollinterval, restart)``: after a shutdown
  request, polls the kernel every *pollinterval* seconds, sends SIGTERM at half of *waittime* and
  SIGKILL at its end. ``QuickShutdown`` only lowers the default poll interval.

tests/test_guards_runner.py exercises both behaviours and fails naming this module when a
jupyter_client release changes them.
"""

import time
from queue import Empty

START_TIMEOUT = 60.0  # seconds a kernel may take to answer kernel_info when no timeout is given
SHUTDOWN_POLL = 0.01  # seconds between checks that a kernel asked to shut down has ended
DRAIN_WAIT = 0.005  # seconds of IOPub silence that end the start-up messages


class KernelStartError(RuntimeError):
    """The kernel did not become ready: it died, or did not answer kernel_info in time."""


def adopt_kernel_info(client, reply: dict) -> None:
    """Adapt *client*'s session to the protocol version in the kernel_info *reply* (private)."""
    client._handle_kernel_info_reply(reply)


async def wait_for_ready(client, timeout: float | None = None) -> None:
    """jupyter_client's wait_for_ready without its closing pause: ask for kernel_info until the
    kernel replies and one IOPub message proves the IOPub subscription is live (ZMQ drops what is
    published before it is), then take what IOPub already holds and return. Start-up messages
    arriving later are ignored by nbclient, which reads only replies to its own requests.

    Bounded: raises KernelStartError when the kernel dies first or gives no reply within *timeout*
    seconds (START_TIMEOUT when None)."""
    from jupyter_client.utils import ensure_async

    limit = START_TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + limit
    while True:
        client.kernel_info()
        try:
            msg = await ensure_async(client.shell_channel.get_msg(timeout=1))
        except Empty:
            msg = None
        if msg is not None and msg["msg_type"] == "kernel_info_reply":
            try:
                await ensure_async(client.iopub_channel.get_msg(timeout=0.2))
            except Empty:
                pass  # IOPub not connected yet: ask again
            else:
                adopt_kernel_info(client, msg)
                break
        if not await ensure_async(client.is_alive()):
            raise KernelStartError("kernel start: the kernel died before it answered kernel_info")
        if time.monotonic() > deadline:
            raise KernelStartError(
                f"kernel start: the kernel did not answer kernel_info within {limit:g} s"
            )
    while time.monotonic() <= deadline:
        try:
            await ensure_async(client.iopub_channel.get_msg(timeout=DRAIN_WAIT))
        except Empty:
            return


class QuickShutdown:
    """Mixin for an AsyncKernelManager: a kernel asked to shut down is checked every
    SHUTDOWN_POLL seconds instead of jupyter_client's 0.1 s. The wait stays bounded by the
    manager's shutdown_wait_time (5 s): SIGTERM at half of it, SIGKILL at its end."""

    async def _async_finish_shutdown(
        self, waittime=None, pollinterval=SHUTDOWN_POLL, restart=False
    ):
        await super()._async_finish_shutdown(waittime, pollinterval, restart)
