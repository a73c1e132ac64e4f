"""The two ways of upscaling a video that vsrgan's own pipeline is measured against.

(a) :func:`seed_pipeline`, the seed project's way: decode every frame to a JPEG file, then
    upscale the files one at a time in fp32, writing JPEGs again, then encode those. Nothing
    overlaps; every frame crosses the disk twice and the JPEG codec four times.

(b) :func:`pipes_pipeline`, the common way of existing tools (Real-ESRGAN's video script,
    video2x): a decoder process writes raw RGB frames to a pipe, the model upscales them one
    at a time (batch 1, fp16 on a GPU, fp32 on the CPU, eager), and an encoder process reads
    raw RGB frames from another pipe. Decoding and encoding overlap with the model only as
    far as the pipes' buffers allow.

Both take the same network as the bench and return the number of frames written.
"""

import copy
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from torch import nn

from ..errors import VideoError
from ..inference.upscaler import Upscaler
from ..io.encoding import EncodeOptions
from ..io.video import probe, read_frames
from ..io.writer import VideoWriter
from . import pipes

JPEG_QUALITY = 95


def seed_pipeline(model: nn.Module, clip: Path, output: Path, workdir: Path, *, device: str, encode: EncodeOptions) -> int:
    """(a) Video -> JPEG files -> model, one frame at a time in fp32 -> JPEG files -> video."""
    upscaler = Upscaler(copy.deepcopy(model), device=device, precision="fp32", channels_last=False)
    info = probe(clip)
    small, big = workdir / "lr", workdir / "sr"
    small.mkdir(parents=True)
    big.mkdir(parents=True)
    for i, frame in enumerate(read_frames(clip)):
        Image.fromarray(frame.image).save(small / f"{i:06d}.jpg", quality=JPEG_QUALITY)
    names = sorted(p.name for p in small.iterdir())
    for name in names:
        with Image.open(small / name) as im:
            image = np.array(im.convert("RGB"))  # (H, W, 3)
        upscaled = upscaler.upscale_frames(image[None])[0]  # (sH, sW, 3)
        Image.fromarray(upscaled).save(big / name, quality=JPEG_QUALITY)
    s = upscaler.scale
    writer = VideoWriter(
        output, width=info.width * s, height=info.height * s, time_base=1 / info.frame_rate,
        frame_rate=info.frame_rate, encode=encode,
    )
    with writer:
        for i, name in enumerate(names):
            with Image.open(big / name) as im:
                writer.write(np.array(im.convert("RGB")), i)
    return len(names)


def _last_line(path: Path) -> str:
    lines = path.read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no message"


def pipes_pipeline(model: nn.Module, clip: Path, output: Path, *, device: str, encode: EncodeOptions) -> int:
    """(b) Decoder process -> raw rgb24 pipe -> model, batch 1 -> raw rgb24 pipe -> encoder process."""
    upscaler = Upscaler(copy.deepcopy(model), device=device, precision="auto", channels_last=False)
    info = probe(clip)  # the tools ask ffprobe for the size before starting ffmpeg
    w, h, s = info.width, info.height, upscaler.scale
    # Run the stand-in as a script path, not -m vsrgan...: it starts like an ffmpeg binary,
    # without importing PyTorch through vsrgan/__init__.py.
    program = [sys.executable, pipes.__file__]
    frame = np.empty((h, w, 3), np.uint8)
    buffer = memoryview(frame).cast("B")
    count = 0
    with tempfile.TemporaryDirectory(prefix="vsrgan-pipes-") as logs:
        dec_log, enc_log = Path(logs) / "decoder.txt", Path(logs) / "encoder.txt"
        with dec_log.open("wb") as dec_err, enc_log.open("wb") as enc_err:
            decoder = subprocess.Popen([*program, "decode", str(clip)], stdout=subprocess.PIPE, stderr=dec_err)
            encoder = subprocess.Popen(
                [*program, "encode", str(output), str(w * s), str(h * s), str(info.frame_rate),
                 "--codec", encode.codec, "--preset", encode.preset, "--crf", str(encode.crf), "--pix-fmt", encode.for_colour(False).pix_fmt],
                stdin=subprocess.PIPE, stderr=enc_err,
            )
            finished = False
            try:
                while pipes.read_exactly(decoder.stdout, buffer):
                    upscaled = upscaler.upscale_frames(frame[None])[0]  # (sH, sW, 3)
                    encoder.stdin.write(memoryview(np.ascontiguousarray(upscaled)).cast("B"))
                    count += 1
                encoder.stdin.close()
                finished = True
            except BrokenPipeError:
                pass  # the encoder died; its message is reported below
            finally:
                if not finished:
                    decoder.kill()
                    encoder.kill()
                decoder.wait()
                encoder.wait()
                decoder.stdout.close()
                if not encoder.stdin.closed:
                    try:
                        encoder.stdin.close()
                    except BrokenPipeError:
                        pass
        # the encoder first: after it dies the decoder is killed, and says nothing useful
        if encoder.returncode != 0:
            raise VideoError(f"encoder process failed writing '{output}': {_last_line(enc_log)}")
        if decoder.returncode != 0:
            raise VideoError(f"decoder process failed on '{clip}': {_last_line(dec_log)}")
    return count
