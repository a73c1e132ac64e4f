"""The picture in MODELS.md's x4-real card: one held-out frame, compressed, upscaled by each method.

    python scripts/models/real_picture.py data/samples/bikes.mp4 training/x4-real/compressed.png --crf 28 -m x4 -m x4-real

Decodes the clip's held-out tail (the last 15%, as `vsrgan prepare --test-fraction 0.15` kept it
out of training), makes each frame small with the training downscale, encodes all those LR
frames as one libx264 sequence at ``--crf`` (as `vsrgan evaluate --degrade` does; every 5th is
offered), and
upscales the chosen one with bicubic and each model. Writes a row of labelled crops: compressed LR
(enlarged by pixel repetition) | bicubic | each model | original, each with its PSNR-Y on the
whole frame.
"""

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vsrgan import metrics
from vsrgan.dataset.codecs import Codec
from vsrgan.evaluation.degraded import degraded_samples
from vsrgan.evaluation.evaluate import video_samples
from vsrgan.evaluation.panels import Panel, compose, enlarge_nearest
from vsrgan.inference.upscaler import Upscaler
from vsrgan.io import frames
from vsrgan.models import Bicubic, load_model, model_label


def psnr_y(sr: np.ndarray, hr: np.ndarray) -> float:
    a, b = (frames.to_tensor(x) for x in (sr, hr))
    return float(metrics.psnr(a, b, crop_border=4)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path)
    parser.add_argument("out", type=Path, help="the PNG to write")
    parser.add_argument("-m", "--model", action="append", default=[], help="a model to show (repeatable)")
    parser.add_argument("--crf", type=int, default=28, help="libx264 CRF of the LR sequence (default: %(default)s)")
    parser.add_argument("--frame", type=int, default=0, help="which of the held-out frames (default: the first)")
    parser.add_argument("--crop", type=int, nargs=4, metavar=("X", "Y", "W", "H"), default=None, help="HR crop (default: a centred 256x192)")
    args = parser.parse_args()

    codec = Codec("x264", crf=args.crf)
    samples = list(degraded_samples(video_samples(args.clip, 4, 1, held_out=0.15), codec, sequence=True, every=5))  # every frame encoded, every 5th kept
    sample = samples[args.frame]
    hr, lr = sample.hr, sample.lr
    x, y, w, h = args.crop or ((hr.shape[1] - 256) // 2 // 4 * 4, (hr.shape[0] - 192) // 2 // 4 * 4, 256, 192)
    methods = [("bicubic", Bicubic(scale=4))] + [(model_label(m), load_model(m)) for m in args.model]
    panels = [Panel(enlarge_nearest(lr[y // 4 : (y + h) // 4, x // 4 : (x + w) // 4], 4), f"LR, x264 CRF {args.crf}")]
    with torch.inference_mode():
        for name, model in methods:
            sr = frames.to_numpy(Upscaler(model, device="cpu")(frames.to_tensor(lr)))[0]
            panels.append(Panel(sr[y : y + h, x : x + w], f"{name} {psnr_y(sr, hr):.2f} dB"))
    panels.append(Panel(hr[y : y + h, x : x + w], "original"))
    row = compose(panels, "side")  # labels each panel
    args.out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(row).save(args.out)
    print(f"{args.out}: {args.clip.name} held-out frame {sample.name}, crop {w}x{h} at ({x}, {y})")


if __name__ == "__main__":
    main()
