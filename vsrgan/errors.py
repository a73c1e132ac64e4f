"""The few errors vsrgan raises on purpose.

Each carries one line for a person: what went wrong, naming the file, and what was expected.
The CLI prints that line and exits non-zero; nothing else turns errors into text.
"""


class VsrganError(Exception):
    """Base class: a problem with the user's input or environment, not a bug."""

    exit_code = 1


class InputError(VsrganError):
    """A path that is missing, unreadable, or not what the command expects."""


class VideoError(VsrganError):
    """A video or image FFmpeg cannot read or write as asked."""


class CheckpointError(VsrganError):
    """A weights or checkpoint file that cannot be loaded."""


class ConfigError(VsrganError):
    """Options that contradict each other or lie outside their allowed range."""


class DiskFullError(VsrganError):
    """A disk (or quota, or file size limit) that ran out while writing an output."""
