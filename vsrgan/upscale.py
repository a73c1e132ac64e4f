"""The main job: a video (or a still image) in, the same at ``scale`` times the size out.

    video --read_frames--> uint8 frames --Upscaler--> uint8 frames --VideoWriter--> video

Decoding, the model and encoding run concurrently (:mod:`vsrgan.inference.pipeline`). The output is
written to a temporary file beside the target and renamed only on success, so an error or
Ctrl-C never leaves a partial file behind.
"""

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from .errors import InputError
from .inference.memory import default_batch_size
from .inference.pipeline import StageTimes, run_pipeline
from .inference.threads import use_threads
from .inference.upscaler import ModelOptions, Upscaler
from .io.atomic import atomic_path, check_output
from .io.encoding import keeps_rotation
from .io.images import DEEP_FORMATS, DeepImage, frame_count, is_deep, is_gray, is_image, open_image, save_deep, to_8_bits, to_float_rgb, to_rgb8
from .io.video import Frame, VideoInfo, probe, read_frames, turned, upright
from .io.writer import VideoWriter, like_source
from .options import JobOptions

log = logging.getLogger(__name__)

# Animated image suffixes FFmpeg decodes as a video (APNG); a GIF is not an image suffix at all.
ANIMATIONS_FFMPEG_READS = (".png",)


def upscale(input: str | Path, output: str | Path, options: JobOptions | None = None, **keywords) -> Path:
    """Upscale a video or a still image (chosen by the suffixes; an animated PNG into a video
    suffix is a video); return the output path.

    ``options`` says how (:class:`vsrgan.options.JobOptions`); flat ``keywords`` set its parts
    (:meth:`JobOptions.of`): ``model`` (None: the bundled default, as with ``vsrgan upscale``
    without ``-m``), ``scale``, ``tile``, ``batch_size``, ``device``, ``precision``, ``backend``,
    ``threads``, ``denoise``; ``codec``, ``crf``, ``preset``, ``pix_fmt``; ``overwrite``, ``progress``.
    """
    input, output = Path(input), Path(output)
    options = JobOptions.of(options, **keywords)
    if not input.exists():
        raise InputError(f"'{input}' does not exist; expected a video or image file")
    if is_image(input) != is_image(output) and not animation_to_video(input, output):
        kind = "an image" if is_image(input) else "a video"
        raise InputError(f"'{input}' is {kind} but output '{output}' is not; give the output a matching suffix")
    check_output(output, overwrite=options.overwrite, inputs=(input,))
    options = replace(options, model=options.model.for_input(input))  # --denoise auto: for how hard input was compressed
    upscaler = Upscaler.from_options(options.model)
    if is_image(output):
        return upscale_image(upscaler, input, output, overwrite=options.overwrite)
    return upscale_video(upscaler, input, output, options)


def animation_to_video(input: Path, output: Path) -> bool:
    """Whether ``input`` is an animated image (APNG) that FFmpeg decodes, going into a video
    ``output``: every frame is upscaled, as for a GIF. FFmpeg cannot decode animated WebP."""
    if not is_image(input) or is_image(output) or frame_count(input) < 2:
        return False
    if input.suffix.lower() not in ANIMATIONS_FFMPEG_READS:
        raise InputError(f"'{input}' is an animated {input.suffix[1:].upper()}, which FFmpeg cannot decode as a video; "
                         "convert it to an animated PNG or GIF first")
    return True


def warn_if_interlaced(input: str | Path, info: VideoInfo) -> None:
    """Say so where ``input`` is interlaced: the model sees both fields woven as one picture (a single
    process and the cluster alike; vsrgan does not deinterlace)."""
    if info.interlaced:
        log.warning("'%s' is interlaced (%s): each frame, both fields woven together, is upscaled as one picture, so what "
                    "moves shows enlarged combing; deinterlace it first (FFmpeg: -vf bwdif)", input, info.interlaced)


def upscale_video(
    upscaler: Upscaler,
    input: Path,
    output: Path,
    options: JobOptions | None = None,
    *,
    on_frames: Callable[[int], None] | None = None,
    times: StageTimes | None = None,
) -> Path:
    """Upscale the video ``input`` into ``output`` with ``upscaler``, encoded as ``options.encode``
    says; audio and subtitles kept.

    Of ``options.model`` this takes ``batch_size`` (None: :func:`vsrgan.inference.memory.default_batch_size`,
    1 on the CPU, 4 on a GPU) and ``threads``, the budget shared by the model, the encoder and the
    decoder (:func:`vsrgan.inference.threads.plan_threads`; an ``encode.threads`` other than 0 is kept
    as given). ``on_frames(n)`` is told of every ``n`` frames written (a batch's own progress bar);
    ``times``, if given, gets each stage's busy seconds (:class:`vsrgan.inference.pipeline.StageTimes`).
    """
    options = options or JobOptions()
    budget = use_threads(options.model.threads, device=upscaler.device)
    info = probe(input)
    frames = read_frames(input, threads=budget.decoder)
    if info.rotation and not keeps_rotation(output):  # turned upright instead: it plays as the source does
        log.warning("'%s' records no rotation tag; the video, tagged to be shown turned %d degrees, is turned upright",
                    output, info.rotation)
        info, turns = upright(info)
        frames = turned(frames, turns)
    batch_size = options.model.batch_size or default_batch_size(upscaler.device)
    batch_size = upscaler.fit(width=info.width, height=info.height, batch_size=batch_size)
    s = upscaler.scale
    return write_video(
        input, output, frames, partial(frame_stages, upscaler),
        info=info, size=(info.width * s, info.height * s), batch_size=batch_size,
        options=replace(options, encode=options.encode.with_threads(budget.encoder)),
        desc=f"{input.name} x{s} ({upscaler.backend}{denoise_note(options.model)})", total=info.num_frames, on_frames=on_frames, times=times,
    )


def denoise_note(options: ModelOptions) -> str:
    """``", denoise 0.5"`` for a progress bar where the job blends x4 with x4-real, else nothing."""
    strength = options.denoise_strength
    return "" if strength is None else f", denoise {strength:g}"


def write_video(
    input: Path,
    output: Path,
    frames: Iterable[Frame],
    stages: Callable[[VideoWriter], tuple[Callable, Callable]],
    *,
    info: VideoInfo,
    size: tuple[int, int],
    batch_size: int,
    options: JobOptions,
    desc: str,
    total: int = 0,
    source_until: float = math.inf,
    on_frames: Callable[[int], None] | None = None,
    times: StageTimes | None = None,
) -> Path:
    """The end every video job shares (upscale, compare): ``frames`` of ``input`` through the
    pipeline's two steps, ``stages(writer)`` = (model step, encoder step), into ``output`` at
    ``size``, encoded as ``options.encode`` says. Timestamps, audio and subtitles are the input's
    (up to ``source_until`` seconds on its clock); the file is written beside the output and
    renamed on success; one progress bar of ``total`` frames (0: unknown)."""
    bar = tqdm(total=total or None, unit="frame", disable=not options.progress, desc=desc, dynamic_ncols=True, delay=0.5)

    def advance(frames: int) -> None:  # called from the encoder's thread
        bar.update(frames)
        if on_frames is not None:
            on_frames(frames)

    with atomic_path(output, overwrite=options.overwrite) as tmp, bar:
        writer = VideoWriter(tmp, width=size[0], height=size[1], **like_source(info), encode=options.encode,
                             rotation=info.rotation, source=input, source_until=source_until, name=output)
        if info.wide_colour is not None and info.wide_colour.hdr:
            log.warning("'%s' is %s: the output keeps its colours, in %s, but the model sees 8 bits per channel "
                        "and mastering-display metadata is not copied", input, info.wide_colour.name, writer.encode.pix_fmt)
        warn_if_interlaced(input, info)
        process, write = stages(writer)
        with writer:
            run_pipeline(frames, process, write, batch_size=batch_size, on_batch=advance, times=times)
    return output


def frame_stages(upscaler: Upscaler, writer: VideoWriter) -> tuple[Callable, Callable]:
    """The pipeline's model and encoder steps: uint8 RGB through, or, on a GPU, converted to
    yuv420p there: the encoder's CPU is then spared the conversion (about half its work at 4K)
    and a third less data crosses the bus. (``to_i420`` takes the matrix by size, as the writer
    does, except for JPEG codecs' fixed one and a wide source's BT.2020: those take RGB.)"""
    if writer.takes_i420 and upscaler.device.type != "cpu":
        return upscaler.upscale_frames_i420, writer.write_i420
    return upscaler.upscale_frames, writer.write


def upscale_image(upscaler: Upscaler, input: Path, output: Path, *, overwrite: bool = False) -> Path:
    """Upscale one still image (its first frame); an alpha channel is enlarged with bicubic interpolation.

    A 16-bit image (gray, RGB or RGBA) goes through the model as floats and is written back
    with 16 bits a sample where the output format holds them (PNG, TIFF), else rounded to 8;
    its ICC profile is kept when the output has the same colour model (gray or RGB).
    """
    warn_if_animated(input)
    image = open_image(input)
    file_format = Image.registered_extensions()[output.suffix.lower()]
    big = upscale_deep(upscaler, image) if is_deep(image) else upscale_rgb8(upscaler, image)
    if is_deep(big) and file_format not in DEEP_FORMATS:
        big = to_8_bits(big)
    if file_format in ("JPEG", "BMP") and big.mode not in ("RGB", "L"):  # formats without an alpha channel
        big = big.convert("RGB")
    profile = icc_profile(image, big)
    with atomic_path(output, overwrite=overwrite) as tmp:
        if is_deep(big):
            save_deep(big, tmp, file_format, **profile)
        else:
            big.save(tmp, format=file_format, **profile)
    return output


def warn_if_animated(input: Path) -> None:
    """One line when ``input`` is animated: an image output holds only its first frame."""
    frames = frame_count(input)
    if frames > 1:
        how = ("give it a video output suffix such as .mp4" if input.suffix.lower() in ANIMATIONS_FFMPEG_READS
               else "convert it to an animated PNG or GIF and give that a video output suffix such as .mp4")
        log.warning("'%s' has %d frames; only the first is upscaled: %s to upscale all", input, frames, how)


def upscale_rgb8(upscaler: Upscaler, image: Image.Image) -> Image.Image:
    """An 8-bit image through the model as uint8 RGB, the way video frames go."""
    big = Image.fromarray(upscaler.upscale_frames(to_rgb8(image)[None])[0])
    if "A" in image.getbands():
        big.putalpha(image.getchannel("A").resize(big.size, Image.Resampling.BICUBIC))
    return big


def upscale_deep(upscaler: Upscaler, image: DeepImage) -> DeepImage:
    """A 16-bit image through the model as floats in [0, 1]: uint8 frames would lose 8 of its
    bits. Alpha is enlarged with Pillow's bicubic, as for 8 bits, on floats (mode "F")."""
    x = torch.from_numpy(to_float_rgb(image)).permute(2, 0, 1)[None]  # (1, 3, H, W)
    big = upscaler(x).float()[0].permute(1, 2, 0).cpu().numpy()  # (sH, sW, 3)
    if is_gray(image):
        big = big.mean(axis=2, keepdims=True)  # the model's three channels of a gray picture
    if image.mode == "RGBA":
        alpha = Image.fromarray(image.samples[..., 3]).resize((big.shape[1], big.shape[0]), Image.Resampling.BICUBIC)
        big = np.dstack([big, np.clip(np.asarray(alpha), 0, 1)])
    return DeepImage(big)


def icc_profile(source: Image.Image | DeepImage, output: Image.Image | DeepImage) -> dict:
    """``save``'s ``icc_profile`` argument: the source's profile where it describes the output's
    colours, as the profile's own header says (its colour space, bytes 16-19: ``GRAY``, ``RGB ``,
    ``CMYK``...). A gray or CMYK profile on RGB pixels would miscolour them: a CMYK photo, or a
    gray one made RGBA by its transparency key, comes out RGB."""
    profile = source.info.get("icc_profile")
    if not profile:
        return {}
    return {"icc_profile": profile} if profile[16:20] == (b"GRAY" if is_gray(output) else b"RGB ") else {}
