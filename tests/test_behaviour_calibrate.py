"""Noise calibration: bisection over the grid = the authors' full sweep."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

from manyseeds.behaviour import calibrate as cal
from manyseeds.behaviour import noise
from manyseeds.behaviour.evaluate import Evaluator, Instances
from manyseeds.config import BehaviourConfig
from manyseeds.data import mnist
from manyseeds.data.stimuli import resolve_stimuli
from manyseeds.data.table import BehaviourTable
from manyseeds.errors import UserError

GRID = noise.noise_grid((1.00, 3.50, 0.01))


def planted(level, at=2.137):
    """Group accuracy falling from ~0.92 to ~0.13, through 0.525 at `at`."""
    return 0.125 + 0.8 / (1.0 + np.exp(3.0 * (level - at)))


def test_bisection_lands_within_one_grid_step_of_a_planted_accuracy():
    calls = []

    def accuracy_at(level):
        calls.append(level)
        return planted(level)

    found = cal.bisect_grid(accuracy_at, GRID, planted(2.137), "easy")
    assert abs(found.level - 2.137) <= 0.01
    assert found.evaluations == len(set(calls)) <= 10
    assert found.edge is None and found.method == "bisection"
    swept = cal.sweep_grid(planted, GRID, planted(2.137), "easy")
    assert swept.evaluations == 250
    assert swept.level == found.level


def test_targets_outside_the_grid_take_its_ends_and_say_so():
    low = cal.bisect_grid(planted, GRID, 0.99, "easy")
    assert low.level == 1.0 and low.edge == "low"
    high = cal.bisect_grid(planted, GRID, 0.01, "hard")
    assert high.level == 3.49 and high.edge == "high"
    assert cal.sweep_grid(planted, GRID, 0.01).edge == "high"


def test_human_accuracy_is_the_mean_over_subjects_per_noise_condition():
    frame = pd.DataFrame({
        "subject": [1, 1, 1, 2, 2, 1, 2, 2],
        "image": [1, 2, 3, 1, 2, 4, 4, 5],
        "noise": ["easy"] * 5 + ["hard"] * 3,
        "condition": ["speed", "accuracy", "speed", "speed", "accuracy",
                      "speed", "speed", "accuracy"],
        "repeat": 1,
        "response": 1.0,
        "correct": [1.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, np.nan],
        "confidence": 1.0,
        "rt": 0.5,
    })
    table = BehaviourTable(frame, {"kind": "human", "name": "h"})
    acc = cal.human_accuracy(table)
    assert acc["easy"] == pytest.approx((2 / 3 + 1.0) / 2)
    assert acc["hard"] == pytest.approx((0.0 + 1.0) / 2)
    with pytest.raises(UserError, match="hard"):
        cal.human_accuracy(BehaviourTable(frame[frame.noise == "easy"], {}))


def test_group_accuracy_averages_instances_and_skips_missing_trials():
    correct = np.array([[1.0, 0.0, np.nan], [1.0, 1.0, 1.0], [np.nan] * 3])
    assert cal.group_accuracy(correct) == pytest.approx((0.5 + 1.0) / 2)


@dataclasses.dataclass(frozen=True, eq=False)
class CentroidSpec:
    """A tiny 'network': correlation with per-instance class templates.

    Image and templates are centred, so the noise's mean does not favour any
    class; the fixed noise pattern scaled by the level moves every logit
    linearly in the level, and accuracy falls with it.
    """

    arch: str = "alexnet"
    preset: str = "centroid"
    input_size: int = 28
    bayesian: bool = False

    def prepare(self, images):
        return jnp.asarray(images, jnp.float32)

    def apply(self, variables, x, rng, train):
        flat = x.reshape(x.shape[0], -1)
        flat = flat - flat.mean(1, keepdims=True)
        templates = variables["params"]["centroids"]
        templates = templates - templates.mean(1, keepdims=True)
        templates = templates / jnp.linalg.norm(templates, axis=1, keepdims=True)
        return flat @ templates.T, {}


def test_bisection_picks_the_sweeps_grid_point_on_a_tiny_model(stimuli_path, mnist_dir):
    test = mnist.load_mnist("test", mnist_dir)
    pixels, labels = test.as_float32()[:2000], test.labels[:2000]
    centroids = np.stack([pixels[labels == d].mean(0).ravel() for d in range(10)])
    rng = np.random.default_rng(0)
    stacked = centroids[None] + 0.05 * rng.normal(size=(3, *centroids.shape))
    instances = Instances(
        CentroidSpec(), {"params": {"centroids": stacked.astype(np.float32)}},
        (0, 1, 2), "test",
    )
    # All 480 stimuli: with fewer, single images make the curve jagged.
    stimuli = resolve_stimuli(stimuli_path, mnist_dir=mnist_dir)
    config = BehaviourConfig(noise_grid=(0.0, 12.0, 0.5))
    grid = noise.noise_grid(config.noise_grid)
    prepared = noise.prepare_stimuli(instances.spec, stimuli, 0, test=test)
    evaluator = Evaluator(instances, prepared, config, progress=False)
    for condition in ("easy", "hard"):
        curve = [evaluator.accuracy(condition, level) for level in grid]
        assert curve[0] > curve[-1] + 0.2  # accuracy falls with noise
        for target in np.linspace(min(curve), max(curve), 7)[1:-1]:
            swept = cal.sweep_grid(
                lambda lv, c=condition: evaluator.accuracy(c, lv), grid, target
            )
            found = cal.bisect_grid(
                lambda lv, c=condition: evaluator.accuracy(c, lv), grid, target
            )
            assert abs(found.level - swept.level) <= 0.5 + 1e-9
            assert found.evaluations <= 7
