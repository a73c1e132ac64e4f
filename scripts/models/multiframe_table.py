"""PSNR-Y on compressed consecutive frames, for models that take neighbouring frames (x4-real's multi-frame screen).

    python scripts/models/multiframe_table.py x4-real training/study/real/mf/generator.safetensors --out mf.json

The protocol of `compressed_table.py` (the held-out last 15% of each sample clip, x4 bicubic LR,
each condition one x264 sequence, every 5th frame scored, PSNR-Y with a 4-pixel crop) with one
change: the sequence encoded is *every* held-out frame, as real video is, not only the scored ones.
So a frame's neighbours in the decoded sequence are its neighbours in the clip, and a model with
``in_frames = 3`` gets frames t-1, t, t+1 (the first or last repeated at the sequence's ends);
single-frame models and bicubic get frame t. Since consecutive frames predict each other better
than every 5th, a CRF costs less quality here than in `compressed_table.py`: compare gains
within one table, not across the two.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from compressed_table import CLIPS, CONDITIONS  # the same clips and conditions (scripts/models/ is on the path)

from vsrgan import metrics
from vsrgan.dataset.codecs import parse_codec, round_trip
from vsrgan.dataset.realistic import around
from vsrgan.evaluation.evaluate import video_samples
from vsrgan.io import frames as frame_io
from vsrgan.models import Bicubic, load_model, model_label

SCALE = 4


@torch.inference_mode()
def upscale(model: torch.nn.Module, lr_frames: list[np.ndarray], index: int) -> np.ndarray:
    """Frame ``index`` upscaled, with as many neighbours as the model takes."""
    k = getattr(getattr(model, "config", None), "in_frames", 1) // 2
    x = torch.cat([frame_io.to_tensor(f) for f in around(lr_frames, index, k)], dim=1)
    return frame_io.to_numpy(model(x).clamp(0, 1))[0]


def psnr_y(sr: np.ndarray, hr: np.ndarray) -> float:
    return float(metrics.psnr(frame_io.to_tensor(sr), frame_io.to_tensor(hr), crop_border=SCALE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="model names, .safetensors or checkpoint paths")
    parser.add_argument("--out", type=Path, required=True, help="results JSON")
    parser.add_argument("--clips", type=Path, default=Path("data/samples"))
    parser.add_argument("--held-out", type=float, default=0.15)
    parser.add_argument("--every", type=int, default=5, help="score every N-th held-out frame (default: %(default)s)")
    args = parser.parse_args()

    torch.set_num_threads(2)
    labels = [model_label(m) for m in args.models]  # two runs' step_N.pt: named by their run folders
    labels = [f"{Path(m).parent.parent.name}/{label}" if labels.count(label) > 1 else label for m, label in zip(args.models, labels)]
    if len(set(labels)) < len(labels):
        raise SystemExit(f"two models are named alike ({', '.join(labels)}); give their files different names")
    models = {label: load_model(m).eval() for label, m in zip(labels, args.models)}
    methods = {"bicubic": Bicubic(scale=SCALE), **models}
    table: dict = {}
    for condition in CONDITIONS:
        codec = parse_codec(condition)
        rows = {}
        for clip in CLIPS:
            samples = list(video_samples(args.clips / f"{clip}.mp4", SCALE, 1, held_out=args.held_out))  # every held-out frame
            hr_frames, lr_frames = [s.hr for s in samples], round_trip([s.lr for s in samples], codec)
            scored = range(0, len(hr_frames), args.every)
            psnrs = {m: float(np.mean([psnr_y(upscale(net, lr_frames, i), hr_frames[i]) for i in scored])) for m, net in methods.items()}
            rows[clip] = {m: {"psnr_y": p, "gain": p - psnrs["bicubic"]} for m, p in psnrs.items()}
            print(condition, clip, " ".join(f"{m} {r['gain']:+.3f}" for m, r in rows[clip].items() if m != "bicubic"), flush=True)
        rows["mean over clips"] = {m: {k: float(np.mean([rows[c][m][k] for c in CLIPS])) for k in ("psnr_y", "gain")} for m in methods}
        table[condition] = rows
    settings = {"models": args.models, "held_out": args.held_out, "every": args.every, "protocol": "every held-out frame encoded; every N-th scored"}
    args.out.write_text(json.dumps({"settings": settings, "psnr_y": table}, indent=1) + "\n")
    print("| condition | " + " | ".join(f"{m} gain" for m in models) + " |")
    print("| --- |" + " ---: |" * len(models))
    for condition, rows in table.items():
        print(f"| {condition} | " + " | ".join(f"{rows['mean over clips'][m]['gain']:+.2f}" for m in models) + " |")


if __name__ == "__main__":
    main()
