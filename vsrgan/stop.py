"""Stopping on a signal: SIGINT (Ctrl-C), SIGTERM and SIGHUP all end a job the same way.

SIGTERM is what ``timeout``, ``docker stop``, systemd and batch schedulers send; SIGHUP comes
when the terminal goes away. :func:`handle_signals` (the CLI installs it) turns each into
:class:`Stopped`, a ``KeyboardInterrupt``, so the code that cleans up after Ctrl-C (temporary
files removed, threads stopped) cleans up after them too, and the CLI exits 128 + the signal's
number. A job that must stop between two steps instead (training: at a step boundary, with a
checkpoint) asks in :func:`at_step_boundaries` and polls :func:`requested`; a second signal
there stops it at once.
"""

import contextlib
import signal
from collections.abc import Iterator

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class Stopped(KeyboardInterrupt):
    """A job stopped by ``signum``; ``note`` says what was kept (default: nothing)."""

    def __init__(self, signum: int, note: str = "no output was written"):
        super().__init__(signal.Signals(signum).name)
        self.signum, self.note = signum, note

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_deferring = 0  # how many at_step_boundaries blocks are open
_pending: int | None = None  # the signal received while deferring


def _on_signal(signum: int, frame) -> None:
    global _pending
    if _deferring and _pending is None:
        _pending = signum
        return
    raise Stopped(signum)


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Raise :class:`Stopped` on SIGINT, SIGTERM and SIGHUP inside the block (main thread only).

    A signal the process was started to ignore (``nohup`` ignores SIGHUP) stays ignored.
    """
    previous = {}
    for signum in SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, _on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def at_step_boundaries() -> Iterator[None]:
    """Inside the block the first signal is only recorded, for :func:`requested` to report."""
    global _deferring, _pending
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if not _deferring:
            _pending = None


def requested() -> int | None:
    """The signal received inside :func:`at_step_boundaries`, if any."""
    return _pending
