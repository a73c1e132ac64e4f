"""Run a model on overlapping tiles and stitch the result: pure tensor functions.

Each tile is cut with a margin of ``pad`` input pixels on every side that has image beyond it.
When ``pad`` is at least the model's receptive radius, every output pixel sees exactly the
input it would see untiled, so the stitched result equals the untiled one up to floating-point
rounding (the convolution algorithm may differ between tile sizes).

Every window starts on a multiple of 4 pixels (its margin grows by up to 3 where it would not): a
network that works on 2x2 or 4x4 cells (:class:`~vsrgan.models.halfres.HalfResGenerator`,
Real-ESRGAN's x2 and x1 :class:`~vsrgan.models.foreign.rrdb.RRDBNet`, which pixel-unshuffle their
input) then sees the same cells in a tile as in the whole frame; for the others a wider margin
changes nothing.
"""

from collections.abc import Callable

import torch

ALIGN = 4  # windows start on multiples of this, in input pixels (the largest cell of a network)


def tile_starts(length: int, tile: int) -> list[int]:
    """Start offsets of tiles of size ``tile`` covering ``range(length)`` (the last one may be short)."""
    return list(range(0, length, tile)) if tile > 0 else [0]


def tiled_forward(
    model: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    *,
    scale: int,
    tile: int,
    pad: int,
) -> torch.Tensor:
    """``model(x)`` computed tile by tile: ``(N, C, H, W)`` -> ``(N, C, scale*H, scale*W)``.

    ``tile`` is the core tile size in input pixels (0: one tile); ``pad`` the margin.
    """
    n, c, h, w = x.shape
    if tile <= 0 or (tile >= h and tile >= w):
        return model(x)
    out = None
    for top in tile_starts(h, tile):
        for left in tile_starts(w, tile):
            bottom, right = min(top + tile, h), min(left + tile, w)
            # the window with its margin, clipped to the image
            y0, y1 = max(top - pad, 0) // ALIGN * ALIGN, min(bottom + pad, h)
            x0, x1 = max(left - pad, 0) // ALIGN * ALIGN, min(right + pad, w)
            y = model(x[:, :, y0:y1, x0:x1])  # (N, C, s*(y1-y0), s*(x1-x0))
            if out is None:
                out = y.new_empty(n, y.shape[1], h * scale, w * scale)
            # keep only the core, in output pixels
            cy, cx = (top - y0) * scale, (left - x0) * scale
            core = y[:, :, cy : cy + (bottom - top) * scale, cx : cx + (right - left) * scale]
            out[:, :, top * scale : bottom * scale, left * scale : right * scale] = core
    return out
