"""The three losses of SRGAN: pixel, perceptual (VGG features) and adversarial; and a temporal one.

All take the generator's output ``sr`` and the target ``hr`` as ``(N, 3, H, W)`` in ``[0, 1]``.
The training loop weighs and sums them (:class:`vsrgan.training.config.LossConfig`).
:func:`temporal_consistency` instead compares the outputs for two decoded frames of one still scene.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from ..models.vgg import VGGFeatures, load_vgg_weights, parse_layer

CRITERIA = {"l1": F.l1_loss, "mse": F.mse_loss}  # a literal name map: grep finds both
ADVERSARIAL = ("bce", "relativistic")


def criterion(name: str):
    if name not in CRITERIA:
        raise ConfigError(f"unknown loss criterion {name!r}; expected one of {', '.join(CRITERIA)}")
    return CRITERIA[name]


# BT.601 RGB -> (Y, Cb, Cr) without offsets (they cancel in a difference), in [0, 1] units: the Y row is
# metrics.Y_WEIGHTS, the luma that PSNR-Y scores
YCBCR = torch.tensor([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]) / 255


class PixelLoss(nn.Module):
    """Mean absolute (``l1``) or squared (``mse``, the paper's SRResNet) error per pixel.

    ``chroma_weight`` 1 compares RGB, every channel alike. Any other value compares Y, Cb and Cr,
    colour weighted ``chroma_weight`` against luma, normalised so that the weights sum to one: a
    small network fed 4:2:0 video, whose colour is at a quarter of the luma's resolution, then spends
    its capacity on the luma that the eye (and PSNR-Y) reads, rather than on colour it cannot restore.
    """

    def __init__(self, *, kind: str = "mse", chroma_weight: float = 1.0):
        super().__init__()
        self.distance = criterion(kind)
        self.chroma_weight = chroma_weight
        self.register_buffer("ycbcr", YCBCR.clone(), persistent=False)

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        if self.chroma_weight == 1.0:
            return self.distance(sr, hr)
        m = self.ycbcr.to(sr)
        a, b = torch.einsum("ij,njhw->nihw", m, sr), torch.einsum("ij,njhw->nihw", m, hr)
        luma, colour = self.distance(a[:, :1], b[:, :1]), self.distance(a[:, 1:], b[:, 1:])
        return (luma + 2 * self.chroma_weight * colour) / (1 + 2 * self.chroma_weight)


class PerceptualLoss(nn.Module):
    """Distance between VGG feature maps of ``sr`` and ``hr``, summed over ``layers``.

    ``feature_scale`` multiplies the feature maps before the distance: SRGAN rescales VGG54 by
    1/12.75 "to obtain VGG losses of a scale comparable to the MSE loss", i.e. the MSE is
    multiplied by 1/12.75**2 (about 0.006). That factor was chosen for Caffe's VGG19 (inputs
    0-255); with torchvision's VGG the features are of another scale, so treat it as a weight.
    """

    def __init__(
        self,
        *,
        layers: tuple[str, ...] = ("vgg19.relu5_4",),
        weights: str = "auto",
        kind: str = "mse",
        feature_scale: float = 1 / 12.75,
    ):
        super().__init__()
        parsed = [parse_layer(spec) for spec in layers]
        archs = {arch for arch, _ in parsed}
        if len(archs) != 1:
            raise ConfigError(f"perceptual layers must come from one VGG, got {', '.join(layers)}")
        self.vgg = load_vgg_weights(VGGFeatures(arch=archs.pop(), layers=tuple(layer for _, layer in parsed)), weights)
        self.distance = criterion(kind)
        self.feature_scale = feature_scale

    def train(self, mode: bool = True) -> "PerceptualLoss":
        super().train(mode)
        self.vgg.eval()  # a fixed feature extractor, whatever mode the trainer sets
        return self

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        sr_features = self.vgg(sr)
        with torch.no_grad():
            hr_features = self.vgg(hr)
        loss = sr.new_zeros(())
        for a, b in zip(sr_features, hr_features):
            loss = loss + self.distance(a * self.feature_scale, b * self.feature_scale)
        return loss


class AdversarialLoss:
    """GAN losses on discriminator logits.

    ``"bce"``: the seed's sigmoid + binary cross-entropy (computed from logits, which is the same
    function without overflow). G wants ``D(sr)`` called real; D wants real real and fake fake.

    ``"relativistic"``: ESRGAN's relativistic average GAN: D judges whether a real image is more
    realistic than the average fake, ``sigmoid(C(hr) - mean C(sr))``, and G is trained
    symmetrically on both terms (each loss is the mean of its two BCE terms, as BasicSR).
    """

    def __init__(self, kind: str = "bce"):
        if kind not in ADVERSARIAL:
            raise ConfigError(f"unknown adversarial loss {kind!r}; expected one of {', '.join(ADVERSARIAL)}")
        self.kind = kind
        self.needs_real_logits_for_generator = kind == "relativistic"

    def generator(self, real: torch.Tensor | None, fake: torch.Tensor) -> torch.Tensor:
        """G's loss from ``fake = D(sr)`` and, for ``relativistic``, ``real = D(hr).detach()``."""
        if self.kind == "bce":
            return _bce(fake, True)
        return (_bce(real - fake.mean(), False) + _bce(fake - real.mean(), True)) / 2

    def discriminator(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """D's loss from ``real = D(hr)`` and ``fake = D(sr.detach())``."""
        if self.kind == "bce":
            return _bce(real, True) + _bce(fake, False)
        return (_bce(real - fake.mean(), True) + _bce(fake - real.mean(), False)) / 2


def _bce(logits: torch.Tensor, target_is_real: bool) -> torch.Tensor:
    target = torch.ones_like(logits) if target_is_real else torch.zeros_like(logits)
    return F.binary_cross_entropy_with_logits(logits.float(), target.float())


def temporal_consistency(sr: torch.Tensor, sr_n: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference between the outputs for frames ``which`` of a batch (``sr[which]``)
    and for a neighbouring frame of each that shows the same view (``sr_n``; the pool's still
    recipes, :func:`vsrgan.dataset.crops.still_neighbours`), as a mean over the whole batch of
    ``len(sr)`` samples, the others adding 0 (so it weighs per sample as the pixel loss does).

    The two LR frames differ only by what the codec and the noise did to each, and the HR target
    is the same: whatever differs between the two outputs is flicker the network adds to a video
    of a still scene. No optical flow is needed.
    """
    if not len(which):
        return sr.new_zeros(())
    return F.l1_loss(sr_n, sr[which]) * len(which) / len(sr)
