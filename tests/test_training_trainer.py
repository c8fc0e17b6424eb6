"""The many-seed trainer: seeds, strategies, devices, checkpoints, resume.

Tolerance: with the `loop` strategy (the automatic choice on CPU) a seed of a
many-seed run is bitwise equal to that seed trained alone; sharded over four
devices or two processes it agrees to 1e-5 (XLA fuses a sharded program
differently). `vmap` batches the seeds' kernels
(grouped convolutions) and rounds differently: after one step it agrees to
1e-5; Adam then amplifies rounding in near-zero gradients, so longer vmap
runs are compared by accuracy, not bitwise.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from manyseeds.cli import main
from manyseeds.config import train_config
from manyseeds.models import get_model
from manyseeds.training import lift as lift_lib
from manyseeds.training import step as step_lib
from manyseeds.training.run import load_run
from manyseeds.training.trainer import Runner, TrainData

# Sharding over devices or processes changes how XLA fuses the program, so
# results agree to float rounding, not bitwise.
DEVICE_TOL = 1e-5

# A smoke run over 256 MNIST images: 8 steps of 32 per epoch, 2 epochs.
ARGS = [
    "--arch", "alexnet", "--preset", "smoke", "--epochs", "2", "--batch-size", "32",
    "--train-subset", "256", "--val-subset", "128", "--strategy", "loop",
    "--no-progress",
]


def _train_cli(out: Path, *extra: str, env: dict | None = None, wait=True):
    cmd = [sys.executable, "-m", "manyseeds.cli", "-q", "train", *ARGS,
           "--out", str(out), *extra]
    proc = subprocess.Popen(
        cmd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )
    if wait:
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, output
    return proc


def _leaves(run_dir: Path):
    return jax.tree.leaves(load_run(run_dir).variables)


def _max_diff(a, b) -> float:
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, mnist_dir) -> Path:
    """4 seeds, one device, one process, uninterrupted."""
    out = tmp_path_factory.mktemp("runs") / "reference"
    assert main(["-q", "train", *ARGS, "--seeds", "4", "--out", str(out)]) == 0
    return out


def test_run_writes_checkpoints_metrics_and_manifest(reference_run):
    manifest = json.loads((reference_run / "manifest.json").read_text())
    assert manifest["finished"] and manifest["seeds"] == [0, 1, 2, 3]
    assert len(manifest["val_accuracy"]) == 4
    lines = (reference_run / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert {(r["epoch"], r["seed"]) for r in records} == {
        (e, s) for e in range(2) for s in range(4)
    }
    assert all(np.isfinite(r["train_loss"]) for r in records)
    assert (reference_run / "checkpoints").is_dir()
    assert all(0.0 <= a <= 1.0 for a in manifest["val_accuracy"])


def test_seeds_differ_and_each_equals_its_single_seed_run(reference_run, tmp_path):
    params = load_run(reference_run).variables["params"]
    first = jax.tree.leaves(params)[0]
    assert all(
        not np.array_equal(first[i], first[j]) for i in range(4) for j in range(i)
    )
    single = tmp_path / "seed2"
    assert main(["-q", "train", *ARGS, "--seeds", "1", "--seed-offset", "2",
                 "--out", str(single)]) == 0
    alone = _leaves(single)
    together = [x[2:3] for x in _leaves(reference_run)]
    assert _max_diff(alone, together) == 0.0


def _tiny_data(n: int = 64) -> TrainData:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n).astype(np.int32)
    images = rng.integers(0, 50, (n, 28, 28)).astype(np.uint8)
    images[np.arange(n), 2 * labels + 4, :] = 255  # a learnable stripe
    return TrainData(images, labels, images[:32], labels[:32], "synthetic")


def _runner(seeds, strategy="loop", seed_offset=0, **kw) -> Runner:
    cfg = train_config(
        "alexnet", "smoke", seeds=seeds, batch_size=16, strategy=strategy,
        seed_offset=seed_offset, learning_rate=1e-2, **kw,
    )
    spec = get_model("alexnet", "smoke")
    return Runner(cfg, spec, lift_lib.make_layout(seeds, strategy, 2), _tiny_data())


@pytest.fixture(scope="module")
def loop4() -> Runner:
    """4 seeds, one after another in one program (the CPU default)."""
    return _runner(4)


def test_start_parameters_and_data_order_match_single_seed(loop4):
    one = _runner(1, seed_offset=3)
    a, b = loop4.init_state(), one.init_state()
    assert _max_diff([x[3:4] for x in jax.tree.leaves(a.params)],
                     jax.tree.leaves(b.params)) == 0.0
    np.testing.assert_array_equal(
        np.asarray(loop4.permutation(1))[3], np.asarray(one.permutation(1))[0]
    )


def test_training_reduces_the_loss_of_every_seed(loop4):
    state, losses = loop4.init_state(), []
    for k in range(40):
        start = (k % 4) * 16
        state, m = loop4.step(state, loop4.permutation(k // 4)[:, start:start + 16])
        losses.append(np.asarray(m["loss"]))
    losses = np.stack(losses)  # [step, seed]
    first, last = losses[:4].mean(0), losses[-8:].mean(0)
    assert (last < first).all() and (first - last).mean() > 0.3


def test_strategies_agree_after_one_step(loop4):
    results = {}
    for strategy, runner in (
        ("loop", loop4),
        ("vmap", _runner(4, "vmap")),
        ("chunked", _runner(4, "chunked")),
    ):
        state = runner.init_state()
        state, _ = runner.step(state, runner.permutation(0)[:, :16])
        results[strategy] = jax.tree.leaves(state.params)
    assert _max_diff(results["loop"], results["vmap"]) < 1e-5
    assert _max_diff(results["loop"], results["chunked"]) < 1e-5


def test_nan_seed_is_frozen_and_others_train(loop4):
    state = loop4.init_state()
    poisoned = jax.tree.map(lambda x: np.asarray(x).copy(), state.params)
    jax.tree.leaves(poisoned)[0][1] = np.nan  # seed 1 only
    state = state._replace(params=lift_lib.put_seeded(poisoned, loop4.layout))
    before = jax.tree.map(np.asarray, state.params)
    state, metrics = loop4.step(state, loop4.permutation(0)[:, :16])
    loss = np.asarray(metrics["loss"])
    assert np.isnan(loss[1]) and np.isfinite(loss[[0, 2, 3]]).all()
    assert np.asarray(state.frozen).tolist() == [False, True, False, False]
    after = jax.tree.map(np.asarray, state.params)
    moved = [
        any(not np.array_equal(b[k], a[k], equal_nan=True)
            for b, a in zip(jax.tree.leaves(before), jax.tree.leaves(after),
                            strict=True))
        for k in range(4)
    ]
    assert moved == [True, False, True, True]


def test_plateau_halves_learning_rate_per_seed(loop4):
    state = loop4.init_state()
    for loss in ([1, 1, 1, 1], [0.5, 2, 2, 2], [0.4, 2, 2, 2], [0.3, 2, 2, 2]):
        state = step_lib.plateau_update(
            state, np.asarray(loss, np.float32), patience=1, enabled=True
        )
    lr = np.asarray(state.opt_state.hyperparams["learning_rate"])
    np.testing.assert_allclose(lr, [1e-2, 5e-3, 5e-3, 5e-3], rtol=1e-6)


def test_killed_run_resumes_to_identical_parameters(reference_run, tmp_path):
    out = tmp_path / "killed"
    proc = _train_cli(
        out, "--seeds", "4", "--checkpoint-every", "3",
        env={"MANYSEEDS_TEST_STEP_DELAY": "0.3"}, wait=False,
    )
    deadline = time.time() + 240
    while time.time() < deadline and not _has_checkpoint(out):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _has_checkpoint(out) and not (out / "manifest.json").exists()
    # Without --resume the unfinished run is refused, not overwritten.
    assert main(["-q", "train", *ARGS, "--seeds", "4", "--out", str(out)]) == 2
    assert main(["-q", "train", *ARGS, "--seeds", "4", "--out", str(out),
                 "--resume"]) == 0
    assert _max_diff(_leaves(out), _leaves(reference_run)) == 0.0


def _has_checkpoint(out: Path) -> bool:
    ckpts = out / "checkpoints"
    return ckpts.is_dir() and any(
        p.name.isdigit() for p in ckpts.iterdir()
    )


def test_four_devices_equal_one_device(reference_run, tmp_path):
    out = tmp_path / "four"
    _train_cli(out, "--seeds", "4",
               env={"XLA_FLAGS": "--xla_force_host_platform_device_count=4"})
    assert json.loads((out / "config.json").read_text())["devices"] == 4
    assert _max_diff(_leaves(out), _leaves(reference_run)) < DEVICE_TOL


def test_two_processes_equal_one_process(reference_run, tmp_path):
    out = tmp_path / "distributed"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    procs = [
        _train_cli(out, "--seeds", "4", "--coordinator", f"127.0.0.1:{port}",
                   "--num-processes", "2", "--process-id", str(k), wait=False)
        for k in range(2)
    ]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert json.loads((out / "config.json").read_text())["devices"] == 2
    assert _max_diff(_leaves(out), _leaves(reference_run)) < DEVICE_TOL


def test_changed_settings_are_refused(reference_run, capsys):
    code = main(["train", *ARGS, "--seeds", "4", "--lr", "0.5",
                 "--out", str(reference_run)])
    assert code == 2
    assert "other settings" in capsys.readouterr().err
