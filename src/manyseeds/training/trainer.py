"""Train all instances of one architecture at once: `manyseeds train`.

    manyseeds train --arch alexnet --preset quick --seeds 60 --out DIR

The instances' states are stacked on a leading seed axis, sharded over every
device (`training.lift`), and advanced by one jitted step. Each instance
draws its own training order from its own data key. After every epoch (and
every `checkpoint_every` steps) the run is checkpointed; `resume=True`
continues from the last complete checkpoint and ends with exactly the
parameters of an uninterrupted run. A finished run holds `manifest.json`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from manyseeds import __version__
from manyseeds.config import TrainConfig
from manyseeds.errors import UserError
from manyseeds.training import lift as lift_lib
from manyseeds.training import step as step_lib
from manyseeds.training.checkpoint import RunCheckpoints
from manyseeds.training.seeds import SeedStreams, epoch_permutation, seed_list
from manyseeds.training.strategy import choose_layout

log = logging.getLogger(__name__)

EVAL_BATCH = 500
# Testing aid: seconds to sleep after every step, so that a test can kill a
# run in the middle of an epoch. Never set it for real work.
_STEP_DELAY_ENV = "MANYSEEDS_TEST_STEP_DELAY"


@dataclasses.dataclass
class TrainData:
    """The images a run trains and validates on (uint8, shared by all seeds)."""

    train_images: np.ndarray  # [num_train, 28, 28] uint8
    train_labels: np.ndarray  # [num_train] int32
    val_images: np.ndarray  # [num_val, 28, 28] uint8
    val_labels: np.ndarray  # [num_val] int32
    source: str


def load_train_data(config: TrainConfig, mnist_dir: str | None = None) -> TrainData:
    """MNIST train (optionally a fixed random subset) and test (first N)."""
    from manyseeds.data.mnist import load_mnist

    train = load_mnist("train", mnist_dir)
    test = load_mnist("test", mnist_dir)
    images, labels = train.images, train.labels
    if config.train_subset:
        # The same subset for every instance: a fixed permutation, not seed-
        # dependent, so that instances differ only in their seed streams.
        keep = np.random.default_rng(0).permutation(len(labels))[: config.train_subset]
        images, labels = images[np.sort(keep)], labels[np.sort(keep)]
    n_val = config.val_subset or len(test.labels)
    return TrainData(
        images, labels.astype(np.int32), test.images[:n_val],
        test.labels[:n_val].astype(np.int32), train.source,
    )


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    if jax.process_index() == 0:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2, default=str))
        tmp.replace(path)


def _check_run_dir(out: Path, config: TrainConfig, resume: bool) -> str:
    """"new", "resume" or "finished"; refuses to overwrite someone's work."""
    saved = out / "config.json"
    if not saved.is_file():
        return "new"
    old = json.loads(saved.read_text())["train"]
    if old != json.loads(json.dumps(config.to_dict())):
        diff = sorted(k for k in old if old.get(k) != config.to_dict().get(k))
        raise UserError(
            f"{out} holds a run with other settings ({', '.join(diff)}); "
            "choose another --out or use the same settings"
        )
    if (out / "manifest.json").is_file():
        return "finished"
    if not resume:
        raise UserError(
            f"{out} holds an unfinished run; pass --resume to continue it "
            "or choose another --out"
        )
    return "resume"


def train(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    mnist_dir: str | None = None,
    data: TrainData | None = None,
    resume: bool = False,
    checkpoint_every: int | None = None,
    devices: list | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Train `config.seeds` instances of `config.arch` together.

    Args:
      config: what to train (see `manyseeds.config.TrainConfig`).
      out_dir: the run folder (created; see `training.checkpoint`).
      mnist_dir: MNIST IDX folder (default: resolved by `manyseeds.data`).
      data: pre-loaded data (overrides `mnist_dir`; used by tests).
      resume: continue an unfinished run in `out_dir`.
      checkpoint_every: also checkpoint every this many steps (default: at
        the end of every epoch only).
      devices: devices of the seed mesh (default: all).
      progress: show a progress bar.

    Returns:
      The manifest: config, per-seed validation accuracy and loss, timing.
    """
    from manyseeds.models import get_model

    out = Path(out_dir)
    status = _check_run_dir(out, config, resume)
    if status == "finished":
        log.info("%s: finished run found, nothing to do", out)
        return json.loads((out / "manifest.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    data = data or load_train_data(config, mnist_dir)
    spec = get_model(config.arch, config.preset, init=config.init)
    layout = choose_layout(config, spec, devices)
    runner = Runner(config, spec, layout, data)
    _write_json(out / "config.json", {
        "train": config.to_dict(), "model": spec.describe(), "version": __version__,
        "data": data.source, "strategy": layout.strategy, "chunk": layout.chunk_size,
        "padded_seeds": layout.padded_seeds,
        "devices": layout.num_devices, "backend": jax.default_backend(),
    })
    ckpt = RunCheckpoints(out)
    state = runner.init_state()
    epoch, position = 0, 0
    if status == "resume" and ckpt.latest_step() is not None:
        state, prog = ckpt.restore(state)
        epoch, position = prog["epoch"], prog["position"]
        log.info("resuming %s at epoch %d, step %d of the epoch", out, epoch, position)
    _truncate_metrics(out / "metrics.jsonl", epoch)
    started = time.time()
    state = runner.run(
        state, ckpt, out, epoch, position, checkpoint_every, progress
    )
    ckpt.wait()
    manifest = runner.finish(state, out, time.time() - started)
    ckpt.close()
    return manifest


def _truncate_metrics(path: Path, from_epoch: int) -> None:
    """Drop metric lines of epochs that will be recomputed after a resume."""
    if not path.is_file() or jax.process_index() != 0:
        return
    keep = [
        line for line in path.read_text().splitlines()
        if line and json.loads(line)["epoch"] < from_epoch
    ]
    path.write_text("".join(line + "\n" for line in keep))


class Runner:
    """The jitted functions of one run and the epoch loop around them.

    Also used by `manyseeds bench train`, which times `step` directly.
    """

    def __init__(self, config: TrainConfig, spec, layout, data: TrainData):
        self.config, self.spec, self.layout, self.data = config, spec, layout, data
        self.num_train = len(data.train_labels)
        self.steps_per_epoch = self.num_train // config.batch_size
        if self.steps_per_epoch == 0:
            raise UserError(
                f"batch size {config.batch_size} is larger than the "
                f"{self.num_train} training images"
            )
        self.tx = step_lib.make_optimizer(config)
        self.kl_weight = spec.kl_weight(self.num_train, config.batch_size)
        seeds = seed_list(layout.padded_seeds, config.seed_offset)
        streams = SeedStreams(
            seeds, config.init_seed, config.data_seed, config.noise_seed
        )
        self.keys = lift_lib.put_seeded(
            {s: np.asarray(streams.keys(s)) for s in ("init", "data", "noise")},
            layout,
        )
        self.train_set = lift_lib.put_replicated(
            (data.train_images, data.train_labels), layout
        )
        self._build()

    def _build(self) -> None:
        spec, tx, kl, cfg = self.spec, self.tx, self.kl_weight, self.config

        def init_one(_, keys, __):
            return None, step_lib.init_state(spec, tx, keys["init"], keys["noise"])

        def step_one(state, index, shared):
            return step_lib.train_step(spec, tx, kl, state, index, *shared)

        def perm_one(_, data_key, epoch):
            return None, epoch_permutation(data_key, epoch, self.num_train)

        def eval_one(_, state, shared):
            return None, step_lib.eval_step(spec, kl, state, *shared)

        def plateau_one(state, val_loss, _):
            return step_lib.plateau_update(
                state, val_loss, cfg.plateau_patience, cfg.plateau_halving
            ), None

        seed_map = functools.partial(lift_lib.SeedMap, layout=self.layout)
        self._init, self._step = seed_map(init_one), seed_map(step_one)
        self._perm, self._eval = seed_map(perm_one), seed_map(eval_one)
        self._plateau = seed_map(plateau_one)
        self._repl = self.layout.replicated

    def init_state(self):
        """`[seed, ...]` states of all instances before training."""
        return self._init(None, self.keys, None)[1]

    def step(self, state, index):
        """One step of every instance; `index` is `[seed, batch]`."""
        return self._step(state, index, self.train_set)

    def permutation(self, epoch: int):
        """`[seed, num_train]` training order of every instance in `epoch`."""
        return self._perm(None, self.keys["data"], jnp.int32(epoch))[1]

    def validate(self, state) -> dict[str, np.ndarray]:
        """Per-seed mean loss and accuracy on the validation images."""
        images, labels = self.data.val_images, self.data.val_labels
        eval_key = jax.device_put(jax.random.PRNGKey(0), self._repl)
        loss, correct = 0.0, 0
        for start in range(0, len(labels), EVAL_BATCH):
            batch = lift_lib.put_replicated(
                (images[start:start + EVAL_BATCH], labels[start:start + EVAL_BATCH]),
                self.layout,
            )
            out = self._eval(None, state, (*batch, eval_key))[1]
            loss = loss + out["loss_sum"]
            correct = correct + out["correct"]
        n = len(labels)
        host = lift_lib.gather_seeded({"loss": loss, "correct": correct}, self.layout)
        return {"val_loss": host["loss"] / n, "val_accuracy": host["correct"] / n}

    def run(self, state, ckpt, out, epoch, position, checkpoint_every, progress):
        cfg, steps = self.config, self.steps_per_epoch
        delay = float(os.environ.get(_STEP_DELAY_ENV, "0") or 0)
        total = cfg.epochs * steps
        bar = tqdm(
            total=total, initial=epoch * steps + position, unit="step",
            desc=f"{cfg.arch} x{cfg.seeds}", disable=not progress,
            dynamic_ncols=True,
        )
        while epoch < cfg.epochs:
            perms = self.permutation(epoch)
            if lift_lib.keeps_apart(self.layout):
                state = lift_lib.unstack(state, self.layout.padded_seeds)
            losses = []
            for pos in range(position, steps):
                index = perms[:, pos * cfg.batch_size:(pos + 1) * cfg.batch_size]
                state, metrics = self.step(state, index)
                losses.append(metrics["loss"])
                bar.update(1)
                if pos % 10 == 0 or pos == steps - 1:
                    bar.set_postfix(loss=f"{_mean_finite(losses[-10:]):.4f}")
                if checkpoint_every and (pos + 1) % checkpoint_every == 0 and (
                    pos + 1 < steps
                ):
                    ckpt.save(
                        int(epoch * steps + pos + 1), lift_lib.stacked(state),
                        {"epoch": epoch, "position": pos + 1},
                    )
                if delay:
                    time.sleep(delay)
            state = self._end_epoch(lift_lib.stacked(state), epoch, losses, out)
            epoch, position = epoch + 1, 0
            ckpt.save(int(epoch * steps), state, {"epoch": epoch, "position": 0})
        bar.close()
        return state

    def _end_epoch(self, state, epoch, losses, out):
        val = self.validate(state)
        val_loss = np.full(self.layout.padded_seeds, np.inf, np.float32)
        val_loss[: self.config.seeds] = val["val_loss"]
        state, _ = self._plateau(
            state, lift_lib.put_seeded(val_loss, self.layout), None
        )
        host = lift_lib.gather_seeded(
            {
                "frozen": state.frozen,
                "lr": state.opt_state.hyperparams["learning_rate"],
            },
            self.layout,
        )
        train_loss = (
            lift_lib.gather_seeded(jnp.stack(losses, axis=1), self.layout).mean(1)
            if losses else np.full(self.config.seeds, np.nan)
        )
        seeds = seed_list(self.config.seeds, self.config.seed_offset)
        if jax.process_index() == 0:
            with (out / "metrics.jsonl").open("a") as f:
                for k, seed in enumerate(seeds):
                    f.write(json.dumps({
                        "epoch": epoch, "seed": seed,
                        "train_loss": float(train_loss[k]),
                        "val_loss": float(val["val_loss"][k]),
                        "val_accuracy": float(val["val_accuracy"][k]),
                        "learning_rate": float(host["lr"][k]),
                        "frozen": bool(host["frozen"][k]),
                    }) + "\n")
        acc = val["val_accuracy"]
        log.info(
            "epoch %d/%d: validation accuracy min %.4f median %.4f max %.4f",
            epoch + 1, self.config.epochs, acc.min(), np.median(acc), acc.max(),
        )
        newly_frozen = [s for s, f in zip(seeds, host["frozen"], strict=False) if f]
        if newly_frozen:
            log.warning("seeds with a non-finite loss, frozen: %s", newly_frozen)
        return state

    def finish(self, state, out: Path, seconds: float) -> dict[str, Any]:
        val = self.validate(state)
        frozen = lift_lib.gather_seeded(state.frozen, self.layout)
        seeds = seed_list(self.config.seeds, self.config.seed_offset)
        acc = val["val_accuracy"]
        below = [s for s, a in zip(seeds, acc, strict=True) if a < 0.97]
        manifest = {
            "finished": True,
            "version": __version__,
            "arch": self.config.arch,
            "preset": self.config.preset,
            "seeds": list(seeds),
            "val_accuracy": [float(a) for a in acc],
            "val_loss": [float(v) for v in val["val_loss"]],
            "frozen_seeds": [s for s, f in zip(seeds, frozen, strict=True) if f],
            "train": self.config.to_dict(),
            "model": self.spec.describe(),
            "strategy": self.layout.strategy,
            "devices": self.layout.num_devices,
            "train_seconds": seconds,
            "images_per_second": (
                self.config.seeds * self.config.epochs * self.steps_per_epoch
                * self.config.batch_size / max(seconds, 1e-9)
            ),
        }
        _write_json(out / "manifest.json", manifest)
        log.info(
            "%s: %d/%d seeds >= 97%% validation accuracy (min %.4f, median %.4f, "
            "max %.4f)%s in %.0f s",
            self.config.arch, len(seeds) - len(below), len(seeds), acc.min(),
            np.median(acc), acc.max(),
            _below_text(below), seconds,
        )
        return manifest


def _below_text(below: list[int]) -> str:
    if not below:
        return ""
    shown = ", ".join(str(s) for s in below[:10])
    more = f" and {len(below) - 10} more" if len(below) > 10 else ""
    return f"; below: {shown}{more}"


def _mean_finite(values: list) -> float:
    """Mean of the finite losses this host holds (for the progress bar)."""
    arr = np.concatenate([
        np.ravel(np.asarray(shard.data))
        for v in values
        for shard in v.addressable_shards
    ])
    arr = arr[np.isfinite(arr)]
    return float(arr.mean()) if arr.size else float("nan")
