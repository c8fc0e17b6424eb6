"""Tests across subjects: NaN handling, the bootstrap p value, spreads."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from manyseeds.analysis import stats


def test_paired_t_drops_incomplete_pairs_and_matches_scipy():
    a = np.array([0.3, 0.5, np.nan, 0.2, 0.6, 0.4])
    b = np.array([0.1, 0.4, 0.2, np.nan, 0.3, 0.35])
    fields = stats.paired_t(a, b)
    keep = np.isfinite(a) & np.isfinite(b)
    expected = sps.ttest_rel(a[keep], b[keep])
    assert fields["n"] == 4 and fields["df"] == 3
    assert fields["statistic"] == pytest.approx(expected.statistic)
    assert fields["p"] == pytest.approx(expected.pvalue)
    assert fields["estimate"] == pytest.approx(np.mean(a[keep] - b[keep]))
    assert fields["test"] == stats.PAIRED


def test_one_sample_t_and_too_few_values():
    values = np.array([0.2, np.nan, 0.4, 0.1])
    fields = stats.one_sample_t(values)
    expected = sps.ttest_1samp([0.2, 0.4, 0.1], 0.0)
    assert fields["n"] == 3
    assert fields["p"] == pytest.approx(expected.pvalue)
    lonely = stats.one_sample_t(np.array([0.3, np.nan]))
    assert lonely["n"] == 1 and "p" not in lonely and lonely["estimate"] == 0.3


def test_bootstrap_p_counts_both_tails_with_the_plus_one():
    assert stats.bootstrap_p(np.full(1999, 0.1)) == pytest.approx(2 / 2000)
    symmetric = np.concatenate([np.full(1000, -1.0), np.full(1000, 1.0)])
    assert stats.bootstrap_p(symmetric) == 1.0
    shifted = np.concatenate([np.full(10, -1.0), np.full(89, 1.0), [np.nan]])
    assert stats.bootstrap_p(shifted) == pytest.approx(2 * 11 / 100)
    fields = stats.bootstrap_test(np.array([1.0, 2.0]), np.array([0.5, 1.0]), shifted)
    assert fields["estimate"] == pytest.approx(0.75)
    assert fields["details"]["n_bootstrap"] == 99


def test_spread_normalises_by_the_average():
    means = np.array([1.0, 2.0, 3.0, np.nan])
    out = stats.spread(means, normalise=True)
    assert out["n"] == 3 and out["range"] == 2.0
    assert out["normalised_mean"] == pytest.approx(1.0)
    assert out["normalised_range"] == pytest.approx(1.0)
    assert "normalised_sd" not in stats.spread(means)


def test_spread_test_ratio_and_levene():
    rng = np.random.default_rng(0)
    wide, narrow = rng.normal(5, 2, 60), rng.normal(5, 0.5, 60)
    fields = stats.spread_test(wide, narrow)
    assert fields["estimate"] == pytest.approx(wide.std(ddof=1) / narrow.std(ddof=1))
    assert fields["p"] < 1e-6
    same = stats.spread_test(wide, wide * 3, normalise=True)
    assert same["estimate"] == pytest.approx(1.0)
