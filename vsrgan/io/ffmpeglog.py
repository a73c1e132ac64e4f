"""FFmpeg's log, collected while a block runs: the one owner of PyAV's log level and captures.

PyAV's log level and its captures are process-wide. ``av.logging.set_level`` installs a callback
that takes the GIL from whichever FFmpeg thread logs, and ``Capture.__exit__`` pops the *last*
capture, not its own. Blocks that each saved the level, set it and restored it (a reader's
:func:`vsrgan.io.damage.watch`, the encoder's :func:`vsrgan.io.encoding.ffmpeg_errors`) broke when
they ended out of order (two readers, a reader closed later by the garbage collector, blocks on
two threads): the first to end switched the log off under the other, the last left it on for good,
and each took the other's messages. Here every block goes through :func:`collect`:

- the level is the most verbose any open block asks for; the last block to end restores the
  level it found (None, PyAV's default: the log off, no callback into Python);
- a message logged on a thread with an open block is that thread's innermost block's (the encoder's
  refusal goes to the encoder's block); one logged on any other thread (FFmpeg's own decoding
  threads) goes to every open block that takes ``other_threads`` (a reader's watch). FFmpeg does not
  say which decoder a worker thread's message is from, so two readers open at once both count it.

PyAV appends messages to the captures' lists itself; they are handed out under the lock whenever
a block opens or ends, when the thread's innermost block, and the set of open blocks, are the ones
that were open while those messages came.

With the log on, freeing a frame-threaded decoder that is still decoding can deadlock (PyAV
#751, #1849): the free holds the GIL and waits for a worker thread that waits for the GIL in the
log callback. Readers stop their decoders first (:func:`vsrgan.io.video.stop_decoding`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

try:
    import av
    import av.logging
except ImportError:  # see vsrgan.io.video
    av = None


@dataclass(eq=False)
class _Block:
    level: int  # the least severe message kept (FFmpeg's scale: ERROR 16 < WARNING 24 < INFO 32)
    other_threads: bool  # also messages from threads with no block of their own
    thread: int  # the thread that opened it
    messages: list[str] = field(default_factory=list)

    def take(self, logs: list[tuple[int, str, str]]) -> None:
        self.messages.extend(text.strip() for level, _, text in logs if level <= self.level)


@dataclass(eq=False)
class _Thread:
    capture: object  # av.logging.Capture(local=True): this thread's messages
    blocks: list[_Block] = field(default_factory=list)  # open, innermost last
    seen: int = 0  # messages of capture.logs already handed out


_lock = threading.RLock()  # reentrant: a reader closed by the garbage collector inside a block's bookkeeping
_blocks: list[_Block] = []  # open, on every thread
_threads: dict[int, _Thread] = {}
_shared = None  # av.logging.Capture(local=False): messages from threads without a block
_shared_seen = 0
_found_level = None  # PyAV's level before the first block opened


def _hand_out() -> None:
    """Give the messages logged since the last call to the blocks that were open meanwhile."""
    global _shared_seen
    new = _shared.logs[_shared_seen:]
    _shared_seen += len(new)
    for block in list(_blocks):
        if block.other_threads:
            block.take(new)
    for state in list(_threads.values()):
        new = state.capture.logs[state.seen:]
        state.seen += len(new)
        if state.blocks:
            state.blocks[-1].take(new)


def _set_level() -> None:
    wanted = max((block.level for block in _blocks), default=None)
    if wanted is not None and _found_level is not None:
        wanted = max(wanted, _found_level)
    level = wanted if wanted is not None else _found_level
    if av.logging.get_level() != level:
        av.logging.set_level(level)


def _open(level: int, other_threads: bool) -> _Block:
    global _shared, _shared_seen, _found_level
    block = _Block(level, other_threads, threading.get_ident())
    with _lock:
        if not _blocks:
            _found_level = av.logging.get_level()
            _shared, _shared_seen = av.logging.Capture(local=False), 0
            _shared.__enter__()
        else:
            _hand_out()
        state = _threads.get(block.thread)
        if state is None:
            state = _threads[block.thread] = _Thread(av.logging.Capture(local=True))
            state.capture.__enter__()
        state.blocks.append(block)
        _blocks.append(block)
        _set_level()
    return block


def _close(block: _Block) -> None:
    global _shared
    with _lock:
        _hand_out()
        _blocks.remove(block)
        state = _threads[block.thread]
        state.blocks.remove(block)
        if not state.blocks:  # PyAV pops the opening thread's last local capture: ours, the only one
            state.capture.__exit__(None, None, None)
            del _threads[block.thread]
        _set_level()  # the log off before a reader frees its decoder, where this was the last block
        if not _blocks:
            _shared.__exit__(None, None, None)
            _shared = None


@contextlib.contextmanager
def collect(level: int | None = None, *, other_threads: bool = True) -> Iterator[list[str]]:
    """FFmpeg's messages of ``level`` (default ERROR) or more severe, logged while the block runs,
    kept from the terminal and put in the list yielded when the block ends (on an exception too).

    ``other_threads``: take also what threads without a block log (a frame-threaded decoder's
    workers); otherwise only what this thread logs (opening an encoder, a bitstream filter).
    """
    block = _open(av.logging.ERROR if level is None else level, other_threads)
    try:
        yield block.messages
    finally:
        _close(block)
