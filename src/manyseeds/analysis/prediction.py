"""Alignment-weighted prediction of a subject's held-out behaviour (Fig. 3).

Definitions (PROTOCOL.md section 4, item 7; paper, section 2 and Fig. 3), for
subject s in one split-half iteration, weights from metric A and predicted
metric B (A = B within-metric, Fig. 3a; A != B across-metric, Fig. 3b):

- Weights: w_n = max(r1[s, n], 0), where r1 is the half-1 similarity matrix
  of metric A and n runs over the units (instances, or the other subjects for
  the human-human benchmark; an undefined r1 gives weight 0). Negative
  alignments get no weight because a weighted average with negative weights is
  not an average. When no weight is positive, the equal weights below are used
  (the improvement is then exactly zero; such cases are counted).
- Equal weights: 1 for every unit (every other subject for the benchmark).
- Prediction of image i in condition c (half-2 images only):
  sum_n w_n y[n, c, i] / sum_n w_n, both sums over the units whose y[n, c, i]
  is finite; NaN when none is.
- Score: the Pearson correlation over half-2 images of the prediction with the
  subject's own half-2 behaviour on metric B, per condition, combined over
  conditions by the Fisher-z mean of `similarity` (pairwise-complete, the same
  `min_count`).
- Improvement: weighted score minus equal-weight score, per iteration; the
  iteration average is the subject's value.

The units' behaviour may be standardised per set (`similarity.standardise`):
one affine map for all units of a set commutes with a weighted average, and a
correlation is unchanged by it.
"""

from __future__ import annotations

import jax.numpy as jnp

from manyseeds.analysis.similarity import fisher_mean, rowwise_pearson


def alignment_weights(half1_rows, equal_weights):
    """Weights from half-1 alignments: max(r, 0), equal weights if none positive.

    Args:
      half1_rows: `[iteration, subject, unit]` half-1 similarity rows
        (metric A), NaN where undefined.
      equal_weights: `[subject, unit]` the equal weights (1, and 0 for the
        subject itself in the benchmark).

    Returns:
      (weights `[iteration, subject, unit]`, fell_back `[iteration, subject]`).
    """
    weights = jnp.where(jnp.isfinite(half1_rows), jnp.maximum(half1_rows, 0.0), 0.0)
    weights = weights * (equal_weights > 0)
    fell_back = weights.sum(-1) <= 0
    weights = jnp.where(fell_back[..., None], equal_weights[None], weights)
    return weights, fell_back


def weighted_prediction(weights, values):
    """Weighted average of the units' behaviour, image by image.

    Args:
      weights: `[iteration, subject, unit]`, non-negative.
      values: `[iteration, unit, condition, image]` with NaN for missing.

    Returns:
      `[iteration, subject, condition, image]`, NaN where no unit with a
      positive weight has the image.
    """
    finite = jnp.isfinite(values)
    numerator = jnp.einsum("tsu,tucj->tscj", weights, jnp.where(finite, values, 0.0))
    denominator = jnp.einsum("tsu,tucj->tscj", weights, finite.astype(weights.dtype))
    ok = denominator > 0
    return jnp.where(ok, numerator / jnp.where(ok, denominator, 1.0), jnp.nan)


def prediction_score(prediction, target, min_count: int, tol: float):
    """Fisher-mean over conditions of corr(prediction, target) over images.

    Args:
      prediction, target: `[iteration, subject, condition, image]` with NaN
        for missing.
      min_count, tol: see `similarity.rowwise_pearson`.

    Returns:
      `[iteration, subject]`.
    """
    r = rowwise_pearson(prediction, target, min_count, tol).r
    return fisher_mean(r, axis=-1)
