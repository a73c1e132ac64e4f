"""The training steps, whole tiny runs, exact resume, DDP on CPU, and the CLI wiring."""

import argparse
import json
import os
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import perturbed, tiny_train_overrides

from vsrgan.errors import CheckpointError, InputError
from vsrgan.inference.upscaler import Upscaler
from vsrgan.models import Discriminator, Generator, GeneratorConfig, build_generator, load_model, save_generator
from vsrgan.training.checkpoint import load_checkpoint
from vsrgan.training.config import OptimConfig, load_config
from vsrgan.training.loop import gan_step, learning_rate, pretrain_step, train
from vsrgan.training.losses import AdversarialLoss, PerceptualLoss, PixelLoss


def test_learning_rate_schedules():
    multistep = OptimConfig(schedule="multistep", milestones=(10, 20), gamma=0.1)
    assert [learning_rate(multistep, s, 30, 1.0) for s in (0, 9, 10, 19, 20)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])
    cosine = OptimConfig(schedule="cosine", min_lr=0.0)
    assert [learning_rate(cosine, s, 100, 1.0) for s in (0, 50, 100)] == pytest.approx([1, 0.5, 0])
    warm = OptimConfig(schedule="constant", warmup_steps=4)
    assert [learning_rate(warm, s, 100, 1.0) for s in (0, 3, 50)] == pytest.approx([0.25, 1, 1])


# ---- the steps ---------------------------------------------------------------------------------


@pytest.fixture
def fixed_batch():
    g = torch.Generator().manual_seed(0)
    hr = torch.nn.functional.interpolate(torch.rand(4, 3, 8, 8, generator=g), size=32, mode="bilinear")  # learnable from LR
    return torch.nn.functional.avg_pool2d(hr, 4), hr


def test_pretrain_steps_reduce_the_pixel_loss(fixed_batch):
    torch.manual_seed(0)
    lr, hr = fixed_batch
    generator = Generator(num_blocks=1, num_features=8)
    opt = torch.optim.Adam(generator.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    losses = [pretrain_step(generator=generator, opt_g=opt, scaler=scaler, pixel=PixelLoss(), lr=lr, hr=hr, amp=None, weight=1.0, clip=1.0)["loss/pixel"].item() for _ in range(15)]
    assert losses[-1] < 0.7 * losses[0]


def test_gan_steps_train_both_networks(fixed_batch):
    torch.manual_seed(0)
    lr, hr = fixed_batch
    generator, discriminator = Generator(num_blocks=1, num_features=8), Discriminator(num_features=4, head="flatten")
    opt_g = torch.optim.Adam(generator.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=1e-3)
    perceptual = PerceptualLoss(layers=("vgg16.relu1_2",), weights="random", feature_scale=1.0)
    kw = dict(generator=generator, discriminator=discriminator, opt_g=opt_g, opt_d=opt_d, scaler=torch.amp.GradScaler("cpu", enabled=False),
              pixel=PixelLoss(), perceptual=perceptual, adversarial=AdversarialLoss("bce"), lr=lr, hr=hr, amp=None, weights=(1.0, 1.0, 1e-3), clip=0.0)
    logs = [gan_step(**kw) for _ in range(20)]
    assert logs[-1]["loss/perceptual"] < 0.8 * logs[0]["loss/perceptual"]
    assert logs[-1]["loss/discriminator"] < logs[0]["loss/discriminator"]
    assert logs[-1]["d/real_probability"] > logs[-1]["d/fake_probability"]
    assert all(p.requires_grad for p in discriminator.parameters())  # unfrozen again after G's step


# ---- whole runs --------------------------------------------------------------------------------


def test_pretrain_then_gan_runs_and_exports_a_usable_model(tiny_dataset, tmp_path):
    pre = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "pre", "log.keep=1"))
    assert pre.step == 4 and pre.model_path == tmp_path / "pre" / "generator.safetensors"
    assert {"psnr", "ssim", "bicubic_psnr", "bicubic_ssim"} <= set(pre.metrics)
    run = tmp_path / "pre"
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step_00000004.pt"]  # keep = 1
    assert (run / "best.pt").is_file() and (run / "best.safetensors").is_file()
    assert load_config(run / "config.toml").train.steps == 4
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss/pixel" in r] == [2, 4]
    scored = {r["step"]: r["val/psnr"] for r in records if "val/psnr" in r}
    best = load_checkpoint(run / "best.pt")  # the best validation so far, not the latest
    assert best["best_psnr"] == max(scored.values()) and best["step"] == max(scored, key=scored.get)
    upscaled = Upscaler(load_model(str(pre.model_path)), device="cpu")(torch.rand(1, 3, 8, 10))
    assert upscaled.shape == (1, 3, 32, 40)

    gan = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "gan", "train.stage=gan", f"train.init={pre.model_path}", "loss.adversarial=relativistic",
                                                     "optim.lr_d=3e-4"))
    assert gan.step == 4 and gan.model_path.is_file()
    last = load_checkpoint(tmp_path / "gan" / "checkpoints" / "step_00000004.pt")  # each network at its own rate (constant here)
    assert last["opt_g"]["param_groups"][0]["lr"] == pytest.approx(1e-4) and last["opt_d"]["param_groups"][0]["lr"] == pytest.approx(3e-4)
    records = [json.loads(line) for line in (tmp_path / "gan" / "metrics.jsonl").read_text().splitlines()]
    assert records[0].items() >= {"step": 0, "val/bicubic_psnr": gan.metrics["bicubic_psnr"], "val/bicubic_ssim": gan.metrics["bicubic_ssim"]}.items()
    assert {"loss/perceptual", "loss/adversarial", "loss/discriminator", "d/real_probability"} <= set(records[1])


def y_psnr(sr: np.ndarray, hr: np.ndarray, border: int) -> float:
    """PSNR on BT.601 luma (MATLAB's rgb2ycbcr, 16-235) of two uint8 (H, W, 3) images, ``border`` pixels
    cropped from each edge: the literature's convention, computed here without vsrgan."""
    def y(image: np.ndarray) -> np.ndarray:
        return 16 + image[..., :3].astype(np.float64) @ np.array([65.481, 128.553, 24.966]) / 255
    a, b = (y(image)[border:-border, border:-border] for image in (sr, hr))
    return float(10 * np.log10(255**2 / np.mean((a - b) ** 2)))


def test_validation_scores_the_ema_as_papers_do(tiny_dataset, tmp_path):
    """The validation PSNR is the EMA generator's (what is exported), on Y with ``scale`` pixels cropped
    from each edge, outputs rounded to uint8; the bicubic baseline is plain bicubic on the same LR."""
    from vsrgan.dataset.crops import load_split

    run = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "run", "train.steps=2", "optim.lr=1e-2"))  # the raw net moves away from the EMA
    checkpoint = load_checkpoint(tmp_path / "run" / "checkpoints" / "step_00000002.pt")
    raw = build_generator(GeneratorConfig(**checkpoint["generator_config"]))
    raw.load_state_dict(checkpoint["generator"])
    test = load_split(tiny_dataset, "test", 4)
    scores = {"ema": [], "raw": [], "bicubic": []}
    for lr_u8, hr_u8 in zip(test.lr, test.hr):
        lr, hr = lr_u8[None].float() / 255, hr_u8.permute(1, 2, 0).numpy()
        with torch.no_grad():
            outputs = {"ema": run.generator(lr), "raw": raw.eval()(lr),
                       "bicubic": torch.nn.functional.interpolate(lr, scale_factor=4, mode="bicubic", align_corners=False)}
        for name, sr in outputs.items():
            scores[name].append(y_psnr((sr[0].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy(), hr, border=4))
    mean = {name: float(np.mean(values)) for name, values in scores.items()}
    assert run.metrics["psnr"] == pytest.approx(mean["ema"], abs=1e-6)
    assert abs(mean["raw"] - mean["ema"]) > 1e-3  # so the check above tells the EMA from the raw network
    assert run.metrics["bicubic_psnr"] == pytest.approx(mean["bicubic"], abs=1e-3)  # PyTorch's bicubic as a conv: float rounding


def test_the_seed_sets_the_initial_weights_and_the_crops(tiny_dataset, tmp_path):
    """train.seed (not its default 0 here) seeds the networks' init and every crop: two seeds start
    from different weights and cut different crops; one seed cuts the same crops again."""
    from vsrgan.training.setup import load_data

    frozen = ("optim.lr=1e-30", "optim.warmup_steps=0", "train.ema_decay=0")  # a step that cannot move the weights
    runs = [train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / f"seed{seed}", "train.steps=1", f"train.seed={seed}", *frozen))
            for seed in (1, 2)]
    apart = max(float((a - b).abs().max()) for a, b in zip(runs[0].generator.parameters(), runs[1].generator.parameters()))
    assert apart > 1e-3  # the init differs (a zero bias nudged 1e-30 by a step differs by the crops alone)
    crops = [load_data(load_config(None, tiny_train_overrides(tiny_dataset, tmp_path, f"train.seed={seed}")), 0, 1, torch.device("cpu"))[0](0)[1]
             for seed in (1, 2, 1)]
    assert not torch.equal(crops[0], crops[1]) and torch.equal(crops[0], crops[2])


def test_resume_takes_the_newest_of_the_kept_checkpoints(tmp_path):
    """log.keep keeps the newest checkpoints by step (their names are zero-padded, so step 12 sorts
    after step 4), and --resume continues from the newest of them, not the oldest."""
    from vsrgan.training.checkpoint import latest_checkpoint, save_checkpoint

    folder = tmp_path / "checkpoints"
    for step in (2, 4, 10, 12):
        save_checkpoint({"step": step}, folder, keep=3)
    assert sorted(p.name for p in folder.iterdir()) == ["step_00000004.pt", "step_00000010.pt", "step_00000012.pt"]
    newest = latest_checkpoint(folder)
    assert newest.name == "step_00000012.pt" and load_checkpoint(newest)["step"] == 12


def test_gan_init_must_match_the_model(tiny_dataset, tmp_path):
    pre = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "pre", "train.steps=1"))
    with pytest.raises(CheckpointError, match="num_features=8 \\(config: 16\\)"):
        train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "gan", "train.stage=gan", f"train.init={pre.model_path}", "model.num_features=16"))


@pytest.mark.parametrize("stage", ["pretrain", "gan"])
def test_train_init_is_where_a_run_starts(tiny_dataset, tmp_path, stage):
    """A run given train.init starts from that generator (a fine-tune, or the GAN stage), not from random weights."""
    init = tmp_path / "init.safetensors"
    compact = ("model.arch=compact", "model.skip=bicubic")  # no BatchNorm, whose running statistics a step moves
    save_generator(perturbed(build_generator(GeneratorConfig(arch="compact", skip="bicubic", num_blocks=1, num_features=8)), 0.3), init)
    frozen = (*compact, "optim.lr=1e-30", "optim.warmup_steps=0", "train.ema_decay=0")  # steps that cannot move the weights
    run = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / stage, "train.steps=1", f"train.stage={stage}", f"train.init={init}", *frozen))
    x = torch.rand(1, 3, 12, 10, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = load_model(str(init))(x), load_model(str(run.model_path))(x)
    assert torch.allclose(got, expected, atol=1e-6)
    if stage == "pretrain":  # and without train.init a pretrain run starts elsewhere
        fresh = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "fresh", "train.steps=1", *frozen))
        with torch.no_grad():
            assert (load_model(str(fresh.model_path))(x) - expected).abs().max() > 1e-3


def test_a_used_run_folder_needs_resume(tiny_dataset, tmp_path):
    train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "run", "train.steps=2"))
    with pytest.raises(InputError, match="--resume"):
        train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "run", "train.steps=2"))


@pytest.mark.parametrize("stage", ["pretrain", "gan"])
def test_resume_continues_exactly(tiny_dataset, tmp_path, stage):
    extra = ["train.steps=6", "log.ckpt_every=3", "log.val_every=3", "log.log_every=1", "data.augment=true"]
    if stage == "gan":
        init = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "init", "train.steps=1")).model_path
        extra += ["train.stage=gan", f"train.init={init}"]
    train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "whole", *extra))
    # an interrupted run: the same config stopped after step 3, then resumed from its checkpoint
    train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "cut", *extra, "train.steps=3"))
    resumed = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "cut", *extra), resume=True)
    assert resumed.step == 6
    a, b = load_checkpoint(tmp_path / "whole" / "checkpoints" / "step_00000006.pt"), load_checkpoint(tmp_path / "cut" / "checkpoints" / "step_00000006.pt")
    for key in ("generator", "ema") + (("discriminator",) if stage == "gan" else ()):
        for name in a[key]:
            assert torch.equal(a[key][name], b[key][name]), f"{key}.{name}"
    # every restored state, not only the weights: both optimizers' moments and steps, the grad scaler, the RNG
    for key in ("opt_g",) + (("opt_d",) if stage == "gan" else ()):
        assert a[key]["param_groups"] == b[key]["param_groups"], key
        for index, state in a[key]["state"].items():
            for name, value in state.items():
                assert torch.equal(torch.as_tensor(value), torch.as_tensor(b[key]["state"][index][name])), f"{key}.{index}.{name}"
    assert a["scaler"] == b["scaler"]
    assert a["step"] == b["step"] == 6 and a["best_psnr"] == b["best_psnr"]
    losses = [[json.loads(line) for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()] for run in ("whole", "cut")]
    key = "loss/generator" if stage == "gan" else "loss/pixel"
    assert [r[key] for r in losses[0] if key in r] == [r[key] for r in losses[1] if key in r]


def test_resume_drops_the_records_logged_after_its_checkpoint(tiny_dataset, tmp_path):
    # a run that logged past its last checkpoint (stopped while saving, or killed): resumed, its log has each step once
    settings = ("train.steps=4", "log.log_every=1", "log.ckpt_every=2", "log.keep=2")
    train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "run", *settings))
    (tmp_path / "run" / "checkpoints" / "step_00000004.pt").unlink()  # the last save lost
    with open(tmp_path / "run" / "metrics.jsonl", "a") as f:
        f.write('{"step": 4, "loss/pix')  # and a line cut short
    train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "run", *settings), resume=True)
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss/pixel" in r] == [1, 2, 3, 4]
    assert [r["step"] for r in records if "val/psnr" in r] == [2, 4]


def test_time_limit_stops_checkpointed_and_resume_finishes(tiny_dataset, tmp_path, caplog):
    cut = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "run", "train.steps=5", "train.minutes=1e-9"))
    assert cut.step == 1 and cut.model_path.is_file()
    assert "stopped at step 1 of 5" in caplog.text
    assert (tmp_path / "run" / "checkpoints" / "step_00000001.pt").is_file()
    done = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "run", "train.steps=5", "train.minutes=0"), resume=True)
    assert done.step == 5


def test_a_cpu_budget_counts_the_whole_run_and_a_spent_one_takes_no_step(tiny_dataset, tmp_path, caplog):
    """train.cpu_hours: the run's own CPU time, earlier chunks included (the study's equal budget);
    resumed with the budget spent, not one step more; with a larger one, it goes on."""
    run = tmp_path / "run"
    cut = train(None, overrides=tiny_train_overrides(tiny_dataset, run, "train.steps=6", "train.cpu_hours=1e-9"))
    assert cut.step == 1 and "stopped at step 1 of 6 after train.cpu_hours=1e-09" in caplog.text
    spent = load_checkpoint(run / "checkpoints" / "step_00000001.pt")["spent"]["cpu"]
    assert spent > 0
    again = train(None, overrides=tiny_train_overrides(tiny_dataset, run, "train.steps=6", "train.cpu_hours=1e-9"), resume=True)
    assert again.step == 1
    assert all(torch.equal(a, b) for a, b in zip(again.generator.state_dict().values(), cut.generator.state_dict().values()))
    more = train(None, overrides=tiny_train_overrides(tiny_dataset, run, "train.steps=6", f"train.cpu_hours={spent / 3600 + 1}"), resume=True)
    assert more.step == 6


def test_stop_at_cuts_a_run_on_its_own_schedule_and_resume_finishes_it_exactly(tiny_dataset, tmp_path, caplog):
    """train.stop_at: runs compared at equal steps stop there, their learning rate still on train.steps' schedule."""
    settings = ("train.steps=6", "optim.schedule=cosine", "optim.min_lr=0", "log.log_every=1", "log.ckpt_every=3", "log.val_every=3")
    whole = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "whole", *settings))
    cut = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "cut", *settings, "train.stop_at=3"))
    assert cut.step == 3 and "stopped at step 3 of 6 after train.stop_at=3" in caplog.text
    again = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "cut", *settings, "train.stop_at=3"), resume=True)
    assert again.step == 3  # resumed at its stop: not one step more
    done = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "cut", *settings, "train.stop_at=0"), resume=True)
    assert done.step == 6
    rates = [[(r["step"], r["lr"]) for r in map(json.loads, (tmp_path / run / "metrics.jsonl").read_text().splitlines()) if "lr" in r]
             for run in ("whole", "cut")]
    assert rates[0] == rates[1] and len(rates[0]) == 6
    assert all(torch.equal(a, b) for a, b in zip(done.generator.state_dict().values(), whole.generator.state_dict().values()))


def test_resume_without_a_checkpoint_says_so(tmp_path):
    with pytest.raises(InputError, match="nothing to resume"):
        train(None, overrides=[f"train.out={tmp_path}"], resume=True)


def test_training_goes_on_without_tensorboard(tiny_dataset, tmp_path, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now raises ImportError
    result = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "run", "train.steps=1", "log.tensorboard=true"))
    assert result.model_path.is_file()
    assert "tensorboard is not installed" in caplog.text


def _ddp_worker(rank: int, port: int, data: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2")
    torch.set_num_threads(1)
    init = f"train.init={Path(out) / 'init.safetensors'}"
    result = train(None, overrides=tiny_train_overrides(Path(data), Path(out) / "run", "train.steps=3", "log.val_every=3", "train.stage=gan", init))
    checksum = sum(float(p.double().sum()) for p in result.generator.parameters())
    (Path(out) / f"rank{rank}.json").write_text(json.dumps({"checksum": checksum, "path": str(result.model_path)}))


def test_two_process_ddp_on_cpu(tiny_dataset, tmp_path):
    """The GAN stage, so that both networks run under DistributedDataParallel (gloo)."""
    torch.manual_seed(1)
    save_generator(Generator(num_blocks=1, num_features=8), tmp_path / "init.safetensors")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.multiprocessing.spawn(_ddp_worker, args=(port, str(tiny_dataset), str(tmp_path)), nprocs=2, join=True)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["checksum"] == ranks[1]["checksum"]  # gradients were averaged: the replicas agree
    assert ranks[0]["checksum"] != sum(float(p.detach().double().sum()) for p in load_model(str(tmp_path / "init.safetensors")).parameters())
    assert ranks[0]["path"] == str(tmp_path / "run" / "generator.safetensors") and ranks[1]["path"] == "None"
    assert (tmp_path / "run" / "checkpoints" / "step_00000003.pt").is_file()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_cuda_mixed_precision_with_crops_cut_on_the_gpu(tiny_dataset, tmp_path, precision):
    init = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "pre", "train.steps=2", "train.device=cuda", f"train.precision={precision}", "data.loader=device"))
    gan = train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "gan", "train.steps=2", "train.device=cuda", f"train.precision={precision}",
                                                     "data.loader=device", "train.stage=gan", f"train.init={init.model_path}"))
    assert all(torch.isfinite(p).all() for p in gan.generator.parameters())
    assert gan.generator.tail.weight.device.type == "cuda"


# ---- CLI wiring --------------------------------------------------------------------------------


def test_cli_prepare_and_train(tmp_path, capsys):
    from conftest import make_image_folder

    from vsrgan.cli.dataset import add_prepare_parser
    from vsrgan.cli.training import add_train_parser

    parser = argparse.ArgumentParser(prog="vsrgan")
    sub = parser.add_subparsers()
    add_prepare_parser(sub)
    add_train_parser(sub)
    make_image_folder(tmp_path / "imgs", count=4)
    args = parser.parse_args(["prepare", str(tmp_path / "imgs"), "-o", str(tmp_path / "ds"), "--test-fraction", "0.25", "-q"])
    args.run(args)
    settings = [s for s in tiny_train_overrides(tmp_path / "ds", tmp_path / "run", "train.steps=2") if not s.startswith(("data.root", "train.out", "train.steps"))]
    args = parser.parse_args(["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "run"), "--steps", "2", *[x for s in settings for x in ("--set", s)]])
    args.run(args)
    assert "generator.safetensors" in capsys.readouterr().err
    args = parser.parse_args(["train", "--out", str(tmp_path / "run"), "--resume", "--set", "train.steps=3"])
    args.run(args)
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "step_00000003.pt")["step"] == 3


# ---- compatibility with runs started before the package was split into jobs ---------------------

CHECKPOINT_KEYS = {"format", "step", "config", "generator", "generator_config", "ema", "discriminator", "opt_g", "opt_d", "scaler", "best_psnr", "rng", "spent"}


def test_a_checkpoint_of_the_flat_package_resumes_from_the_cli(tiny_dataset, tmp_path):
    """A checkpoint as the code before the restructuring wrote it (its [model] table without the
    generator's in/out channels) continues with `vsrgan train --out RUN --resume`."""
    from vsrgan.cli import main

    run = tmp_path / "run"
    train(None, overrides=tiny_train_overrides(tiny_dataset, run, "train.steps=2", "log.ckpt_every=2"))
    path = run / "checkpoints" / "step_00000002.pt"
    state = torch.load(path, weights_only=False)
    assert set(state) == CHECKPOINT_KEYS
    assert set(state["config"]) == {"data", "model", "loss", "optim", "train", "log"}
    for key in ("in_channels", "out_channels"):
        del state["config"]["model"][key]
    torch.save(state, path)
    assert main(["train", "--out", str(run), "--resume", "--set", "train.steps=4"]) == 0
    resumed = load_checkpoint(run / "checkpoints" / "step_00000004.pt")
    assert resumed["step"] == 4 and resumed["config"]["model"]["num_blocks"] == state["config"]["model"]["num_blocks"]


def test_a_raising_step_closes_the_run_log(tiny_dataset, tmp_path, monkeypatch):
    from vsrgan.training import loop, runlog

    closed = []
    real_exit = runlog.RunLog.__exit__

    def exit_and_note(self, *exc):
        real_exit(self, *exc)
        closed.append(self.records.closed)

    def failing_step(*args, **kwargs):
        raise RuntimeError("step failed")

    monkeypatch.setattr(runlog.RunLog, "__exit__", exit_and_note)
    monkeypatch.setattr(loop, "train_step", failing_step)
    with pytest.raises(RuntimeError, match="step failed"):
        train(None, overrides=tiny_train_overrides(tiny_dataset, tmp_path / "run", "train.steps=2"))
    assert closed == [True]


def test_the_ema_moves_a_small_step_toward_the_network():
    """update_ema with decay d: ema <- d * ema + (1 - d) * network, for every parameter; buffers are
    copied; ema_decay warms up as (1 + step) / (10 + step) before it reaches the configured decay."""
    from vsrgan.training.steps import ema_decay, update_ema

    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    ema = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    network[1].running_mean.fill_(0.5)
    before = [p.clone() for p in ema.parameters()]
    update_ema(ema, network, 0.9)
    for e, old, p in zip(ema.parameters(), before, network.parameters(), strict=True):
        assert torch.allclose(e, 0.9 * old + 0.1 * p, atol=1e-7)
    assert torch.equal(ema[1].running_mean, network[1].running_mean)
    assert ema_decay(0.999, 0) == pytest.approx(0.1) and ema_decay(0.999, 90) == pytest.approx(0.91)
    assert ema_decay(0.999, 100_000) == 0.999
