"""One options object for every upscaling job (vsrgan.options.JobOptions): built once by the CLI,
flat keywords routed to the part they belong to, and the same pixels whichever way a job gets it."""

import numpy as np
import pytest
from clips import make_clip
from conftest import decoded, stream_summary

from vsrgan import JobOptions, ModelOptions, compare, upscale
from vsrgan.cli import build_parser
from vsrgan.cli.options import job_options
from vsrgan.cluster.job import ClusterOptions
from vsrgan.errors import ConfigError
from vsrgan.io.encoding import EncodeOptions


def test_flat_keywords_go_to_the_part_they_belong_to():
    options = JobOptions.of(model="bicubic", scale=2, tile=64, threads=3, denoise=None, codec="ffv1", crf=None,
                            preset="slow", pix_fmt="yuv444p", overwrite=True, progress=False)
    assert options.model == ModelOptions(model="bicubic", scale=2, tile=64, threads=3)
    assert options.encode == EncodeOptions(codec="ffv1", crf=None, preset="slow", pix_fmt="yuv444p")
    assert options.encode.threads == 0  # `threads` is the job's budget; the encoder's share is planned from it
    assert (options.overwrite, options.progress) == (True, False)
    # keywords on top of an object keep what they do not name
    again = JobOptions.of(options, crf=20, tile=0)
    assert (again.encode.codec, again.encode.crf, again.model.tile, again.model.model) == ("ffv1", 20, 0, "bicubic")


def test_an_unknown_keyword_is_named():
    with pytest.raises(TypeError, match="unknown option 'crf_value'.*crf"):
        JobOptions.of(crf_value=20)
    with pytest.raises(ConfigError, match="--tile must be 0"):  # the parts' own checks still hold
        JobOptions.of(tile=-1)
    with pytest.raises(ConfigError, match="--segment-frames must be at least 1"):
        ClusterOptions(segment_frames=0)


@pytest.mark.parametrize("command", ["upscale", "compare"])
def test_the_cli_builds_one_object_from_its_flags(command):
    args = build_parser().parse_args([command, "in.mp4", "out.mp4", "-m", "bicubic", "-s", "2", "--tile", "64",
                                      "--device", "cpu", "--crf", "23", "--preset", "fast", "--pix-fmt", "yuv444p",
                                      "--denoise", "0.5", "--overwrite", "-q"])
    expected = JobOptions(
        ModelOptions(model="bicubic", scale=2, tile=64, batch_size=args.batch_size, device="cpu", denoise=0.5,
                     threads=getattr(args, "threads", None)),
        EncodeOptions(crf=23, preset="fast", pix_fmt="yuv444p"), overwrite=True, progress=False,
    )
    assert job_options(args) == expected


def test_keywords_and_an_object_make_the_same_video(tmp_path):
    src = tmp_path / "in.mp4"
    make_clip(src, frames=4, width=32, height=24)
    keywords = dict(model="bicubic", scale=2, device="cpu", crf=0, preset="ultrafast", progress=False)
    upscale(src, tmp_path / "a.mkv", **keywords)
    upscale(src, tmp_path / "b.mkv", JobOptions.of(**keywords))
    a, b = decoded(tmp_path / "a.mkv"), decoded(tmp_path / "b.mkv")
    assert len(a) == 4 and a[0].shape == (48, 64, 3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    # compare takes the same object, and its encoder options reach compare's writer
    out = compare(src, tmp_path / "cmp.mkv", JobOptions.of(JobOptions.of(**keywords), codec="ffv1", crf=None, preset=None),
                  input_is_lr=True, layout="side")
    assert len(decoded(out)) == 4
    assert stream_summary(out)["video"][0]["codec"] == "ffv1"
