"""`vsrgan compare`: layouts, panel content, labels, timing and audio, on real encoded clips."""

from dataclasses import replace
from fractions import Fraction

import av
import numpy as np
import pytest
import torch
from clips import make_anamorphic_clip, make_clip
from conftest import read_pts, stream_summary

from vsrgan.dataset.degrade import make_lr
from vsrgan.errors import CheckpointError, ConfigError, InputError
from vsrgan.evaluation.compare import compare, upright
from vsrgan.evaluation.panels import MAX_SIZE, Panel, compose, draw_label, panel_size, wipe, wipe_position
from vsrgan.inference.upscaler import Upscaler
from vsrgan.io.video import probe, read_frames
from vsrgan.models import Bicubic, Generator, save_generator

W, H = 64, 48  # the clip; x4 makes LR 16x12
LOSSLESS = dict(crf=0, preset="ultrafast", pix_fmt="yuv444p")  # only RGB <-> YUV rounding is lost


@pytest.fixture(scope="module")
def hr_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("compare") / "hr.mp4"
    make_clip(path, width=W, height=H, frames=8, rate=Fraction(10), audio=True)
    return path


@pytest.fixture(scope="module")
def generator_path(tmp_path_factory):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_generator(Generator(scale=4, num_blocks=1, num_features=8), path)
    return path


def frames_of(path):
    return [f.image.astype(np.int16) for f in read_frames(path)]


def expected_panels(clip, model="bicubic", *, input_is_lr=False):
    """The panels computed here, straight from the decoded input, not by compare's own make_panels:
    (N, P, H, W, 3). The LR frame is the training degradation's (make_lr), shown with each pixel
    as a 4x4 block; bicubic and the network enlarge that LR frame."""
    network = Upscaler.from_name(str(model), scale=4, device="cpu")
    bicubic = Upscaler(Bicubic(scale=4), device="cpu")
    hr = np.stack([f.image for f in read_frames(clip)])
    lr = hr if input_is_lr else np.stack([make_lr(f, 4) for f in hr])
    blocks = lr.repeat(4, axis=1).repeat(4, axis=2)
    panels = [blocks, bicubic.upscale_frames(lr), network.upscale_frames(lr)]
    return np.stack(panels if input_is_lr else [hr, *panels], axis=1).astype(np.int16)


def mean_diff(a, b) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


LABEL = (slice(0, 16), slice(0, 40))  # a panel's top-left corner, where its label sits
BODY = (slice(26, None), slice(None))  # the rest of a panel, below the label (rows 4-24 on a 48-pixel panel)


@pytest.mark.parametrize(
    ("layout", "input_is_lr", "size"),
    [
        ("grid", False, (2 * W, 2 * H)),
        ("side", False, (4 * W, H)),
        ("wipe", False, (W, H)),
        ("grid", True, (2 * 4 * W, 2 * 4 * H)),  # 3 panels in 2x2: the fourth cell stays dark
        ("side", True, (3 * 4 * W, 4 * H)),
    ],
)
def test_layout_sizes_frames_timestamps_and_audio(tmp_path, hr_clip, layout, input_is_lr, size):
    out = tmp_path / f"{layout}.mp4"
    compare(hr_clip, out, layout=layout, input_is_lr=input_is_lr, device="cpu", progress=False)
    info = probe(out)
    assert (info.width, info.height) == size
    assert info.frame_rate == probe(hr_clip).frame_rate
    pts_in, tb_in = read_pts(hr_clip)
    pts_out, tb_out = read_pts(out)
    assert [p * tb_in for p in pts_in] == [p * tb_out for p in pts_out]
    streams_in, streams_out = stream_summary(hr_clip), stream_summary(out)
    assert [a["codec"] for a in streams_out["audio"]] == ["aac"]
    assert streams_out["audio"][0]["end"] == pytest.approx(streams_in["audio"][0]["end"], abs=0.05)


def test_grid_panels_hold_original_downscaled_bicubic_and_network(tmp_path, hr_clip, generator_path):
    out = tmp_path / "grid.mp4"
    compare(hr_clip, out, model=str(generator_path), **LOSSLESS, device="cpu", progress=False)
    expected = expected_panels(hr_clip, generator_path)
    got = frames_of(out)
    assert len(got) == len(expected)
    cells = {"original": (0, 0), "downscaled": (0, 1), "bicubic": (1, 0), "network": (1, 1)}
    for t in (0, len(got) - 1):
        for p, (name, (r, c)) in enumerate(cells.items()):
            cell = got[t][r * H : (r + 1) * H, c * W : (c + 1) * W]
            # the panel equals its own computation ...
            own = mean_diff(cell[BODY], expected[t, p][BODY])
            assert own < 1.5, name
            # ... and is clearly further from every other panel: the check tells them apart
            others = [mean_diff(cell[BODY], expected[t, q][BODY]) for q in range(4) if q != p]
            assert min(others) > own + 2, name
            # a label box covers the top-left corner: dark with some bright text pixels
            corner = cell[LABEL]
            assert mean_diff(corner, expected[t, p][LABEL]) > 20, name
            assert (corner.max(axis=-1) > 200).mean() > 0.03, name


def test_wipe_divider_sweeps_with_bicubic_left_and_network_right(tmp_path, hr_clip, generator_path):
    out = tmp_path / "wipe.mp4"
    compare(hr_clip, out, model=str(generator_path), layout="wipe", wipe_period=1.6, **LOSSLESS, device="cpu", progress=False)
    expected = expected_panels(hr_clip, generator_path)
    times = [f.time for f in read_frames(hr_clip)]
    for t, frame in enumerate(frames_of(out)):
        x = round(wipe_position(times[t], 1.6) * W)
        left, right = frame[26:, : x - 3], frame[26:, x + 3 :]
        assert mean_diff(left, expected[t, 2][26:, : x - 3]) < 1.5  # bicubic
        assert mean_diff(right, expected[t, 3][26:, x + 3 :]) < 1.5  # network
        assert frame[26:, x - 1 : x + 1].min() > 200  # the white divider
    assert len({round(wipe_position(t, 1.6) * W) for t in times}) >= 4  # it moved


def test_anamorphic_panels_keep_their_pixel_shape(tmp_path):
    """Every panel is the frame scaled alike in both axes: the whole comparison keeps the source's
    sample aspect ratio, so each panel plays in the source's shape (16:9 here, not 3:2)."""
    src, out = tmp_path / "dvd.mp4", tmp_path / "cmp.mp4"
    make_anamorphic_clip(src, Fraction(32, 27), width=W, height=H, frames=3)
    compare(src, out, model="bicubic", layout="side", device="cpu", progress=False)
    info = probe(out)
    assert (info.width, info.height, info.sample_aspect_ratio) == (4 * W, H, Fraction(32, 27))


def test_a_quarter_turn_turns_the_pixel_shape_too(tmp_path):
    """An anamorphic video tagged to be shown a quarter turn round: upright, its pixels are as wide
    as they were tall, so the comparison's sample aspect ratio is the inverse of the source's."""
    src = tmp_path / "dvd.mp4"
    make_anamorphic_clip(src, Fraction(32, 27), width=W, height=H, frames=1)
    info = replace(probe(src), rotation=90)
    shown, turns = upright(info)
    assert (shown.width, shown.height, shown.sample_aspect_ratio, shown.rotation, turns) == (H, W, Fraction(27, 32), 0, 1)
    shown, turns = upright(replace(info, rotation=180))
    assert (shown.width, shown.height, shown.sample_aspect_ratio, turns) == (W, H, Fraction(32, 27), 2)


def test_seconds_cuts_video_and_audio(tmp_path, hr_clip):
    out = tmp_path / "short.mp4"
    compare(hr_clip, out, seconds=0.5, device="cpu", progress=False)
    assert len(read_pts(out)[0]) == 5  # frames at 0.0 .. 0.4 s
    assert stream_summary(out)["audio"][0]["end"] < 0.5 + 0.1


def test_panel_height_and_the_4k_bound():
    assert panel_size("grid", 4, 64, 48, 24) == (32, 24)
    assert panel_size("grid", 4, 1280, 720, None) == (1280, 720)  # 2560x1440 fits 4K as it is
    w, h = panel_size("side", 4, 1280, 720, None)
    assert 4 * w <= MAX_SIZE[0] and h < 720 and abs(w / h - 16 / 9) < 0.01
    with pytest.raises(ConfigError):
        panel_size("grid", 4, 64, 48, 8)


def test_panel_height_option(tmp_path, hr_clip):
    out = tmp_path / "small.mp4"
    compare(hr_clip, out, panel_height=24, device="cpu", progress=False)
    assert (probe(out).width, probe(out).height) == (2 * 32, 2 * 24)


def make_phone_clip(path, shown, *, frames=4):
    """A clip as a phone held upright records it: stored a quarter turn clockwise, tagged to be
    turned back (rotation 90, counter-clockwise) so that a player shows ``shown``."""
    stored = np.ascontiguousarray(np.rot90(shown, -1))
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=10)
        v.width, v.height, v.pix_fmt = stored.shape[1], stored.shape[0], "yuv444p"
        v.set_display_rotation(90)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(stored, format="rgb24")
            frame.pts = i
            c.mux(v.encode(frame))
        c.mux(v.encode(None))


def as_played(path):
    """Every frame of ``path`` as a player shows it: turned as its rotation tag says."""
    with av.open(str(path)) as c:
        return [np.rot90(f.to_ndarray(format="rgb24"), round(f.rotation / 90)) for f in c.decode(video=0)]


def test_a_rotated_video_is_compared_upright(tmp_path):
    """A phone video's panels stand upright side by side, as the video is shown, not stacked on
    their sides with sideways labels: the frames are turned before they are composed, and the
    comparison itself carries no rotation."""
    shown = np.full((64, 48, 3), 40, np.uint8)
    shown[32:, 24:] = 220  # as a player shows it: one bright quadrant, bottom right
    src, out = tmp_path / "phone.mp4", tmp_path / "cmp.mp4"
    make_phone_clip(src, shown)
    assert probe(src).rotation == 90 and as_played(src)[0].shape == (64, 48, 3)
    compare(src, out, model="bicubic", scale=2, layout="side", **LOSSLESS, device="cpu", progress=False)
    assert probe(out).rotation == 0
    frames = as_played(out)
    assert len(frames) == 4 and frames[0].shape == (64, 4 * 48, 3)  # four upright panels in a row
    for frame in frames:
        for p in range(4):  # original, downscaled, bicubic, network: each upright, below its label
            panel = frame[:, p * 48 : (p + 1) * 48].astype(np.int16)
            assert panel[36:, 28:].mean() > 190 and panel[36:, :20].mean() < 60, p
            assert (panel[LABEL[0], :].max(axis=-1) > 200).mean() > 0.03, p  # the label, across the top


def test_labels_and_layout_helpers():
    image = np.full((48, 64, 3), 128, np.uint8)
    labelled = draw_label(image, "bicubic x4")
    assert (labelled[LABEL] < 100).mean() > 0.3 and (labelled[LABEL] > 200).any()
    assert np.array_equal(labelled[BODY], image[BODY])
    grid = compose([Panel(image, "a"), Panel(image, "b"), Panel(image, "c")], "grid")
    assert grid.shape == (96, 128, 3) and (grid[48:, 64:] == 24).all()  # the empty fourth cell
    assert [round(wipe_position(t, 4.0), 2) for t in (0, 1, 2, 3, 4)] == [0.1, 0.5, 0.9, 0.5, 0.1]
    black, white = np.zeros_like(image), np.full_like(image, 255)
    split = wipe(Panel(black, "l"), Panel(white, "r"), 0.5)
    assert (split[30:, :30] == 0).all() and (split[30:, 34:] == 255).all()


def test_refuses_overwrite_and_leaves_nothing_behind(tmp_path, hr_clip):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep")
    with pytest.raises(InputError, match="--overwrite"):
        compare(hr_clip, out, device="cpu", progress=False)
    assert out.read_bytes() == b"keep"
    with pytest.raises(CheckpointError):
        compare(hr_clip, tmp_path / "new.mp4", model=str(tmp_path / "missing.safetensors"), device="cpu", progress=False)
    with pytest.raises(InputError, match="video"):
        compare(hr_clip, tmp_path / "frame.png", device="cpu", progress=False)
    with pytest.raises(ConfigError, match="layout"):
        compare(hr_clip, tmp_path / "x.mp4", layout="mosaic", device="cpu", progress=False)
    compare(hr_clip, out, overwrite=True, device="cpu", progress=False)
    assert probe(out).width == 2 * W
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]
