"""Stopping on a signal: SIGINT (Ctrl-C), SIGTERM and SIGHUP all end a job the same way.

SIGTERM is what ``timeout``, ``docker stop``, systemd and batch schedulers send; SIGHUP comes
when the terminal goes away. :func:`handle_signals` (the CLI installs it) turns each into
:class:`Stopped`, a ``KeyboardInterrupt``, so the code that cleans up after Ctrl-C (temporary
files removed, threads stopped) cleans up after them too, and the CLI exits 128 + the signal's
number. A job that must stop between two steps instead (training: at a step boundary, with a
checkpoint) asks in :func:`at_step_boundaries` and polls :func:`requested`; a second signal
there stops it at once.

A signal whose handler runs while FFmpeg is calling back into Python (PyAV's log callback, on
the main thread while it opens or writes a file) has its ``Stopped`` printed and dropped there,
since a C callback cannot pass an exception on. :func:`check` raises it again: the frame loop and
the final rename ask, so such a signal still stops the job and no output is written.
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
_received: int | None = None  # the signal that raised Stopped inside handle_signals, kept in case it was dropped


def _on_signal(signum: int, frame) -> None:
    global _pending, _received
    if _deferring and _pending is None:
        _pending = signum
        return
    _received = signum
    raise Stopped(signum)


def check() -> None:
    """Raise :class:`Stopped` again for a signal already handled, in case its exception was dropped."""
    if _received is not None:
        raise Stopped(_received)


@contextlib.contextmanager
def handle_signals() -> Iterator[None]:
    """Raise :class:`Stopped` on SIGINT, SIGTERM and SIGHUP inside the block (main thread only).

    A signal the process was started to ignore (``nohup`` ignores SIGHUP) stays ignored.
    """
    global _received
    _received = None
    previous = {}
    for signum in SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            previous[signum] = signal.signal(signum, _on_signal)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _received = None


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
