"""The JAX engine against the NumPy reference, statistic by statistic.

Small inputs (6 people, two architectures of 5 instances, 41 images (an odd
number: half 2 has one more), 2 conditions, 8 split-halves in chunks of 3, so
the last chunk is padded) with every kind of missingness:
people complete on one metric and not on another, instances with holes, a
constant vector, an instance missing a whole condition and one missing
everything. Both implementations get the same split-halves and bootstrap
resamples.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from manyseeds.analysis import engine, reference, results, synthetic
from manyseeds.config import AnalysisConfig

N_SPLITS, N_BOOTSTRAP = 8, 50
CONFIG = AnalysisConfig(n_splits=N_SPLITS, n_bootstrap=N_BOOTSTRAP, seed=3, chunk=3)


def small_inputs(n_images: int = 41):
    """The test inputs (module docstring); all four density combinations."""
    inputs = synthetic.planted_inputs(
        n_subjects=6, archs=("a", "b"), n_instances=5, n_images=n_images,
        rt_archs=("b",), seed=1,
    )
    rng = np.random.default_rng(5)

    def holes(values, fraction=0.08):
        values[rng.random(values.shape) < fraction] = np.nan

    holes(inputs.humans["confidence"])  # people with holes on one metric only
    holes(inputs.models["a"]["accuracy"])
    holes(inputs.models["b"]["rt"])
    inputs.humans["accuracy"][3, 1, :] = 1.0  # constant: subject 3, speed
    inputs.models["a"]["confidence"][2, 0, :] = 1.5  # constant: instance 2
    inputs.models["b"]["accuracy"][1, 1, :] = np.nan  # no speed condition
    inputs.models["b"]["accuracy"][4] = np.nan  # nothing at all
    return inputs


@pytest.fixture(scope="module")
def inputs():
    return small_inputs()


@pytest.fixture(scope="module")
def draws(inputs):
    return (engine.draw_splits(CONFIG.seed, N_SPLITS, len(inputs.images)),
            engine.draw_resamples(CONFIG.seed, N_BOOTSTRAP, len(inputs.subjects)))


@pytest.fixture(scope="module")
def both(inputs, draws):
    splits, resamples = draws
    fast = engine.run(inputs, CONFIG, dtype="float64", splits=splits,
                      resamples=resamples)
    slow = reference.run(inputs, splits, resamples, CONFIG)
    return fast, slow


def _close(a, b, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float),
                               atol=atol, rtol=0, equal_nan=True)


def test_every_per_subject_statistic_matches_the_reference(both):
    fast, slow = both
    assert set(fast.per_subject) == set(slow.per_subject)
    names = {key.statistic for key in slow.per_subject}
    assert names == {
        "variability", "consistency", "consistency_own", "consistency_other",
        "across_metric_alignment", "across_metric_consistency",
        "prediction_weighted", "prediction_equal", "prediction_improvement",
    }
    for key, values in slow.per_subject.items():
        assert np.isfinite(values).any(), key
        _close(fast.per_subject[key], values)
    assert set(fast.n_iterations) == set(slow.n_iterations)
    for key, counts in slow.n_iterations.items():
        np.testing.assert_array_equal(fast.n_iterations[key], counts)


def test_similarity_units_bootstrap_and_fallback_match(both):
    fast, slow = both
    assert set(fast.similarity) == set(slow.similarity)
    for key, matrix in slow.similarity.items():
        _close(fast.similarity[key], matrix)
    # The benchmark's diagonal is undefined by construction.
    assert np.isnan(np.diag(fast.similarity[("human", "accuracy")])).all()
    for key, means in slow.units.items():
        _close(fast.units[key], means)
    for key, distribution in slow.bootstrap.items():
        _close(fast.bootstrap[key], distribution)
    assert fast.fallback == slow.fallback


def test_statistics_entries_match(both):
    fast, slow = both
    a, b = results.statistics(fast), results.statistics(slow)
    assert [(e["name"], e["arch"], e["metric"], e["metric_b"]) for e in a] == [
        (e["name"], e["arch"], e["metric"], e["metric_b"]) for e in b
    ]
    for x, y in zip(a, b, strict=True):
        for field in ("estimate", "statistic", "p"):
            if y[field] is None:
                assert x[field] is None
            else:
                _close(x[field], y[field])
        assert x["n"] == y["n"]
    panels = {e["panel"] for e in a}
    assert panels == {"1a", "1b", "1c", "2a", "2b", "3a", "3b"}


def test_undefined_alignments_are_counted_with_their_reason(both):
    fast, slow = both
    key = ("scope", "arch", "metric", "condition")
    rows = {tuple(r[k] for k in key): r for r in fast.nan_counts}
    assert rows == {tuple(r[k] for k in key): r for r in slow.nan_counts}
    everything = ("all_images",)
    # Subject 3 constant in "speed": its 5 benchmark pairs as subject, and 5
    # as another subject's unit; and 5 instances per architecture.
    assert rows[everything + ("human", "accuracy", "speed")]["constant"] == 10
    assert rows[everything + ("a", "accuracy", "speed")]["constant"] == 5
    assert rows[everything + ("a", "confidence", "accuracy")]["constant"] == 6
    # Instance 1 of b lacks "speed", instance 4 lacks everything: 6 people each.
    b_speed = rows[everything + ("b", "accuracy", "speed")]
    assert b_speed["too_few"] == 12
    assert rows[everything + ("b", "accuracy", "accuracy")]["too_few"] == 6
    # Only instance 4 is undefined in both conditions; subject 3 and the
    # constant instance 2 still have their other condition.
    assert rows[everything + ("b", "accuracy", "combined")]["undefined"] == 6
    assert rows[everything + ("a", "confidence", "combined")]["undefined"] == 0
    assert rows[everything + ("human", "accuracy", "combined")]["pairs"] == 30
    split = rows[("split_halves", "b", "accuracy", "combined")]
    assert split["undefined"] >= 6 * 2 * N_SPLITS
    assert split["pairs"] == 6 * 5 * 2 * N_SPLITS


def test_float32_is_close_to_float64_and_x64_stays_scoped(inputs, draws, both):
    splits, resamples = draws
    single = engine.run(inputs, CONFIG, splits=splits, resamples=resamples)
    assert single.settings["dtype"] == "float32"
    assert jnp.zeros(1).dtype == jnp.float32  # float64 was switched on locally
    assert not jax.config.jax_enable_x64
    for key, values in both[0].per_subject.items():
        _close(single.per_subject[key], values, atol=2e-3)
    for key, matrix in both[0].similarity.items():
        _close(single.similarity[key], matrix, atol=1e-4)


def test_split_halves_and_resamples_are_reproducible_permutations():
    a = engine.draw_splits(7, 20, 40)
    np.testing.assert_array_equal(a, engine.draw_splits(7, 20, 40))
    assert not np.array_equal(a, engine.draw_splits(8, 20, 40))
    np.testing.assert_array_equal(np.sort(a, axis=1), np.tile(np.arange(40), (20, 1)))
    assert len({tuple(row[:20]) for row in a}) == 20
    r = engine.draw_resamples(7, 500, 6)
    assert r.min() == 0 and r.max() == 5
    np.testing.assert_array_equal(r, engine.draw_resamples(7, 500, 6))


def test_default_draws_come_from_the_seed(inputs, both):
    out = engine.run(inputs, CONFIG, dtype="float64")  # draws from CONFIG.seed
    for key, values in both[0].per_subject.items():
        np.testing.assert_array_equal(out.per_subject[key], values)
