"""``vsrgan evaluate --degrade``: a source's LR inputs sent through a real codec before upscaling.

    samples --LR of consecutive frames--> codecs.round_trip (one sequence) --> samples, LR degraded

A video's scored frames (every ``--every``-th, in order) are encoded as one sequence, so that a
frame carries what it carries in real video: motion-compensated prediction from its neighbours,
P- and B-frame artefacts. Sequences are cut at :data:`SEQUENCE_FRAMES` frames, or sooner when the
high-resolution frames held meanwhile reach :data:`SEQUENCE_BYTES`. An image (of a folder or a
prepared dataset) is a sequence of its own: one intra frame. The HR frame is left as it was: the
scores measure how close each method gets to the original from the degraded input.
"""

from collections.abc import Iterable, Iterator
from dataclasses import replace
from itertools import islice

from ..dataset.codecs import Codec, round_trip
from .results import Sample

SEQUENCE_FRAMES = 250  # x264's default keyframe interval: a stream starts a new GOP at least this often
SEQUENCE_BYTES = 1 << 30  # HR frames held in memory while their LR sequence is encoded


def degraded_samples(samples: Iterable[Sample], codec: Codec, *, sequence: bool, limit: int = 0) -> Iterator[Sample]:
    """``samples`` with each LR image sent through ``codec``; with ``sequence`` (a video) consecutive
    samples as one sequence, without it each on its own. ``limit`` > 0: only the first ``limit``
    samples, so that the sequence encoded is the one scored."""
    if limit:
        samples = islice(samples, limit)
    held: list[Sample] = []
    for sample in samples:
        held.append(sample)
        if not sequence or len(held) >= SEQUENCE_FRAMES or sum(s.hr.nbytes for s in held) >= SEQUENCE_BYTES:
            yield from encoded(held, codec)
            held = []
    yield from encoded(held, codec)


def encoded(held: list[Sample], codec: Codec) -> Iterator[Sample]:
    if not held:
        return
    for sample, lr in zip(held, round_trip([s.lr for s in held], codec), strict=True):
        yield replace(sample, lr=lr)
