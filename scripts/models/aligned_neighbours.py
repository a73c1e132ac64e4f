"""How much do a compressed frame's neighbours hold that the frame lost? A probe for an aligned multi-frame x4-real.

    python scripts/models/aligned_neighbours.py --out training/study/real/mf-screen/aligned-neighbours.json

For the held-out tail of each sample clip, its first ``--frames`` LR frames are encoded as one
libx264 sequence (as `vsrgan evaluate --degrade` does) at each CRF and decoded. Each inner frame t is
then fused with its decoded neighbours t-1 and t+1, warped onto it by dense optical flow (Farneback
on the luma), each warped pixel weighted by how well it matches frame t (``exp(-(d / tau)^2)``, d the
smoothed luma difference), and the fusion scored against the clean LR (PSNR-Y) beside the decoded
frame alone. The flow comes from the decoded frames (what a model would have) and, as an upper bound,
from the clean ones (an oracle: perfect alignment). If three aligned frames carried independent codec
errors their mean would gain up to 4.8 dB; what it gains is the information a multi-frame network
could use at most, before any learning.
"""

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch

from vsrgan import metrics
from vsrgan.dataset.codecs import parse_codec
from vsrgan.evaluation.degraded import degraded_samples
from vsrgan.evaluation.evaluate import video_samples

CLIPS = ("cockatoo", "bigbuckbunny", "bikes", "carphone_pristine")


def luma(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image, cv2.COLOR_RGB2YCrCb)[..., 0]


def warped(neighbour: np.ndarray, frame: np.ndarray, flow_from: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """``neighbour`` moved onto ``frame``, by the flow between the pair ``flow_from`` (frame, neighbour)."""
    flow = cv2.calcOpticalFlowFarneback(luma(flow_from[0]), luma(flow_from[1]), None, 0.5, 3, 15, 3, 5, 1.2, 0)
    h, w = frame.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(neighbour, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def fused(decoded: list[np.ndarray], t: int, tau: float, flow_frames: list[np.ndarray]) -> np.ndarray:
    """Frame t averaged with its warped neighbours, each pixel weighted by its match to frame t."""
    total = decoded[t].astype(np.float32)
    weights = np.ones(total.shape[:2] + (1,), np.float32)
    for s in (t - 1, t + 1):
        moved = warped(decoded[s], decoded[t], (flow_frames[t], flow_frames[s]))
        diff = cv2.GaussianBlur(luma(moved).astype(np.float32) - luma(decoded[t]).astype(np.float32), (5, 5), 1.5)
        weight = np.exp(-(np.abs(diff) / tau) ** 2)[..., None]
        total += weight * moved
        weights += weight
    return np.clip(total / weights + 0.5, 0, 255).astype(np.uint8)


def psnr_y(a: np.ndarray, b: np.ndarray) -> float:
    def tensor(x):
        return torch.from_numpy(x).permute(2, 0, 1)[None].float() / 255

    return float(metrics.psnr(tensor(a), tensor(b)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="results JSON")
    parser.add_argument("--clips", type=Path, default=Path("data/samples"))
    parser.add_argument("--frames", type=int, default=12, help="consecutive held-out frames per clip (default: %(default)s)")
    parser.add_argument("--crf", type=int, nargs="+", default=[23, 28, 33])
    parser.add_argument("--tau", type=float, nargs="+", default=[3.0, 6.0, 12.0], help="match tolerance, luma levels")
    args = parser.parse_args()

    results = {}
    for crf in args.crf:
        codec = parse_codec(f"x264:crf={crf}")
        for clip in CLIPS:
            samples = list(video_samples(args.clips / f"{clip}.mp4", 4, 1, 0.15))[: args.frames]
            decoded = [s.lr for s in degraded_samples(samples, codec, sequence=True)]
            clean = [s.lr for s in samples]
            inner = range(1, len(decoded) - 1)
            row = {"decoded": float(np.mean([psnr_y(decoded[t], clean[t]) for t in inner]))}
            for tau in args.tau:
                for name, flow_frames in (("flow from decoded", decoded), ("flow from clean (oracle)", clean)):
                    row[f"{name}, tau {tau:g}"] = float(np.mean([psnr_y(fused(decoded, t, tau, flow_frames), clean[t]) for t in inner]))
            results.setdefault(f"x264:crf={crf}", {})[clip] = row
            print(f"crf {crf} {clip}: " + ", ".join(f"{k} {v - row['decoded']:+.2f}" for k, v in row.items() if k != "decoded") + f" (decoded {row['decoded']:.2f} dB)", flush=True)
    for condition, clips in results.items():
        keys = next(iter(clips.values())).keys()
        clips["mean over clips"] = {k: float(np.mean([c[k] for c in clips.values()])) for k in keys}
        best = max((k for k in keys if k != "decoded"), key=lambda k: clips["mean over clips"][k])
        print(f"{condition}: best fusion '{best}' {clips['mean over clips'][best] - clips['mean over clips']['decoded']:+.3f} dB over the decoded frame")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"frames": args.frames, "psnr_y_lr": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
