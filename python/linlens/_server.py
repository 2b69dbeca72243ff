"""Finding ``bin/linlens`` and running ``linlens serve`` as a child process."""
from __future__ import annotations

import collections
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import weakref
from pathlib import Path
from typing import Deque, List, Optional, Sequence

from .errors import LinlensError

_SERVING = re.compile(r"serving on (http://\S+)")


def find_launcher(launcher: Optional[str] = None) -> str:
    """The ``bin/linlens`` script to run.

    In this order: ``launcher`` if given; ``$LINLENS_HOME/bin/linlens``; a checkout above the
    current folder (a notebook in ``examples/``); a checkout above this package (a source-tree
    install); ``linlens`` on the ``PATH``.
    """
    if launcher:
        if not os.access(launcher, os.X_OK):
            raise LinlensError(f"launcher {launcher} is not an executable file")
        return str(launcher)
    home = os.environ.get("LINLENS_HOME")
    if home:
        script = Path(home) / "bin" / "linlens"
        if not os.access(script, os.X_OK):
            raise LinlensError(f"LINLENS_HOME={home} has no executable bin/linlens")
        return str(script)
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for folder in (start, *start.parents):
            script = folder / "bin" / "linlens"
            if (folder / "pom.xml").is_file() and os.access(script, os.X_OK):
                return str(script)
    on_path = shutil.which("linlens")
    if on_path:
        return on_path
    raise LinlensError("cannot find Linear Lens's bin/linlens: set LINLENS_HOME to its checkout, or pass launcher=")


def cli_error(lines: Sequence[str], fallback: str) -> str:
    """The command line's one-line error (its last ``linlens: ...`` line, prefix removed), else ``fallback``."""
    for line in reversed(lines):
        if line.startswith("linlens: ") and not line.startswith("linlens: building"):
            return line[len("linlens: "):]
    return fallback


class ServerProcess:
    """A ``linlens serve`` on a free loopback port, stopped on :meth:`stop`, on garbage collection or at exit."""

    def __init__(self, launcher: str, models: Sequence[str], threads: Optional[int] = None,
                 max_tokens: Optional[int] = None, java_opts: Optional[str] = None,
                 startup_timeout: float = 900.0):
        cmd: List[str] = [launcher, "serve", "--host", "127.0.0.1", "--port", "0"]
        for m in models:
            cmd += ["--model", str(m)]
        if threads is not None:
            cmd += ["--threads", str(threads)]
        if max_tokens is not None:
            cmd += ["--max-tokens", str(max_tokens)]
        env = dict(os.environ)
        if java_opts is not None:
            env["LINLENS_JAVA_OPTS"] = java_opts
        self.command = cmd
        self.log: Deque[str] = collections.deque(maxlen=200)
        # a session of its own: Ctrl-C in a terminal interrupts Python (which cancels the job), not the server
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, encoding="utf-8", errors="replace", env=env, start_new_session=True)
        self._finalizer = weakref.finalize(self, _stop, self._proc)
        urls: "queue.Queue[Optional[str]]" = queue.Queue()
        self._stderr_done = threading.Event()
        # the readers hold the process and the log, not this object: dropping the last Lens stops the server
        threading.Thread(target=_read_stdout, args=(self._proc, urls), daemon=True, name="linlens-serve-stdout").start()
        threading.Thread(target=_read_stderr, args=(self._proc, self.log, self._stderr_done), daemon=True,
                         name="linlens-serve-stderr").start()
        try:
            url = urls.get(timeout=startup_timeout)
        except queue.Empty:
            self.stop()
            raise LinlensError(f"linlens serve did not start within {startup_timeout:.0f} s") from None
        except BaseException:
            self.stop()
            raise
        if url is None:
            self._proc.wait()
            self._stderr_done.wait(5)
            message = cli_error(list(self.log), f"linlens serve exited with status {self._proc.returncode}")
            self.stop()
            raise LinlensError(message)
        self.url = url

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.poll() is None

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after 20 s); idempotent."""
        self._finalizer()


def _read_stdout(proc: subprocess.Popen, urls: "queue.Queue[Optional[str]]") -> None:
    assert proc.stdout is not None
    for line in proc.stdout:
        m = _SERVING.search(line)
        if m:
            urls.put(m.group(1))
    proc.stdout.close()
    urls.put(None)  # ended without an address: the process has exited


def _read_stderr(proc: subprocess.Popen, log: Deque[str], done: threading.Event) -> None:
    assert proc.stderr is not None
    for line in proc.stderr:
        log.append(line.rstrip("\n"))
    proc.stderr.close()
    done.set()


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_until(predicate, timeout: float, interval: float = 0.05) -> bool:
    """Polls ``predicate`` until it is true or ``timeout`` seconds have passed."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
