"""Planted bugs: does the test suite catch realistic mistakes? (issue 23)

    python scripts/mutants.py              # every mutant, each against the tests that should catch it
    python scripts/mutants.py --only tile-overlap pts-shift

Each mutant is one small, plausible change to the code (an off-by-one tile margin, a dropped
audio packet, a shifted timestamp, a state skipped on resume, the wrong colour matrix, a metric
on RGB instead of Y ...) and the test files that should fail because of it. The script copies the
working tree to a temporary folder, plants one mutant at a time there, runs those tests (``-x``,
stopping at the first failure) and reports CAUGHT or MISSED; the working tree is never touched.
A MISSED mutant is a hole in the suite: write the test that catches it. TESTING.md lists them.
Exit code: the number of missed mutants.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("vsrgan", "tests", "configs", "scripts", "pyproject.toml", "ARCHITECTURE.md")


@dataclass(frozen=True)
class Mutant:
    name: str
    area: str  # frame path, training, evaluation, cluster
    file: str
    old: str  # must occur exactly once in file
    new: str
    tests: tuple[str, ...]  # the test files that should catch it
    why: str


MUTANTS = [
    Mutant("tile-overlap", "frame path", "vsrgan/inference/tiling.py",
           "y0, y1 = max(top - pad, 0) // ALIGN * ALIGN", "y0, y1 = max(top - pad + 1, 0) // ALIGN * ALIGN",
           ("tests/test_frames.py",), "a tile's top margin one pixel short of the receptive radius"),
    Mutant("uint8-truncate", "frame path", "vsrgan/io/frames.py",
           "t = tensor.detach().mul_(255).round_()", "t = tensor.detach().mul_(255).floor_()",
           ("tests/test_frames.py",), "floats truncated to uint8 instead of rounded"),
    Mutant("audio-packet-dropped", "frame path", "vsrgan/io/passthrough.py",
           "            packet.stream = out\n            output.mux(packet)",
           "            packet.stream = out\n            if packet.pts != 0:\n                output.mux(packet)",
           ("tests/test_passthrough.py", "tests/test_upscale.py"), "the first copied audio packet lost"),
    Mutant("pts-shift", "frame path", "vsrgan/io/writer.py",
           "        if not self.constant_rate:\n            return pts", "        if not self.constant_rate:\n            return pts + 1",
           ("tests/test_frames.py", "tests/test_upscale.py"), "every frame shown one tick late"),
    Mutant("hd-matrix", "frame path", "vsrgan/io/colour.py",
           "return BT709 if width >= 1280 or height > 576 else BT601", "return BT709 if width > 1280 or height > 720 else BT601",
           ("tests/test_colour.py",), "720p taken for SD: the wrong YUV matrix"),
    Mutant("ema-not-restored", "training", "vsrgan/training/setup.py",
           '    nets.ema.load_state_dict(checkpoint["ema"])\n', "",
           ("tests/test_train.py",), "resume skips the EMA generator"),
    Mutant("init-ignored", "training", "vsrgan/training/setup.py",
           "    if checkpoint is None and c.train.init:", "    if checkpoint is None and c.train.init and c.train.stage == 'gan':",
           ("tests/test_train.py",), "a pixel-loss fine-tune (x4-real) starts from random weights"),
    Mutant("crop-misaligned", "training", "vsrgan/dataset/crops.py",
           "hr = hr_image[:, y * s : (y + p) * s, x * s : (x + p) * s]", "hr = hr_image[:, y * s + 1 : (y + p) * s + 1, x * s : (x + p) * s]",
           ("tests/test_data.py",), "HR crops one pixel below their LR crops"),
    Mutant("downscale-aliased", "training", "vsrgan/dataset/degrade.py",
           'y = F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=True, align_corners=False)',
           'y = F.interpolate(x, size=(h // scale, w // scale), mode="bicubic", antialias=False, align_corners=False)',
           ("tests/test_data.py",), "the LR kernel without antialiasing"),
    Mutant("wrong-target-frame", "training", "vsrgan/dataset/realistic.py",
           "    return lr_frames[d.target], region", "    return lr_frames[d.target - 1], region",
           ("tests/test_realistic.py",), "the LR sample taken from the wrong frame of its sequence: misaligned with its HR"),
    Mutant("pool-sample-wrong-frame", "training", "vsrgan/dataset/pool.py",
           "window = around(lr_frames, recipe.target, k)", "window = around(lr_frames, recipe.target - 1, k)",
           ("tests/test_realistic.py",), "the pool writes another frame of the sequence than its recipe's target: its LR misaligned with its HR"),
    Mutant("pool-split-dropped", "training", "vsrgan/dataset/pool.py",
           "    with staged_dataset(out, scale, splits) as tmp:", "    with staged_dataset(out, scale) as tmp:",
           ("tests/test_realistic.py",), "a pool of a dataset with a further held-out split (test-extra) fails to write it"),
    Mutant("crf-range-open", "training", "vsrgan/dataset/realistic.py",
           "crf=int(rng.integers(crf[0], crf[1] + 1))", "crf=int(rng.integers(crf[0], crf[1]))",
           ("tests/test_realistic.py",), "degrade --crf's top CRF never drawn"),
    Mutant("chroma-luma-swapped", "training", "vsrgan/training/losses.py",
           "luma, colour = self.distance(a[:, :1], b[:, :1]), self.distance(a[:, 1:], b[:, 1:])",
           "colour, luma = self.distance(a[:, :1], b[:, :1]), self.distance(a[:, 1:], b[:, 1:])",
           ("tests/test_losses.py",), "loss.chroma_weight weighs luma instead of colour"),
    Mutant("calibration-ignored", "frame path", "vsrgan/inference/backends.py",
           "    if calibration is not None and row in calibration.rows:", "    if calibration is not None and row not in calibration.rows:",
           ("tests/test_calibration.py",), "--backend auto follows the package table where this machine has a calibration"),
    Mutant("calibration-cpu-only", "frame path", "vsrgan/inference/calibration.py",
           '        if entry["machine"] == mine:', '        if entry["machine"]["cpu"] == mine["cpu"]:',
           ("tests/test_calibration.py",), "a calibration made with other threads or engine versions is followed"),
    Mutant("checkpoint-not-ema", "training", "vsrgan/models/weights.py",
           '        model.load_state_dict(obj["ema"])', '        model.load_state_dict(obj["generator"])',
           ("tests/test_models.py",), "-m RUN/checkpoints/step_N.pt loads the raw generator, not the EMA the run exports"),
    Mutant("gpu-not-shared", "cluster", "vsrgan/cluster/tasks.py",
           "    return 1 / segments_per_gpu, options", "    return 1, options",
           ("tests/test_cluster_gpu_share.py",), "--segments-per-gpu asks Ray for a whole GPU per segment: one at a time"),
    Mutant("default-denoise-off", "frame path", "vsrgan/models/__init__.py",
           "    return AUTO if installed else None", "    return None",
           ("tests/test_denoise.py", "tests/test_bundled.py"), "the default runs the clean x4, not the blend --denoise auto picks"),
    Mutant("explicit-model-blended", "frame path", "vsrgan/models/__init__.py",
           "    if denoise is not None or model is not None or default_model() not in DENOISE_PAIRS:",
           "    if denoise is not None or default_model() not in DENOISE_PAIRS:",
           ("tests/test_denoise.py",), "-m x4 given by name is blended too: no way left to run the clean x4 without --denoise 0"),
    Mutant("auto-shares-large-models", "cluster", "vsrgan/cluster/tasks.py",
           "return SMALL_MODEL_SHARES if parameters < SMALL_MODEL else 1", "return SMALL_MODEL_SHARES",
           ("tests/test_cluster_gpu_share.py",), "--segments-per-gpu auto shares a GPU 4 ways for an RRDBNet too: 4 copies of a GPU-bound model"),
    Mutant("neighbours-in-the-centres-place", "training", "vsrgan/models/compact.py",
           "    grown[:, centre_channels(grown.shape[1], frames)] = head", "    grown[:, : head.shape[1]] = head",
           ("tests/test_multiframe.py",), "a single-frame net grown to three frames reads the previous frame as its own: not x4 at step 0"),
    Mutant("bicubic-of-the-first-frame", "training", "vsrgan/models/compact.py",
           "    return x if frames == 1 else x[..., centre_channels(x.shape[-3], frames), :, :]",
           "    return x if frames == 1 else x[..., : x.shape[-3] // frames, :, :]",
           ("tests/test_multiframe.py",), "a multi-frame net adds its residual to the previous frame's bicubic upscale"),
    Mutant("context-frames-swapped", "training", "vsrgan/dataset/pool.py",
           "*zip(item.context or [], window[:k] + window[k + 1 :])", "*zip(item.context or [], window[k + 1 :] + window[:k])",
           ("tests/test_multiframe.py",), "the pool stores the next frame as the previous one: time runs backwards for the model"),
    Mutant("moving-pans-compared", "training", "vsrgan/dataset/crops.py",
           ' or recipe.get("dy", 1) or recipe.get("dx", 1)', "",
           ("tests/test_temporal.py",), "moved neighbours forced to agree with their frame: other surroundings, other phase; the loss then blurs"),
    Mutant("repeated-end-frame-used", "training", "vsrgan/dataset/crops.py",
           "if t and 0 <= target + t < FRAMES]", "if t]",
           ("tests/test_temporal.py",), "a sequence's end frame, repeated in its neighbour's place, counted as a neighbour"),
    Mutant("neighbour-is-the-frame", "training", "vsrgan/dataset/crops.py",
           "neighbours.append(lr[3 * n : 3 * n + 3])", "neighbours.append(centre_frame(lr, frames))",
           ("tests/test_temporal.py",), "the 'neighbour' is the frame itself: the temporal loss is 0 and teaches nothing"),
    Mutant("temporal-loss-not-added", "training", "vsrgan/training/steps.py",
           "loss = l_pixel if l_temporal is None else l_pixel + l_temporal", "loss = l_pixel",
           ("tests/test_temporal.py",), "the temporal loss logged but left out of the gradient"),
    Mutant("temporal-loss-per-still-sample", "training", "vsrgan/training/losses.py",
           "F.l1_loss(sr_n, sr[which]) * len(which) / len(sr)", "F.l1_loss(sr_n, sr[which])",
           ("tests/test_temporal.py",), "the temporal loss weighs a few still samples as much as the whole batch's pixel loss"),
    Mutant("decode-rounds-down", "frame path", "vsrgan/io/colour.py",
           'return frame.to_ndarray(format="rgb24", interpolation=EXACT_CHROMA, **matrix)', 'return frame.to_ndarray(format="rgb24", **matrix)',
           ("tests/test_colour.py",), "swscale's default YUV -> RGB: every yuv420p source read about one luma level dark"),
    Mutant("auto-denoise-not-read", "frame path", "vsrgan/upscale.py",
           "    options = replace(options, model=options.model.for_input(input))", "",
           ("tests/test_denoise.py",), "--denoise auto never reads the video: every input gets the fallback strength"),
    Mutant("hevc-av1-not-parsed", "frame path", "vsrgan/io/compression.py",
           "            if stream.codec.canonical_name in HEADER_KINDS:", "            if False:",
           ("tests/test_denoise.py",), "HEVC and AV1 videos read no quantiser: --denoise auto falls back to the fixed strength for them"),
    Mutant("hevc-init-qp-ignored", "frame path", "vsrgan/io/compression.py",
           'values["hevc"].append(26 + init_qp + value)', 'values["hevc"].append(26 + value)',
           ("tests/test_denoise.py",), "HEVC's slice QP misses the picture parameter set's base: every encoder that sets it reads off"),
    Mutant("batch-one-strength", "frame path", "vsrgan/batch.py",
           "                model = options.model.for_input(item.input)", "                model = options.model.for_input(items[0].input)",
           ("tests/test_denoise.py",), "a batch upscales every video at the strength the first one asked for"),
    Mutant("cluster-one-strength", "cluster", "vsrgan/cluster/tasks.py",
           "        if job.model is None:\n            return self.model", "        if True:\n            return self.model",
           ("tests/test_denoise.py",), "the cluster's segments all run the job's default model, not their video's strength"),
    Mutant("only-scored-frames-encoded", "evaluation", "vsrgan/evaluation/degraded.py",
           "        scored = not sequence or sample.index % every == 0\n        held.append(",
           "        scored = not sequence or sample.index % every == 0\n        if not scored:\n            continue\n        held.append(",
           ("tests/test_evaluate_degrade.py",), "evaluate --degrade --every 5 encodes every 5th frame as the sequence: five times real video's motion"),
    Mutant("gpu-worker-per-segment", "cluster", "vsrgan/cluster/tasks.py",
           "max_calls=0, num_cpus", "max_calls=1, num_cpus",
           ("tests/test_cluster_gpu_share.py",), "a GPU task's worker ends after each segment: a new process, torch and CUDA context each"),
    Mutant("ray-workers-niced", "cluster", "vsrgan/cluster/tasks.py",
           '_system_config={"worker_niceness": 0})', '_system_config={"worker_niceness": 15})',
           ("tests/test_cluster.py",), "--cluster auto's workers run 15 nice levels below the job: starved beside other work"),
    Mutant("stop-at-ignored", "training", "vsrgan/training/loop.py",
           "            stop = min(steps, cfg.train.stop_at or steps)", "            stop = steps",
           ("tests/test_train.py",), "--stop-at runs on to train.steps: runs compared at equal steps are not"),
    Mutant("resume-log-not-cut", "training", "vsrgan/training/loop.py",
           "    resumed_at = None if checkpoint is None else progress.step", "    resumed_at = None",
           ("tests/test_train.py",), "a resumed run keeps the records logged after its checkpoint: steps twice in metrics.jsonl"),
    Mutant("psnr-on-rgb", "evaluation", "vsrgan/metrics.py",
           "def psnr(a: torch.Tensor, b: torch.Tensor, *, crop_border: int = 0, y_channel: bool = True)",
           "def psnr(a: torch.Tensor, b: torch.Tensor, *, crop_border: int = 0, y_channel: bool = False)",
           ("tests/test_metrics.py",), "PSNR on RGB where the literature reports Y"),
    Mutant("codec-skipped", "evaluation", "vsrgan/evaluation/degraded.py",
           "zip(held, round_trip([lr for lr, _ in held], codec), strict=True)", "zip(held, [lr for lr, _ in held], strict=True)",
           ("tests/test_evaluate_degrade.py",), "--degrade scores clean input"),
    Mutant("segments-unordered", "cluster", "vsrgan/cluster/join.py",
           "            for part in parts:", "            for part in sorted(parts, key=lambda p: p.stat().st_size):",
           ("tests/test_cluster.py",), "segments joined in the wrong order"),
    Mutant("denoise-reversed", "frame path", "vsrgan/models/blend.py",
           "torch.lerp(a[name].float(), b[name].float(), strength)", "torch.lerp(a[name].float(), b[name].float(), 1 - strength)",
           ("tests/test_denoise.py",), "--denoise 0.25 gives three quarters of the twin"),
    Mutant("threads-to-encoder", "frame path", "vsrgan/options.py",
           'ENCODE_KEYWORDS = tuple(f.name for f in fields(EncodeOptions) if f.name != "threads")',
           "ENCODE_KEYWORDS = tuple(f.name for f in fields(EncodeOptions))",
           ("tests/test_options.py",), "a job's --threads budget also pins the encoder's threads"),
    Mutant("auto-ncnn-narrow", "frame path", "vsrgan/inference/backends.py",
           '(32, "270p"): ("openvino",),', '(32, "270p"): ("ncnn", "openvino"),',
           ("tests/test_backends.py",), "--backend auto runs the 32-feature x4 at 270p in ncnn, measured no faster than eager there (OpenVINO 1.5x)"),
    Mutant("budget-overrun", "training", "vsrgan/training/loop.py",
           "if checkpoint is not None and (clock.budget_spent() or progress.step >= stop):",
           "if checkpoint is not None and (progress.step >= stop):",
           ("tests/test_train.py",), "a run resumed with its CPU-hours spent trains one more step"),
    Mutant("last-batch-dropped", "frame path", "vsrgan/inference/pipeline.py",
           "        if batch and not _put(q_in, batch, stop):", "        if False and batch and not _put(q_in, batch, stop):",
           ("tests/test_pipeline.py", "tests/test_upscale.py"), "the last, partial batch of a video never upscaled"),
    Mutant("ssim-constant", "evaluation", "vsrgan/metrics.py",
           "SSIM_C1, SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2", "SSIM_C1, SSIM_C2 = (0.01 * 255) ** 2, (0.3 * 255) ** 2",
           ("tests/test_metrics.py",), "SSIM's C2 ten times too large: every score nearer 1"),
    Mutant("ema-swapped", "training", "vsrgan/training/steps.py",
           "        e.lerp_(p, 1 - decay)", "        e.lerp_(p, decay)",
           ("tests/test_train.py",), "the EMA keeps 0.1% of itself each step: it is the raw network"),
    Mutant("segment-frames-short", "cluster", "vsrgan/cluster/segments.py",
           "        last = len(pts) if end is None else bisect.bisect_left(pts, end)",
           "        last = len(pts) - 1 if end is None else bisect.bisect_left(pts, end)",
           ("tests/test_cluster.py",), "the last segment counted one frame short"),
    Mutant("rotation-dropped", "frame path", "vsrgan/io/writer.py",
           "                self.stream.set_display_rotation(rotation)", "                pass",
           ("tests/test_upscale.py", "tests/test_video.py"), "a phone video's rotation not written: it plays sideways"),
    Mutant("input-overwritten", "frame path", "vsrgan/io/atomic.py",
           "        if path.resolve() == source.resolve():", "        if False:",
           ("tests/test_cli.py", "tests/test_upscale.py", "tests/test_damage.py"), "an output path that is the input is accepted"),
    Mutant("cosine-flat", "training", "vsrgan/training/loop.py",
           "factor = floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(step / steps, 1.0)))", "factor = 1.0",
           ("tests/test_train.py",), "the cosine schedule never decays"),
    # Session 10: guesses at the hidden list of issue 23, across the frame path, training, evaluation and the cluster.
    Mutant("i420-odd-edge-black", "frame path", "vsrgan/io/frames.py",
           'x = torch.nn.functional.pad(x, (0, w % 2, 0, h % 2), mode="replicate")', "x = torch.nn.functional.pad(x, (0, w % 2, 0, h % 2))",
           ("tests/test_video.py", "tests/test_colour.py"), "an odd-sized frame padded with black on the GPU path: its last column's chroma bleeds"),
    Mutant("untagged-full-range", "frame path", "vsrgan/io/colour.py",
           'else {"src_colorspace": guess_matrix(frame.width, frame.height).name}',
           'else {"src_colorspace": guess_matrix(frame.width, frame.height).name, "src_color_range": "MPEG"}',
           ("tests/test_colour.py", "tests/test_video.py"), "an untagged full-range source decoded as limited range: blacks and whites crushed"),
    Mutant("avi-tick-average", "frame path", "vsrgan/io/writer.py",
           "return dict(time_base=info.time_base, frame_rate=info.frame_rate, base_rate=info.base_rate, wide_colour=info.wide_colour,",
           "return dict(time_base=info.time_base, frame_rate=info.frame_rate, wide_colour=info.wide_colour,",
           ("tests/test_upscale.py", "tests/test_video.py"), "upscaling a variable-rate clip into .avi ticks at the average rate: the frames drift"),
    Mutant("upscaler-train-mode", "frame path", "vsrgan/inference/upscaler.py",
           "self.model = model.eval().to(self.device, self.dtype, memory_format=self.memory_format)",
           "self.model = model.to(self.device, self.dtype, memory_format=self.memory_format)",
           ("tests/test_upscale.py",), "the model runs in training mode: BatchNorm takes each batch's statistics"),
    Mutant("tile-core-unscaled", "frame path", "vsrgan/inference/tiling.py",
           "cy, cx = (top - y0) * scale, (left - x0) * scale", "cy, cx = (top - y0) * scale, left - x0",
           ("tests/test_frames.py", "tests/test_upscale.py"), "a tile's core cut at its input offset, not its output one: seams at x4"),
    Mutant("temp-not-beside", "frame path", "vsrgan/io/atomic.py",
           'suffix=f".partial{path.suffix}", dir=path.parent)', 'suffix=f".partial{path.suffix}")',
           ("tests/test_cli.py", "tests/test_upscale.py", "tests/test_damage.py"), "the temporary output in /tmp, not beside the target: the rename crosses file systems"),
    Mutant("audio-encoder-unflushed", "frame path", "vsrgan/io/passthrough.py",
           "\n                output.mux(out.encode(None))", "",
           ("tests/test_passthrough.py", "tests/test_video.py"), "re-encoded audio loses what its encoder still holds at the end"),
    Mutant("halfres-odd-pad-zero", "frame path", "vsrgan/models/halfres.py",
           'y = F.pad(x, (0, w % CELL, 0, h % CELL), mode="replicate")', "y = F.pad(x, (0, w % CELL, 0, h % CELL))",
           ("tests/test_arch.py",), "halfres pads an odd side with black, not the edge: a dark last row and column"),
    Mutant("augment-hr-only", "training", "vsrgan/dataset/crops.py",
           "lr, hr = (t.flip(2) if flip else t for t in (lr, hr))", "hr = hr.flip(2) if flip else hr",
           ("tests/test_data.py",), "a flip applied to the HR crop and not its LR crop"),
    Mutant("d-real-fake-swapped", "training", "vsrgan/training/steps.py",
           "l_d = adversarial.discriminator(real_logits, fake_logits)", "l_d = adversarial.discriminator(fake_logits, real_logits)",
           ("tests/test_train.py",), "the discriminator is taught that the generator's output is the real one"),
    Mutant("warmup-from-zero", "training", "vsrgan/training/loop.py",
           "warmup = min(1.0, (step + 1) / o.warmup_steps)", "warmup = min(1.0, step / o.warmup_steps)",
           ("tests/test_train.py",), "the warm-up's first step has a learning rate of 0"),
    Mutant("lr-d-is-lr-g", "training", "vsrgan/training/loop.py",
           "learning_rate(c.optim, step, c.train.steps, c.optim.lr_d)", "learning_rate(c.optim, step, c.train.steps, c.optim.lr)",
           ("tests/test_train.py",), "the discriminator trained at the generator's learning rate (optim.lr_d ignored)"),
    Mutant("pixel-loss-summed", "training", "vsrgan/training/losses.py",
           "return self.distance(sr, hr)", 'return self.distance(sr, hr, reduction="sum")',
           ("tests/test_losses.py", "tests/test_train.py"), "the pixel loss summed, not averaged: its weight grows with the batch and crop"),
    Mutant("resume-oldest", "training", "vsrgan/training/checkpoint.py",
           "return found[-1] if found else None", "return found[0] if found else None",
           ("tests/test_train.py",), "--resume continues from the oldest kept checkpoint"),
    Mutant("best-never-recorded", "training", "vsrgan/training/loop.py",
           '        progress.best = m["psnr"]\n', "",
           ("tests/test_train.py",), "the best PSNR never remembered: best.pt is the latest validation, not the best"),
    Mutant("validate-raw-net", "training", "vsrgan/training/loop.py",
           "validate(nets.ema, val_data, scale=scale, device=device)", "validate(nets.generator, val_data, scale=scale, device=device)",
           ("tests/test_train.py",), "validation scores the raw generator, while the EMA is what ships"),
    Mutant("val-border-kept", "training", "vsrgan/training/validate.py",
           "psnrs.append(psnr(sr, target, crop_border=scale).item())", "psnrs.append(psnr(sr, target).item())",
           ("tests/test_train.py",), "validation PSNR counts the border the literature crops"),
    Mutant("seed-ignored-by-crops", "training", "vsrgan/training/setup.py",
           "seed=c.train.seed, rank=rank, world_size=world,", "seed=0, rank=rank, world_size=world,",
           ("tests/test_train.py",), "train.seed does not reach the crop sampler: every seed sees the same crops"),
    Mutant("seed-ignored-by-init", "training", "vsrgan/training/loop.py",
           "torch.manual_seed(cfg.train.seed)", "torch.manual_seed(0)",
           ("tests/test_train.py",), "train.seed does not reach the networks' initial weights"),
    Mutant("rgb-psnr-uncropped", "evaluation", "vsrgan/evaluation/evaluate.py",
           "float(metrics.psnr(sr, hr, crop_border=scale, y_channel=False))", "float(metrics.psnr(sr, hr, y_channel=False))",
           ("tests/test_evaluate.py",), "evaluate's RGB PSNR keeps the border it crops for Y"),
    Mutant("tof-backward-flow", "evaluation", "vsrgan/evaluation/evaluate.py",
           "forward = metrics.optical_flow(prev.hr, cur.hr)", "forward = metrics.optical_flow(cur.hr, prev.hr)",
           ("tests/test_evaluate.py",), "evaluate's tOF compares the output's motion with the ground truth's backward flow"),
    Mutant("ssim-window-7", "evaluation", "vsrgan/metrics.py",
           "SSIM_WINDOW, SSIM_SIGMA = 11, 1.5", "SSIM_WINDOW, SSIM_SIGMA = 7, 1.5",
           ("tests/test_metrics.py",), "SSIM with a 7x7 window, not Wang et al.'s 11x11"),
    Mutant("segment-end-included", "cluster", "vsrgan/cluster/worker.py",
           "if segment.end is not None and frame.pts >= segment.end:", "if segment.end is not None and frame.pts > segment.end:",
           ("tests/test_cluster.py",), "a segment also upscales the next one's keyframe: a frame twice at the join"),
    Mutant("segment-timescale", "cluster", "vsrgan/cluster/worker.py",
           'return {"movie_timescale": str(time_base.denominator)}', "return {}",
           ("tests/test_cluster.py",), "segments' edit lists in milliseconds: a mid-file segment shifts against its audio"),
    Mutant("sar-dropped", "frame path", "vsrgan/io/writer.py",
           "                self.stream.codec_context.sample_aspect_ratio = sample_aspect_ratio", "                pass",
           ("tests/test_video.py", "tests/test_upscale.py"), "an anamorphic video's pixels written square: it plays squeezed or stretched"),
    Mutant("last-duration-dropped", "frame path", "vsrgan/io/writer.py",
           "        frame.duration = round(duration * self.time_base / self.out_time_base)\n", "",
           ("tests/test_video.py", "tests/test_upscale.py"), "the last frame's duration guessed from the frame rate: a GIF's final pause cut short"),
    Mutant("cover-read-as-video", "frame path", "vsrgan/io/video.py",
           "    return next((stream for stream in container.streams.video if not is_cover(stream)), None)",
           "    return next(iter(container.streams.video), None)",
           ("tests/test_video.py",), "a cover image FFmpeg lists before the video is what is probed and upscaled: one picture"),
    Mutant("unlisted-codec-reencoded", "frame path", "vsrgan/io/audiocodecs.py",
           "        return listed or reads_back(trial, output.format.name, stream)", "        return listed",
           ("tests/test_passthrough.py",), "audio a container carries but FFmpeg does not list re-encoded: AAC into .ts, AC-3 into .mpg as MP2"),
    Mutant("late-audio-silence-dropped", "frame path", "vsrgan/io/passthrough.py",
           "            output.mux(out.encode(silence(frame, start - begin, pts=begin)))\n", "            pass\n",
           ("tests/test_passthrough.py",), "audio starting after the video re-encoded into .avi without its silence in front: it plays early"),
    Mutant("log-level-per-block", "frame path", "vsrgan/io/ffmpeglog.py",
           "        _set_level()  # the log off before", "        av.logging.set_level(_found_level)  # the log off before",
           ("tests/test_ffmpeglog.py",), "any block's end restores the level found: a reader still decoding loses its errors, as two readers ended out of order did"),
    Mutant("log-to-every-block", "frame path", "vsrgan/io/ffmpeglog.py",
           "            state.blocks[-1].take(new)", "            [block.take(new) for block in _blocks]",
           ("tests/test_ffmpeglog.py",), "a thread's messages go to every open block: a reader counts the encoder's refusal as damage"),
    Mutant("abandoned-decoder-not-stopped", "frame path", "vsrgan/io/video.py",
           "            stop_decoding(stream)\n", "            pass\n",
           ("tests/test_ffmpeglog.py",), "a reader abandoned mid-stream frees its frame-threaded decoder while its threads wait for the GIL (log on): a hang"),
    Mutant("export-denoise-ignored", "frame path", "vsrgan/cli/export.py",
           "    options = ModelOptions(model=args.model, scale=args.scale, denoise=args.denoise)",
           "    options = ModelOptions(model=args.model, scale=args.scale)",
           ("tests/test_onnx_export.py",), "`export --denoise 0.3` writes the clean x4, not the blend upscale runs"),
    Mutant("y4m-nominal-rate", "frame path", "vsrgan/io/writer.py",
           "                    tick_rate = (average_rate(source) if source is not None else None) or frame_rate",
           "                    tick_rate = frame_rate",
           ("tests/test_upscale.py",), "a variable-rate .mkv into .y4m at Matroska's nominal rate, not the average: it plays too fast"),
    Mutant("clean-share-ignored", "training", "vsrgan/dataset/realistic.py",
           "    kind = rng.choice(list(KINDS), p=_mix(clean_share))",
           "    kind = rng.choice(list(KINDS), p=_mix(KINDS[\"clean\"]))",
           ("tests/test_realistic.py",), "vsrgan degrade --clean-share 0.4 writes the default 25% clean mix"),
    Mutant("early-audio-lead-kept", "frame path", "vsrgan/io/audiostart.py",
           "    return offset if abs(offset) > START_SLACK else 0.0", "    return offset if offset > START_SLACK else 0.0",
           ("tests/test_av_sync.py",), "audio starting before the video copied into .avi: its lead collapses, it plays late"),
    Mutant("avi-nominal-rate", "frame path", "vsrgan/io/writer.py",
           "                    tick_rate = avi_rate(base_rate or frame_rate, source, time_base)",
           "                    tick_rate = base_rate or frame_rate",
           ("tests/test_av_sync.py",), "a variable-rate .mkv into .avi at Matroska's nominal rate: frames stepping faster crowd onto later ticks, for good"),
    Mutant("avi-rate-from-a-stray-step", "frame path", "vsrgan/io/video.py",
           "    floor = steps[len(steps) // 100]", "    floor = steps[0]",
           ("tests/test_av_sync.py",), "one stray 1 ms step in an .mkv makes its .avi tick at 1000 fps: an empty frame per millisecond"),
    Mutant("pipes-cover-decoded", "frame path", "vsrgan/benchmark/pipes.py",
           "        stream = video_stream(container)\n", "        stream = container.streams.video[0]\n",
           ("tests/test_av_sync.py",), "the bench's pipes decoder reads a cover image listed before the video: one picture, not the clip"),
    Mutant("mpeg2-fine-time-base", "frame path", "vsrgan/io/writer.py",
           "            self.constant_rate = constant_rate = no_times or codec in FIXED_RATE_CODECS",
           "            self.constant_rate = constant_rate = no_times",
           ("tests/test_av_sync.py",), "MPEG-2 output handed the source's fine time base (an .mkv's 1 ms): every upscale to MPEG-2 fails"),
    Mutant("mpeg-rate-counted-over-header", "frame path", "vsrgan/io/writer.py",
           "    rate = header if counted is None or abs(counted - header) <= header * RATE_SLACK else counted",
           "    rate = counted or header",
           ("tests/test_av_sync.py",), "MPEG-2 ticks at the rate counted from millisecond stamps: a 29.97 fps .mkv comes out 30 fps"),
    Mutant("upright-turned-clockwise", "frame path", "vsrgan/upscale.py",
           "frames = (replace(f, image=np.rot90(f.image, turns)) for f in frames)",
           "frames = (replace(f, image=np.rot90(f.image, -turns)) for f in frames)",
           ("tests/test_stream_layouts.py",), "a phone video written into .avi is turned the wrong way: it plays upside down"),
    Mutant("field-order-swapped", "frame path", "vsrgan/io/video.py",
           'FIELD_ORDERS = {2: "top field first", 3: "bottom field first"',
           'FIELD_ORDERS = {2: "bottom field first", 3: "top field first"',
           ("tests/test_stream_layouts.py",), "an interlaced video's warning names the wrong field first (AVFieldOrder TT read as BB)"),
    Mutant("field-blocks-to-qp-map", "frame path", "vsrgan/io/compression.py",
           "if data.nb_blocks != ((frame.width + 15) // 16) * ((frame.height + 15) // 16):",
           "if data.nb_blocks < ((frame.width + 15) // 16) * ((frame.height + 15) // 16):",
           ("tests/test_stream_layouts.py", "tests/test_denoise.py"),
           "interlaced MPEG-2 off 32 lines, with more blocks than macroblocks, goes to PyAV's qp_map: --denoise auto crashes"),
    Mutant("cluster-rotation-of-input", "cluster", "vsrgan/cluster/job.py",
           "if info.rotation and not keeps_rotation(output):",
           "if info.rotation and not keeps_rotation(input):",
           ("tests/test_stream_layouts.py",), "--cluster asks whether the input's container keeps rotation: a phone .mp4 into .ts plays sideways"),
    Mutant("text-subtitles-not-rewritten", "frame path", "vsrgan/io/passthrough.py",
           "            elif stream.type == \"subtitle\" and (other := retarget(stream, output)) is not None:",
           "            elif False:",
           ("tests/test_stream_layouts.py", "tests/test_video.py"), "a phone's mov_text subtitles left out of an .mkv, an .mkv's SRT out of an .mp4"),
    Mutant("cluster-interlaced-unsaid", "cluster", "vsrgan/cluster/job.py",
           "        warn_if_interlaced(input, info)\n",
           "",
           ("tests/test_cluster.py",), "--cluster upscales an interlaced input without a word (the single process warns)"),
]


def plant(tree: Path, mutant: Mutant) -> str:
    """Apply ``mutant`` in ``tree``; return the file's original text."""
    path = tree / mutant.file
    text = path.read_text()
    if text.count(mutant.old) != 1:
        raise SystemExit(f"mutant {mutant.name}: its code no longer occurs exactly once in {mutant.file}; update MUTANTS")
    path.write_text(text.replace(mutant.old, mutant.new))
    return text


def run_tests(tree: Path, tests: tuple[str, ...]) -> bool:
    """True if the tests fail (the mutant is caught)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "VSRGAN_SAMPLES": str(ROOT / "data" / "samples")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests], cwd=tree, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return done.returncode != 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these mutants")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if args.only is None or m.name in args.only]
    missed = 0
    with tempfile.TemporaryDirectory(prefix="vsrgan-mutants.") as folder:
        tree = Path(folder)
        for name in COPIED:
            source = ROOT / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, tree / name)
        files = tuple(sorted({t for m in chosen for t in m.tests}))
        if run_tests(tree, files):
            raise SystemExit(f"{' '.join(files)} fail without any mutant; fix them first")
        for mutant in chosen:
            start = time.monotonic()
            original = plant(tree, mutant)
            try:
                caught = run_tests(tree, mutant.tests)
            finally:
                (tree / mutant.file).write_text(original)
            missed += not caught
            print(f"{'CAUGHT' if caught else 'MISSED'}  {mutant.name:22s} {mutant.area:11s} {time.monotonic() - start:5.0f} s  {mutant.why}", flush=True)
    print(f"{len(chosen) - missed} of {len(chosen)} caught")
    return missed


if __name__ == "__main__":
    sys.exit(main())
