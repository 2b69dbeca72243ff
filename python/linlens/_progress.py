"""A text progress bar for Jupyter and terminals (no tqdm): redrawn in place where it can be."""
from __future__ import annotations

import sys
import time
from typing import Any, Callable, Optional, Union

ProgressCallback = Callable[[str, int, int], None]
ProgressOption = Union[bool, ProgressCallback, None]

WIDTH = 24


def bar(fraction: float) -> str:
    filled = int(round(max(0.0, min(1.0, fraction)) * WIDTH))
    return "[" + "#" * filled + "." * (WIDTH - filled) + "]"


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def line(title: str, stage: str, done: int, total: int, elapsed: float, finished: bool = False) -> str:
    fraction = 1.0 if finished else done / total if total > 0 else 0.0
    count = f" {done}/{total}" if total > 1 else ""
    return f"{title} {bar(fraction)} {100 * fraction:3.0f}%  {stage}{count}  {duration(elapsed)}"


def _kernel() -> bool:
    """Whether this runs in a Jupyter kernel (where a display can be updated in place)."""
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()  # type: ignore[attr-defined]
    except Exception:
        return False
    return ip is not None and getattr(ip, "kernel", None) is not None


class Progress:
    """Shows ``title [####....] 52%  stage done/total  12 s``.

    In a Jupyter kernel one output updated in place (a display with an id); on a terminal one
    line redrawn with a carriage return; elsewhere (a pipe, a log) a line per stage. ``option``
    False shows nothing; a callable is called with ``(stage, done, total)`` instead.
    """

    def __init__(self, title: str, option: ProgressOption = True):
        self.title = title
        self.callback: Optional[ProgressCallback] = option if callable(option) else None
        self.enabled = bool(option) and self.callback is None
        self.start = time.monotonic()
        self._last_text: Optional[str] = None
        self._last_stage: Optional[str] = None
        self._last_draw = 0.0
        self._handle: Any = None
        self._mode = "off"
        if self.enabled:
            if _kernel():
                self._mode = "kernel"
            elif getattr(sys.stderr, "isatty", lambda: False)():
                self._mode = "tty"
            else:
                self._mode = "lines"

    def update(self, stage: str, done: int, total: int, force: bool = False, finished: bool = False) -> None:
        if self.callback is not None:
            self.callback(stage, done, total)
            return
        if self._mode == "off":
            return
        now = time.monotonic()
        text = line(self.title, stage, done, total, now - self.start, finished)
        if self._mode == "lines":
            if stage != self._last_stage:
                print(text, file=sys.stderr, flush=True)
                self._last_stage = stage
            return
        # at most 5 redraws a second: a notebook keeps every update of a stream
        if not force and (text == self._last_text or now - self._last_draw < 0.2):
            return
        self._last_text, self._last_draw = text, now
        if self._mode == "kernel":
            from IPython.display import display  # present: this is a kernel
            if self._handle is None:
                self._handle = display(_Text(text), display_id=True)
            else:
                self._handle.update(_Text(text))
        else:
            sys.stderr.write("\r" + text + "\033[K")
            sys.stderr.flush()

    def close(self, stage: str, done: int, total: int) -> None:
        """The final state, drawn whatever the rate limit."""
        self.update(stage, done, total, force=True, finished=stage == "done")
        if self._mode == "tty":
            sys.stderr.write("\n")
            sys.stderr.flush()


class _Text:
    """Plain text for a display (no IPython import needed to make one)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text
