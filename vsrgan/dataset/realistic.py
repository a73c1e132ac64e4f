"""Real-world LR samples: a second-order degradation chain and a real codec on a moving sequence.

What ``x4-real`` learns from. One :class:`RealDegradation` turns a square region of an HR image
into its LR version the way real video is made (after Real-ESRGAN, Wang et al. 2021, second-order
model, with video codecs in place of its last JPEG; see :mod:`vsrgan.dataset.codecs`)::

    HR image --pan: T windows, each shifted (dy, dx) HR pixels from the last-->  T HR frames
    each frame: [blur1 (anisotropic) -> resize1 (random kernel, factor) -> noise1 -> JPEG1 ->
                 blur2] -> resize to 1/scale (random kernel) -> noise2 -> uint8     (the chain)
    the T LR frames --codec (x264 / MPEG-2 / MPEG-4 / JPEG / none), one sequence--> frame `target`

The LR sample is frame ``target`` of the decoded sequence, cropped to the region; its HR pair is
the region itself, so the pair stays aligned while the codec sees real motion (a shift that is
not a multiple of ``scale`` is sub-pixel motion in LR). A clip's frame can instead take its own
neighbours in the clip as the sequence (``motion = "video"``: the region at the same place in each
of them, so the codec sees the scene's own motion, occlusions and all, not a pan). Windows carry a margin of ``MARGIN`` HR
pixels that is cut off at the end, so no kernel or codec block sees the region's edge; the image
is reflected where a window leaves it.

Every random choice is a field of :class:`RealDegradation`, stored in the dataset manifest, and
:func:`real_lr` is deterministic (noise from ``seed``, single-threaded encoders): every LR sample
can be remade exactly. The mixture (:func:`sample_real`) keeps a clean share, so the model still
knows clean input, and weighs H.264 highest, the codec most video is in.
"""

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from ..errors import ConfigError
from ..io import frames
from .codecs import X264_PRESETS, Codec, jpeg, round_trip
from .degrade import downscale

KERNELS = {"area": Image.Resampling.BOX, "bilinear": Image.Resampling.BILINEAR, "bicubic": Image.Resampling.BICUBIC, "lanczos": Image.Resampling.LANCZOS}
MARGIN = 32  # HR pixels around each window, cut off at the end (a multiple of every scale used)
MAX_SHIFT = 8  # HR pixels per frame, each axis: up to 2 LR pixels at x4
FRAMES = 5  # frames per sequence: enough for I, P and B frames around the target
PAD = MARGIN + (FRAMES - 1) * MAX_SHIFT  # the reflection around the image that every window fits in
MOTIONS = ("pan", "video")
VIDEO_SHARE = 0.8  # of a clip frame's samples, where sample_real is told its neighbours exist: real motion


@dataclass(frozen=True)
class Blur:
    """An anisotropic Gaussian: ``sx``, ``sy`` HR pixels along axes turned by ``theta`` radians; sx 0: off."""

    sx: float = 0.0
    sy: float = 0.0
    theta: float = 0.0


@dataclass(frozen=True)
class RealDegradation:
    """One LR sample's recipe; stored in the manifest. The defaults are the clean bicubic sample."""

    y: int = 0  # the region's top-left corner in the HR image, and its side (a multiple of scale)
    x: int = 0
    size: int = 128
    dy: int = 0  # pan: HR pixels each frame's window moves, per axis
    dx: int = 0
    target: int = 0  # which of the FRAMES frames becomes the LR sample
    motion: str = "pan"  # "pan": the windows move (dy, dx) over the image; "video": the clip's own frames around it
    chain: bool = False  # False: antialiased bicubic, as the clean training data (degrade.downscale)
    blur1: Blur = field(default_factory=Blur)
    resize1: float = 1.0  # the first resize's factor (1: none), and its kernel
    kernel1: str = "bicubic"
    noise1: float = 0.0  # Gaussian noise sigma in 0-255 units (0: off) ...
    poisson1: float = 0.0  # ... or Poisson noise at this many photons per unit of intensity (0: off)
    gray1: bool = False  # the noise is the same on all three channels (luma noise)
    jpeg1: int = 0  # JPEG quality of the intermediate image (0: off)
    blur2: Blur = field(default_factory=Blur)
    kernel2: str = "bicubic"  # the kernel of the resize to LR size
    noise2: float = 0.0  # Gaussian noise sigma on the LR frames (0: off)
    gray2: bool = False
    seed: int = 0  # seeds the noise of every frame
    codec: Codec = field(default_factory=Codec)

    def __post_init__(self):
        if self.motion not in MOTIONS or (self.motion == "video" and (self.dy or self.dx)):
            raise ConfigError(f"motion must be one of {', '.join(MOTIONS)}, and a video sequence has no pan")
        if self.kernel1 not in KERNELS or self.kernel2 not in KERNELS:
            raise ConfigError(f"resize kernels must be among {', '.join(KERNELS)}")
        if not 0 <= self.target < FRAMES or max(abs(self.dy), abs(self.dx)) > MAX_SHIFT:
            raise ConfigError(f"target must be 0-{FRAMES - 1} and shifts at most {MAX_SHIFT} pixels")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RealDegradation":
        d = dict(d)
        for key in ("blur1", "blur2"):
            d[key] = Blur(**d[key])
        d["codec"] = Codec(**d["codec"])
        return cls(**d)


CRF = (18, 35)  # libx264's CRF range in the pool, both ends included (vsrgan degrade --crf)
KINDS = {"clean": 0.25, "codec": 0.50, "chain+codec": 0.15, "chain": 0.10}  # the mix; vsrgan degrade --clean-share rescales it


def sample_real(
    rng: np.random.Generator, *, y: int, x: int, size: int, crf: tuple[int, int] = CRF, neighbours: tuple[int, int] | None = None,
    clean_share: float = KINDS["clean"],
) -> RealDegradation:
    """Draw one recipe for the region at ``(y, x)`` of side ``size``.

    ``neighbours``: for a clip's frame, how many frames the clip has before and after it; then
    :data:`VIDEO_SHARE` of the recipes whose sequence fits take the clip's own frames (``motion =
    "video"``). The draw for it comes last, so recipes without ``neighbours`` are unchanged.

    The mix: 25% clean bicubic, 50% bicubic + a video codec, 15% the chain + a video codec, 10% the
    chain alone or with JPEG (:data:`KINDS`); ``clean_share`` replaces the 25% and scales the other
    three to fill the rest, in the same proportions. Video codecs: 70% libx264 (CRF in ``crf``, uniform, any preset), 15% MPEG-2 (0.15-0.8
    bpp), 15% MPEG-4 Part 2 (0.1-0.5 bpp). The chain's ranges are Real-ESRGAN's, narrowed to what
    video sources show (its own produce over-smoothed results on mild input).

    Why this mix (MODELS.md, x4-real): a first run on 15/35/35/15 with x264 at 60% lost 0.85 dB on
    clean clips after 2,000 steps and gained only +0.53 dB at CRF 28: a 163k-parameter network
    spent on heavy blur and noise what clean and codec-only input needed.
    """
    moving = rng.random() < 0.8
    dy, dx = (int(v) for v in rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, 2)) if moving else (0, 0)
    kind = rng.choice(list(KINDS), p=_mix(clean_share))
    chain = kind.startswith("chain")
    if kind in ("codec", "chain+codec"):
        codec = _video_codec(rng, crf)
    elif kind == "chain" and rng.random() < 0.5:
        codec = Codec("jpeg", q=int(rng.integers(40, 96)))
    else:
        codec = Codec()
    recipe = dict(y=y, x=x, size=size, dy=dy, dx=dx, target=int(rng.integers(1, FRAMES)), codec=codec, seed=int(rng.integers(2**31)))
    if chain:
        recipe.update(_chain_recipe(rng))
    if neighbours is not None and recipe["target"] <= neighbours[0] and FRAMES - 1 - recipe["target"] <= neighbours[1] and rng.random() < VIDEO_SHARE:
        recipe.update(motion="video", dy=0, dx=0)
    return RealDegradation(**recipe)


def _mix(clean_share: float) -> list[float]:
    """The probabilities of :data:`KINDS` with the clean one set to ``clean_share``; the default mix
    exactly, so that pools made before the option existed are remade bit for bit."""
    rest = (1.0 - clean_share) / (1.0 - KINDS["clean"])
    return [clean_share if kind == "clean" else share * rest for kind, share in KINDS.items()]


def _chain_recipe(rng: np.random.Generator) -> dict:
    """The second-order chain's random parameters."""
    noise = rng.random()
    return dict(
        chain=True,
        blur1=_blur(rng, (0.2, 1.5)) if rng.random() < 0.5 else Blur(),
        resize1=round(float(rng.uniform(0.6, 1.2)), 4) if rng.random() < 0.7 else 1.0,
        kernel1=str(rng.choice(list(KERNELS))),
        noise1=round(float(rng.uniform(1, 12)), 3) if noise < 0.3 else 0.0,
        poisson1=round(float(10 ** rng.uniform(1.7, 3)), 1) if 0.3 <= noise < 0.45 else 0.0,
        gray1=bool(rng.random() < 0.4),
        jpeg1=int(rng.integers(50, 96)) if rng.random() < 0.3 else 0,
        blur2=_blur(rng, (0.2, 1.0)) if rng.random() < 0.4 else Blur(),
        kernel2=str(rng.choice(list(KERNELS))),
        noise2=round(float(rng.uniform(1, 8)), 3) if rng.random() < 0.3 else 0.0,
        gray2=bool(rng.random() < 0.4),
    )


def _blur(rng: np.random.Generator, sigma: tuple[float, float]) -> Blur:
    sx, sy = (round(float(v), 4) for v in rng.uniform(*sigma, 2))
    return Blur(sx, sy, round(float(rng.uniform(0, math.pi)), 4))


def _video_codec(rng: np.random.Generator, crf: tuple[int, int]) -> Codec:
    pick = rng.random()
    if pick < 0.7:
        return Codec("x264", crf=int(rng.integers(crf[0], crf[1] + 1)), preset=str(rng.choice(X264_PRESETS)))
    if pick < 0.85:
        return Codec("mpeg2", bpp=round(float(rng.uniform(0.15, 0.8)), 3))
    return Codec("mpeg4", bpp=round(float(rng.uniform(0.1, 0.5)), 3))


def real_lr(hr: np.ndarray, scale: int, d: RealDegradation, sequence: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``uint8 (H, W, 3)`` HR image -> (LR sample ``(size/scale, size/scale, 3)``, its HR region).
    ``sequence``: for ``motion = "video"``, the clip's FRAMES frames, ``sequence[d.target]`` being ``hr``."""
    lr_frames, region = real_sequence(hr, scale, d, sequence)
    return lr_frames[d.target], region


def around(lr_frames: list[np.ndarray], target: int, context: int) -> list[np.ndarray]:
    """Frames ``target - context .. target + context`` of a decoded sequence, its first or last
    frame repeated past its ends (as the upscaling pipeline repeats a video's first and last frames)."""
    last = len(lr_frames) - 1
    return [lr_frames[min(max(t, 0), last)] for t in range(target - context, target + context + 1)]


def real_sequence(hr: np.ndarray, scale: int, d: RealDegradation, sequence: list[np.ndarray] | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """:func:`real_lr` with every decoded frame of the sequence: (FRAMES LR frames, each cropped to
    the region's window, frame ``d.target`` being the LR sample; the HR region)."""
    if d.size % scale or MARGIN % scale:
        raise ConfigError(f"region size {d.size} and margin {MARGIN} must be multiples of the scale {scale}")
    h, w = hr.shape[:2]
    if d.y < 0 or d.x < 0 or d.y + d.size > h or d.x + d.size > w:
        raise ConfigError(f"region {d.size} at ({d.y}, {d.x}) does not fit a {w}x{h} image")
    if d.motion == "video":
        if sequence is None or len(sequence) != FRAMES or not np.array_equal(sequence[d.target], hr):
            raise ConfigError(f"a video recipe needs the clip's {FRAMES} frames around the image, the image at {d.target}")
        padded_frames = [np.pad(f, ((PAD, PAD), (PAD, PAD), (0, 0)), mode="reflect") for f in sequence]
    else:
        padded_frames = [np.pad(hr, ((PAD, PAD), (PAD, PAD), (0, 0)), mode="reflect")] * FRAMES
    side = d.size + 2 * MARGIN
    lr_frames = []
    for t, padded in enumerate(padded_frames):
        top, left = PAD + d.y + (t - d.target) * d.dy - MARGIN, PAD + d.x + (t - d.target) * d.dx - MARGIN
        window = frames.to_tensor(padded[top : top + side, left : left + side])  # (1, 3, side, side)
        lr_frames.append(_chain(window, scale, d, t) if d.chain else frames.to_numpy(downscale(window, scale))[0])
    m = MARGIN // scale
    decoded = [np.ascontiguousarray(f[m:-m, m:-m]) for f in round_trip(lr_frames, d.codec)]
    return decoded, hr[d.y : d.y + d.size, d.x : d.x + d.size].copy()


def _chain(x: torch.Tensor, scale: int, d: RealDegradation, t: int) -> np.ndarray:
    """One ``(1, 3, S, S)`` window through the second-order chain: ``uint8 (S/scale, S/scale, 3)``."""
    g = torch.Generator().manual_seed(d.seed * FRAMES + t)  # fresh noise every frame, as a sensor's
    side = x.shape[-1] // scale
    x = _anisotropic_blur(x, d.blur1)
    if d.resize1 != 1.0:
        x = _resize(x, max(side, round(x.shape[-1] * d.resize1)), d.kernel1)
    x = _noise(x, d.noise1, d.poisson1, d.gray1, g)
    if d.jpeg1:
        x = frames.to_tensor(jpeg(frames.to_numpy(x)[0], d.jpeg1))
    x = _anisotropic_blur(x, d.blur2)
    x = _resize(x, side, d.kernel2)
    x = _noise(x, d.noise2, 0.0, d.gray2, g)
    return frames.to_numpy(x)[0]


def _anisotropic_blur(x: torch.Tensor, b: Blur) -> torch.Tensor:
    if b.sx <= 0:
        return x
    radius = max(1, math.ceil(3 * max(b.sx, b.sy)))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype)
    yy, xx = torch.meshgrid(t, t, indexing="ij")
    c, s = math.cos(b.theta), math.sin(b.theta)
    u, v = c * xx + s * yy, -s * xx + c * yy  # the grid in the kernel's own axes
    kernel = torch.exp(-(u**2) / (2 * b.sx**2) - v**2 / (2 * b.sy**2))
    kernel = (kernel / kernel.sum()).expand(3, 1, -1, -1)
    x = F.pad(x, (radius,) * 4, mode="reflect")
    return F.conv2d(x, kernel, groups=3)


def _resize(x: torch.Tensor, side: int, kernel: str) -> torch.Tensor:
    """``(1, 3, S, S)`` -> ``(1, 3, side, side)`` with Pillow's float resampling (antialiased when shrinking)."""
    channels = [Image.fromarray(c.numpy()).resize((side, side), KERNELS[kernel]) for c in x[0].float()]
    return torch.from_numpy(np.stack([np.asarray(c) for c in channels]))[None].clamp(0, 1)


def _noise(x: torch.Tensor, sigma: float, photons: float, gray: bool, g: torch.Generator) -> torch.Tensor:
    """Gaussian (``sigma`` in 0-255 units) or Poisson (``photons`` per unit intensity) noise, clamped."""
    if sigma > 0:
        n = torch.randn((1, 1 if gray else 3, *x.shape[-2:]), generator=g) * (sigma / 255)
        return (x + n).clamp(0, 1)
    if photons > 0:
        base = x.mean(1, keepdim=True) if gray else x
        n = torch.poisson(base * photons, generator=g) / photons - base
        return (x + n).clamp(0, 1)
    return x
