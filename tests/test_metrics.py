"""vsrgan.metrics against hand-computed values and scikit-image's reference implementations."""

import math
import sys

import numpy as np
import pytest
import torch

from vsrgan import metrics
from vsrgan.errors import ConfigError, InputError, VsrganError

skimage_metrics = pytest.importorskip("skimage.metrics")
cv2 = pytest.importorskip("cv2", reason="temporal metrics need opencv-python-headless")

SKIMAGE_SSIM = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)


def constant(rgb, size=(24, 24), n=1) -> torch.Tensor:
    return torch.tensor(rgb, dtype=torch.float64).view(1, 3, 1, 1).expand(n, 3, *size).clone()


def noisy_pair(n=2, h=40, w=48, sigma=0.08, seed=0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    a = torch.rand(n, 3, h, w, generator=g, dtype=torch.float64)
    b = (a + sigma * torch.randn(a.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
    return a, b


def y_numpy(x: torch.Tensor) -> np.ndarray:
    """Y (0-255) of image 0 as an (H, W) float64 array, computed independently of vsrgan."""
    r, g, b = (x[0, c].numpy() for c in range(3))
    return 16 + 65.481 * r + 128.553 * g + 24.966 * b


def rgb_numpy(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).numpy() * 255


# ---- Y channel, PSNR -----------------------------------------------------------------------------


def test_y_channel_is_bt601_studio_range():
    y = metrics.rgb_to_y(torch.tensor([[1.0, 1, 1], [0, 0, 0], [1, 0, 0]]).view(3, 3, 1, 1))
    assert y.flatten().tolist() == pytest.approx([235.0, 16.0, 81.481], abs=1e-4)


def test_psnr_hand_computed():
    a, b = constant([0, 0, 0]), constant([0.1, 0.1, 0.1])
    # RGB: every channel off by 25.5 -> MSE 650.25 -> 10 log10(255^2 / 650.25) = 20 dB exactly
    assert metrics.psnr(a, b, y_channel=False).item() == pytest.approx(20.0, abs=1e-9)
    # Y: off by 0.1 * (65.481 + 128.553 + 24.966) = 21.9
    assert metrics.psnr(a, b).item() == pytest.approx(10 * math.log10(255**2 / 21.9**2), abs=1e-9)


def test_psnr_is_per_image_and_inf_for_copies():
    a, b = noisy_pair(n=3)
    b[1] = a[1]
    values = metrics.psnr(a, b)
    assert values.shape == (3,)
    assert math.isinf(values[1]) and math.isfinite(values[0]) and math.isfinite(values[2])


def test_psnr_crop_border_ignores_the_edge():
    a = torch.rand(1, 3, 32, 32, dtype=torch.float64)
    b = a.clone()
    b[..., :4, :] = 0  # damage only the 4-pixel top edge
    assert math.isfinite(metrics.psnr(a, b).item())
    assert math.isinf(metrics.psnr(a, b, crop_border=4).item())


@pytest.mark.parametrize("crop", [0, 4])
def test_psnr_matches_scikit_image(crop):
    a, b = noisy_pair()
    s = slice(crop, -crop or None)
    ours_y = metrics.psnr(a, b, crop_border=crop)[0].item()
    ours_rgb = metrics.psnr(a, b, crop_border=crop, y_channel=False)[0].item()
    ref_y = skimage_metrics.peak_signal_noise_ratio(y_numpy(a)[s, s], y_numpy(b)[s, s], data_range=255)
    ref_rgb = skimage_metrics.peak_signal_noise_ratio(rgb_numpy(a)[s, s], rgb_numpy(b)[s, s], data_range=255)
    assert ours_y == pytest.approx(ref_y, abs=1e-9)
    assert ours_rgb == pytest.approx(ref_rgb, abs=1e-9)


def test_metrics_refuse_mismatched_shapes_and_huge_crops():
    a, b = noisy_pair()
    with pytest.raises(ConfigError):
        metrics.psnr(a, b[..., :-1])
    with pytest.raises(ConfigError):
        metrics.ssim(a, b, crop_border=20)


# ---- SSIM ----------------------------------------------------------------------------------------


def test_gaussian_window_matches_opencv():
    k = cv2.getGaussianKernel(11, 1.5)
    np.testing.assert_allclose(metrics.gaussian_window().numpy(), k @ k.T, atol=1e-12)


def test_ssim_hand_computed_for_flat_images():
    # No variance anywhere, so SSIM is the luminance term alone: (2 mu_a mu_b + C1) / (mu_a^2 + mu_b^2 + C1)
    a, b = constant([0.2, 0.2, 0.2]), constant([0.3, 0.3, 0.3])
    ya, yb = 16 + 219 * 0.2, 16 + 219 * 0.3
    c1 = (0.01 * 255) ** 2
    expected = (2 * ya * yb + c1) / (ya**2 + yb**2 + c1)
    assert metrics.ssim(a, b).item() == pytest.approx(expected, abs=1e-9)
    assert metrics.ssim(a, a).item() == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("crop", [0, 4])
def test_ssim_matches_scikit_image(crop):
    a, b = noisy_pair()
    s = slice(crop, -crop or None)
    ours_y = metrics.ssim(a, b, crop_border=crop)
    ours_rgb = metrics.ssim(a, b, crop_border=crop, y_channel=False)
    ref_y = skimage_metrics.structural_similarity(y_numpy(a)[s, s], y_numpy(b)[s, s], **SKIMAGE_SSIM)
    ref_rgb = skimage_metrics.structural_similarity(rgb_numpy(a)[s, s], rgb_numpy(b)[s, s], channel_axis=2, **SKIMAGE_SSIM)
    assert ours_y.shape == (2,)
    assert ours_y[0].item() == pytest.approx(ref_y, abs=1e-9)
    assert ours_rgb[0].item() == pytest.approx(ref_rgb, abs=1e-9)


def test_ssim_falls_as_noise_grows():
    values = [metrics.ssim(*noisy_pair(sigma=s))[0].item() for s in (0.01, 0.05, 0.2)]
    assert 1 > values[0] > values[1] > values[2] > 0


def test_ssim_refuses_images_smaller_than_its_window():
    a, b = noisy_pair(h=10, w=10)
    with pytest.raises(ConfigError, match="11x11"):
        metrics.ssim(a, b)


# ---- perceptual distance -------------------------------------------------------------------------


def test_feature_distance_hand_computed():
    # One "layer" that is the image itself: red vs green unit vectors differ by squared length 2.
    def identity(x):
        return [x]

    red, green = constant([1, 0, 0]).float(), constant([0, 1, 0]).float()
    assert metrics.perceptual_distance(red, green, identity).item() == pytest.approx(2.0, abs=1e-6)
    # Scale does not matter (features are unit-normalised): dark red vs bright red is 0.
    assert metrics.perceptual_distance(red, red * 0.25, identity).item() == pytest.approx(0.0, abs=1e-6)


@pytest.fixture(scope="module")
def random_vgg():
    from vsrgan.models.vgg import VGGFeatures, load_vgg_weights

    torch.manual_seed(0)
    return load_vgg_weights(VGGFeatures(arch="vgg16", layers=metrics.LPIPS_LAYERS), "random")


def test_perceptual_distance_on_random_vgg(random_vgg):
    a, _ = noisy_pair(n=2, h=32, w=32, sigma=0)
    a = a.float()
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(a.shape, generator=g)
    d = [metrics.perceptual_distance(a, (a + s * noise).clamp(0, 1), random_vgg) for s in (0.0, 0.05, 0.3)]
    assert d[0].shape == (2,)
    assert torch.allclose(d[0], torch.zeros(2), atol=1e-6)
    assert (d[1] > 0).all() and (d[2] > d[1]).all()
    assert (d[2] <= 4 * len(metrics.LPIPS_LAYERS)).all()
    b = (a + 0.3 * noise).clamp(0, 1)
    assert torch.allclose(metrics.perceptual_distance(b, a, random_vgg), d[2], rtol=1e-4)


# ---- temporal: flow, warping, tOF, flicker -------------------------------------------------------


def smooth_frame(shift: float = 0.0, h: int = 64, w: int = 80) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    x = xx - shift
    r = 128 + 70 * np.sin(x / 6.0) * np.cos(yy / 9.0)
    g = 128 + 60 * np.cos((x + yy) / 8.0)
    b = 128 + 50 * np.sin((x - 2 * yy) / 10.0)
    return np.stack([r, g, b], axis=-1).clip(0, 255).astype(np.uint8)


def test_optical_flow_finds_a_known_shift():
    flow = metrics.optical_flow(smooth_frame(0), smooth_frame(2))  # content moves 2 px right
    inner = flow[16:-16, 16:-16]
    assert np.median(inner[..., 0]) == pytest.approx(2.0, abs=0.25)
    assert np.median(inner[..., 1]) == pytest.approx(0.0, abs=0.25)


def test_warp_with_the_true_flow_reproduces_the_next_frame():
    prev, cur = smooth_frame(0), smooth_frame(2)
    back = np.zeros(cur.shape[:2] + (2,), np.float32)
    back[..., 0] = -2  # each pixel of cur was 2 px to the left in prev
    np.testing.assert_array_equal(metrics.warp(prev, np.zeros_like(back)), prev)
    warped = metrics.warp(prev, back)
    assert np.abs(warped[:, 4:].astype(int) - cur[:, 4:]).max() <= 1


def test_tecogan_crop():
    assert metrics.tecogan_crop(np.zeros((64, 64))).shape == (32, 32)
    crop = metrics.tecogan_crop(np.arange(80 * 100).reshape(80, 100))
    assert crop.shape == (64, 64) and crop[0, 0] == 8 * 100 + 18  # centred: 8 rows, 18 columns in
    with pytest.raises(InputError, match="48x48"):
        metrics.tecogan_crop(np.zeros((40, 64)))


def flickering(frames: list[np.ndarray], sigma: float, seed: int = 0) -> list[np.ndarray]:
    """Independent noise per frame: what a frame-by-frame upscaler's shimmer looks like."""
    rng = np.random.default_rng(seed)
    return [np.clip(f + rng.normal(0, sigma, f.shape), 0, 255).astype(np.uint8) for f in frames]


def test_temporal_metrics_are_zero_for_the_ground_truth_and_grow_with_flicker():
    truth = [smooth_frame(1.5 * t) for t in range(5)]
    assert metrics.tof(truth, truth).tolist() == [0.0] * 4
    assert metrics.flicker(truth, truth).tolist() == [0.0] * 4
    tofs = [metrics.tof(flickering(truth, s), truth).mean() for s in (2, 8, 24)]
    flickers = [metrics.flicker(flickering(truth, s), truth).mean() for s in (2, 8, 24)]
    assert 0 < tofs[0] < tofs[1] < tofs[2]
    assert 0 < flickers[0] < flickers[1] < flickers[2]


def test_flicker_also_counts_a_frozen_output():
    truth = [smooth_frame(1.5 * t) for t in range(4)]
    frozen = [truth[0]] * 4
    assert (metrics.flicker(frozen, truth) > 1).all()
    assert (metrics.tof(frozen, truth) > 0.5).all()


def test_temporal_metrics_need_matching_sequences():
    truth = [smooth_frame(t) for t in range(3)]
    with pytest.raises(ConfigError):
        metrics.tof(truth, truth[:2])
    with pytest.raises(ConfigError):
        metrics.flicker(truth[:1], truth[:1])


def test_missing_opencv_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(VsrganError, match="opencv-python-headless"):
        metrics.optical_flow(smooth_frame(), smooth_frame())


def test_mean_finite_leaves_out_exact_copies():
    assert metrics.mean_finite([30.0, math.inf, 32.0]) == 31.0
    assert math.isnan(metrics.mean_finite([math.inf]))
