"""Training data: a prepared dataset decoded once into memory, and random aligned crops of it.

The batch for step ``t`` is a pure function of ``(seed, t, rank)``: which images (a fresh
permutation every epoch, so each image is seen once per epoch), where the crops sit and how
they are flipped and rotated. Resuming at step ``t`` therefore replays exactly the data an
uninterrupted run would have seen, however many DataLoader workers or processes there are, and
no data-order state needs saving.

Two ways to feed a GPU (``data.loader``):

- ``"device"``: every image lives on the training device as uint8 and crops are cut there, so
  nothing crosses the bus per step (a 2K frame is 6 MB: DIV2K's 800 fit in 5 GB).
- ``"workers"``: crops are cut on the CPU in DataLoader worker processes, which hold the images
  (shared with the main process by fork), and sent to the device as uint8.
"""

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError, InputError
from ..io.images import read_image
from ..models.compact import centre_frame
from .manifest import ManifestItem, read_manifest
from .realistic import FRAMES


@dataclass
class Split:
    """One split's image pairs as ``uint8 (3, H, W)`` tensors, HR exactly ``scale`` times LR."""

    hr: list[torch.Tensor]
    lr: list[torch.Tensor]
    files: list[str]  # the HR file of each pair, for messages
    still: list[list[int]] | None = None  # per pair, its stacked LR frames that show the centre's view: :func:`still_neighbours`

    def to(self, device: torch.device | str) -> "Split":
        return Split([t.to(device) for t in self.hr], [t.to(device) for t in self.lr], self.files, self.still)

    @property
    def frames(self) -> int:
        """LR frames stacked on the channels of each pair (:func:`load_split`'s ``frames``)."""
        return self.lr[0].shape[0] // self.hr[0].shape[0] if self.lr else 1

    def centre(self) -> "Split":
        """The pairs with only the middle one of their stacked LR frames: what bicubic upscales."""
        frames = self.frames
        return self if frames == 1 else Split(self.hr, [centre_frame(lr, frames) for lr in self.lr], self.files)

    def at_least(self, side: int) -> "Split":
        """The pairs whose HR image is at least ``side`` pixels on both axes."""
        keep = [i for i, hr in enumerate(self.hr) if min(hr.shape[1:]) >= side]
        still = [self.still[i] for i in keep] if self.still is not None else None
        return Split([self.hr[i] for i in keep], [self.lr[i] for i in keep], [self.files[i] for i in keep], still)


def load_split(root: str | Path, split: str, scale: int, *, limit: int = 0, frames: int = 1) -> Split:
    """Decode the pairs of ``split`` ("train" or "test") once; ``limit`` > 0 keeps that many, evenly spaced.

    ``frames`` = 2k + 1 > 1: each LR image is frames ``t-k .. t+k`` stacked on the channels
    (``(3 frames, h, w)``), from the items' ``context`` (a pool made with ``vsrgan degrade
    --context k``); an item without context repeats its own frame (a still image)."""
    root = Path(root)
    manifest = read_manifest(root)
    if manifest.scale != scale:
        raise ConfigError(f"dataset '{root}' was prepared at x{manifest.scale}; model.scale is {scale}")
    items = manifest.split(split)
    if not items:
        raise InputError(f"dataset '{root}' has no {split} items; expected a dataset with both splits")
    if 0 < limit < len(items):
        items = [items[i] for i in np.linspace(0, len(items) - 1, limit).round().astype(int)]

    def read(relative: str) -> torch.Tensor:
        return torch.from_numpy(read_image(root / relative)).permute(2, 0, 1).contiguous()

    def load(item: ManifestItem) -> tuple[torch.Tensor, torch.Tensor]:
        hr, lr = read(item.hr), read(item.lr)
        if hr.shape[1:] != (lr.shape[1] * scale, lr.shape[2] * scale):
            raise InputError(f"'{root / item.hr}' is not x{scale} its LR image '{item.lr}'; prepare the dataset again")
        if frames > 1:
            lr = torch.cat([read(relative) if relative else lr for relative in window(item, frames, root)])
        return hr, lr

    with ThreadPoolExecutor() as pool:  # Pillow decodes without the GIL
        pairs = list(pool.map(load, items))
    still = [still_neighbours(item, frames) for item in items] if frames > 1 else None
    return Split([hr for hr, _ in pairs], [lr for _, lr in pairs], [str(root / item.hr) for item in items], still)


def still_neighbours(item: ManifestItem, frames: int) -> list[int]:
    """Which of the ``frames`` stacked LR frames of ``item`` (``frames // 2`` being its own) show
    exactly its view: the other frames of a pool's still recipe (a pan with ``dy = dx = 0``), but
    not a sequence's end frame repeated in their place (:func:`realistic.around`).

    Their LR frames are the same picture, sampled the same way, and differ only by what the codec
    and the noise did to each, so a network's outputs for them should agree (the temporal loss).
    Other motion does not qualify. A pan by a fraction of an LR pixel samples the picture at
    another phase, with other aliasing, from which a network rightly restores other detail; and
    even a pan by whole LR pixels shows each output pixel other surroundings near the crop's edge,
    within the network's receptive field (18 LR pixels for x4, on 32-pixel crops). Forcing either
    to agree blurred the output (session 14's screens, MODELS.md)."""
    recipe = item.degradation or {}
    if not item.context or recipe.get("motion", "pan") != "pan" or recipe.get("dy", 1) or recipe.get("dx", 1):
        return []
    k, target = frames // 2, recipe["target"]
    return [k + t for t in range(-k, k + 1) if t and 0 <= target + t < FRAMES]


def window(item: ManifestItem, frames: int, root: Path) -> list[str | None]:
    """The LR files of frames ``t-k .. t+k`` around ``item`` (``frames`` = 2k + 1); None: the item's own LR."""
    k = frames // 2
    context = item.context or []
    if context and len(context) < 2 * k:
        raise InputError(f"'{root / item.lr}' has {len(context) // 2} LR frames on each side; the model takes {k} (make the pool with --context {k})")
    if not context:
        return [None] * frames
    have = len(context) // 2
    return [*context[have - k : have], None, *context[have : have + k]]


def _seed(*parts: int) -> int:
    """A 63-bit seed from integers: independent streams for (seed, step, rank) and (seed, epoch)."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


class CropSampler:
    """``sampler(step) -> (lr, hr)``: ``uint8 (B, 3 frames, crop/scale, crop/scale)`` and ``(B, 3, crop, crop)``.

    Each of ``world_size`` processes takes its own ``batch_size`` images of every global batch.

    ``neighbour=True`` (data of 3 or more stacked frames; the temporal loss): ``sampler(step) ->
    (lr, hr, lr_n, which)``, ``lr`` the centre frames' crops, and for the samples ``which`` (``int64
    (K,)``, positions in the batch) whose image has :func:`still_neighbours`, ``lr_n`` ``(K, 3,
    crop/scale, crop/scale)``: one of those frames, cut and turned as its centre frame. The crops
    and orientations are the same as without it; the neighbour is drawn from a stream of its own.
    """

    def __init__(self, data: Split, *, crop: int, scale: int, batch_size: int, augment: bool, seed: int, tries: int = 1, rank: int = 0, world_size: int = 1,
                 neighbour: bool = False):
        if crop % scale:
            raise ConfigError(f"crop {crop} must be a multiple of scale {scale}")
        if neighbour and (data.frames < 3 or data.still is None):
            raise ConfigError("a neighbouring frame needs stacked frames (load_split(frames=3)): a pool made with vsrgan degrade --context 1")
        for hr, file in zip(data.hr, data.files):
            if min(hr.shape[1:]) < crop:
                raise ConfigError(f"'{file}' is {hr.shape[2]}x{hr.shape[1]}, smaller than the crop {crop}; lower data.crop or set data.small = \"skip\"")
        self.data = data
        self.crop, self.scale, self.batch_size, self.augment, self.tries = crop, scale, batch_size, augment, tries
        self.seed, self.rank, self.world_size, self.neighbour = seed, rank, world_size, neighbour

    def indices(self, step: int) -> list[int]:
        """Images of this process's share of global batch ``step``: positions in per-epoch permutations."""
        n = len(self.data.hr)
        first = (step * self.world_size + self.rank) * self.batch_size
        perms: dict[int, torch.Tensor] = {}
        out = []
        for position in range(first, first + self.batch_size):
            epoch = position // n
            if epoch not in perms:
                perms[epoch] = torch.randperm(n, generator=torch.Generator().manual_seed(_seed(self.seed, epoch)))
            out.append(int(perms[epoch][position % n]))
        return out

    def __call__(self, step: int) -> tuple[torch.Tensor, ...]:
        g = torch.Generator().manual_seed(_seed(self.seed, step, self.rank))
        g_neighbour = torch.Generator().manual_seed(_seed(self.seed, step, self.rank, 1))
        s, p = self.scale, self.crop // self.scale  # p: LR crop size
        frames, device = self.data.frames, self.data.lr[0].device
        lrs, hrs, neighbours, which = [], [], [], []
        for position, index in enumerate(self.indices(step)):
            lr_image, hr_image = self.data.lr[index], self.data.hr[index]
            h, w = lr_image.shape[1:]
            ys = torch.randint(h - p + 1, (self.tries,), generator=g).tolist()
            xs = torch.randint(w - p + 1, (self.tries,), generator=g).tolist()
            y, x = max(zip(ys, xs), key=lambda yx: texture(centre_frame(lr_image[:, yx[0] : yx[0] + p, yx[1] : yx[1] + p], frames))) if self.tries > 1 else (ys[0], xs[0])
            lr = lr_image[:, y : y + p, x : x + p]
            hr = hr_image[:, y * s : (y + p) * s, x * s : (x + p) * s]
            if self.augment:  # one of the 8 orientations of a square, the same for LR and HR
                turns, flip = int(torch.randint(4, (), generator=g)), bool(torch.randint(2, (), generator=g))
                lr, hr = (torch.rot90(t, turns, dims=(1, 2)) for t in (lr, hr))
                lr, hr = (t.flip(2) if flip else t for t in (lr, hr))
            if self.neighbour:
                if still := self.data.still[index]:
                    n = still[int(torch.randint(len(still), (), generator=g_neighbour))]
                    neighbours.append(lr[3 * n : 3 * n + 3])
                    which.append(position)
                lr = centre_frame(lr, frames)
            lrs.append(lr)
            hrs.append(hr)
        if self.neighbour:
            lr_n = torch.stack(neighbours) if neighbours else torch.empty(0, 3, p, p, dtype=torch.uint8, device=device)
            return torch.stack(lrs), torch.stack(hrs), lr_n, torch.tensor(which, dtype=torch.int64, device=device)  # on the images' device, as the crops
        return torch.stack(lrs), torch.stack(hrs)


def texture(crop: torch.Tensor) -> float:
    """Gradient energy of a ``uint8 (3, h, w)`` crop: mean squared difference of neighbouring pixels.

    Flat sky scores near 0, edges and fine texture high; :class:`CropSampler` keeps the highest of
    ``tries`` candidates.
    """
    x = crop.float()
    return float((x[:, 1:, :] - x[:, :-1, :]).square().mean() + (x[:, :, 1:] - x[:, :, :-1]).square().mean())


class StepDataset(torch.utils.data.Dataset):
    """Item ``i`` is the whole batch of step ``start + i``, for a DataLoader with ``batch_size=None``."""

    def __init__(self, sampler: CropSampler, *, start: int, stop: int):
        self.sampler, self.start, self.stop = sampler, start, stop

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, i: int) -> tuple[torch.Tensor, ...]:
        return self.sampler(self.start + i)


def batches(sampler: CropSampler, *, start: int, stop: int, device: torch.device, num_workers: int):
    """Yield the sampler's batches (``(lr, hr)`` uint8, or with ``neighbour``: ``(lr, hr, lr_n,
    which)``) on ``device`` for steps ``start`` to ``stop - 1``.

    When the sampler's images already live on ``device`` (loader "device"), batches are cut there
    in the main process; otherwise DataLoader workers cut them and pinned memory carries them over.
    """
    if sampler.data.hr[0].device.type == device.type:  # "cuda" and the images' "cuda:0" alike
        for step in range(start, stop):
            yield sampler(step)
        return
    loader = torch.utils.data.DataLoader(
        StepDataset(sampler, start=start, stop=stop),
        batch_size=None,  # each item is already a batch
        num_workers=num_workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if num_workers else None,
    )
    for batch in loader:
        yield tuple(t.to(device, non_blocking=True) for t in batch)


def centre_crop(data: Split, size: int, scale: int) -> Split:
    """Centred crops of ``size`` HR pixels (a multiple of ``scale``; 0: whole images), for validation."""
    if size == 0:
        return data
    if size % scale:
        raise ConfigError(f"data.val_crop {size} must be a multiple of model.scale {scale}")
    hrs, lrs = [], []
    for hr, lr in zip(data.hr, data.lr):
        p = size // scale
        h, w = lr.shape[1:]
        y, x = max(0, (h - p) // 2), max(0, (w - p) // 2)
        lrs.append(lr[:, y : y + p, x : x + p])
        hrs.append(hr[:, y * scale : (y + p) * scale, x * scale : (x + p) * scale])
    return Split(hrs, lrs, data.files, data.still)
