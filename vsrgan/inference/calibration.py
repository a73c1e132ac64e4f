"""``--backend auto``'s own measurements on this machine: ``vsrgan bench --calibrate`` writes them,
:func:`vsrgan.inference.backends.pick_backend` reads them.

The package's table (``AUTO_TABLE``) was measured on one CPU; on another the fastest engine may
differ. A calibration is the same table measured here: for each row (network width x frame size),
the engines fastest first, eager among them. It is kept in one JSON file, ``auto-backends.json`` in
the user's cache folder (``$XDG_CACHE_HOME/vsrgan`` or ``~/.cache/vsrgan``), or wherever
``VSRGAN_CALIBRATION`` says (``off``: none, the package table only)::

    {"format": 1, "calibrations": [{"machine": {...}, "measured": "2026-12-05T12:00:00", "rounds": 3,
      "rows": [{"features": 32, "size": "270p", "frames": 8, "fastest_first": ["openvino", "eager", ...],
                "fps": {"openvino": 1.89, ...}}, ...]}]}

Each calibration holds for one machine key (:func:`machine_key`): the CPU's model name and vector
flags, the model thread count, and the engines' package versions. A calibration made with other
threads, on another CPU or with another torch, OpenVINO or ncnn is not used (one warning line says
so); nor is a file that is not a calibration. Writing keeps the other machines' calibrations and
replaces this one's, through a temporary file renamed into place (:mod:`vsrgan.io.atomic`).
"""

import datetime
import importlib.metadata
import json
import logging
import os
import platform
from dataclasses import dataclass
from pathlib import Path

from ..io.atomic import atomic_path
from ..models.vgg import cache_dir

log = logging.getLogger(__name__)

VARIABLE = "VSRGAN_CALIBRATION"  # the file's path; "off": no calibration
FILE_NAME = "auto-backends.json"
FORMAT = 1
ENGINES = ("eager", "onnxruntime", "openvino", "ncnn")  # what a calibration ranks (torch.compile compiles each shape first: not auto's)
PACKAGES = ("torch", "onnxruntime", "openvino", "ncnn")  # whose versions are part of the machine key
# the CPU flags that decide which kernels the engines run (x86: AVX2, AVX-512 and its extensions, AMX; Arm: NEON, SVE)
ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_bf16", "amx_int8", "asimd", "sve")

Row = tuple[int, str]  # (features, frame size): 32 or 64, "270p", "540p" or "1080p"

_warned: set[str] = set()  # one line per problem per process, however often auto picks
UNREADABLE = (OSError, ValueError, KeyError, TypeError, AttributeError)  # a missing or damaged file, or JSON of another shape


@dataclass(frozen=True)
class Calibration:
    """One machine's measured rows, as read from (or written to) ``path``."""

    path: Path
    machine: dict  # machine_key()
    rows: dict[Row, tuple[str, ...]]  # the engines, fastest first (eager among them)
    fps: dict[Row, dict[str, float]]  # model-only fps of each engine, the median round


def calibration_path() -> Path | None:
    """Where the calibration lives: ``$VSRGAN_CALIBRATION``, else the cache folder's; None: ``off``."""
    given = os.environ.get(VARIABLE)
    if given == "off":
        return None
    return Path(given) if given else cache_dir() / FILE_NAME


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The CPU's flags (x86 ``flags``, Arm ``Features``), as the kernel lists them; empty where there is no cpuinfo."""
    try:
        lines = Path(cpuinfo).read_text().splitlines()
    except OSError:
        return set()
    return {word for line in lines if line.startswith(("flags", "Features")) for word in line.partition(":")[2].split()}


def cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in Path(cpuinfo).read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_key(threads: int, cpuinfo: Path = Path("/proc/cpuinfo")) -> dict:
    """What a calibration holds for: this CPU, ``threads`` model threads, these engine versions (None: not installed)."""
    return {
        "cpu": cpu_name(cpuinfo), "flags": sorted(cpu_flags(cpuinfo) & set(ISA_FLAGS)), "threads": threads,
        "versions": {package: _version(package) for package in PACKAGES},
    }


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def read_calibration(threads: int, path: Path | None = None) -> Calibration | None:
    """This machine's calibration at ``threads`` model threads from ``path`` (default: :func:`calibration_path`),
    or None: no file, none for this machine, or not a calibration file (then one warning line)."""
    path = path or calibration_path()
    if path is None or not path.exists():
        return None
    try:
        entries = _entries(json.loads(path.read_text()))
    except UNREADABLE as e:
        _warn_once(f"ignoring '{path}': not a calibration file ({e}); --backend auto follows the package table; "
                   "`vsrgan bench --calibrate` writes a new one")
        return None
    mine = machine_key(threads)
    for entry in entries:
        if entry["machine"] == mine:
            rows, fps = _rows(entry)
            return Calibration(path, mine, rows, fps)
    if entries:
        nearest = min((_differences(e["machine"], mine) for e in entries), key=len)
        _warn_once(f"the calibration at '{path}' is for another machine ({'; '.join(nearest)}); --backend auto follows the "
                   "package table; `vsrgan bench --calibrate` measures this one")
    return None


def write_calibration(
    fps: dict[Row, dict[str, float]], *, threads: int, frames: dict[Row, int], rounds: int, path: Path | None = None,
) -> Calibration:
    """Rank each row's engines by ``fps`` (fastest first; ties in :data:`ENGINES` order) and write them as
    this machine's calibration to ``path`` (default: the cache folder's, even where ``off``), keeping
    the other machines'; the file is replaced whole or not at all."""
    path = path or calibration_path() or cache_dir() / FILE_NAME
    mine = machine_key(threads)
    rows = {row: tuple(sorted(speeds, key=lambda e: (-speeds[e], ENGINES.index(e)))) for row, speeds in fps.items()}
    entry = {
        "machine": mine, "measured": datetime.datetime.now().isoformat(timespec="seconds"), "rounds": rounds,
        "rows": [{"features": f, "size": s, "frames": frames[f, s], "fastest_first": list(rows[f, s]), "fps": fps[f, s]} for f, s in rows],
    }
    try:
        others = [e for e in _entries(json.loads(path.read_text())) if e["machine"] != mine]
    except UNREADABLE:
        others = []  # no file yet, or one that is not a calibration: replaced
    with atomic_path(path, overwrite=True) as tmp, tmp.open("w") as f:
        json.dump({"format": FORMAT, "calibrations": [*others, entry]}, f, indent=2, allow_nan=False)
        f.write("\n")
    return Calibration(path, mine, rows, fps)


def _entries(data: dict) -> list[dict]:
    """The calibrations of a parsed file, each checked; one of :data:`UNREADABLE` if it is not one."""
    if data["format"] != FORMAT:
        raise ValueError(f"format {data['format']!r}, expected {FORMAT}")
    entries = data["calibrations"]
    for entry in entries:
        if not isinstance(entry["machine"], dict):
            raise ValueError("a calibration without its machine")
        _rows(entry)
    return entries


def _rows(entry: dict) -> tuple[dict[Row, tuple[str, ...]], dict[Row, dict[str, float]]]:
    rows, fps = {}, {}
    for row in entry["rows"]:
        key = (int(row["features"]), str(row["size"]))
        engines = tuple(row["fastest_first"])
        if not engines or not set(engines) <= set(ENGINES):
            raise ValueError(f"row {key[0]}/{key[1]} ranks {list(engines)}; expected some of {', '.join(ENGINES)}")
        rows[key], fps[key] = engines, {str(e): float(v) for e, v in row["fps"].items()}
    return rows, fps


def _differences(theirs: dict, mine: dict) -> list[str]:
    """What differs between two machine keys, in words: ``["threads 2, here 4", ...]``."""
    said = []
    for name in ("cpu", "flags", "threads"):
        if theirs.get(name) != mine[name]:
            said.append(f"{name} {theirs.get(name)}, here {mine[name]}")
    versions = theirs.get("versions") or {}
    said += [f"{p} {versions.get(p)}, here {v}" for p, v in mine["versions"].items() if versions.get(p) != v]
    return said


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning(message)
