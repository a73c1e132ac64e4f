"""Milestones a job announces, for a test to wait on instead of sleeping and polling.

With ``VSRGAN_EVENTS`` naming a FIFO (``mkfifo``) or a file, :func:`reached` appends one line,
``NAME PID``, to it each time a job passes a named point; the tests of stopping a job (a signal,
a killed Ray worker) signal it the moment it is there. Unset, as it is outside the tests,
:func:`reached` does nothing. It never blocks and never fails a job: a missing path, a FIFO
nobody reads or a full one are ignored. A line is under 512 bytes, so lines from several
processes (Ray workers) never interleave.

The milestones:

    frame-written   the first frame of a video (or a cluster segment) given to its encoder (run_pipeline)
    pair-written    a dataset frame's HR and LR PNGs saved (prepare)
    frame-scored    a frame or image scored (evaluate)
    step-done       a training step taken, logged and checkpointed as due
"""

import os

VARIABLE = "VSRGAN_EVENTS"


def reached(name: str) -> None:
    """Announce the milestone ``name`` where ``VSRGAN_EVENTS`` asks for it."""
    path = os.environ.get(VARIABLE)
    if not path:
        return
    try:  # O_NONBLOCK: a FIFO without a reader fails at once (ENXIO) instead of waiting for one
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
    except OSError:
        return
    try:
        os.write(fd, f"{name} {os.getpid()}\n".encode())
    except OSError:  # a full FIFO (EAGAIN), a reader gone (EPIPE)
        pass
    finally:
        os.close(fd)
