"""PSNR-Y on compressed input, as the model card reports it: each model and bicubic, per clip.

    python scripts/models/compressed_table.py x4 runs/x4-real/generator.safetensors --out training/compressed.json

`vsrgan evaluate --degrade` on the held-out tail of each sample clip (the last 15%: the frames
`vsrgan prepare --test-fraction 0.15` kept out of training), every 5th frame, the LR frames of a
clip encoded as one x264 sequence at each CRF. Prints a Markdown table of PSNR-Y and each model's
gain over bicubic (on the same compressed input) per clip and condition, the mean over clips (each
clip weighs the same), and the clip where each model gains least; writes them as JSON to --out.
"""

import argparse
import json
from pathlib import Path

from vsrgan.evaluation.evaluate import evaluate
from vsrgan.evaluation.results import label

CLIPS = ("cockatoo", "bigbuckbunny", "bikes", "carphone_pristine")
CONDITIONS = ("clean", "x264:crf=23", "x264:crf=28", "x264:crf=33")
MEAN = "mean over clips"


def scores(result) -> dict:
    """``psnr_y``: condition -> clip (and the mean over clips) -> method -> {psnr_y, gain over bicubic};
    ``least_gain``: condition -> model -> the clip where it gains least, and that gain; ``tof`` and
    ``flicker``: condition -> method -> tOF and flicker (lower: steadier) averaged over the clips."""
    table, least, tof, flicker = {}, {}, {}, {}
    for c in result.conditions:
        rows = {}
        for clip, means in result.per_source.items():
            bicubic = means[label("bicubic", c)]["psnr_y"]
            rows[clip] = {m: {"psnr_y": means[label(m, c)]["psnr_y"], "gain": means[label(m, c)]["psnr_y"] - bicubic} for m in result.methods}
        least[c] = {m: min(({"clip": clip, "gain": row[m]["gain"]} for clip, row in rows.items()), key=lambda x: x["gain"]) for m in result.methods[1:]}
        rows[MEAN] = {m: {k: sum(row[m][k] for row in rows.values()) / len(rows) for k in ("psnr_y", "gain")} for m in result.methods}
        table[c] = rows
        for name, out in (("tof", tof), ("flicker", flicker)):
            out[c] = {m: sum(means[label(m, c)][name] for means in result.per_source.values()) / len(result.per_source) for m in result.methods}
    return {"psnr_y": table, "least_gain": least, "tof": tof, "flicker": flicker}


def markdown(result, scored: dict) -> str:
    models = result.methods[1:]
    frames = {s["name"]: s["samples"] for s in result.sources}
    lines = [
        "| condition | clip (frames) | bicubic PSNR-Y | " + " | ".join(f"{m} PSNR-Y | {m} gain" for m in models) + " |",
        "| --- | --- |" + " ---: |" * (1 + 2 * len(models)),
    ]
    for c, rows in scored["psnr_y"].items():
        for clip, row in rows.items():
            name = f"**{clip}**" if clip == MEAN else f"{clip} ({frames[clip]})"
            cells = [f"{row['bicubic']['psnr_y']:.2f}"] + [f"{row[m]['psnr_y']:.2f} | {row[m]['gain']:+.2f}" for m in models]
            lines.append(f"| {c} | {name} | " + " | ".join(cells) + " |")
    lines += ["", "| condition | " + " | ".join(f"{m}: least gain" for m in models) + " |", "| --- |" + " --- |" * len(models)]
    for c, worst in scored["least_gain"].items():
        lines.append(f"| {c} | " + " | ".join(f"{worst[m]['clip']} ({worst[m]['gain']:+.2f} dB)" for m in models) + " |")
    for name, title in (("tof", "tOF"), ("flicker", "flicker")):
        lines += ["", "| condition | " + " | ".join(f"{m} {title}" for m in result.methods) + " |", "| --- |" + " ---: |" * len(result.methods)]
        for c, row in scored[name].items():
            lines.append(f"| {c} | " + " | ".join(f"{row[m]:.3f}" for m in result.methods) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="model names or .safetensors paths, e.g. x4 x4-real")
    parser.add_argument("--out", type=Path, required=True, help="results JSON")
    parser.add_argument("--clips", type=Path, default=Path("data/samples"), help="folder with the sample clips (scripts/data/fetch_samples.sh)")
    parser.add_argument("--held-out", type=float, default=0.15, help="the clips' held-out tail (default: %(default)s)")
    parser.add_argument("--every", type=int, default=5, help="score every N-th held-out frame (default: %(default)s)")
    parser.add_argument("--max-frames", type=int, default=0, help="at most N scored frames per clip (0: all); with --every 1, consecutive frames for tOF")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    result = evaluate(
        [args.clips / f"{c}.mp4" for c in CLIPS],
        models=args.models,
        degrade=CONDITIONS,
        held_out=args.held_out,
        every=args.every,
        max_frames=args.max_frames,
        device=args.device,
        progress=True,
    )
    scored = scores(result)
    frames = {s["name"]: s["samples"] for s in result.sources}
    settings = {"models": args.models, "methods": result.methods, "held_out": args.held_out, "every": args.every, "max_frames": args.max_frames, "frames": frames}
    args.out.write_text(json.dumps({"settings": settings, **scored}, indent=1) + "\n")
    print(markdown(result, scored))


if __name__ == "__main__":
    main()
