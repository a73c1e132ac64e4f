"""Image and video quality metrics, as the super-resolution literature reports them.

Every function is pure and states its conventions. Images are ``float (N, 3, H, W)`` RGB tensors
in ``[0, 1]`` (frames from :func:`vsrgan.io.frames.to_tensor`); video metrics take sequences of
``uint8 (H, W, 3)`` RGB frames, as :func:`vsrgan.io.video.read_frames` yields them.

- :func:`psnr`, :func:`ssim`: BasicSR's ``calculate_psnr`` / ``calculate_ssim`` (and so the
  MATLAB code behind most SR papers): computed on ``[0, 255]`` data, on the luma channel Y of
  ITU-R BT.601 (MATLAB ``rgb2ycbcr``, studio range 16-235, *not* rounded) by default, after
  cropping ``crop_border`` pixels (papers use the scale) from every edge.
- :func:`perceptual_distance`: LPIPS-shaped distance on VGG16 features with *uniform* layer
  weights (no learned LPIPS weights ship with vsrgan), so its values are not LPIPS values.
- :func:`tof`, :func:`flicker`: temporal consistency of a video against its ground truth
  (tOF from TecoGAN, and a relative warping error); they need OpenCV (``pip install opencv-python-headless``).
"""

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .errors import ConfigError, InputError, VsrganError

# BT.601 luma for RGB in [0, 1] -> Y in [16, 235] (MATLAB rgb2ycbcr, BasicSR rgb2ycbcr(y_only=True)).
Y_WEIGHTS = (65.481, 128.553, 24.966)
Y_OFFSET = 16.0
# SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5; constants for [0, 255] data.
SSIM_WINDOW, SSIM_SIGMA = 11, 1.5
SSIM_C1, SSIM_C2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
# The five VGG16 layers LPIPS taps (Zhang et al. 2018).
LPIPS_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
# TecoGAN's Farneback parameters: pyr_scale, levels, winsize, iterations, poly_n, poly_sigma, flags.
FARNEBACK = (0.5, 3, 15, 3, 5, 1.2, 0)


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` RGB in ``[0, 1]`` -> ``(N, 1, H, W)`` BT.601 luma Y in ``[16, 235]`` (0-255 scale)."""
    w = torch.tensor(Y_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True) + Y_OFFSET


def _to_255(a: torch.Tensor, b: torch.Tensor, crop_border: int, y_channel: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Check shapes, move to float64 on ``[0, 255]`` (Y or RGB), crop the border."""
    if a.shape != b.shape or a.ndim != 4 or a.shape[1] != 3:
        raise ConfigError(f"metrics need two (N, 3, H, W) tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    h, w = a.shape[-2:]
    if crop_border < 0 or 2 * crop_border >= min(h, w):
        raise ConfigError(f"crop_border {crop_border} leaves nothing of a {w}x{h} image")
    a, b = a.double(), b.double()
    if y_channel:
        a, b = rgb_to_y(a), rgb_to_y(b)
    else:
        a, b = a * 255, b * 255
    if crop_border:
        a = a[..., crop_border:-crop_border, crop_border:-crop_border]
        b = b[..., crop_border:-crop_border, crop_border:-crop_border]
    return a, b


def psnr(a: torch.Tensor, b: torch.Tensor, *, crop_border: int = 0, y_channel: bool = True) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB, one value per image: ``(N,)`` float64.

    ``10 log10(255^2 / MSE)`` on ``[0, 255]`` data, the MSE taken over every pixel (and, with
    ``y_channel=False``, every RGB channel) left after cropping ``crop_border`` pixels from each
    edge. Identical images give ``inf``, as in BasicSR.
    """
    a, b = _to_255(a, b, crop_border, y_channel)
    mse = (a - b).pow(2).flatten(1).mean(dim=1)
    return 10 * torch.log10(255.0**2 / mse)


def gaussian_window(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA, *, dtype=torch.float64) -> torch.Tensor:
    """``(size, size)`` Gaussian summing to 1 (OpenCV ``getGaussianKernel`` outer product)."""
    t = torch.arange(size, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(t**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(a: torch.Tensor, b: torch.Tensor, *, crop_border: int = 0, y_channel: bool = True) -> torch.Tensor:
    """Structural similarity, one value per image: ``(N,)`` float64, at most 1.

    Wang et al. 2004 as BasicSR computes it: ``[0, 255]`` data, 11x11 Gaussian window with
    sigma 1.5, ``C1 = (0.01 * 255)^2``, ``C2 = (0.03 * 255)^2``, population (not sample)
    variances, the SSIM map averaged over the *valid* region (5 pixels in from each edge, after
    cropping ``crop_border``). With ``y_channel=False`` the three RGB channels' SSIMs are
    averaged. Equals scikit-image's ``structural_similarity(gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255)``.
    """
    a, b = _to_255(a, b, crop_border, y_channel)
    if min(a.shape[-2:]) < SSIM_WINDOW:
        raise ConfigError(f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} after the border crop, got {a.shape[-1]}x{a.shape[-2]}")
    channels = a.shape[1]
    window = gaussian_window().to(a.device)
    g = window.sum(dim=1)  # the 1-D Gaussian (it sums to 1): the window is its outer product with itself
    rows, cols = g.view(1, 1, -1, 1).expand(channels, 1, -1, 1), g.view(1, 1, 1, -1).expand(channels, 1, 1, -1)

    def blur(x: torch.Tensor) -> torch.Tensor:  # local mean over the window, 'valid' region only; separable
        return F.conv2d(F.conv2d(x, rows, groups=channels), cols, groups=channels)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + SSIM_C1) * (2 * cov + SSIM_C2)
    den = (mu_a**2 + mu_b**2 + SSIM_C1) * (var_a + var_b + SSIM_C2)
    return (num / den).flatten(2).mean(dim=2).mean(dim=1)  # (N, C, h*w) -> (N,)


def lpips_vgg(weights: str = "auto") -> nn.Module:
    """VGG16 features at :data:`LPIPS_LAYERS`, loaded from ``weights`` (see :mod:`vsrgan.models.vgg`)."""
    from .models.vgg import VGGFeatures, load_vgg_weights

    return load_vgg_weights(VGGFeatures(arch="vgg16", layers=LPIPS_LAYERS), weights)


def perceptual_distance(a: torch.Tensor, b: torch.Tensor, features: nn.Module) -> torch.Tensor:
    """LPIPS-style distance on deep features, one value per image: ``(N,)``, 0 for identical images.

    ``features`` maps ``(N, 3, H, W)`` RGB in ``[0, 1]`` to a list of feature maps (e.g.
    :func:`lpips_vgg`). As LPIPS (Zhang et al. 2018, eq. 1): each map is unit-normalised along
    channels at every pixel, the squared difference is summed over channels and averaged over
    pixels, and the layers are summed. LPIPS then weights channels with learned linear layers;
    vsrgan has no such weights, so every channel and layer weighs 1 (LPIPS's own "baseline"
    variant). Each layer contributes at most 4, so the value lies in ``[0, 4 * layers]``; compare
    it between methods, never with published LPIPS numbers.
    """
    if a.shape != b.shape:
        raise ConfigError(f"perceptual_distance needs two tensors of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    with torch.inference_mode():
        return feature_distance(features(a), features(b))


def feature_distance(a: Sequence[torch.Tensor], b: Sequence[torch.Tensor]) -> torch.Tensor:
    """:func:`perceptual_distance` from feature maps already computed (one ``(N, C, h, w)`` per layer),
    so a ground truth's features can serve every method compared with it."""
    total = torch.zeros(a[0].shape[0], dtype=torch.float32, device=a[0].device)
    for fa, fb in zip(a, b, strict=True):
        fa = fa / (fa.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)  # (N, C, h, w), unit length per pixel
        fb = fb / (fb.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
        total += (fa - fb).pow(2).sum(dim=1).flatten(1).mean(dim=1).float()
    return total


# ---- temporal consistency (OpenCV) -------------------------------------------------------------


def _cv2():
    try:
        import cv2
    except ImportError:
        raise VsrganError("temporal metrics need OpenCV; install it with 'pip install opencv-python-headless' (or vsrgan[eval])") from None
    return cv2


def optical_flow(prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
    """Dense flow from ``prev`` to ``cur`` (``uint8 (H, W, 3)`` RGB) -> ``float32 (H, W, 2)`` pixels (dx, dy).

    OpenCV's Farneback on grey images with TecoGAN's parameters: ``prev[y, x]`` is about
    ``cur[y + dy, x + dx]``. So ``optical_flow(cur, prev)`` tells each pixel of ``cur`` where it
    was in ``prev``, which is what :func:`warp` needs to pull ``prev`` onto ``cur``.
    """
    cv2 = _cv2()
    a = cv2.cvtColor(np.ascontiguousarray(prev), cv2.COLOR_RGB2GRAY)
    b = cv2.cvtColor(np.ascontiguousarray(cur), cv2.COLOR_RGB2GRAY)
    return cv2.calcOpticalFlowFarneback(a, b, None, *FARNEBACK)


def tecogan_crop(x: np.ndarray) -> np.ndarray:
    """TecoGAN's ``crop_8x8``: the centre, a multiple of 32 pixels, at least 8 pixels in from each edge."""
    h0, w0 = x.shape[:2]
    h, w = h0 // 32 * 32, w0 // 32 * 32
    while h > h0 - 16:
        h -= 32
    while w > w0 - 16:
        w -= 32
    if h <= 0 or w <= 0:
        raise InputError(f"tOF needs frames of at least 48x48 pixels, got {w0}x{h0}")
    y, x0 = (h0 - h) // 2, (w0 - w) // 2
    return x[y : y + h, x0 : x0 + w]


def tof_pair(prev: np.ndarray, cur: np.ndarray, target_flow: np.ndarray) -> float:
    """tOF of one step: mean over pixels of ``|flow(prev, cur) - target_flow|`` (Euclidean, pixels),
    both flows cropped as TecoGAN does. ``target_flow`` is ``optical_flow(prev_gt, cur_gt)``."""
    diff = tecogan_crop(optical_flow(prev, cur)) - tecogan_crop(target_flow)
    return float(np.sqrt((diff**2).sum(axis=-1)).mean())


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``out[y, x] = image[y + dy, x + dx]`` (bilinear, edges replicated): ``image`` pulled along ``flow``."""
    cv2 = _cv2()
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warp_residual(prev: np.ndarray, cur: np.ndarray, back_flow: np.ndarray) -> np.ndarray:
    """``cur - warp(prev, back_flow)`` as ``float32 (H, W, 3)``, 0-255 units: what changed in a frame
    beyond the motion ``back_flow`` describes (``optical_flow(cur_gt, prev_gt)``, where each pixel of
    frame t was in frame t-1)."""
    return cur.astype(np.float32) - warp(prev, back_flow).astype(np.float32)


def flicker_pair(prev: np.ndarray, cur: np.ndarray, prev_gt: np.ndarray, cur_gt: np.ndarray, back_flow: np.ndarray) -> float:
    """Flicker of one step: mean over pixels and channels of ``|residual(output) - residual(ground truth)|``,
    both residuals taken with the ground truth's backward flow (:func:`warp_residual`)."""
    out = warp_residual(prev, cur, back_flow)
    truth = warp_residual(prev_gt, cur_gt, back_flow)
    return float(np.abs(out - truth).mean())


def _check_sequences(outputs: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> None:
    if len(outputs) != len(targets) or len(outputs) < 2:
        raise ConfigError(f"temporal metrics need two sequences of one length >= 2, got {len(outputs)} and {len(targets)} frames")


def tof(outputs: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> np.ndarray:
    """Temporal optical-flow error (TecoGAN, Chu et al. 2020), one value per frame step: ``(T - 1,)``.

    For each step t-1 -> t, Farneback flow is computed between consecutive output frames and
    between consecutive ground-truth frames; tOF is the mean Euclidean distance between the two
    flow fields, in pixels, over TecoGAN's centre crop. Lower is better; 0 when the output moves
    exactly as the ground truth does. TecoGAN reports the mean over steps (times 1, not 100).
    """
    _check_sequences(outputs, targets)
    steps = [
        tof_pair(outputs[t - 1], outputs[t], optical_flow(targets[t - 1], targets[t]))
        for t in range(1, len(outputs))
    ]
    return np.asarray(steps)


def flicker(outputs: Sequence[np.ndarray], targets: Sequence[np.ndarray]) -> np.ndarray:
    """Flicker: temporal change the ground truth does not have, one value per step: ``(T - 1,)``, 0-255 units.

    A warping error made relative (after the warping error of Lai et al. 2018): frame t-1 is
    warped onto frame t with the *ground truth's* backward Farneback flow, and the residual
    ``frame_t - warp(frame_t-1)`` (what changed beyond the true motion) is taken for the output
    and for the ground truth; flicker is the mean absolute difference of the two residuals.
    0 when the output changes exactly as the ground truth does; large when frames shimmer
    independently (a frame-by-frame upscaler's flicker) and also when an output freezes what
    really changes. Occlusions and flow errors largely cancel, being in both residuals.
    """
    _check_sequences(outputs, targets)
    steps = []
    for t in range(1, len(outputs)):
        back = optical_flow(targets[t], targets[t - 1])
        steps.append(flicker_pair(outputs[t - 1], outputs[t], targets[t - 1], targets[t], back))
    return np.asarray(steps)


def mean_finite(values: Sequence[float]) -> float:
    """Mean of the finite values (PSNR of an exact copy is ``inf``); ``nan`` if there are none."""
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan
