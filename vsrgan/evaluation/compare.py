"""``vsrgan compare``: the seed's comparison video, with every panel labelled.

    video --read_frames--> HR frame --make_lr--> LR frame --+--bicubic--> panel
                                                            +--model----> panel
    panels --compose (grid | side | wipe)--> frame --VideoWriter (timestamps, audio)--> video

A high-resolution input (the default) is first made small with :func:`vsrgan.dataset.degrade.make_lr`,
the degradation training uses, so four panels exist: original | downscaled (each LR pixel
shown as a block, nearest-neighbour) | bicubic | network. With ``input_is_lr`` the input
itself is the low-resolution image, and the panels are input | bicubic | network. The ``wipe``
layout shows bicubic left and network right of a divider that sweeps across and back.

A rotated video (a phone's, tagged to be shown turned) is turned upright first, as a player
shows it: the panels and labels are composed upright, and the comparison carries no rotation tag.

Decoding, the models and encoding overlap (:func:`vsrgan.inference.pipeline.run_pipeline`); the panels
are laid out and labelled on the encoding thread.
"""

import itertools
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..dataset.degrade import make_lr
from ..errors import ConfigError, InputError
from ..inference.memory import default_batch_size
from ..inference.upscaler import Upscaler
from ..io.atomic import check_output
from ..io.images import is_image
from ..io.video import probe, read_frames, turned, upright
from ..io.writer import VideoWriter
from ..models import Bicubic, model_label
from ..options import JobOptions
from ..upscale import write_video
from .panels import LAYOUTS, Panel, compose, enlarge_nearest, grid_shape, panel_size, resize, wipe, wipe_position


def make_panels(batch: np.ndarray, network: Upscaler, bicubic: Upscaler, *, input_is_lr: bool) -> np.ndarray:
    """``uint8 (N, H, W, 3)`` frames -> ``uint8 (N, P, sH, sW, 3)`` panels, P = 4 or 3:
    [original (HR cropped to a multiple of the scale),] LR enlarged nearest-neighbour, bicubic, model.

    For an HR input the LR frame comes from :func:`make_lr`, rounded to uint8 like a stored one;
    with ``input_is_lr`` the input frames are the LR frames and there is no original.
    """
    s = network.scale
    if input_is_lr:
        small = batch
    else:
        h, w = batch.shape[1] - batch.shape[1] % s, batch.shape[2] - batch.shape[2] % s
        batch = batch[:, :h, :w]
        small = np.stack([make_lr(np.ascontiguousarray(f), s) for f in batch])  # (N, h/s, w/s, 3)
    shown = [np.stack([enlarge_nearest(f, s) for f in small]), bicubic.upscale_frames(small), network.upscale_frames(small)]
    if not input_is_lr:
        shown.insert(0, batch)
    return np.stack(shown, axis=1)  # (N, P, sH, sW, 3)


def render(panels: np.ndarray, labels: list[str], *, layout: str, size: tuple[int, int], time: float, wipe_period: float) -> np.ndarray:
    """One comparison frame from one frame's ``(P, sH, sW, 3)`` panels, each resized to ``size`` = (width, height).

    ``wipe`` shows the last two panels (bicubic | model) split at the divider's place at ``time``."""
    shown = [Panel(resize(image, size), label) for image, label in zip(panels, labels, strict=True)]
    if layout == "wipe":
        return wipe(shown[-2], shown[-1], wipe_position(time, wipe_period))
    return compose(shown, layout)


def compare(
    input: str | Path,
    output: str | Path,
    options: JobOptions | None = None,
    *,
    layout: str = "grid",
    input_is_lr: bool = False,
    panel_height: int | None = None,
    wipe_period: float = 6.0,
    seconds: float = 0.0,
    **keywords,
) -> Path:
    """Write a labelled comparison video of ``input`` (bicubic vs the model) to ``output``; return its path.

    The model runs, and the video is encoded, as ``options`` and flat ``keywords`` say, as for
    :func:`vsrgan.upscale.upscale` (``model``, ``scale``, ``tile``, ``device``, ``crf`` ...;
    :meth:`vsrgan.options.JobOptions.of`). Timestamps, frame rate and audio are the input's;
    ``seconds`` > 0 keeps only that much from the start, audio included. Panels are the size of
    the high-resolution frame unless ``panel_height`` is given, shrunk if needed so the video fits 3840x2160.
    """
    input, output = Path(input), Path(output)
    options = JobOptions.of(options, **keywords)
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    if wipe_period <= 0 or seconds < 0:
        raise ConfigError(f"--wipe-period must be > 0 and --seconds >= 0, got {wipe_period} and {seconds}")
    if not input.exists():
        raise InputError(f"'{input}' does not exist; expected a video file such as .mp4 or .mkv")
    if is_image(input) or is_image(output):
        raise InputError(f"compare makes a video from a video; got '{input}' -> '{output}' (for photos use 'vsrgan evaluate')")
    check_output(output, overwrite=options.overwrite, inputs=(input,))
    if input_is_lr:  # --denoise auto reads how hard the input was compressed; a downscaled copy's is unknown
        options = replace(options, model=options.model.for_input(input))
    network = Upscaler.from_options(options.model)
    s = network.scale
    bicubic = Upscaler(Bicubic(scale=s), device=network.device, precision="fp32")

    info, turns = upright(probe(input))  # a rotated video's panels are composed as it is shown
    if input_is_lr:
        h, w = info.height * s, info.width * s
    else:
        h, w = info.height - info.height % s, info.width - info.width % s
        if min(h, w) < s:
            raise InputError(f"'{input}' is {info.width}x{info.height}, too small to shrink x{s}; pass --input-is-lr if it is already small")
    denoise = options.model.denoise_strength
    labels = [
        f"{'input' if input_is_lr else f'downscaled x{s}'} {w // s}x{h // s} (nearest)",
        f"bicubic x{s}",
        f"network: {model_label(options.model.model_name)}" + (f", denoise {denoise:g}" if denoise is not None else ""),
    ]
    if not input_is_lr:
        labels.insert(0, f"original {w}x{h}")
    batch_size = network.fit(width=w // s, height=h // s, batch_size=options.model.batch_size or default_batch_size(network.device))
    size = panel_size(layout, 2 if layout == "wipe" else len(labels), w, h, panel_height)
    columns, rows = grid_shape(layout, len(labels))

    frames = turned(read_frames(input), turns)  # upright, as shown
    first = next(frames)
    until = float(first.pts * info.time_base) + seconds if seconds else math.inf  # on the source's clock
    frames = itertools.takewhile(lambda f: not seconds or f.time < seconds, itertools.chain([first], frames))

    def stages(writer: VideoWriter) -> tuple[Callable, Callable]:
        def process(batch: np.ndarray) -> np.ndarray:
            return make_panels(batch, network, bicubic, input_is_lr=input_is_lr)

        def write(panels: np.ndarray, pts: int, duration: int) -> None:  # laid out and labelled on the encoding thread
            time = float((pts - first.pts) * info.time_base)
            writer.write(render(panels, labels, layout=layout, size=size, time=time, wipe_period=wipe_period), pts, duration)
        return process, write

    # The output keeps the source's pixel shape (write_video: like_source), on purpose: every panel is the
    # frame scaled alike in both axes, so a player widening (or narrowing) the whole picture by the
    # sample aspect ratio shows each panel as the source plays; square pixels would show them all
    # squeezed. Only the labels' letters come out as wide as the pixels.
    return write_video(
        input, output, frames, stages, info=info, size=(columns * size[0], rows * size[1]), batch_size=batch_size,
        options=options, desc=f"compare {input.name}", source_until=until,
        total=min(info.num_frames, math.ceil(seconds * info.frame_rate)) if seconds else info.num_frames,
    )
