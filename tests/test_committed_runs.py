"""The training state committed in training/ continues on a fresh clone: every checkpoint there
restores into the networks its own config builds, and a bundled run resumes from it, step by step.

Each session trains a chunk and commits the run's state; the next machine starts from that commit.
A change to the networks, the checkpoint format or the config that breaks those files would only
show when the next session's training fails to start. These tests say so at once.
"""

import json
import shutil
from pathlib import Path

import pytest
import torch

from vsrgan.training.checkpoint import load_checkpoint
from vsrgan.training.config import Config
from vsrgan.training.loop import train
from vsrgan.training.setup import build_nets, restore

RUNS = Path(__file__).resolve().parents[1] / "training"
CHECKPOINTS = sorted(RUNS.rglob("checkpoints/step_*.pt"))


@pytest.mark.parametrize("path", CHECKPOINTS, ids=[str(p.relative_to(RUNS).parent.parent) for p in CHECKPOINTS])
def test_every_committed_checkpoint_restores(path):
    checkpoint = load_checkpoint(path)
    cfg = Config.from_dict(checkpoint["config"], source=str(path))
    cfg.loss.vgg_weights = "random"  # the perceptual loss holds no trained state: VGG16 itself is not needed
    nets = build_nets(cfg, checkpoint, torch.device("cpu"), torch.contiguous_format)
    progress = restore(nets, checkpoint)
    assert progress.step == int(path.stem.removeprefix("step_"))
    ema = nets.ema.state_dict()
    assert all(torch.equal(ema[k], v) for k, v in checkpoint["ema"].items())
    assert nets.opt_g.state_dict()["state"], "the generator's optimizer state (Adam moments) was not restored"


def test_the_bundled_real_world_run_resumes_where_it_stopped(tmp_path, tiny_dataset):
    """x4-real's committed run, resumed for two more steps on a tiny dataset: it goes on from its
    step with its trained weights (a fresh start would be far from them), and its log continues."""
    run = RUNS / "x4-real"
    if not (run / "checkpoints").is_dir():
        pytest.skip("training/x4-real holds no checkpoint in this tree")
    out = tmp_path / "x4-real"
    shutil.copytree(run, out, ignore=shutil.ignore_patterns("*.png", "*.safetensors", "compressed.*"))
    path = max((out / "checkpoints").glob("step_*.pt"))
    saved = load_checkpoint(path)
    step = saved["step"]
    result = train(out / "config.toml", resume=True, overrides=[
        f"data.root={tiny_dataset}", f"train.out={out}", "data.crop=32", "data.batch_size=2", "data.val_images=2",
        f"train.steps={step + 2}", "train.device=cpu", "log.log_every=1", "log.val_every=1000000", "log.ckpt_every=1",
        "log.progress=false", "log.tensorboard=false",
    ])
    assert result.step == step + 2
    assert (out / "checkpoints" / f"step_{step + 2:08d}.pt").is_file()
    moved = max((result.generator.state_dict()[k] - v).abs().max().item() for k, v in saved["ema"].items())
    assert 0 < moved < 0.01  # two small steps on from the trained EMA
    logged = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
    assert logged[0] == 0 and max(logged) == step + 2  # the committed log, continued
