"""Tests across subjects: t-tests, the bootstrap of subjects, spreads.

Each function takes per-subject (or per-unit) values with NaN for undefined
ones, drops the NaN (pairwise for paired tests), and returns the fields of a
statistics entry (`results` documents them): estimate, sem, test, statistic,
df, n, p, details. Tests are two-sided. The paper's choices (PROTOCOL.md
section 4; paper, Figs. 1-3 captions): paired t-tests across subjects against
the human-human benchmark (Figs. 1c, 2, 3), one-sample t-tests against zero
(Figs. 2a, 3), 2,000 bootstrap resamples of subjects for the variability
differences (Fig. 1b). The Levene test of spread (Fig. 1a) is ours; the paper
shows the spreads without a test.

Bootstrap p value: with d_b the resampled mean differences (resamples with
no finite value dropped, B left), p = min(1, 2 (k + 1) / (B + 1)) where k is
the smaller of #(d_b <= 0) and #(d_b >= 0) (a percentile test with the usual
+1 so that p is never exactly 0).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats as sps

ONE_SAMPLE = "one-sample t-test vs 0"
PAIRED = "paired t-test"
BOOTSTRAP = "bootstrap of subjects"
LEVENE = "Levene test (median-centred)"


def nan_mean(values: np.ndarray) -> float:
    """Mean of the finite values; NaN if there are none."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _sem(values: np.ndarray) -> float:
    if values.size < 2:
        return float("nan")
    return float(values.std(ddof=1) / np.sqrt(values.size))


def describe(values: np.ndarray) -> dict[str, Any]:
    """Mean over subjects with its SEM, no test."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    return {"estimate": nan_mean(finite), "sem": _sem(finite), "n": int(finite.size)}


def one_sample_t(values: np.ndarray) -> dict[str, Any]:
    """Two-sided one-sample t-test of the mean against zero."""
    fields = describe(values)
    fields["test"] = ONE_SAMPLE
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size >= 2:
        result = sps.ttest_1samp(finite, 0.0)
        fields.update(statistic=float(result.statistic), df=finite.size - 1,
                      p=float(result.pvalue))
    return fields


def paired_t(values: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    """Two-sided paired t-test of `values - reference` across subjects."""
    values = np.asarray(values, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    both = np.isfinite(values) & np.isfinite(reference)
    fields = describe(values[both] - reference[both])
    fields["test"] = PAIRED
    if both.sum() >= 2:
        result = sps.ttest_rel(values[both], reference[both])
        fields.update(statistic=float(result.statistic), df=int(both.sum()) - 1,
                      p=float(result.pvalue))
    return fields


def bootstrap_p(distribution: np.ndarray) -> float:
    """Two-sided bootstrap p of a mean difference being zero (module docstring)."""
    distribution = np.asarray(distribution, dtype=np.float64)
    distribution = distribution[np.isfinite(distribution)]
    if distribution.size == 0:
        return float("nan")
    k = min((distribution <= 0).sum(), (distribution >= 0).sum())
    return float(min(1.0, 2.0 * (k + 1) / (distribution.size + 1)))


def bootstrap_test(
    values: np.ndarray, reference: np.ndarray, distribution: np.ndarray
) -> dict[str, Any]:
    """Mean of `values - reference` with its bootstrap p and 95% interval.

    Args:
      values, reference: `[subject]`.
      distribution: `[resample]` mean differences over resampled subjects.
    """
    values = np.asarray(values, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    both = np.isfinite(values) & np.isfinite(reference)
    fields = describe(values[both] - reference[both])
    finite = distribution[np.isfinite(distribution)]
    low, high = np.percentile(finite, [2.5, 97.5]) if finite.size else (np.nan,) * 2
    fields.update(
        test=BOOTSTRAP,
        p=bootstrap_p(distribution),
        details={"ci_low": float(low), "ci_high": float(high),
                 "n_bootstrap": int(finite.size)},
    )
    return fields


def spread(means: np.ndarray, normalise: bool = False) -> dict[str, Any]:
    """Mean, SD (ddof = 1), min, max and range of per-unit means (Fig. 1a).

    With `normalise`, also the same of the means divided by their average
    (the paper normalises confidence and RT so that scales compare).
    """
    means = np.asarray(means, dtype=np.float64)
    finite = means[np.isfinite(means)]
    out: dict[str, Any] = {"n": int(finite.size)}
    blocks = [("", finite)]
    if normalise and finite.size:
        blocks.append(("normalised_", finite / finite.mean()))
    for prefix, values in blocks:
        if values.size == 0:
            continue
        out[prefix + "mean"] = float(values.mean())
        out[prefix + "sd"] = float(values.std(ddof=1)) if values.size > 1 else np.nan
        out[prefix + "min"] = float(values.min())
        out[prefix + "max"] = float(values.max())
        out[prefix + "range"] = float(values.max() - values.min())
    return out


def spread_test(
    means: np.ndarray, human_means: np.ndarray, normalise: bool = False
) -> dict[str, Any]:
    """SD ratio of a set's unit means to the people's, with Levene's test.

    With `normalise`, both are divided by their own average first.
    """
    a = np.asarray(means, dtype=np.float64)
    b = np.asarray(human_means, dtype=np.float64)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if normalise and a.size and b.size:
        a, b = a / a.mean(), b / b.mean()
    fields: dict[str, Any] = {"test": LEVENE, "n": int(a.size),
                              "details": {"n_human": int(b.size)}}
    if a.size >= 2 and b.size >= 2:
        fields["estimate"] = float(a.std(ddof=1) / b.std(ddof=1))
        result = sps.levene(a, b, center="median")
        fields.update(statistic=float(result.statistic), p=float(result.pvalue))
    return fields
