"""Write-then-rename, so a crash, an error, a signal or a full disk never leaves a half-written output."""

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import DiskFullError, InputError
from . import stop

# errno values that mean "no room": a full disk, a full quota, a file size limit (ulimit -f)
NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def check_output(path: Path, *, overwrite: bool, inputs: tuple[Path, ...] = ()) -> None:
    """Refuse an output that is an input, exists without ``overwrite``, or cannot be written."""
    for source in inputs:
        if path.resolve() == source.resolve():
            raise InputError(f"output '{path}' is the input file; choose another output path")
    if path.is_dir():
        raise InputError(f"output '{path}' is a folder; expected a file path")
    if path.exists() and not overwrite:
        raise InputError(f"output '{path}' already exists; pass --overwrite to replace it")
    folder = path.parent
    if folder.exists() and not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
        raise InputError(f"cannot write to folder '{folder}'; expected a writable folder for '{path.name}'")


@contextlib.contextmanager
def atomic_path(path: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The temporary name keeps the target's suffix, so FFmpeg and Pillow pick the same format.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent)
    except OSError as e:
        raise InputError(f"cannot write to folder '{path.parent}': {e.strerror}") from None
    os.close(fd)
    tmp = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o666 & ~umask)  # mkstemp makes 0600; give the output the usual permissions
    try:
        with no_space_as_error(path.parent, f"'{path.name}'"):
            yield tmp
        stop.check()  # a signal whose Stopped an FFmpeg callback dropped: the output is not to be trusted
        if path.exists() and not overwrite:
            raise InputError(f"output '{path}' appeared while writing; pass --overwrite to replace it")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def no_space_as_error(folder: Path, what: str, kind: str = "output") -> Iterator[None]:
    """Turn running out of space inside the block (from Python, Pillow or FFmpeg) into one line naming ``folder``."""
    try:
        yield
    except OSError as e:
        raise_if_no_space(e, folder, what, kind)
        raise


def raise_if_no_space(error: OSError, folder: Path, what: str, kind: str = "output") -> None:
    """Raise :class:`DiskFullError` if ``error`` says the disk, a quota or a file size limit ran out."""
    if error.errno in NO_SPACE:
        raise DiskFullError(f"no space left on '{folder}' while writing {what}; the partial {kind} was removed") from None
