"""`vsrgan evaluate --degrade`: LR inputs through real codecs, one condition per codec spec."""

import csv
import json
from fractions import Fraction

import numpy as np
import pytest
import torch
from clips import make_clip
from conftest import make_image_folder, perturbed
from PIL import Image

from vsrgan import metrics
from vsrgan.cli import main
from vsrgan.dataset.codecs import parse_codec, round_trip
from vsrgan.dataset.degrade import make_lr
from vsrgan.errors import ConfigError
from vsrgan.evaluation import degraded
from vsrgan.evaluation.evaluate import evaluate
from vsrgan.evaluation.report import format_table
from vsrgan.evaluation.results import Sample
from vsrgan.io import frames
from vsrgan.io.video import read_frames
from vsrgan.models import Bicubic, Generator, save_generator

pytest.importorskip("cv2", reason="video metrics need opencv-python-headless")
pytest.importorskip("matplotlib", reason="report plots need matplotlib")

HARSH = "x264:crf=35"
CONDITIONS = ["clean", HARSH, "jpeg:q=50"]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("degrade")
    make_image_folder(root / "photos", count=2, width=96, height=64)
    make_clip(root / "clip.mp4", width=96, height=64, frames=6, rate=Fraction(10))
    torch.manual_seed(0)
    model = perturbed(Generator(scale=4, num_blocks=1, num_features=8, skip="bicubic")).eval()  # bicubic + a residual: it sees its input
    save_generator(model, root / "tiny.safetensors")
    return root, model


@pytest.fixture(scope="module")
def report(sources, tmp_path_factory):
    root, _ = sources
    out = tmp_path_factory.mktemp("report")
    result = evaluate(
        [root / "photos", root / "clip.mp4"],
        out,
        models=[str(root / "tiny.safetensors")],
        degrade=CONDITIONS,
        device="cpu",
        progress=False,
    )
    return result, out


def clip_lr(root, indices=None) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The clip's HR frames and their LR, made by hand (the frames are already a multiple of 4)."""
    hr = [f.image.copy() for i, f in enumerate(read_frames(root / "clip.mp4")) if indices is None or i in indices]
    return hr, [make_lr(h, 4) for h in hr]


def psnr_of(upscale, lr: np.ndarray, hr: np.ndarray) -> float:
    sr = frames.to_tensor(frames.to_numpy(upscale(frames.to_tensor(lr)).clamp(0, 1))[0])
    return metrics.psnr(sr, frames.to_tensor(hr), crop_border=4).item()


def rows(result, source, condition, method) -> list[dict]:
    return [r for r in result.rows if r["source"] == source and r["condition"] == condition and r["method"] == method]


def test_a_harsh_codec_lowers_bicubic(report):
    result, _ = report
    for source in ("photos", "clip"):
        clean = result.per_source[source]["bicubic @ clean"]["psnr_y"]
        assert result.per_source[source][f"bicubic @ {HARSH}"]["psnr_y"] < clean - 1.0  # the codec really ran
        assert result.per_source[source]["bicubic @ jpeg:q=50"]["psnr_y"] < clean


def test_clean_scores_what_plain_evaluate_scores(report, sources):
    result, _ = report
    root, _ = sources
    plain = evaluate([root / "photos", root / "clip.mp4"], models=[str(root / "tiny.safetensors")], device="cpu", progress=False)
    assert plain.conditions == [] and {r["condition"] for r in plain.rows} == {None}
    degraded_clean = [{k: v for k, v in r.items() if k != "condition"} for r in result.rows if r["condition"] == "clean"]
    assert degraded_clean == [{k: v for k, v in r.items() if k != "condition"} for r in plain.rows]


def test_bicubic_and_the_model_upscale_the_same_degraded_video_sequence(report, sources):
    """Every scored frame, recomputed by hand: make_lr, the whole clip through x264 as one
    sequence, then bicubic and the model on that same LR, PSNR-Y against the original."""
    result, _ = report
    root, model = sources
    hr, lr = clip_lr(root)
    sequence = round_trip(lr, parse_codec(HARSH))
    bicubic = rows(result, "clip", HARSH, "bicubic")
    tiny = rows(result, "clip", HARSH, "tiny")
    assert [r["index"] for r in bicubic] == list(range(6))
    for i in range(6):
        assert bicubic[i]["psnr_y"] == pytest.approx(psnr_of(Bicubic(scale=4), sequence[i], hr[i]), abs=1e-6)
        with torch.inference_mode():
            assert tiny[i]["psnr_y"] == pytest.approx(psnr_of(model, sequence[i], hr[i]), abs=1e-6)
        assert tiny[i]["psnr_y"] != pytest.approx(psnr_of(model, lr[i], hr[i]), abs=1e-3)  # not the clean LR
    alone = [round_trip([x], parse_codec(HARSH))[0] for x in lr]
    for i in range(1, 6):  # predicted frames: not what encoding the frame on its own gives
        assert bicubic[i]["psnr_y"] != pytest.approx(psnr_of(Bicubic(scale=4), alone[i], hr[i]), abs=1e-6)


def test_the_showcase_input_is_the_frame_of_the_sequence(report, sources):
    result, _ = report
    root, _ = sources
    showcase = result.showcases["clip@x264_crf_35"]
    index = showcase.sample.index
    _, lr = clip_lr(root)
    expected = round_trip(lr, parse_codec(HARSH))[index]
    assert np.array_equal(showcase.sample.lr, expected)
    assert not np.array_equal(showcase.sample.lr, round_trip([lr[index]], parse_codec(HARSH))[0])
    assert not np.array_equal(showcase.sample.lr, lr[index])


def test_every_frame_is_encoded_as_real_video_is_and_every_nth_scored(sources):
    root, _ = sources
    result = evaluate([root / "clip.mp4"], degrade=[HARSH], every=2, max_frames=2, device="cpu", progress=False)
    assert [r["index"] for r in result.rows] == [0, 2]
    hr, lr = clip_lr(root)
    sequence = round_trip(lr[:3], parse_codec(HARSH))  # frames 0-2, consecutive; none after the last scored
    for row, i in zip(result.rows, (0, 2)):
        assert row["psnr_y"] == pytest.approx(psnr_of(Bicubic(scale=4), sequence[i], hr[i]), abs=1e-6)
    sparse = round_trip([lr[0], lr[2]], parse_codec(HARSH))  # the scored frames alone as a sequence: another LR
    assert result.rows[1]["psnr_y"] != pytest.approx(psnr_of(Bicubic(scale=4), sparse[1], hr[2]), abs=1e-6)


def test_each_image_is_encoded_on_its_own(report, sources):
    result, _ = report
    root, _ = sources
    hr = [np.array(Image.open(p).convert("RGB")) for p in sorted((root / "photos").glob("*.png"))]
    lr = [make_lr(h, 4) for h in hr]
    together = round_trip(lr, parse_codec(HARSH))  # same size: they could be one sequence, and must not be
    for row, h, x in zip(rows(result, "photos", HARSH, "bicubic"), hr, lr):
        alone = round_trip([x], parse_codec(HARSH))[0]
        assert row["psnr_y"] == pytest.approx(psnr_of(Bicubic(scale=4), alone, h), abs=1e-6)
    assert rows(result, "photos", HARSH, "bicubic")[1]["psnr_y"] != pytest.approx(psnr_of(Bicubic(scale=4), together[1], hr[1]), abs=1e-6)


def test_long_sequences_are_cut(monkeypatch, sources):
    root, _ = sources
    monkeypatch.setattr(degraded, "SEQUENCE_FRAMES", 4)
    hr, lr = clip_lr(root)
    samples = [Sample(f"frame {i}", i, h, x) for i, (h, x) in enumerate(zip(hr, lr))]
    codec = parse_codec(HARSH)
    out = [s.lr for s in degraded.degraded_samples(iter(samples), codec, sequence=True)]
    expected = round_trip(lr[:4], codec) + round_trip(lr[4:], codec)
    assert all(np.array_equal(a, b) for a, b in zip(out, expected, strict=True))
    assert [s.hr is h for s, h in zip(degraded.degraded_samples(iter(samples), codec, sequence=True), hr)] == [True] * 6


def test_each_condition_is_in_the_json_csv_table_and_html(report):
    result, out = report
    doc = json.loads((out / "metrics.json").read_text())
    assert doc["conditions"] == CONDITIONS and doc["methods"] == ["bicubic", "tiny"]
    assert list(doc["summary"]) == CONDITIONS
    for c in CONDITIONS:
        scores = doc["summary"][c]
        assert set(scores) == {"bicubic", "tiny"}
        assert scores["bicubic"]["psnr_y"] == pytest.approx(result.summary[f"bicubic @ {c}"]["psnr_y"])
        assert doc["gain"][c]["tiny"]["psnr_y"] == pytest.approx(scores["tiny"]["psnr_y"] - scores["bicubic"]["psnr_y"])
        assert list(doc["per_source"]["clip"][c]) == ["bicubic", "tiny"] and "tiny" in doc["per_source_gain"]["clip"][c]
    with open(out / "frames.csv", newline="") as f:
        lines = list(csv.DictReader(f))
    assert list(lines[0])[:5] == ["source", "item", "index", "condition", "method"]
    assert len(lines) == (2 + 6) * 2 * len(CONDITIONS)
    for c in CONDITIONS:
        values = [float(r["psnr_y"]) for r in lines if r["condition"] == c and r["method"] == "tiny"]
        assert doc["summary"][c]["tiny"]["psnr_y"] == pytest.approx(np.mean(values), abs=1e-5)
    table = format_table(result)
    body = table.splitlines()[1 : 1 + 2 * len(CONDITIONS)]
    assert [line.split()[:2] for line in body] == [[c, m] for c in CONDITIONS for m in ("bicubic", "tiny")]
    gain = doc["gain"][HARSH]["tiny"]["psnr_y"]
    assert f"{gain:+.3f}" in body[3] and "gain (dB)" in table.splitlines()[0]
    page = (out / "report.html").read_text()
    assert all(f"<h3>{c}</h3>" in page for c in CONDITIONS)
    for name in ("photos", "clip"):
        for slug in ("clean", "x264_crf_35", "jpeg_q_50"):
            assert (out / "images" / f"{name}@{slug}_input.png").is_file()
            assert f'src="images/{name}@{slug}_tiny.png"' in page


def test_bad_specs_are_one_line_before_any_work(sources, tmp_path, capsys):
    root, _ = sources
    for spec, fragment in (("h265:crf=28", "unknown codec 'h265'"), ("x264:crf=high", "crf must be a number"), ("x264:q=50", "x264 takes crf=..., preset=...")):
        code = main(["evaluate", "-q", str(root / "clip.mp4"), "--degrade", "clean", spec, "--out", str(tmp_path / "r"), "--device", "cpu"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code != 0 and len(err) == 1 and err[0].startswith("vsrgan: error: --degrade") and fragment in err[0], err
        assert not (tmp_path / "r").exists()
    with pytest.raises(ConfigError, match="x264:crf=28 twice"):
        evaluate([root / "clip.mp4"], degrade=["x264:crf=28", "x264:crf=28,preset=medium"], progress=False)


def test_cli_runs_several_conditions(sources, capsys):
    root, _ = sources
    code = main(["evaluate", "-q", str(root / "photos"), "--degrade", "clean", "mpeg2:bpp=0.4", "--degrade", "mpeg4:bpp=0.3", "--device", "cpu"])
    assert code == 0
    printed = capsys.readouterr().out
    assert [line.split()[0] for line in printed.splitlines()[1:4]] == ["clean", "mpeg2:bpp=0.4", "mpeg4:bpp=0.3"]
