"""Segments on Ray, measured: throughput with 1 and 2 workers side by side, the join's cost, the bytes moved.

    python scripts/bench/bench_cluster.py                      # carphone (176x144, 120 frames), x4 model, 10 segments
    python scripts/bench/bench_cluster.py --input clip.mp4 --model bicubic --gop 24 --workers 1 2 4
    python scripts/bench/bench_cluster.py --device cuda --size 960x540 --frames 480 --gop 30 \
        --segments-per-gpu 1 2 4 8 --references --join-k      # one GPU machine: 540p -> 4K, segments sharing the GPU

With ``--segments-per-gpu`` one local Ray holds every core and GPU of the machine, and each count
is a job whose segments share each GPU that many at a time (``vsrgan upscale --segments-per-gpu``),
the cores split between them. ``--references`` first runs, on the same clip, the single-process
``vsrgan upscale`` and reference (b) of ``vsrgan bench`` (a decoder and an encoder process piping
raw RGB, the model between them at batch 1), so the ratios are side by side in one run.

The input is re-encoded first with a keyframe every --gop frames (libx264, crf 18), so the segments are
known. For each worker count a local Ray of that many CPUs is started, the job is run twice (the first run
starts the workers and imports torch: "cold"; the second is "warm"), and the phases are timed: planning
(demuxing the keyframes), the tasks, the join; and the CPU time the Ray workers got (from /proc), which
says how many cores the job really had on a shared machine. It prints a Markdown table and the numbers the N-machine
model in BENCHMARKS.md is built from. The machine's load average is printed beside them.
"""

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import av
import ray

from vsrgan.cluster.job import ClusterJob, ClusterOptions
from vsrgan.cluster.segments import keyframe_index
from vsrgan.cluster.workdir import segment_path
from vsrgan.inference.upscaler import ModelOptions
from vsrgan.io.encoding import EncodeOptions
from vsrgan.options import JobOptions

ROOT = Path(__file__).resolve().parents[2]


def reencode(source: Path, target: Path, gop: int, frames: int, size: tuple[int, int] | None = None, loop: bool = False) -> int:
    """The first ``frames`` frames of ``source`` (resized to ``size``; played forth and back as
    often as needed if ``loop``), a keyframe every ``gop`` frames; return the count."""
    with av.open(str(source)) as src:
        s = src.streams.video[0]
        rate = s.average_rate
        width, height = size or (s.codec_context.width, s.codec_context.height)
        pictures = []
        for frame in src.decode(s):
            if len(pictures) == frames:
                break
            pictures.append(frame.reformat(width=width, height=height, format="rgb24").to_ndarray())
    forth_and_back = list(range(len(pictures))) + list(range(len(pictures) - 2, 0, -1))  # no jump at the seam
    order = [forth_and_back[i % len(forth_and_back)] for i in range(frames)] if loop else range(len(pictures))
    with av.open(str(target), "w") as out:
        v = out.add_stream("libx264", rate=rate)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.options = {"crf": "18", "preset": "fast", "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0"}
        for count, i in enumerate(order):
            picture = av.VideoFrame.from_ndarray(pictures[i], format="rgb24")
            picture.pts, picture.time_base = count, 1 / rate
            out.mux(v.encode(picture))
        out.mux(v.encode(None))
    return len(order)


def segment_input_bytes(path: Path, segments) -> list[int]:
    """Bytes of the input's video packets in each segment's pts range: what a worker must read."""
    sizes = [0] * len(segments)
    starts = [s.start for s in segments[1:]]
    with av.open(str(path)) as c:
        for packet in c.demux(video=0):
            if packet.size and packet.pts is not None:
                sizes[sum(1 for st in starts if packet.pts >= st)] += packet.size
    return sizes


def ray_workers_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by the Ray workers this process started (not Ray's agents)."""
    parents, cpu = {}, {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            if Path(f"/proc/{entry}/cmdline").read_bytes().startswith((b"ray::IDLE", b"ray::upscale_segment")):
                cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / tick
            parents[int(entry)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue

    def ours(pid: int) -> bool:
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == os.getpid():
                return True
        return False

    return sum(seconds for pid, seconds in cpu.items() if ours(pid))


def job_options(args) -> JobOptions:
    """The job as the benchmark runs it: ``args.model`` on ``args.device``, ``args.batch_size`` frames a model call, x264 crf 18."""
    return JobOptions(ModelOptions(model=args.model, device=args.device, batch_size=args.batch_size),
                      EncodeOptions(crf=18, preset=args.preset), overwrite=True, progress=False)


def cluster_job(args, segments_per_gpu: int = 1) -> ClusterJob:
    """:func:`job_options` packed once, in segments of ``args.gop`` frames."""
    return ClusterJob.start(job_options(args), ClusterOptions(segment_frames=args.gop, segments_per_gpu=segments_per_gpu))


def references(source: Path, work: Path, args) -> dict:
    """The same clip upscaled by the single-process job (``vsrgan upscale``) and by reference (b): frames/s of each."""
    from vsrgan.benchmark.references import pipes_pipeline
    from vsrgan.models import load_model
    from vsrgan.upscale import upscale

    frames = len(keyframe_index(source).pts)
    t0 = time.perf_counter()
    upscale(source, work / "single.mp4", job_options(args))
    single = time.perf_counter() - t0
    t0 = time.perf_counter()
    piped = pipes_pipeline(load_model(args.model), source, work / "pipes.mp4", device=args.device,
                           encode=EncodeOptions(crf=18, preset=args.preset))
    pipes = time.perf_counter() - t0
    assert piped == frames, (piped, frames)
    return {"frames": frames, "single_process_s": single, "single_process_fps": frames / single,
            "reference_b_s": pipes, "reference_b_fps": frames / pipes}


def run_once(source: Path, work: Path, run: ClusterJob) -> dict:
    output = work / "out.mp4"
    output.unlink(missing_ok=True)
    t0 = time.perf_counter()
    job = run.prepare(source, output)
    t1 = time.perf_counter()
    cpu = ray_workers_cpu_seconds()
    with run.running("segments") as (_, tasks):
        tasks.submit(job)
        while tasks.busy:
            for done in tasks.finished():
                if done.error is not None:
                    raise done.error
    t2 = time.perf_counter()
    cpu = ray_workers_cpu_seconds() - cpu
    parts = [segment_path(job.folder, s).stat().st_size for s in job.segments]
    run.finish(job)
    t3 = time.perf_counter()
    frames = sum(s.frames for s in job.segments)
    return {"plan_s": t1 - t0, "tasks_s": t2 - t1, "cpu_s": cpu, "join_s": t3 - t2, "segments": len(job.segments),
            "end_to_end_fps": frames / (t3 - t0),  # what the user waits for: plan, tasks and join
            "frames": frames, "part_bytes": parts,
            "input_bytes": segment_input_bytes(source, job.segments), "output_bytes": output.stat().st_size}


def join_sweep(source: Path, work: Path, gop_frames: int, counts: list[int]) -> None:
    """Join cost against the segment count K: parts made in this process (bicubic x2), then joined."""
    from vsrgan.cluster.join import join_segments
    from vsrgan.cluster.segments import plan_segments
    from vsrgan.cluster.worker import pack_model, upscale_segment
    from vsrgan.models import Bicubic

    index = keyframe_index(source)
    encode = EncodeOptions(crf=18, preset="ultrafast")
    print(f"\njoin of K segments ({source.name}, {len(index.pts)} frames, bicubic x2, parts made in-process):")
    print("| K | parts MB | join s | ms a segment | MB/s |\n| --- | --- | --- | --- | --- |")
    for k in counts:
        segments = plan_segments(index, min_frames=max(len(index.pts) // k, 1))
        folder = work / f"join-{k}"
        folder.mkdir()
        parts = [folder / f"{s.name}.mp4" for s in segments]
        for s, part in zip(segments, parts):
            upscale_segment(pack_model(Bicubic(scale=2)), str(source), s, str(part), JobOptions(ModelOptions(device="cpu"), encode))
        size = sum(p.stat().st_size for p in parts) / 1e6
        t0 = time.perf_counter()
        join_segments(parts, source, folder / "joined.mp4")
        t = time.perf_counter() - t0
        print(f"| {len(segments)} | {size:.1f} | {t:.3f} | {t / len(segments) * 1e3:.1f} | {size / t:.0f} |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--input", type=Path, default=ROOT / "data" / "samples" / "carphone_pristine.mp4")
    p.add_argument("--frames", type=int, default=120, help="frames of the input to use")
    p.add_argument("--gop", type=int, default=12, help="a keyframe (and a segment) every this many frames")
    p.add_argument("--size", default=None, metavar="WxH", help="resize the input to this size first (default: keep it)")
    p.add_argument("--model", default="x4")
    p.add_argument("--device", default="cpu", help="where the model runs (cuda: one local Ray holds every GPU)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--preset", default="veryfast", help="x264 preset of the segments")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="the CPUs of the local Ray, one run each")
    p.add_argument("--segments-per-gpu", type=int, nargs="*", default=[],
                   help="instead of --workers: one Ray of the whole machine, one run per count of segments sharing each GPU")
    p.add_argument("--references", action="store_true", help="first the single process and reference (b) on the same clip")
    p.add_argument("--json", type=Path, default=None, help="write every run's numbers here too")
    p.add_argument("--join-input", type=Path, default=ROOT / "data" / "samples" / "bigbuckbunny.mp4",
                   help="clip for the join sweep (re-encoded with a keyframe every 2 frames)")
    p.add_argument("--join-k", type=int, nargs="*", default=[1, 8, 64], help="segment counts of the join sweep (none: skip)")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vsrgan-bench-cluster-"))
    try:
        source = work / "in.mp4"
        size = tuple(int(n) for n in args.size.split("x")) if args.size else None
        frames = reencode(args.input, source, args.gop, args.frames, size=size, loop=True)
        run = cluster_job(args)
        model_bytes = sum(t.numel() * t.element_size() for t in run.packed.get("state", {}).values())
        index_s = time.perf_counter()
        keyframe_index(source)
        index_s = time.perf_counter() - index_s
        results = {"input": args.input.name, "size": args.size, "frames": frames, "gop": args.gop, "model": args.model,
                   "device": args.device, "preset": args.preset, "cores": os.cpu_count(), "runs": []}
        print(f"input: {args.input.name}{f' at {args.size}' if size else ''}, {frames} frames, a keyframe every {args.gop}; "
              f"model {args.model} ({model_bytes / 1e3:.0f} kB packed) on {args.device}; keyframe index (demux only) "
              f"{index_s * 1e3:.0f} ms")
        print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
        if args.references:
            ref = results["references"] = references(source, work, args)
            print(f"single process (vsrgan upscale): {ref['single_process_fps']:.2f} frames/s; "
                  f"reference (b), pipes: {ref['reference_b_fps']:.2f} frames/s", flush=True)
            write_json(args.json, results)
        on_gpu = bool(args.segments_per_gpu)
        sweep = args.segments_per_gpu or args.workers
        print(f"\n| {'segments per GPU' if on_gpu else 'workers'} | run | segments | tasks s | frames/s | end-to-end frames/s "
              "| segments/s | workers' CPU s | cores got | frames/CPU-s | join s | join MB/s | load avg |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        warm = {}
        if on_gpu:
            import torch

            ray.init(num_cpus=os.cpu_count(), num_gpus=torch.cuda.device_count(), include_dashboard=False,
                     log_to_driver=False, logging_level="error", object_store_memory=2 * 1024**3)
        try:
            for count in sweep:
                if not on_gpu:
                    ray.init(num_cpus=count, include_dashboard=False, log_to_driver=False, logging_level="error",
                             object_store_memory=200 * 1024**2)
                try:
                    job = cluster_job(args, count) if on_gpu else run
                    for label in ("cold", "warm"):
                        r = run_once(source, work, job)
                        joined = sum(r["part_bytes"]) / 1e6
                        print(f"| {count} | {label} | {r['segments']} | {r['tasks_s']:.1f} | {r['frames'] / r['tasks_s']:.2f} | "
                              f"{r['end_to_end_fps']:.2f} | {r['segments'] / r['tasks_s']:.3f} | {r['cpu_s']:.1f} | "
                              f"{r['cpu_s'] / r['tasks_s']:.2f} | {r['frames'] / r['cpu_s']:.2f} | {r['join_s']:.3f} | "
                              f"{joined / r['join_s']:.0f} | {os.getloadavg()[0]:.2f} |", flush=True)
                        results["runs"].append({"count": count, "run": label, "tasks_fps": r["frames"] / r["tasks_s"], **r})
                        write_json(args.json, results)
                    warm[count] = r
                finally:
                    if not on_gpu:
                        ray.shutdown()
        finally:
            if on_gpu:
                ray.shutdown()
        if args.references:
            best = max(warm, key=lambda c: warm[c]["end_to_end_fps"])
            fps = warm[best]["end_to_end_fps"]
            print(f"\nbest (warm, end to end): {best} -> {fps:.2f} frames/s = {fps / ref['reference_b_fps']:.2f}x reference (b), "
                  f"{fps / ref['single_process_fps']:.2f}x the single process")
        r = warm[sweep[0]]
        n = r["segments"]
        print(f"\nper segment: {r['frames'] / n:.0f} frames; input read {sum(r['input_bytes']) / n / 1e3:.1f} kB; "
              f"part written {sum(r['part_bytes']) / n / 1e3:.1f} kB; output {r['output_bytes'] / 1e3:.0f} kB in all")
        print(f"join: {r['join_s'] * 1e3:.0f} ms for {n} segments = {r['join_s'] / n * 1e3:.1f} ms a segment "
              f"({sum(r['part_bytes']) / r['join_s'] / 1e6:.0f} MB/s of parts remuxed); plan {r['plan_s'] * 1e3:.0f} ms")
        if len(warm) > 1:
            a, b = (warm[w] for w in sweep[:2])
            print(f"speed-up {sweep[1]} vs {sweep[0]} (warm): {a['tasks_s'] / b['tasks_s']:.2f}x")
        if args.join_k:
            sweep = work / "sweep.mp4"
            reencode(args.join_input, sweep, 2, 10**9)
            join_sweep(sweep, work, 2, args.join_k)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_json(path: Path | None, results: dict) -> None:
    if path is not None:
        path.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
