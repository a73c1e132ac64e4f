"""The dataset manifest (``DATASET/manifest.json``): its format tag, its items, reading and writing.

One place for the format that ``vsrgan prepare`` writes and training and evaluation read::

    {"format": "vsrgan-dataset/1", "scale": 4, "every": 5, ..., "items": [ITEM, ...]}

An item names one HR/LR pair (paths relative to the dataset folder) and where it came from.
"""

import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError
from ..io.atomic import raise_if_no_space

MANIFEST_FORMAT = "vsrgan-dataset/1"


@dataclass
class ManifestItem:
    split: str  # "train" or "test"
    hr: str  # the HR PNG, relative to the dataset folder: SPLIT/hr/NAME.png
    lr: str  # its LR version: SPLIT/lr_xSCALE/NAME.png
    source: str  # the input video or image it came from
    frame: int | None = None  # the decoded frame's index (videos only)
    pts: int | None = None  # its timestamp in the stream's time base (videos only)
    time: float | None = None  # its time in seconds (videos only)
    degradation: dict | None = field(default=None)  # the sampled degradation's parameters, if any
    context: list[str] | None = None  # the LR frames before and after ``lr`` in time order, ``lr`` left out (multi-frame pools)

    def to_dict(self) -> dict:
        """As stored in manifest.json (``degradation`` and ``context`` only when there are some)."""
        d = {"split": self.split, "hr": self.hr, "lr": self.lr, "source": self.source, "frame": self.frame, "pts": self.pts, "time": self.time}
        if self.degradation is not None:
            d["degradation"] = self.degradation
        if self.context is not None:
            d["context"] = self.context
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ManifestItem":
        return cls(
            split=d["split"], hr=d["hr"], lr=d["lr"], source=d.get("source", ""), frame=d.get("frame"), pts=d.get("pts"),
            time=d.get("time"), degradation=d.get("degradation"), context=d.get("context"),
        )


@dataclass
class Manifest:
    scale: int  # the LR images are 1/scale of the HR ones
    items: list[ManifestItem]
    settings: dict = field(default_factory=dict)  # how prepare made it: every, test_seconds, degradations, ...

    def split(self, name: str) -> list[ManifestItem]:
        """The items of ``name`` ("train", "test", or "all": every item), in manifest order."""
        return [item for item in self.items if name == "all" or item.split == name]


def read_manifest(root: str | Path) -> Manifest:
    path = Path(root) / "manifest.json"
    if not path.is_file():
        raise InputError(f"'{root}' has no manifest.json; expected a dataset folder written by `vsrgan prepare`")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"'{path}' is not valid JSON ({e}); expected a manifest written by `vsrgan prepare`") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        got = data.get("format") if isinstance(data, dict) else None
        raise InputError(f"'{path}' has format {got!r}; expected {MANIFEST_FORMAT!r}")
    settings = {k: v for k, v in data.items() if k not in ("format", "scale", "items")}
    return Manifest(scale=data["scale"], items=[ManifestItem.from_dict(item) for item in data["items"]], settings=settings)


def manifest_json(manifest: Manifest) -> str:
    """The text of manifest.json: the format tag, the scale, prepare's settings, then the items."""
    data = {"format": MANIFEST_FORMAT, "scale": manifest.scale, **manifest.settings, "items": [item.to_dict() for item in manifest.items]}
    return json.dumps(data, indent=1)


@contextmanager
def staged_dataset(out: Path, scale: int, splits: Iterable[str] = ("train", "test")) -> Iterator[Path]:
    """A dataset written whole or not at all: a staging folder beside ``out`` with the layout's
    folders (``SPLIT/hr``, ``SPLIT/lr_xSCALE``) made, renamed onto ``out`` (replacing it) only if
    the block succeeds, removed otherwise; a full disk is one line (DiskFullError)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        for split in splits:  # made here, not by the writers: none can recreate a removed folder
            (tmp / split / "hr").mkdir(parents=True)
            (tmp / split / f"lr_x{scale}").mkdir()
        yield tmp
        if out.exists():
            shutil.rmtree(out)  # the callers checked: a vsrgan dataset, and --overwrite was given
        tmp.replace(out)
    except OSError as e:
        raise_if_no_space(e, out.parent, f"the dataset '{out.name}'", kind="dataset")
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
