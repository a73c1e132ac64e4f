"""Which Y'CbCr matrix turns YUV video into RGB frames and back: one choice, for every path.

Decoding converts with the matrix and range the source declares. An untagged source is
converted the way players show it (mpv, VLC and browsers guess by size): BT.709 for HD
(width >= 1280 or height > 576), BT.601 below. FFmpeg's own default, BT.601 at every size,
would shift the colours of an untagged HD file against how the same file plays.

Encoding: YUV output is converted with the matrix players assume for its size
(:func:`output_matrix`: BT.709 for HD, which most upscaled output is, BT.601 below), limited
range, and its stream header says so (matrix, primaries and transfer). A guess that differs from
the conversion shifts colours: BT.601-converted red (217, 28, 28) shows as (233, 45, 25) in a
player that assumes BT.709. Following the guess keeps the colours right also where the tags are
lost (mpeg4 in .avi, .y4m). JPEG codecs are BT.601 by their bitstream. The CPU path
(:class:`vsrgan.io.writer.VideoWriter`, through swscale) and the GPU path (:func:`vsrgan.io.frames.to_i420`)
choose with the same function. RGB pixel formats (libx264rgb, ffv1 with gbrp or bgr0) need no
matrix and get no tags; gray ones no matrix, and the full range swscale writes them in.
Primaries are tagged, not converted: a BT.601 source's gamut is taken as BT.709's, as ffmpeg
does without a colorspace filter.

Wide-gamut and HDR sources (BT.2020 primaries, or a PQ or HLG transfer: :class:`WideColour`) are
the exception: their R'G'B' values mean BT.2020 colours under their own transfer, and tagged as
BT.709 they show washed out and dim. Their output keeps the source's primaries and transfer, is
converted with the BT.2020 matrix and tagged with it, in 10 bits unless ``--pix-fmt`` says otherwise
(:meth:`vsrgan.io.encoding.EncodeOptions.for_colour`). The model still sees 8-bit R'G'B', so a PQ
picture's gradients are as smooth as 8 bits allow; mastering-display metadata is not carried.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

try:
    import av
    from av.video.reformatter import Interpolation, VideoReformatter
except ImportError:  # frames.py needs only the coefficients; video I/O checks for PyAV itself
    av = None

UNSPECIFIED = 2  # AVCOL_SPC_UNSPECIFIED: the frame's header names no matrix
LIMITED, FULL = 1, 2  # AVColorRange: tv (16-235) and pc (0-255)


@dataclass(frozen=True)
class Matrix:
    """A Y'CbCr matrix, given by the luma weights of red and blue."""

    name: str  # swscale's name for it (PyAV's reformatter.Colorspace)
    kr: float
    kb: float
    code: int  # its code as AVColorSpace, AVColorPrimaries and AVColorTransferCharacteristic alike

    def rgb_to_ycbcr(self) -> list[list[float]]:
        """Rows Y, Cb, Cr for R'G'B' in [0, 1] -> Y in [0, 1], Cb and Cr in [-0.5, 0.5]."""
        kr, kb = self.kr, self.kb
        kg = 1 - kr - kb
        return [
            [kr, kg, kb],
            [-kr / (2 - 2 * kb), -kg / (2 - 2 * kb), 0.5],
            [0.5, -kg / (2 - 2 * kr), -kb / (2 - 2 * kr)],
        ]


BT601 = Matrix("ITU601", kr=0.299, kb=0.114, code=6)  # tagged as smpte170m (NTSC; PAL's bt470bg has the same matrix)
BT709 = Matrix("ITU709", kr=0.2126, kb=0.0722, code=1)
BT2020 = Matrix("BT2020", kr=0.2627, kb=0.0593, code=9)  # the non-constant-luminance matrix; primaries code 9 too
PQ, HLG = 16, 18  # AVColorTransferCharacteristic: SMPTE ST 2084 (HDR10) and ARIB STD-B67
BT2020_SDR_TRC = 14  # bt2020-10, BT.709's curve: the transfer of a BT.2020 source that names none
JPEG_CODECS = ("mjpeg", "ljpeg", "jpegls")  # BT.601 by their bitstream, whatever a header says


@dataclass(frozen=True)
class WideColour:
    """A wide-gamut or HDR source's primaries and transfer (AVColorPrimaries and
    AVColorTransferCharacteristic codes), which its output keeps."""

    primaries: int
    trc: int

    @property
    def hdr(self) -> bool:
        return self.trc in (PQ, HLG)

    @property
    def name(self) -> str:
        return {PQ: "HDR (PQ)", HLG: "HDR (HLG)"}.get(self.trc, "BT.2020")


def wide_colour(frame: av.VideoFrame) -> WideColour | None:
    """The tags to keep of a decoded frame whose colours are BT.2020 or HDR; None for the rest,
    which are converted and tagged by size (:func:`output_matrix`)."""
    if frame.color_primaries != BT2020.code and frame.color_trc not in (PQ, HLG):
        return None
    trc = frame.color_trc if frame.color_trc not in (0, UNSPECIFIED) else BT2020_SDR_TRC
    primaries = frame.color_primaries if frame.color_primaries not in (0, UNSPECIFIED) else BT2020.code  # e.g. P3-D65 (12) in PQ
    return WideColour(primaries=primaries, trc=trc)


def guess_matrix(width: int, height: int) -> Matrix:
    """The matrix players assume for untagged YUV of this size (mpv's rule; VLC's is alike)."""
    return BT709 if width >= 1280 or height > 576 else BT601


def output_matrix(width: int, height: int, codec: str = "") -> Matrix:
    """What YUV output of this size (as encoded: padded to even) is converted with and tagged as."""
    return BT601 if codec in JPEG_CODECS else guess_matrix(width, height)


# swscale's flags for YUV -> RGB: its default path for subsampled chroma rounds every pixel's luma down
# by about one level (-1.08 on average for yuv420p, measured); upsampling chroma to every pixel with
# accurate rounding reads the planes back exactly (to_i420 of the result gives them again). 7 ms a
# 1080p frame instead of 1, beside a model's hundreds.
EXACT_CHROMA = int(Interpolation.BILINEAR | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT) if av else 0


def to_rgb(frame: av.VideoFrame) -> np.ndarray:
    """A decoded frame as ``uint8 (H, W, 3)`` RGB, converted as players show it.

    A declared matrix and range reach swscale from the frame itself; only an untagged YUV
    frame needs telling, since swscale would take BT.601 at every size.
    """
    if frame.format.is_rgb:
        return frame.to_ndarray(format="rgb24")
    matrix = {} if frame.colorspace != UNSPECIFIED else {"src_colorspace": guess_matrix(frame.width, frame.height).name}
    return frame.to_ndarray(format="rgb24", interpolation=EXACT_CHROMA, **matrix)


def is_yuv(pix_fmt: str) -> bool:
    """Whether frames of ``pix_fmt`` need a matrix: not RGB, and not gray (luma alone, no chroma)."""
    return not av.VideoFormat(pix_fmt).is_rgb and not pix_fmt.startswith("gray")


def output_range(pix_fmt: str) -> int:
    """Limited range, except for the full-range ``yuvj`` formats and gray, which swscale writes full."""
    return FULL if pix_fmt.startswith(("yuvj", "gray")) else LIMITED


class OutputColour:
    """Tags one output stream with :func:`output_matrix` (or a wide source's own colours) and
    converts RGB images into its pixel format.

    The tags go in the codec context, which encoders (libx264, libx265, ffv1...) write into the
    stream header, so players undo the very conversion that was made. Left to the encoder, the
    conversion would take swscale's default, BT.601, and no tags.
    """

    def __init__(self, codec_context: av.video.codeccontext.VideoCodecContext, wide: WideColour | None = None):
        self.codec_context = codec_context
        self.pix_fmt = codec_context.pix_fmt
        self.yuv = is_yuv(self.pix_fmt)  # decided once, not per frame
        self.wide = wide if codec_context.name not in JPEG_CODECS else None
        self.matrix = BT2020 if self.wide else output_matrix(codec_context.width, codec_context.height, codec_context.name)
        self.reformatter = VideoReformatter()  # one swscale context, reused frame after frame
        if self.pix_fmt.startswith("gray"):
            codec_context.color_range = FULL  # luma alone: no matrix, and swscale writes it full range
        elif self.yuv:
            codec_context.colorspace = self.matrix.code
            codec_context.color_range = output_range(self.pix_fmt)
        if self.yuv or self.wide:  # a wide source's RGB or gray output, too, says what its values mean
            codec_context.color_primaries = self.wide.primaries if self.wide else self.matrix.code
            codec_context.color_trc = self.wide.trc if self.wide else self.matrix.code

    def frame(self, image: np.ndarray) -> av.VideoFrame:
        """An ``uint8 (H, W, 3)`` RGB image as a frame of the stream's pixel format."""
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        if not self.yuv:
            return frame  # the encoder reorders the channels (or takes the luma); no matrix
        return self.reformatter.reformat(frame, format=self.pix_fmt, dst_colorspace=self.matrix.name,
                                         dst_color_range=output_range(self.pix_fmt), interpolation=EXACT_CHROMA,
                                         threads=self.codec_context.thread_count)
