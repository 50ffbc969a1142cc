"""Ctrl+C, remembered even when a library swallowed it.

Python turns Ctrl+C into a KeyboardInterrupt at the next line it runs. Inside DuckDB that
becomes an interrupted query, but a signal that lands while DuckDB checks signals for its own
reasons can be dropped, and the import would then go on to commit as if nothing happened. The
command line installs `remember` as the handler: it notes the interrupt before raising it, and
code about to make work permanent calls `check()` first.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

_seen = threading.Event()


def remember(signum: int, frame: FrameType | None) -> None:
    """The SIGINT handler: note it, then raise KeyboardInterrupt as Python's own does."""
    _seen.set()
    signal.default_int_handler(signum, frame)


def install() -> None:
    """Handle SIGINT with `remember` (only the main thread may install a handler)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, remember)


def check() -> None:
    """Raise KeyboardInterrupt when Ctrl+C was pressed, whatever became of its exception."""
    if _seen.is_set():
        raise KeyboardInterrupt
