"""Real-world degradations: codecs on sequences, the second-order chain, the recorded pool."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from clips import make_clip, pattern
from PIL import Image

from vsrgan.dataset.codecs import Codec, parse_codec, round_trip, sequence_quantiser
from vsrgan.dataset.degrade import downscale
from vsrgan.dataset.manifest import read_manifest
from vsrgan.dataset.pool import make_pool, remake
from vsrgan.dataset.prepare import prepare
from vsrgan.dataset.realistic import Blur, RealDegradation, real_lr, sample_real
from vsrgan.errors import ConfigError, InputError
from vsrgan.io import frames


def photo(h: int = 200, w: int = 260, seed: int = 0) -> np.ndarray:
    """A textured image: the test pattern with smooth random colour blobs on it."""
    rng = np.random.default_rng(seed)
    blobs = torch.nn.functional.interpolate(torch.rand(1, 3, h // 16, w // 16, generator=torch.Generator().manual_seed(seed)), size=(h, w), mode="bicubic")
    image = pattern(w, h, int(rng.integers(100))).astype(np.float32) * 0.6 + blobs[0].permute(1, 2, 0).numpy() * 100
    return image.clip(0, 255).astype(np.uint8)


def panned(image: np.ndarray, n: int = 5, step: int = 3, side: int = 96) -> list[np.ndarray]:
    return [image[10 : 10 + side, 10 + i * step : 10 + i * step + side].copy() for i in range(n)]


def error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int32) - b).mean())


@pytest.mark.parametrize("spec", ["x264:crf=28", "x264:crf=23,preset=ultrafast", "mpeg2:bpp=0.4", "mpeg4:bpp=0.3", "vp9:crf=40",
                                  "x265:crf=30", "av1:crf=45", "jpeg:q=40"])
def test_round_trip_is_lossy_sized_and_deterministic(spec):
    seq = panned(photo())
    codec = parse_codec(spec)
    out = round_trip(seq, codec)
    again = round_trip(seq, codec)
    assert [o.shape for o in out] == [s.shape for s in seq]
    assert all(np.array_equal(a, b) for a, b in zip(out, again))  # a stored sample can be remade exactly
    assert 0.3 < error(out[2], seq[2]) < 20  # changed, but still the picture


def test_odd_sizes_come_back_at_their_size():
    seq = [s[:51, :77] for s in panned(photo())]
    assert [o.shape for o in round_trip(seq, Codec("x264", crf=30))] == [(51, 77, 3)] * 5


def test_a_higher_crf_loses_more():
    seq = panned(photo(seed=3))
    losses = [error(round_trip(seq, Codec("x264", crf=crf))[3], seq[3]) for crf in (18, 28, 38)]
    assert losses[0] < losses[1] < losses[2]


@pytest.mark.parametrize("codec, scale", [("x264", "h264"), ("vp9", "vp9"), ("x265", "hevc"), ("av1", "av1")])
def test_the_quantiser_a_sequence_was_coded_with_rises_with_its_crf(codec, scale):
    """What --denoise auto reads from a file (vsrgan.io.compression), here from the round trip's own decoder."""
    seq = panned(photo(seed=2))
    light, heavy = (sequence_quantiser(seq, Codec(codec, crf=crf)) for crf in (15, 40))
    assert light.kind == heavy.kind == scale and light.frames == heavy.frames == len(seq)
    assert light.value < heavy.value
    assert sequence_quantiser(seq, Codec("mpeg2", bpp=0.2)).kind == "mpeg" and sequence_quantiser(seq, Codec("jpeg")) is None


def test_frames_are_predicted_from_their_neighbours():
    """A frame in the middle of a moving sequence is not what the same frame encoded alone is."""
    seq = panned(photo(seed=1))
    in_sequence = round_trip(seq, Codec("x264", crf=30))[3]
    alone = round_trip([seq[3]], Codec("x264", crf=30))[0]
    assert not np.array_equal(in_sequence, alone)


def test_video_codecs_subsample_chroma():
    """yuv420p: a 1-pixel colour checker loses its colour even at a lossless CRF; a grey one keeps it."""
    checker = (np.indices((64, 64)).sum(0) % 2).astype(bool)
    colour = np.where(checker[..., None], [255, 0, 0], [0, 0, 255]).astype(np.uint8)
    grey = np.where(checker[..., None], [200, 200, 200], [40, 40, 40]).astype(np.uint8)
    lossless = Codec("x264", crf=0)
    assert error(round_trip([grey] * 3, lossless)[1], grey) < 3
    assert error(round_trip([colour] * 3, lossless)[1], colour) > 30


def test_clean_is_a_copy_and_specs_read_back():
    seq = panned(photo())
    assert all(np.array_equal(a, b) for a, b in zip(round_trip(seq, Codec()), seq))
    for spec in ("clean", "x264:crf=28", "x264:crf=20,preset=slow", "mpeg2:bpp=0.5", "mpeg4:bpp=0.25", "vp9:crf=35", "x265:crf=28", "av1:crf=40", "jpeg:q=60"):
        assert parse_codec(spec).label == spec


@pytest.mark.parametrize("spec", ["h265:crf=3", "x264:q=5", "x264:crf=abc", "jpeg:q=0", "x264:crf=28,preset=warp", "x264:crf=60", "vp9:crf=64", "x265:crf=52", "av1:crf=64", "av1:preset=4"])
def test_bad_specs_say_what_was_expected(spec):
    with pytest.raises(ConfigError, match=r"crf|q|preset|codec|takes|number"):
        parse_codec(spec)


def test_the_clean_recipe_is_the_training_downscale_of_the_region():
    """Windows, margins and pans only matter through the codec: a clean recipe is bicubic of the region."""
    hr = photo(240, 300)
    expected = frames.to_numpy(downscale(frames.to_tensor(hr), 4))[0]  # the whole image, bicubic
    for dy, dx in ((0, 0), (5, -7)):
        lr, region = real_lr(hr, 4, RealDegradation(y=64, x=96, size=128, dy=dy, dx=dx, target=2))
        assert np.array_equal(region, hr[64:192, 96:224])
        assert np.abs(lr.astype(int) - expected[16:48, 24:56]).max() <= 1  # float rounding only


def test_motion_reaches_the_codec():
    hr = photo(240, 300, seed=2)
    still = real_lr(hr, 4, RealDegradation(y=64, x=96, size=128, target=2, codec=Codec("x264", crf=30)))[0]
    moving = real_lr(hr, 4, RealDegradation(y=64, x=96, size=128, dy=3, dx=5, target=2, codec=Codec("x264", crf=30)))[0]
    assert not np.array_equal(still, moving)


def test_the_chain_blurs_and_noises():
    hr = photo(240, 300, seed=4)
    base = dict(y=64, x=96, size=128, target=1)
    clean = real_lr(hr, 4, RealDegradation(**base))[0]
    blurred = real_lr(hr, 4, RealDegradation(**base, chain=True, blur1=Blur(3.0, 0.5, 0.3)))[0]
    noisy = real_lr(hr, 4, RealDegradation(**base, chain=True, noise2=20.0, seed=7))[0]
    detail = lambda im: float(np.abs(np.diff(im.astype(np.float32), axis=1)).mean())  # noqa: E731
    assert detail(blurred) < 0.9 * detail(clean)
    assert detail(noisy) > 1.2 * detail(clean)
    assert np.array_equal(noisy, real_lr(hr, 4, RealDegradation(**base, chain=True, noise2=20.0, seed=7))[0])
    assert not np.array_equal(noisy, real_lr(hr, 4, RealDegradation(**base, chain=True, noise2=20.0, seed=8))[0])


def test_recipes_mix_as_stated_and_survive_json():
    rng = np.random.default_rng(0)
    recipes = [sample_real(rng, y=0, x=0, size=128) for _ in range(600)]
    for r in recipes[:50]:
        assert RealDegradation.from_dict(json.loads(json.dumps(r.to_dict()))) == r
    clean = sum(not r.chain and r.codec.name == "clean" for r in recipes) / 600
    video = sum(r.codec.name in ("x264", "mpeg2", "mpeg4") for r in recipes) / 600
    x264 = sum(r.codec.name == "x264" for r in recipes) / 600
    assert 0.19 < clean < 0.31 and 0.58 < video < 0.72 and 0.39 < x264 < 0.52  # 25%, 65%, 65% x 70%
    assert {r.codec.preset for r in recipes if r.codec.name == "x264"} >= {"ultrafast", "medium", "slow"}
    assert all(18 <= r.codec.crf <= 35 for r in recipes if r.codec.name == "x264")


def test_a_region_outside_the_image_is_refused():
    with pytest.raises(ConfigError, match="does not fit"):
        real_lr(photo(100, 100), 4, RealDegradation(y=0, x=0, size=128))


@pytest.fixture(scope="module")
def clean_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("pool")
    folder = root / "photos"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(photo(160 + 8 * i, 200, seed=10 + i)).save(folder / f"p{i}.png")
    prepare([folder], root / "clean", test_fraction=0.3, progress=False)
    return root / "clean"


def test_pool_keeps_splits_records_recipes_and_remakes_exactly(clean_dataset, tmp_path):
    make_pool(clean_dataset, tmp_path / "pool", variants=3, region=128, seed=5, progress=False)
    source, pool = read_manifest(clean_dataset), read_manifest(tmp_path / "pool")
    assert len(pool.items) == 3 * len(source.items)
    split_of = {item.hr: item.split for item in source.items}
    for item in pool.items:
        base = item.degradation["base"]
        assert item.split == split_of[base]  # no held-out image leaks into training
        lr = np.asarray(Image.open(tmp_path / "pool" / item.lr))
        hr = np.asarray(Image.open(tmp_path / "pool" / item.hr))
        assert np.array_equal(remake(clean_dataset, item, 4), lr)
        d = item.degradation
        base_hr = np.asarray(Image.open(clean_dataset / base))
        assert np.array_equal(hr, base_hr[d["y"] : d["y"] + d["size"], d["x"] : d["x"] + d["size"]])
        assert lr.shape == (hr.shape[0] // 4, hr.shape[1] // 4, 3)
    assert pool.settings["variants"] == 3 and pool.settings["degradations"] == ["real"]
    # the same seed makes the same pool; the LR really is degraded for the non-clean recipes
    make_pool(clean_dataset, tmp_path / "again", variants=3, region=128, seed=5, progress=False)
    assert [i.degradation for i in read_manifest(tmp_path / "again").items] == [i.degradation for i in pool.items]
    degraded = [i for i in pool.items if i.degradation["codec"]["name"] != "clean" or i.degradation["chain"]]
    hr = np.array(Image.open(tmp_path / "pool" / degraded[0].hr))  # writable: torch warns on a read-only view
    bicubic = frames.to_numpy(downscale(frames.to_tensor(hr), 4))[0]
    mse = ((np.asarray(Image.open(tmp_path / "pool" / degraded[0].lr)).astype(float) - bicubic) ** 2).mean()
    assert 10 * np.log10(255**2 / mse) < 50


def test_degrade_cli_refuses_an_existing_pool(clean_dataset, tmp_path):
    (tmp_path / "pool").mkdir()
    (tmp_path / "pool" / "manifest.json").write_text("{}")
    run = subprocess.run([sys.executable, "-m", "vsrgan", "degrade", str(clean_dataset), "-o", str(tmp_path / "pool"), "--region", "128"], capture_output=True, text=True)
    assert run.returncode != 0
    assert run.stderr.strip().count("\n") == 0 and "already exists" in run.stderr


def test_pool_keeps_a_further_held_out_split(clean_dataset, tmp_path):
    # scripts/models/prepare_extra.sh relabels the extra photos' held-out share "test-extra" (files stay in test/)
    relabelled = tmp_path / "relabelled"
    relabelled.mkdir()
    manifest = json.loads((clean_dataset / "manifest.json").read_text())
    held_out = next(item for item in manifest["items"] if item["split"] == "test")
    held_out["split"] = "test-extra"
    for entry in clean_dataset.iterdir():
        if entry.name != "manifest.json":
            (relabelled / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    (relabelled / "manifest.json").write_text(json.dumps(manifest))
    make_pool(relabelled, tmp_path / "pool", variants=2, region=128, progress=False)
    extra = [item for item in read_manifest(tmp_path / "pool").items if item.split == "test-extra"]
    assert len(extra) == 2 and all(item.degradation["base"] == held_out["hr"] for item in extra)
    assert all((tmp_path / "pool" / item.lr).is_file() and item.lr.startswith("test-extra/") for item in extra)


def test_the_crf_range_is_the_pools_and_bad_ranges_are_one_line(clean_dataset, tmp_path):
    rng = np.random.default_rng(1)
    crfs = {r.codec.crf for r in (sample_real(rng, y=0, x=0, size=128, crf=(30, 32)) for _ in range(300)) if r.codec.name == "x264"}
    assert crfs == {30, 31, 32}  # both ends included
    run = subprocess.run(
        [sys.executable, "-m", "vsrgan", "degrade", str(clean_dataset), "-o", str(tmp_path / "pool"), "--region", "128", "--variants", "4", "--crf", "33-34", "-q"],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    pool = read_manifest(tmp_path / "pool")
    assert pool.settings["crf"] == [33, 34]
    assert {i.degradation["codec"]["crf"] for i in pool.items if i.degradation["codec"]["name"] == "x264"} <= {33, 34}
    for bad in ("30-20", "x"):
        run = subprocess.run([sys.executable, "-m", "vsrgan", "degrade", str(clean_dataset), "-o", str(tmp_path / bad), "--crf", bad], capture_output=True, text=True)
        assert run.returncode != 0 and "--crf" in run.stderr.strip().splitlines()[-1], run.stderr  # argparse's usage, then the one line


def test_the_clean_share_moves_clean_samples_and_keeps_the_rest_in_proportion(clean_dataset, tmp_path):
    def mix(**kw):
        rng = np.random.default_rng(2)
        recipes = [sample_real(rng, y=0, x=0, size=128, **kw) for _ in range(800)]
        return recipes, sum(not r.chain and r.codec.name == "clean" for r in recipes) / 800, sum(r.chain for r in recipes) / 800

    default, clean, chain = mix()
    assert mix(clean_share=0.25)[0] == default  # the default pool is remade bit for bit
    more, clean40, chain40 = mix(clean_share=0.4)
    assert 0.35 < clean40 < 0.47 and clean40 > clean + 0.1
    assert 0.6 < chain40 / chain < 1.0  # scaled by 0.6 / 0.75 = 0.8
    assert all(not r.chain and r.codec.name == "clean" for r in mix(clean_share=1.0)[0])
    run = subprocess.run(
        [sys.executable, "-m", "vsrgan", "degrade", str(clean_dataset), "-o", str(tmp_path / "pool"), "--region", "128", "--variants", "2", "--clean-share", "1", "-q"],
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr
    pool = read_manifest(tmp_path / "pool")
    assert pool.settings["clean_share"] == 1.0
    assert {i.degradation["codec"]["name"] for i in pool.items} == {"clean"} and not any(i.degradation["chain"] for i in pool.items)
    run = subprocess.run([sys.executable, "-m", "vsrgan", "degrade", str(clean_dataset), "-o", str(tmp_path / "bad"), "--clean-share", "1.5"], capture_output=True, text=True)
    assert run.returncode != 0 and "--clean-share" in run.stderr.strip().splitlines()[-1], run.stderr


@pytest.fixture(scope="module")
def clip_dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("clip-pool")
    make_clip(root / "moving.mp4", width=160, height=128, frames=30)
    prepare([root / "moving.mp4"], root / "clean", every=5, test_fraction=0.2, progress=False)
    return root


def test_clip_frames_take_the_clips_own_neighbours_as_their_sequence(clip_dataset, tmp_path):
    clean = clip_dataset / "clean"
    make_pool(clean, tmp_path / "moving", variants=4, region=128, seed=3, clip_motion=True, progress=False)
    make_pool(clean, tmp_path / "panned", variants=4, region=128, seed=3, progress=False)
    moving, panned = read_manifest(tmp_path / "moving"), read_manifest(tmp_path / "panned")
    assert moving.settings["clip_motion"] is True
    video = [i for i in moving.items if i.degradation["motion"] == "video"]
    assert len(video) >= len(moving.items) // 2 and all(i.degradation["dy"] == i.degradation["dx"] == 0 for i in video)
    assert all(i.frame - i.degradation["target"] >= 0 for i in video)  # the sequence starts within the clip
    # the draws before the motion's are the panned pool's: a recipe that stayed a pan is the same recipe
    for a, b in zip(moving.items, panned.items):
        if a.degradation["motion"] == "pan":
            assert a.degradation == b.degradation
    coded = [i for i in video if i.degradation["codec"]["name"] not in ("clean", "jpeg")][:2]
    assert coded, "no video recipe with a video codec drawn"
    for item in coded:
        lr = np.asarray(Image.open(tmp_path / "moving" / item.lr))
        assert np.array_equal(remake(clean, item, 4), lr)  # remade from the clip, bit for bit
        recipe = {k: v for k, v in item.degradation.items() if k != "base"}
        still = RealDegradation.from_dict({**recipe, "motion": "pan"})  # the same frame, standing still
        hr = np.asarray(Image.open(clean / item.degradation["base"]))
        assert not np.array_equal(real_lr(hr, 4, still)[0], lr)  # the codec saw the clip's motion


def test_a_moved_clip_is_one_clear_line(clip_dataset, tmp_path):
    copy = tmp_path / "clean"
    shutil.copytree(clip_dataset / "clean", copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    for item in manifest["items"]:
        item["source"] = str(tmp_path / "gone.mp4")
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="gone.mp4' is missing"):
        make_pool(copy, tmp_path / "pool", variants=1, region=128, clip_motion=True, progress=False)
    assert not (tmp_path / "pool").exists()
