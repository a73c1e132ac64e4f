"""The table behind ``--denoise auto``: the best strength for each quantiser a video was encoded with.

    python scripts/models/denoise_calibration.py --out training/x4-real/denoise-calibration.json
    python scripts/models/denoise_calibration.py --out X.json --points training/x4-real/denoise-calibration.json  # refit only
    python scripts/models/denoise_calibration.py --out X.json --points OLD.json --conditions vp9:crf=35  # add conditions

Each held-out clip tail (compressed_table.py's protocol: the LR of every frame encoded as one
sequence, every 5th frame scored, PSNR-Y with a 4-pixel crop) under libx264 at CRF 8-38, MPEG-2 and
MPEG-4 Part 2 at several bitrates, libvpx-vp9 at CRF 15-55, libx265 at CRF 13-38, SVT-AV1 at CRF 20-60, and clean; each scored with x4 at --denoise 0, 0.25, 0.5, 0.75
and 1 (x4-real) and bicubic. Beside each (clip, condition) the quantiser the sequence was encoded
with, as its decoder reports it (:func:`vsrgan.dataset.codecs.sequence_quantiser`: what
``--denoise auto`` reads from a file). Then, per quantiser kind, the ramp ``strength = clamp((q - lo)
/ (hi - lo), 0, 1)`` that scores best over all points (PSNR at a strength between two measured
ones is interpolated; ``lo`` may lie below 0: even the lightest lossy encode wants some denoising),
fitted on all clips and, to show how well it carries to a clip it never saw, on each three with
the fourth scored. Prints the tables; writes everything to --out.
"""

import argparse
import itertools
import json
import tempfile
from pathlib import Path

import numpy as np

from vsrgan.dataset.codecs import parse_codec, sequence_quantiser
from vsrgan.evaluation.degraded import SEQUENCE_FRAMES
from vsrgan.evaluation.evaluate import evaluate, video_samples
from vsrgan.evaluation.results import label
from vsrgan.models import load_model
from vsrgan.models.weights import save_generator

CLIPS = ("cockatoo", "bigbuckbunny", "bikes", "carphone_pristine")
CONDITIONS = ("x264:crf=8", "x264:crf=13", "x264:crf=18", "x264:crf=23", "x264:crf=28", "x264:crf=33", "x264:crf=38",
              "mpeg2:bpp=0.15", "mpeg2:bpp=0.3", "mpeg2:bpp=0.6", "mpeg2:bpp=1.2", "mpeg4:bpp=0.1", "mpeg4:bpp=0.2", "mpeg4:bpp=0.4",
              "vp9:crf=15", "vp9:crf=25", "vp9:crf=35", "vp9:crf=45", "vp9:crf=55",
              "x265:crf=13", "x265:crf=18", "x265:crf=23", "x265:crf=28", "x265:crf=33", "x265:crf=38",
              "av1:crf=20", "av1:crf=30", "av1:crf=40", "av1:crf=50", "av1:crf=60", "clean")
STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)
KINDS = ("h264", "mpeg", "vp9", "hevc", "av1")  # the quantiser scales a ramp is fitted for (vsrgan.io.compression)


def psnr_at(row: dict[float, float], strength: float) -> float:
    """PSNR-Y at ``strength``, interpolated between the measured strengths."""
    return float(np.interp(strength, STRENGTHS, [row[s] for s in STRENGTHS]))


def ramp(q: float, lo: float, hi: float) -> float:
    return float(np.clip((q - lo) / (hi - lo), 0.0, 1.0))


def fit(points: list[dict]) -> tuple[float, float]:
    """The (lo, hi) of the ramp with the best mean PSNR-Y over ``points`` (each clip weighs the same)."""
    grid = np.arange(-20.0, max(p["q"] for p in points) + 1, 0.5)
    clips = {p["clip"] for p in points}

    def score(lo, hi):
        return np.mean([np.mean([psnr_at(p["psnr"], ramp(p["q"], lo, hi)) for p in points if p["clip"] == c]) for c in clips])

    return max(((lo, hi) for lo, hi in itertools.product(grid, grid) if hi > lo), key=lambda r: score(*r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="results JSON")
    parser.add_argument("--clips", type=Path, default=Path("data/samples"))
    parser.add_argument("--points", type=Path, default=None, help="the points of an earlier --out, refitted with any new ones")
    parser.add_argument("--conditions", nargs="+", default=None, help="score only these (default: all, unless --points)")
    args = parser.parse_args()

    points = []
    if args.points:
        points = json.loads(args.points.read_text())["points"]
        for p in points:
            p["psnr"] = {float(k): v for k, v in p["psnr"].items()}
    if args.conditions or not args.points:
        points += score_points(args.clips, args.conditions or CONDITIONS)
    fit_and_report(points, args.out)


def score_points(clips: Path, conditions: list[str]) -> list[dict]:
    """Every (clip, condition): its quantiser and the PSNR-Y of bicubic and of each strength."""
    with tempfile.TemporaryDirectory() as tmp:
        models = []
        for s in STRENGTHS:
            path = Path(tmp) / f"dn{round(s * 100):03d}.safetensors"
            save_generator(load_model("x4", denoise=s), path)
            models.append(str(path))
        result = evaluate([clips / f"{c}.mp4" for c in CLIPS], models=models, degrade=conditions, held_out=0.15,
                          every=5, device="cpu", progress=False)
    names = {s: f"dn{round(s * 100):03d}" for s in STRENGTHS}

    points = []
    for clip in CLIPS:
        lr = [s.lr for s in video_samples(clips / f"{clip}.mp4", 4, 1, 0.15)][:SEQUENCE_FRAMES]
        means = result.per_source[clip]
        for condition in conditions:
            quantiser = sequence_quantiser(lr, parse_codec(condition))
            bicubic = means[label("bicubic", condition)]["psnr_y"]
            psnr = {s: means[label(names[s], condition)]["psnr_y"] for s in STRENGTHS}
            points.append({"clip": clip, "condition": condition, "kind": quantiser.kind if quantiser else "none",
                           "q": quantiser.value if quantiser else None, "bicubic": bicubic, "psnr": psnr,
                           "best": max(STRENGTHS, key=lambda s: psnr[s])})
            print(f"{clip:18s} {condition:15s} {str(quantiser) if quantiser else '-':40s} gains "
                  + " ".join(f"{s:g}:{psnr[s] - bicubic:+.2f}" for s in STRENGTHS) + f"  best {points[-1]['best']:g}", flush=True)
    return points


def fit_and_report(points: list[dict], out: Path) -> None:
    """The ramps, fitted on all clips and on each three; the tables; the JSON."""
    ramps, held = {}, {}
    kinds = [kind for kind in KINDS if any(p["kind"] == kind for p in points)]
    for kind in kinds:
        pts = [p for p in points if p["kind"] == kind]
        ramps[kind] = fit(pts)
        for clip in CLIPS:  # fitted without the clip, scored on it
            lo, hi = fit([p for p in pts if p["clip"] != clip])
            for p in (p for p in pts if p["clip"] == clip):
                held.setdefault(kind, []).append({"clip": clip, "condition": p["condition"], "strength": ramp(p["q"], lo, hi),
                                                  "psnr": psnr_at(p["psnr"], ramp(p["q"], lo, hi))})
        lo, hi = ramps[kind]
        print(f"\n{kind}: strength = clamp((q {-lo:+.1f}) / {hi - lo:.1f}, 0, 1): 0 at {lo:.1f}, 1 at {hi:.1f}")

    print("\n| condition | clip | quantiser | x4 | --denoise 0.5 | x4-real | best fixed strength | auto (fit on the other 3 clips) | auto strength |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for kind in kinds:
        for p, h in zip((p for p in points if p["kind"] == kind), held[kind]):
            b = p["bicubic"]
            print(f"| {p['condition']} | {p['clip']} | {p['q']:.1f} | {p['psnr'][0.0] - b:+.2f} | {p['psnr'][0.5] - b:+.2f} | "
                  f"{p['psnr'][1.0] - b:+.2f} | {max(p['psnr'].values()) - b:+.2f} ({p['best']:g}) | {h['psnr'] - b:+.2f} | {h['strength']:.2f} |")
    summary = {}
    for kind in kinds:
        pts = [p for p in points if p["kind"] == kind]
        summary[kind] = {f"--denoise {s:g}": float(np.mean([p["psnr"][s] - p["bicubic"] for p in pts])) for s in STRENGTHS}
        summary[kind]["auto (held-out clip)"] = float(np.mean([h["psnr"] - p["bicubic"] for p, h in zip(pts, held[kind])]))
        summary[kind]["oracle"] = float(np.mean([max(p["psnr"].values()) - p["bicubic"] for p in pts]))
        print(f"\n{kind}, mean gain over bicubic of every (clip, condition): " + ", ".join(f"{k} {v:+.3f}" for k, v in summary[kind].items()))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"strengths": STRENGTHS, "points": points, "ramps": ramps, "held_out": held, "summary": summary}, indent=1) + "\n")


if __name__ == "__main__":
    main()
