"""``vsrgan evaluate --degrade``: a source's LR inputs sent through a real codec before upscaling.

    samples --LR of consecutive frames--> codecs.round_trip (one sequence) --> the scored samples, LR degraded

A video's frames are encoded as one sequence, every frame, as in real video, so that a frame
carries what it carries there: motion-compensated prediction from the frames beside it, P- and
B-frame artefacts. Only every ``every``-th frame is then scored. (Encoding only the scored frames
would give x264 five times real video's motion at ``--every 5``: bicubic lost 3.3 dB to CRF 28 so
on the sample clips, 2.4 dB encoded as here; MODELS.md, x4-real.) Sequences are cut at
:data:`SEQUENCE_FRAMES` frames, or sooner when the frames held meanwhile reach
:data:`SEQUENCE_BYTES`. An image (of a folder or a prepared dataset) is a sequence of its own: one
intra frame. The HR frame is left as it was: the scores measure how close each method gets to the
original from the degraded input.
"""

from collections.abc import Iterable, Iterator
from dataclasses import replace

import numpy as np

from ..dataset.codecs import Codec, round_trip
from .results import Sample

SEQUENCE_FRAMES = 250  # x264's default keyframe interval: a stream starts a new GOP at least this often
SEQUENCE_BYTES = 1 << 30  # HR frames held in memory while their LR sequence is encoded


def degraded_samples(samples: Iterable[Sample], codec: Codec, *, sequence: bool, every: int = 1, limit: int = 0) -> Iterator[Sample]:
    """``samples`` with each LR image sent through ``codec``; with ``sequence`` (a video: every
    frame, in order) consecutive samples as one sequence, of which those whose ``index`` is a
    multiple of ``every`` come out; without it each on its own. ``limit`` > 0: only the first
    ``limit`` of those, and no frame after the last of them is encoded."""
    held: list[tuple[np.ndarray, Sample | None]] = []  # the sequence's LR frames so far, each with its sample if scored
    count, size = 0, 0
    for sample in samples:
        scored = not sequence or sample.index % every == 0
        held.append((sample.lr, sample if scored else None))  # a frame only encoded keeps no HR
        count, size = count + scored, size + sample.lr.nbytes + (sample.hr.nbytes if scored else 0)
        if limit and count >= limit:
            break
        if not sequence or len(held) >= SEQUENCE_FRAMES or size >= SEQUENCE_BYTES:
            yield from encoded(held, codec)
            held, size = [], 0
    yield from encoded(held, codec)


def encoded(held: list[tuple[np.ndarray, Sample | None]], codec: Codec) -> Iterator[Sample]:
    if not held:
        return
    for (_, sample), lr in zip(held, round_trip([lr for lr, _ in held], codec), strict=True):
        if sample is not None:
            yield replace(sample, lr=lr)
