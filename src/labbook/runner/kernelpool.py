"""Fresh notebook kernels and report runners without paying for start-up and imports each time:
a fork server.

    python -m labbook.runner.kernelpool serve SOCKET --entry MODULE:FUNCTION [--preload MODULE ...]
    python -m labbook.runner.kernelpool launch -f CONNECTION_FILE   # a report's kernel manager
    (`make figures` starts the server through `labbook.runner.build pool`, which names the modules
    to preload and the entry point a runner child calls; `build run` asks it for a runner through
    `run_forked`)

The server imports the modules it is given (the heavy libraries every report uses) once, then
waits; it imports nothing of labbook's by itself. For each
request it forks: the child is a pristine copy of that process — nothing from any report was ever
run in it. A kernel child takes the report's environment and working directory and becomes an
IPython kernel on the given connection file; it is used by one report and exits at its end, never
reused, so every report still runs in a fresh kernel process. A runner child takes the caller's
standard streams, environment and working directory and calls the entry point with the request's
arguments (the build's, which runs the report in that process and never forwards it again);
the caller waits for its exit status, and the runner ends when the caller does. The launcher is
the process jupyter_client watches: it forwards interrupts to the kernel and exits when the
kernel does.
Without a server (an interactive session, a single `labbook.runner.build run`) the launcher
becomes an ordinary kernel and the build runs in its own process.

No wait here is unbounded: a request that does not arrive whole within RECEIVE_TIMEOUT is dropped
by the server; a caller that gets no answer within ANSWER_TIMEOUT says so (a report is then built
in the caller's own process, a kernel launch fails naming the server); a kernel ends when its
launcher does, a launcher ends its kernel when its kernel manager is gone, and a runner ends when
its caller does.
"""

import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

SOCKET_ENV = "LABBOOK_KERNEL_POOL"  # the server's socket path, set by make for a build
RECEIVE_TIMEOUT = 10.0  # seconds the server waits for a request to arrive whole
ANSWER_TIMEOUT = 30.0  # seconds a caller waits for the server to fork what it asked for


def _kernel(argv: list[str]) -> None:
    """Become an IPython kernel with *argv* (e.g. ["-f", connection_file]); does not return."""
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(argv=argv)
    os._exit(0)


def _child(request: dict, conn: socket.socket) -> None:
    """In the forked child: take the report's environment, cwd and stdio, then run the kernel. The
    child stays in the build's process group and dies with the server (a killed build leaves no
    kernel behind), and with its launcher, which holds the other end of *conn* (a launcher killed
    by its kernel manager leaves no kernel behind)."""
    threading.Thread(target=_end_with_launcher, args=(conn,), daemon=True).start()
    os.register_at_fork(after_in_child=conn.close)  # the kernel's own forks do not hold it
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    devnull = os.open(os.devnull, os.O_RDWR)
    log = (
        os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if request.get("log")
        else devnull
    )
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        _kernel(request["argv"])
    finally:
        os._exit(1)


def _end_with_launcher(conn: socket.socket) -> None:
    """In a kernel: wait until the launcher closes its end (it exited or was killed), then end."""
    try:
        while conn.recv(64):
            pass
    except OSError:
        pass
    os._exit(1)


def _end_with_caller(conn: socket.socket) -> None:
    """In a runner: wait until the caller closes its end (it exited or was killed), then end the
    runner the way the caller ended: a report is never built for nobody."""
    try:
        while conn.recv(64):
            pass
    except OSError:
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def resolve_entry(entry: str):
    """The function named by *entry* ("package.module:function")."""
    import importlib

    module, _, function = entry.partition(":")
    if not module or not function:
        raise ValueError(f"entry point must be MODULE:FUNCTION, not {entry!r}")
    return getattr(importlib.import_module(module), function)


def _runner(request: dict, fds: list[int], conn: socket.socket, entry) -> None:
    """In the forked child: call *entry* with the request's arguments, on the caller's streams,
    environment and cwd, then send the exit status back on *conn*; does not return."""
    rc = 1
    try:
        conn.sendall(f"{os.getpid()}\n".encode())  # the caller's proof that a runner started
        try:
            import ctypes

            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        threading.Thread(target=_end_with_caller, args=(conn,), daemon=True).start()
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
        sys.stdin, sys.stdout, sys.stderr = (
            os.fdopen(os.dup(i), m, buffering=1 if i else -1)
            for i, m in ((0, "r"), (1, "w"), (2, "w"))
        )
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        rc = entry(request["argv"])
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        try:
            conn.sendall(f"{rc}\n".encode())
        finally:
            os._exit(rc if isinstance(rc, int) else 1)


def run_forked(argv: list[str]) -> int | None:
    """Have the server of this build call its entry point with *argv* in a forked runner; None
    when no server runs, or when it does not start a runner within ANSWER_TIMEOUT seconds (said on
    stderr; the caller then runs it itself, and its kernel is not asked from that server either).
    Returns the runner's exit status; the wait for it lasts as long as the runner runs."""
    path = os.environ.get(SOCKET_ENV)
    if not path:
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with conn:
        conn.settimeout(ANSWER_TIMEOUT)
        try:
            conn.connect(path)
        except OSError:
            return None
        request = {"kind": "report", "argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
        sys.stdout.flush()
        sys.stderr.flush()
        answers = conn.makefile("r")
        try:
            socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
            started = answers.readline()
        except OSError:  # a timeout (socket.timeout is an OSError) or a server that went away
            started = ""
        if not started.strip():
            print(
                f"the build's fork server ({path}) did not start a runner within "
                f"{ANSWER_TIMEOUT:g} s: building {' '.join(argv[1:2])} in this process",
                file=sys.stderr,
                flush=True,
            )
            os.environ.pop(SOCKET_ENV, None)
            return None
        conn.settimeout(None)  # the runner is running: its status comes when it ends
        try:
            answer = answers.readline()
        except OSError:
            answer = ""
    if not answer.strip():
        print(
            f"the runner of {' '.join(argv[1:2])} (pid {started.strip()}) ended without an exit "
            "status: it was killed",
            file=sys.stderr,
            flush=True,
        )
        return 1
    return int(answer)


def serve(path: str, entry: str, preload: tuple[str, ...] = ()) -> None:
    """Import *preload*, then fork a kernel or a runner (which calls *entry*) for every request on
    the UNIX socket *path* until SIGTERM. At its end it kills only its children that still run:
    each is removed from the list when it is reaped, so a PID the system gave to another process
    since is never signalled."""
    import importlib

    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # debugpy's import-time notice
    for name in preload:
        importlib.import_module(name)
    call = resolve_entry(entry)
    warm = getattr(importlib.import_module(call.__module__), "warm", None)
    if warm is not None:
        warm()  # e.g. the build compiles its HTML templates once, here
    children = Children()
    signal.signal(signal.SIGCHLD, lambda *_: children.reap())

    def stop(*_):
        killed = children.kill_all()
        if killed:
            print(
                f"labbook fork server: stopped {len(killed)} child(ren) still running "
                f"(pid {', '.join(map(str, killed))})",
                file=sys.stderr,
                flush=True,
            )
        Path(path).unlink(missing_ok=True)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    Path(path).unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    while True:
        try:
            conn, _ = server.accept()
        except InterruptedError:
            continue
        with conn:
            try:
                conn.settimeout(RECEIVE_TIMEOUT)
                request, fds = _receive(conn)
                conn.settimeout(None)  # the child inherits the socket: it waits on it unbounded
            except (OSError, ValueError) as exc:  # a timeout is an OSError; bad JSON a ValueError
                print(f"labbook fork server: a request was dropped: {exc}", file=sys.stderr)
                continue
            pid = children.fork()
            if pid == 0:
                server.close()
                if request.get("kind") == "report":
                    _runner(request, fds, conn, call)
                _child(request, conn)
            for fd in fds:
                os.close(fd)
            if request.get("kind") != "report":
                try:
                    conn.sendall(f"{pid}\n".encode())
                except OSError:  # the launcher went away: its kernel ends with it
                    pass


class Children:
    """The server's live children: a PID is added when forked and removed when reaped (SIGCHLD is
    held between the fork and the add, so a child that ends at once is still removed)."""

    def __init__(self):
        self.pids: set[int] = set()

    def fork(self) -> int:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        try:
            pid = os.fork()
            if pid:
                self.pids.add(pid)
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
        return pid

    def reap(self) -> None:
        """Collect every child that ended and forget it."""
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid <= 0:
                return
            self.pids.discard(pid)

    def kill_all(self) -> list[int]:
        """SIGKILL every child not yet reaped (they are ours: unreaped PIDs are never reused);
        returns their PIDs, sorted."""
        self.reap()
        killed = sorted(self.pids)
        for pid in killed:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return killed


def _receive(conn: socket.socket) -> tuple[dict, list[int]]:
    """One request (a JSON line) and the file descriptors sent with it (closed again when the
    request does not arrive whole)."""
    msg, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    try:
        while msg and not msg.endswith(b"\n"):
            more = conn.recv(1 << 16)
            if not more:
                break
            msg += more
        return json.loads(msg.decode()), list(fds)
    except BaseException:
        for fd in fds:
            os.close(fd)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def launch(argv: list[str]) -> None:
    """Start a kernel for *argv*: forked by the server when one runs, else in this process.

    With a server, this process stands for the kernel as long as both live: it forwards SIGINT
    and SIGTERM to it and exits when it ends; it ends the kernel when its own parent (the kernel
    manager) is gone; the kernel ends when this process does (it holds the connection). A server
    that does not start the kernel within ANSWER_TIMEOUT seconds fails the launch, naming it."""
    path = os.environ.get(SOCKET_ENV)
    conn = None
    if path:
        try:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(ANSWER_TIMEOUT)
            conn.connect(path)
        except OSError:
            conn = None
    if conn is None:
        _kernel(argv)
        return
    manager = os.getppid()
    env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
    request = {
        "kind": "kernel",
        "argv": argv,
        "env": env,
        "cwd": os.getcwd(),
        "log": env.get("LABBOOK_KERNEL_LOG"),
    }
    try:
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [])
        pid = int(conn.makefile("r").readline())
    except (OSError, ValueError):  # no answer in time (an OSError), or none at all
        raise SystemExit(
            f"kernel launch: the build's fork server ({path}) did not start a kernel within "
            f"{ANSWER_TIMEOUT:g} s"
        ) from None

    def forward(signum, _frame):
        try:
            os.kill(pid, signum)
        except OSError:
            pass
        if signum == signal.SIGTERM:
            sys.exit(0)

    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, forward)
    while _alive(pid):
        if os.getppid() != manager:  # the kernel manager is gone: nobody will shut the kernel
            forward(signal.SIGTERM, None)
        time.sleep(0.05)
    conn.close()


def kernel_manager_class():
    """A jupyter_client KernelManager that starts kernels through `launch` (the pool when one
    runs); papermill passes it to nbclient. Its client and shutdown wait for the kernel, not for
    fixed pauses: jupyter_client's wait_for_ready ends with 0.2 s of listening for more start-up
    messages, and its shutdown polls every 0.1 s — together a third of a second of idle CPU per
    report, where a light report takes three. Both reach into jupyter_client's private parts,
    through labbook.runner.guards.jupyter_client only; both are bounded (start: nbclient's
    startup timeout; shutdown: the manager's shutdown_wait_time, then SIGKILL)."""
    from jupyter_client.asynchronous.client import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    from labbook.runner.guards import jupyter_client as guard

    class ReadyClient(AsyncKernelClient):
        wait_for_ready = guard.wait_for_ready

    # asynchronous, as nbclient expects: with a blocking client, nbclient's wait for IOPub output
    # blocks its event loop for as long as a cell runs, and neither the per-cell timeout nor the
    # check for a dead kernel ever fires
    class PooledKernelManager(guard.QuickShutdown, AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            i = cmd.index("-f")
            # no IPython history: a report's kernel is used once, and every kernel of a build
            # would otherwise write each cell into the one history database
            return [
                sys.executable,
                "-m",
                "labbook.runner.kernelpool",
                "launch",
                *cmd[i:],
                "--HistoryManager.enabled=False",
            ]

        @default("client_factory")
        def _client_factory_default(self):
            return ReadyClient

    return PooledKernelManager


def main(argv: list[str] | None = None) -> int:
    import argparse

    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["launch"]:  # the kernel's own arguments follow, as jupyter_client gives them
        launch(args[1:])
        return 0
    parser = argparse.ArgumentParser(prog="python -m labbook.runner.kernelpool")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the fork server on a UNIX socket")
    p_serve.add_argument("socket")
    p_serve.add_argument("--entry", required=True, help="MODULE:FUNCTION a runner child calls")
    p_serve.add_argument("--preload", nargs="*", default=[], help="modules imported once")
    sub.add_parser("launch", help="start a kernel (through the server when one runs): -f FILE")
    opts = parser.parse_args(args)
    serve(opts.socket, opts.entry, tuple(opts.preload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
