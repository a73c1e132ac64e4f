"""The work folder beside the output (``OUT.parts/``): finished segments and the manifest that says what they are.

A segment file is written atomically, so one that exists is whole. The manifest names the job
(the input's path, size and mtime, the model's fingerprint, every setting that changes a pixel
or a packet): run again with the same job and only the missing segments are made; change any
of it and the old segments are deleted first. The folder is removed when the output is written.
"""

import json
import shutil
from pathlib import Path

from ..io.atomic import atomic_path
from .segments import Segment

MANIFEST = "manifest.json"
SEGMENT_SUFFIX = ".mp4"  # see worker.segment_muxer_options: its edit list keeps every pts exact


def work_folder(output: Path) -> Path:
    return output.with_name(output.name + ".parts")


def job_manifest(input: Path, *, model: str, settings: dict, segments: list[Segment]) -> dict:
    stat = input.stat()
    return {
        "input": str(input.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
        "model": model, "settings": settings,
        "segments": [[s.start, s.end, s.frames] for s in segments],
    }


def open_work_folder(folder: Path, manifest: dict) -> None:
    """Keep the folder's segments if they were made for ``manifest``; else start it afresh."""
    path = folder / MANIFEST
    if path.is_file():
        try:
            if json.loads(path.read_text()) == manifest:
                return
        except ValueError:
            pass  # a manifest from an older or broken run: start afresh
        for part in folder.glob(f"part-*{SEGMENT_SUFFIX}"):
            part.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(manifest, indent=1))


def segment_path(folder: Path, segment: Segment) -> Path:
    return folder / f"{segment.name}{SEGMENT_SUFFIX}"


def missing(folder: Path, segments: list[Segment]) -> list[Segment]:
    return [s for s in segments if not segment_path(folder, s).is_file()]


def remove_work_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
