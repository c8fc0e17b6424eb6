"""Recovery: the analysis finds planted twins, and nothing when none is planted.

20 instances x 480 images with their own per-image patterns; 20 people, each
built from one instance's pattern plus noise and a shared image difficulty
(`analysis.synthetic`). With the twins planted, the best-aligned instance is
the subject's twin for most people and consistency and alignment-weighted
prediction are clearly positive; with `twin=0` (people independent of the
instances' patterns) both are near zero.
"""

from __future__ import annotations

import numpy as np
import pytest

from manyseeds.analysis import engine, results, synthetic
from manyseeds.analysis.results import Key
from manyseeds.config import AnalysisConfig

CONFIG = AnalysisConfig(n_splits=20, n_bootstrap=200, seed=0, chunk=10)


def analyse(twin: float):
    inputs = synthetic.planted_inputs(
        n_subjects=20, archs=("net",), n_instances=20, n_images=480, twin=twin,
        rt_archs=(), seed=11,
    )
    return engine.run(inputs, CONFIG)


@pytest.fixture(scope="module")
def planted():
    return analyse(twin=1.0)


@pytest.fixture(scope="module")
def independent():
    return analyse(twin=0.0)


def entry(output, name, metric, metric_b=None):
    for e in results.statistics(output):
        if (e["name"], e["arch"], e["metric"], e["metric_b"]) == (
            name, "net", metric, metric_b
        ):
            return e
    raise KeyError(name)


@pytest.mark.parametrize("metric", ["accuracy", "confidence"])
def test_best_aligned_instance_is_the_planted_twin(planted, independent, metric):
    best = np.nanargmax(planted.similarity[("net", metric)], axis=1)
    assert (best == np.arange(20)).mean() >= 0.8
    chance = np.nanargmax(independent.similarity[("net", metric)], axis=1)
    assert (chance == np.arange(20)).mean() <= 0.3


@pytest.mark.parametrize("metric", ["accuracy", "confidence"])
def test_consistency_is_positive_only_with_twins(planted, independent, metric):
    found = entry(planted, "consistency", metric)
    assert found["estimate"] > 0.3 and found["p"] < 1e-6
    null = entry(independent, "consistency", metric)
    # Zero in expectation; 20 people and 20 split-halves leave ~0.03 of noise.
    assert abs(null["estimate"]) < 0.1
    assert found["estimate"] > 5 * abs(null["estimate"])
    values = planted.per_subject[Key("consistency", "net", metric)]
    assert (values > 0).mean() >= 0.9


def test_prediction_and_across_metric_follow_the_twins(planted, independent):
    gain = entry(planted, "prediction_improvement", "accuracy")
    assert gain["estimate"] > 0 and gain["p"] < 1e-3
    across = entry(planted, "across_metric_consistency", "accuracy", "confidence")
    assert across["estimate"] > 0.3 and across["p"] < 1e-6
    null_gain = entry(independent, "prediction_improvement", "accuracy")
    assert abs(null_gain["estimate"]) < gain["estimate"] / 3
    null_across = entry(independent, "across_metric_consistency", "accuracy",
                        "confidence")
    assert abs(null_across["estimate"]) < 0.1
