"""`evaluate_run`: calibrated behaviour of every instance as a tidy table."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from manyseeds.behaviour.evaluate import Instances, evaluate_run
from manyseeds.config import BehaviourConfig
from manyseeds.data.cohort import synth_cohort
from manyseeds.data.humans import humans_from_frame
from manyseeds.data.stimuli import Stimuli, resolve_stimuli
from manyseeds.data.table import COLUMNS, BehaviourTable
from manyseeds.errors import UserError

CONFIG = BehaviourConfig(noise_grid=(0.0, 8.0, 0.5), max_steps=30)


@dataclasses.dataclass(frozen=True, eq=False)
class LinearSpec:
    """A tiny network: logits = centred image @ W, W sampled when Bayesian."""

    arch: str = "alexnet"
    preset: str = "linear"
    input_size: int = 28
    bayesian: bool = False

    def prepare(self, images):
        return jnp.asarray(images, jnp.float32)

    def apply(self, variables, x, rng, train):
        w = variables["params"]["w"]
        if self.bayesian:  # one weight sample per call, as RTNet
            w = w + 0.02 * jax.random.normal(rng, w.shape)
        flat = x.reshape(x.shape[0], -1)
        return 20.0 * (flat - flat.mean(1, keepdims=True)) @ w, {}


def templates(mnist_dir, instances=3):
    from manyseeds.data import mnist

    test = mnist.load_mnist("test", mnist_dir)
    pixels, labels = test.as_float32()[:2000], test.labels[:2000]
    t = np.stack([pixels[labels == d].mean(0).ravel() for d in range(10)], axis=1)
    t = t - t.mean(0)
    t = t / np.linalg.norm(t, axis=0)
    rng = np.random.default_rng(1)
    return (t[None] + 0.02 * rng.normal(size=(instances, *t.shape))).astype(np.float32)


@pytest.fixture(scope="module")
def small(stimuli_path, mnist_dir):
    full = resolve_stimuli(stimuli_path, mnist_dir=mnist_dir)
    index = np.concatenate(
        [np.flatnonzero(full.noise == c)[:12] for c in ("easy", "hard")]
    )
    stimuli = Stimuli(full.images[index], full.noise[index], full.labels[index], "test")
    frame = synth_cohort(n_subjects=4, seed=0, stimuli=stimuli)
    humans = humans_from_frame(frame, source="synthetic-test")
    return stimuli, humans, templates(mnist_dir)


def test_deterministic_run_writes_a_valid_calibrated_table(small, mnist_dir, tmp_path):
    stimuli, humans, w = small
    instances = Instances(LinearSpec(), {"params": {"w": w}}, (10, 11, 12), "test")
    out = tmp_path / "alexnet.csv"
    table, calibration = evaluate_run(
        instances, humans, stimuli, CONFIG, out=out, mnist_dir=mnist_dir,
        progress=False,
    )
    back = BehaviourTable.read(out)
    assert list(back.frame.columns) == list(COLUMNS)
    assert len(back.frame) == 3 * 24 * 2
    assert back.meta["kind"] == "model" and back.meta["name"] == "alexnet"
    assert back.meta["calibrated_on_synthetic_humans"] is True
    assert sorted(back.frame["subject"].unique()) == [10, 11, 12]
    assert back.frame["rt"].isna().all()
    # Deterministic: both instruction conditions hold the same trial.
    by = back.frame.set_index(["subject", "image", "condition"]).sort_index()
    np.testing.assert_array_equal(
        by.xs("speed", level="condition")["confidence"].to_numpy(),
        by.xs("accuracy", level="condition")["confidence"].to_numpy(),
    )
    for condition in ("easy", "hard"):
        found = calibration["conditions"][condition]
        assert found["method"] == "bisection"
        assert found["level"] == back.meta["noise_levels"][condition]
        # Calibrated to the grid point closest to people, as the curve shows.
        gaps = [abs(acc - found["human_accuracy"]) for _, acc in found["curve"]]
        assert abs(found["model_accuracy"] - found["human_accuracy"]) == min(gaps)
        rows = back.frame[back.frame["noise"] == condition]
        per_instance = rows.groupby("subject")["correct"].mean()
        assert per_instance.mean() == pytest.approx(found["model_accuracy"])


def test_rtnet_like_run_with_given_levels_has_rts_per_threshold(small, mnist_dir):
    stimuli, humans, w = small
    instances = Instances(
        LinearSpec(arch="rtnet", bayesian=True), {"params": {"w": w}}, (0, 1, 2), "t"
    )
    config = dataclasses.replace(CONFIG, thresholds=(("speed", 1.5), ("accuracy", 3.0)))
    table, calibration = evaluate_run(
        instances, humans, stimuli, config, noise_levels={"easy": 1.0, "hard": 2.0},
        mnist_dir=mnist_dir, progress=False,
    )
    assert calibration["method"] == "given"
    assert calibration["conditions"]["hard"]["human_accuracy"] is not None
    frame = table.frame
    valid = frame.dropna(subset=["response"])
    assert valid["rt"].notna().all() and (valid["rt"] >= 1).all()
    rt = frame.pivot_table(index=["subject", "image"], columns="condition", values="rt")
    rt = rt.dropna()
    assert (rt["accuracy"] >= rt["speed"]).all()
    assert rt["accuracy"].mean() > rt["speed"].mean()
    assert table.meta["rtnet"]["thresholds"] == {"speed": 1.5, "accuracy": 3.0}
    # Reproducible: the same keys give the same table.
    again, _ = evaluate_run(
        instances, humans, stimuli, config, noise_levels={"easy": 1.0, "hard": 2.0},
        mnist_dir=mnist_dir, progress=False,
    )
    assert again.frame.equals(table.frame)


def test_output_and_level_errors_are_user_errors(small, mnist_dir, tmp_path):
    stimuli, humans, w = small
    instances = Instances(LinearSpec(), {"params": {"w": w}}, (0, 1, 2), "t")
    with pytest.raises(UserError, match="csv or .parquet"):
        evaluate_run(instances, humans, stimuli, CONFIG, out=tmp_path / "x.txt")
    with pytest.raises(UserError, match="noise-hard"):
        evaluate_run(instances, humans, stimuli, CONFIG, noise_levels={"easy": 1.0},
                     mnist_dir=mnist_dir, progress=False)
    with pytest.raises(UserError, match="human table"):
        evaluate_run(instances, None, stimuli, CONFIG, mnist_dir=mnist_dir)
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        with pytest.raises(UserError, match="pyarrow"):
            evaluate_run(instances, humans, stimuli, CONFIG, out=tmp_path / "x.parquet")
    else:
        out = tmp_path / "x.parquet"
        evaluate_run(instances, humans, stimuli, CONFIG, out=out,
                     noise_levels={"easy": 1.0, "hard": 1.0}, mnist_dir=mnist_dir,
                     progress=False)
        assert len(BehaviourTable.read(out).frame) == 3 * 24 * 2
