"""What an upscaling job runs with: one object, taken by upscale, batch, the cluster and compare alike.

    JobOptions(model=ModelOptions(...), encode=EncodeOptions(...), overwrite=False, progress=True)

The model's options (:class:`vsrgan.inference.upscaler.ModelOptions`: which model, tiles, batch,
device, precision, backend, threads, denoise) and the encoder's (:class:`vsrgan.io.encoding.EncodeOptions`:
codec, crf, preset, pix_fmt) are composed here, never repeated as keyword lists. The CLI builds one
from its flags; the Python API's flat keywords (``upscale(src, dst, model="x4", crf=20)``) go through
:meth:`JobOptions.of`, which hands each keyword to the part it belongs to.
"""

from dataclasses import dataclass, field, fields, replace

from .inference.upscaler import ModelOptions
from .io.encoding import EncodeOptions

MODEL_KEYWORDS = tuple(f.name for f in fields(ModelOptions))
# ``threads`` is the job's budget (the model's options); the encoder's share is planned from it
# (vsrgan.inference.threads): an exact encoder count comes in an EncodeOptions.
ENCODE_KEYWORDS = tuple(f.name for f in fields(EncodeOptions) if f.name != "threads")
JOB_KEYWORDS = ("overwrite", "progress")


@dataclass(frozen=True)
class JobOptions:
    """How a job runs the model, encodes its output and treats the user's files and terminal."""

    model: ModelOptions = field(default_factory=ModelOptions)
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    overwrite: bool = False  # replace an output that exists (never an input)
    progress: bool = True  # a progress bar with rate and ETA on stderr

    @classmethod
    def of(cls, options: "JobOptions | None" = None, **keywords) -> "JobOptions":
        """``options`` (default: all defaults) with flat ``keywords`` set where they belong:
        ``model``, ``tile``, ``threads`` ... on the model's options, ``codec``, ``crf`` ... on the
        encoder's, ``overwrite`` and ``progress`` on the job. An unknown keyword is a TypeError naming it."""
        options = options or cls()
        unknown = sorted(set(keywords) - set(MODEL_KEYWORDS + ENCODE_KEYWORDS + JOB_KEYWORDS))
        if unknown:
            raise TypeError(f"unknown option {', '.join(map(repr, unknown))}; expected any of "
                            f"{', '.join(MODEL_KEYWORDS + ENCODE_KEYWORDS + JOB_KEYWORDS)}")
        part = lambda names: {k: v for k, v in keywords.items() if k in names}  # noqa: E731
        return replace(
            options,
            model=replace(options.model, **part(MODEL_KEYWORDS)),
            encode=replace(options.encode, **part(ENCODE_KEYWORDS)),
            **part(JOB_KEYWORDS),
        )

