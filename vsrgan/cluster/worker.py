"""One segment on one worker: decode from its keyframe, upscale exactly its frames, encode them.

Plain functions: Ray calls :func:`upscale_segment` as a task (:mod:`.run`), a test calls it
directly. The model arrives as :func:`pack_model`'s plain dict (config + CPU state dict; another
project's network as its architecture's name and hyper-parameters + state dict), put in Ray's
object store once and shared by every task on a machine.
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from torch import nn

from ..errors import VideoError
from ..inference.memory import default_batch_size
from ..inference.pipeline import run_pipeline
from ..inference.upscaler import Upscaler
from ..io import colour
from ..io.atomic import atomic_path
from ..io.video import Frame, open_input, probe, stop_decoding, video_stream
from ..io.writer import VideoWriter, like_source
from ..models import Bicubic, GeneratorConfig, build_generator, is_foreign
from ..models.foreign import build as build_foreign
from ..options import JobOptions
from ..upscale import frame_stages
from .segments import Segment


def segment_muxer_options(time_base) -> dict[str, str]:
    """A segment is an .mp4 whose edit list (the offset of its first pts) is written in the
    stream's own time base: at the default 1/1000 s it would move every pts of a segment that
    starts mid-file by up to half a millisecond."""
    return {"movie_timescale": str(time_base.denominator)}


def pack_model(model: nn.Module) -> dict:
    """The model as plain data: what rebuilds it (:func:`unpack_model`), nothing pickled as code."""
    if isinstance(model, Bicubic):
        return {"kind": "bicubic", "scale": int(model.scale)}
    if is_foreign(model):
        return {"kind": "foreign", "arch": model.arch, "hparams": dict(model.hparams), "state": cpu_state(model)}
    if model.config.reparam:
        model = model.fused()  # as vsrgan.models.weights.save_generator writes it
    return {"kind": "generator", "config": model.config.to_dict(), "state": cpu_state(model)}


def cpu_state(model: nn.Module) -> dict:
    return {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}


def unpack_model(packed: dict) -> nn.Module:
    if packed["kind"] == "bicubic":
        return Bicubic(scale=packed["scale"])
    if packed["kind"] == "foreign":
        return build_foreign(packed["arch"], packed["hparams"], packed["state"], source=f"the packed {packed['arch']}")
    model = build_generator(GeneratorConfig(**packed["config"]))
    model.load_state_dict(packed["state"])
    return model.eval()


def model_digest(packed: dict) -> str:
    """A fingerprint of the weights and config: a resumed job must use the same model."""
    h = hashlib.sha256(json.dumps({k: v for k, v in packed.items() if k != "state"}, sort_keys=True).encode())
    for name, tensor in sorted(packed.get("state", {}).items()):
        h.update(name.encode())
        h.update(tensor.numpy().tobytes())
    return h.hexdigest()[:16]


def segment_frames(input: Path, segment: Segment) -> Iterator[Frame]:
    """The frames of ``segment``, in display order: seek to its keyframe, decode, keep pts in [start, end)."""
    with open_input(input) as container:
        stream = video_stream(container)
        stream.thread_type = "AUTO"
        if segment.start is not None:
            container.seek(segment.start, stream=stream, backward=True)  # lands on that keyframe (or before it)
        count = 0
        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    raise VideoError(f"'{input}': a decoded frame has no timestamp; upscale it without --cluster")
                if segment.start is not None and frame.pts < segment.start:
                    continue  # the seek landed before the keyframe
                if segment.end is not None and frame.pts >= segment.end:
                    break  # decoders return frames in display order: the rest belong to later segments
                count += 1
                yield Frame(image=colour.to_rgb(frame), pts=frame.pts, time=float(frame.pts * stream.time_base), duration=frame.duration)
        finally:  # the segment's end is mid-stream: the frame threads stopped before the decoder is freed
            stop_decoding(stream)
    if count != segment.frames:
        raise VideoError(f"'{input}': segment {segment.index} decoded {count} frames, its packets say {segment.frames}; "
                         "the file may be damaged: upscale it without --cluster")


def task_options(options: JobOptions | None) -> JobOptions:
    """``options`` as a task runs them: a budget of 1 thread unless told (one task per core)."""
    options = options or JobOptions()
    return replace(options, model=replace(options.model, threads=options.model.threads or 1))


def upscale_segment(
    packed_model: dict,
    input: str,
    segment: Segment,
    path: str,
    options: JobOptions | None = None,
) -> int:
    """Upscale ``segment`` of ``input`` into the video file ``path`` (atomically) with the model
    ``packed_model``, run and encoded as ``options`` say (its model and scale are the job's, already
    packed); return its frame count. ``options.model.threads``: the CPUs the task holds, shared by
    the model and the encoder (:mod:`vsrgan.inference.threads`; None: 1)."""
    input, path = Path(input), Path(path)
    options = task_options(options)
    encode = options.encode.with_threads(options.model.thread_budget().encoder)
    info = probe(input)
    upscaler = Upscaler.from_options(options.model, model=unpack_model(packed_model))
    batch_size = upscaler.fit(width=info.width, height=info.height,
                              batch_size=options.model.batch_size or default_batch_size(upscaler.device))
    s = upscaler.scale
    with atomic_path(path, overwrite=True) as tmp:
        writer = VideoWriter(tmp, width=info.width * s, height=info.height * s, **like_source(info), encode=encode,
                             muxer_options=segment_muxer_options(info.time_base), name=path)
        process, write = frame_stages(upscaler, writer)
        with writer:
            written = run_pipeline(segment_frames(input, segment), process, write, batch_size=batch_size)
    return written
