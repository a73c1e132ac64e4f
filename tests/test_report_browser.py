"""report.html in a real headless Chromium: it renders offline, the slider moves the split, it zooms.

Needs the Debian ``chromium`` package (``/usr/bin/chromium``) and Playwright for Python
(``pip install playwright``; its own browser download is not used). Set ``VSRGAN_SCREENSHOTS``
to a folder to keep the screenshots for a person to look at.
"""

import io
import os
import shutil
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from clips import make_clip
from conftest import make_image_folder
from PIL import Image

from vsrgan.evaluation.evaluate import evaluate
from vsrgan.models import Generator, save_generator

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} missing: apt-get install chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the browser is the system chromium)")
pytest.importorskip("cv2", reason="the report's video metrics need opencv-python-headless")

ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="module")
def report_page(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    make_image_folder(root / "photos", count=2, width=130, height=98)
    make_clip(root / "clip.mp4", width=96, height=64, frames=4, rate=Fraction(10))
    torch.manual_seed(0)
    save_generator(Generator(scale=4, num_blocks=1, num_features=8), root / "tiny.safetensors")
    evaluate([root / "photos", root / "clip.mp4"], root / "report", models=[str(root / "tiny.safetensors")], device="cpu", progress=False)
    return root / "report" / "report.html"


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, report_page):
    """The report loaded, with every console error, page error and non-local request recorded."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: page.problems.append(f"failed: {r.url}"))
    page.on("request", lambda r: r.url.startswith(("file://", "data:")) or page.problems.append(f"remote: {r.url}"))
    page.goto(report_page.as_uri())
    page.wait_for_load_state("load")
    yield page
    page.close()


def keep(name: str, data: bytes) -> None:
    folder = os.environ.get("VSRGAN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_bytes(data)


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def test_renders_offline_without_errors(page):
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert page.locator("section.source").count() == 2
    assert page.locator("table").first.inner_text().count("bicubic") == 1
    shot = page.screenshot(full_page=True)
    keep("report.png", shot)
    image = pixels(shot)
    assert image.shape[0] > 1500 and image.std() > 20  # a long page with content, not a blank sheet
    assert page.problems == []


def test_slider_moves_the_split(page):
    figure = page.locator("figure.compare").first
    left = figure.locator(".layer.left")
    stage = figure.locator(".stage")
    assert "50%" in left.evaluate("e => getComputedStyle(e).clipPath")

    figure.locator("input[type=range]").fill("20")
    assert left.evaluate("e => getComputedStyle(e).clipPath") == "inset(0px 80% 0px 0px)"
    assert figure.locator(".divider").evaluate("e => e.style.left") == "20%"

    # what is drawn follows: at 100 the stage shows bicubic everywhere, at 0 the model everywhere,
    # and at 50 the left half of the one and the right half of the other
    shots = {}
    for value in ("0", "100", "50"):
        figure.locator("input[type=range]").fill(value)
        shots[value] = pixels(stage.screenshot())
    keep("slider-50.png", stage.screenshot())
    w = shots["50"].shape[1]
    body = slice(40, None)  # below the tags
    assert np.abs(shots["0"] - shots["100"]).mean() > 5
    assert np.abs(shots["50"][body, : w // 2 - 4] - shots["100"][body, : w // 2 - 4]).mean() < 1
    assert np.abs(shots["50"][body, w // 2 + 4 :] - shots["0"][body, w // 2 + 4 :]).mean() < 1
    assert page.problems == []


def test_dragging_on_the_picture_moves_the_split(page):
    figure = page.locator("figure.compare").first
    figure.scroll_into_view_if_needed()
    box = figure.locator(".stage").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    value = float(figure.locator("input[type=range]").input_value())
    assert value == pytest.approx(75, abs=1)
    clip = figure.locator(".layer.left").evaluate("e => getComputedStyle(e).clipPath")
    assert clip.startswith("inset(0px 2") and clip.endswith("% 0px 0px)")  # about 25% clipped on the right


def transitions_done(element) -> None:
    """Wait until every CSS transition in ``element`` has ended (its Animation's ``finished``
    promise, an event), not for a guessed length of time. Asking for the animations first brings
    the styles up to date, so a transition the last click started is among them."""
    element.evaluate("e => Promise.all(e.getAnimations({subtree: true}).map(a => a.finished))")


def test_zoom_enlarges_the_detail_and_back(page):
    figure = page.locator("figure.compare").first
    image = figure.locator(".layer.right img")
    before = image.bounding_box()
    figure.locator("button.zoom").click()
    transitions_done(figure)  # the CSS transition of the transform
    after = image.bounding_box()
    assert after["width"] > 1.5 * before["width"]
    stage = figure.locator(".stage").bounding_box()  # the enlarged picture still fills the view
    assert after["x"] <= stage["x"] + 0.5 and after["x"] + after["width"] >= stage["x"] + stage["width"] - 0.5
    assert after["y"] <= stage["y"] + 0.5 and after["y"] + after["height"] >= stage["y"] + stage["height"] - 0.5
    assert "zoomed" in figure.get_attribute("class")
    keep("zoomed.png", figure.screenshot())
    figure.locator("button.zoom").click()
    transitions_done(figure)
    assert image.bounding_box()["width"] == pytest.approx(before["width"], abs=1)
    assert page.problems == []


def test_the_report_folder_works_when_moved(report_page, browser, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(report_page.parent, moved)
    page = browser.new_page()
    page.goto((moved / "report.html").as_uri())
    page.wait_for_load_state("load")
    sources = page.evaluate("Array.from(document.images).map(i => i.currentSrc)")
    assert all(s.startswith(moved.as_uri()) or s.startswith("data:") for s in sources)
    assert page.evaluate("Array.from(document.images).every(i => i.naturalWidth > 0)")
    page.close()
