"""`vsrgan evaluate`: scores on image folders, videos and prepared datasets, and the report files."""

import csv
import json
import math
import re
from fractions import Fraction
from html.parser import HTMLParser

import numpy as np
import pytest
import torch
from clips import make_clip
from conftest import make_image_folder
from PIL import Image

from vsrgan import metrics
from vsrgan.cli import main
from vsrgan.dataset.degrade import downscale
from vsrgan.errors import ConfigError, InputError
from vsrgan.evaluation.evaluate import evaluate
from vsrgan.evaluation.report import format_table
from vsrgan.io import frames
from vsrgan.io.video import read_frames
from vsrgan.models import Bicubic, Generator, save_generator

pytest.importorskip("cv2", reason="video metrics need opencv-python-headless")
pytest.importorskip("matplotlib", reason="report plots need matplotlib")


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    make_image_folder(root / "photos", count=3)  # 66x50 -> scored at 64x48
    make_clip(root / "clip.mp4", width=64, height=48, frames=5, rate=Fraction(10))
    torch.manual_seed(0)
    save_generator(Generator(scale=4, num_blocks=1, num_features=8), root / "tiny.safetensors")
    return root


@pytest.fixture(scope="module")
def report(sources, tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = evaluate(
        [sources / "photos", sources / "clip.mp4", tiny_dataset], out, models=[str(sources / "tiny.safetensors")],
        device="cpu", progress=False,
    )
    return result, out


def test_summary_covers_every_method_metric_and_source(report):
    result, _ = report
    assert result.methods == ["bicubic", "tiny"]
    assert result.metrics == ["psnr_y", "ssim_y", "psnr_rgb", "tof", "flicker"]  # no VGG weights: no perceptual
    assert [(s["kind"], s["samples"]) for s in result.sources] == [("images", 3), ("video", 5), ("dataset", 2)]
    bicubic = result.summary["bicubic"]
    assert 15 < bicubic["psnr_y"] < 60 and 0 < bicubic["ssim_y"] <= 1
    assert bicubic["tof"] >= 0 and bicubic["flicker"] >= 0
    table = format_table(result)
    assert "PSNR-Y (dB)" in table and "tOF" in table and table.count("\n") >= 3


def test_bicubic_scores_are_the_training_degradation_scored_independently(report, sources):
    result, _ = report
    hr = np.asarray(Image.open(sources / "photos" / "img000.png").convert("RGB"))[:48, :64]
    x = frames.to_tensor(np.ascontiguousarray(hr))
    lr = frames.to_tensor(frames.to_numpy(downscale(x, 4))[0])  # rounded to uint8, as stored
    sr = frames.to_tensor(frames.to_numpy(Bicubic(scale=4)(lr))[0])
    row = next(r for r in result.rows if r["item"] == "img000" and r["method"] == "bicubic")
    assert row["psnr_y"] == pytest.approx(metrics.psnr(sr, x, crop_border=4).item(), abs=1e-6)
    assert row["ssim_y"] == pytest.approx(metrics.ssim(sr, x, crop_border=4).item(), abs=1e-6)
    assert row["psnr_rgb"] == pytest.approx(metrics.psnr(sr, x, crop_border=4, y_channel=False).item(), abs=1e-6)  # the same border


def test_temporal_scores_are_the_bicubic_sequence_against_the_ground_truth(report, sources):
    """Each step's tOF and flicker for bicubic on the clip are vsrgan.metrics' own, computed here from
    the whole sequences: the output's motion against the ground truth's forward motion (tOF), its
    change beyond the ground truth's backward motion (flicker)."""
    result, _ = report
    hr = [f.image for f in read_frames(sources / "clip.mp4")]  # 64x48: a multiple of the scale already; read as evaluate reads it
    sr = []
    for image in hr:
        lr = frames.to_tensor(frames.to_numpy(downscale(frames.to_tensor(image), 4))[0])  # rounded to uint8, as scored
        sr.append(frames.to_numpy(Bicubic(scale=4)(lr))[0])
    rows = sorted((r for r in result.rows if r["source"] == "clip" and r["method"] == "bicubic"), key=lambda r: r["index"])
    assert [r["index"] for r in rows] == [0, 1, 2, 3, 4] and rows[0]["tof"] is None
    assert [r["tof"] for r in rows[1:]] == pytest.approx(list(metrics.tof(sr, hr)), abs=1e-6)
    assert [r["flicker"] for r in rows[1:]] == pytest.approx(list(metrics.flicker(sr, hr)), abs=1e-6)
    assert np.abs(metrics.optical_flow(hr[0], hr[1])).max() > 1  # the bar moves: forward and backward flows differ


def test_json_matches_the_csv_means(report):
    result, out = report
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["scale"] == 4 and doc["methods"] == ["bicubic", "tiny"]
    assert set(doc["metrics"]) == set(result.metrics)
    assert doc["metrics"]["ssim_y"]["higher_is_better"] and not doc["metrics"]["tof"]["higher_is_better"]
    assert set(doc["per_source"]) == {"photos", "clip", "data"}
    with open(out / "frames.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for method in doc["methods"]:
        values = [float(r["psnr_y"]) for r in rows if r["method"] == method]
        assert doc["summary"][method]["psnr_y"] == pytest.approx(np.mean(values), abs=1e-5)


def test_csv_has_one_row_per_frame_and_method(report):
    _, out = report
    with open(out / "frames.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == (3 + 5 + 2) * 2
    assert list(rows[0]) == ["source", "item", "index", "method", "psnr_y", "ssim_y", "psnr_rgb", "tof", "flicker"]
    video = [r for r in rows if r["source"] == "clip"]
    assert [r["index"] for r in video if r["method"] == "tiny"] == ["0", "1", "2", "3", "4"]
    assert all(r["tof"] == "" for r in video if r["index"] == "0")  # no step before the first frame
    assert all(float(r["tof"]) >= 0 and float(r["flicker"]) >= 0 for r in video if r["index"] != "0")
    assert all(r["tof"] == "" for r in rows if r["source"] != "clip")  # temporal metrics: videos only


def test_plots_and_pictures_are_valid_images(report):
    _, out = report
    pngs = [out / "psnr_per_frame.png", out / "metrics.png", *sorted((out / "images").glob("*.png"))]
    assert len(pngs) == 2 + 3 * (2 + 2 + 2 * 2)  # per source: ground truth, input, 2 outputs, 4 crops
    for path in pngs:
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            assert im.format == "PNG" and min(im.size) >= 12
    with Image.open(out / "metrics.png") as im:
        assert im.size[0] > 600


class Resources(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def test_html_references_only_files_beside_it(report):
    _, out = report
    page = (out / "report.html").read_text()
    parser = Resources()
    parser.feed(page)
    pictures = {f"images/{p.name}" for p in (out / "images").glob("*.png")}
    assert pictures <= set(parser.urls)  # every picture is on the page (full-size ones as links)
    assert {"psnr_per_frame.png", "metrics.png"} <= set(parser.urls)
    for url in parser.urls:
        if url.startswith("data:"):
            continue
        assert not re.match(r"^[a-z]+:|^//|^/", url), url  # no scheme, no absolute path
        assert (out / url).is_file(), url
    assert not re.search(r"https?://", page)
    assert "<table>" in page and "tiny" in page and 'type="range"' in page


def test_max_frames_and_every_limit_video_frames(sources, tmp_path):
    result = evaluate([sources / "clip.mp4"], every=2, max_frames=2, device="cpu", progress=False)
    assert [r["index"] for r in result.rows] == [0, 2]  # bicubic only, frames 0 and 2
    assert result.metrics == ["psnr_y", "ssim_y", "psnr_rgb", "tof", "flicker"]


def test_held_out_scores_exactly_the_frames_prepare_held_out(tmp_path):
    from vsrgan import prepare
    from vsrgan.dataset.manifest import read_manifest

    clip = tmp_path / "clip.mp4"
    make_clip(clip, width=64, height=48, frames=10, rate=Fraction(10))
    prepare([clip], tmp_path / "data", every=1, test_fraction=0.3, progress=False)
    manifest = read_manifest(tmp_path / "data")
    held = sorted(item.frame for item in manifest.items if item.split == "test")
    result = evaluate([clip], held_out=0.3, device="cpu", progress=False)
    assert held == [7, 8, 9] and [r["index"] for r in result.rows] == held
    assert result.summary["bicubic"]["tof"] >= 0  # consecutive frames: tOF is scored between them


def test_vgg_weights_add_the_perceptual_distance(tiny_dataset):
    result = evaluate([tiny_dataset], vgg_weights="random", device="cpu", progress=False)
    assert result.metrics == ["psnr_y", "ssim_y", "psnr_rgb", "perceptual"]  # no video: no tOF, no flicker
    assert all(r["perceptual"] > 0 for r in result.rows)
    assert result.summary["bicubic"]["perceptual"] == pytest.approx(np.mean([r["perceptual"] for r in result.rows]))


def test_refuses_to_overwrite_a_report_before_any_work(report, sources):
    _, out = report
    with pytest.raises(InputError, match="--overwrite"):
        evaluate([sources / "photos"], out, device="cpu", progress=False)


def test_bad_sources_and_options(sources, tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        evaluate([tmp_path / "nothing"], progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images"):
        evaluate([tmp_path / "empty"], progress=False)
    with pytest.raises(ConfigError):
        evaluate([sources / "clip.mp4"], every=0, progress=False)
    with pytest.raises(ConfigError, match="held-out"):
        evaluate([sources / "clip.mp4"], held_out=1.0, progress=False)
    with pytest.raises(ConfigError, match="x2"):
        evaluate([sources / "photos"], models=[str(sources / "tiny.safetensors")], scale=2, progress=False)


def test_cli_prints_the_table_and_writes_the_report(sources, tmp_path, capsys):
    out = tmp_path / "cli-report"
    code = main(["evaluate", "-q", "--model", "bicubic", str(sources / "photos"), "--out", str(out), "--device", "cpu"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "bicubic" in printed and "SSIM-Y" in printed
    assert {p.name for p in out.iterdir()} >= {"metrics.json", "frames.csv", "psnr_per_frame.png", "metrics.png", "report.html"}
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["methods"] == ["bicubic"] and math.isfinite(doc["summary"]["bicubic"]["psnr_y"])
