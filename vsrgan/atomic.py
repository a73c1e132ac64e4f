"""Write-then-rename, so a crash, an error or Ctrl-C never leaves a half-written output."""

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError


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
        yield tmp
        if path.exists() and not overwrite:
            raise InputError(f"output '{path}' appeared while writing; pass --overwrite to replace it")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
