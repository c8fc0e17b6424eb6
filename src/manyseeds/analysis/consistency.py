"""Statistics of alignment rows: variability, consistency, across-metric.

A subject's alignment row is its row of a similarity matrix: its alignment
with every instance of one architecture (or with every other subject for the
human-human benchmark, whose own entry is NaN). Definitions, per subject
(PROTOCOL.md section 4, items 4-6; paper, section 2 and Figs. 1b, 1c, 2):

- Variability (Fig. 1b): the SD (ddof = 1) of the subject's alignment row on
  all images, over its finite entries (NaN with fewer than two).
- Consistency (Fig. 1c): in each split-half iteration, R[s, s'] is the Pearson
  correlation, over units (instances, or subjects for the benchmark), of
  subject s's row in half 1 with subject s''s row in half 2. Consistency is
  R[s, s] minus the mean of R[s, s'] over the other subjects s' (the part any
  subject's row would share), then averaged over iterations. Rows are
  correlated over the units where both are finite (pairwise-complete,
  `similarity.matrix_pearson`); for the benchmark this drops the units s and s'
  themselves, so R[s, s'] uses the S - 2 other subjects and R[s, s] the S - 1.
  The mean over other subjects skips undefined R[s, s'].
- Across-metric alignment (Fig. 2a): the Pearson correlation, over units, of
  the subject's row on metric A with its row on metric B (all images).
- Across-metric consistency (Fig. 2b): consistency with half 1 of metric A
  against half 2 of metric B; both directions (A1 vs B2 and B1 vs A2) are
  computed in each iteration and averaged, so the value does not depend on
  which metric is named first; NaN when either direction is.

Averaging over iterations skips iterations where the value is undefined; the
number of iterations used is kept beside each value (`engine`).
"""

from __future__ import annotations

import jax.numpy as jnp

from manyseeds.analysis.similarity import matrix_pearson, rowwise_pearson


def nan_mean(values, axis: int = -1):
    """Mean over `axis` of the finite values; NaN where there are none."""
    finite = jnp.isfinite(values)
    count = finite.sum(axis)
    total = jnp.where(finite, values, 0.0).sum(axis)
    return jnp.where(count > 0, total / jnp.maximum(count, 1), jnp.nan)


def variability(similarity):
    """Per-subject SD (ddof = 1) of alignment rows over their finite entries.

    Args:
      similarity: `[..., subject, unit]` with NaN for undefined entries.

    Returns:
      `[..., subject]`, NaN where a row has fewer than two finite entries.
    """
    finite = jnp.isfinite(similarity)
    count = finite.sum(-1)
    mean = nan_mean(similarity)
    deviation = jnp.where(finite, similarity - mean[..., None], 0.0)
    var = (deviation * deviation).sum(-1) / jnp.maximum(count - 1, 1)
    return jnp.where(count >= 2, jnp.sqrt(var), jnp.nan)


def row_consistency(half1, half2, min_count: int, tol: float):
    """Own-row correlation between halves minus the mean with other subjects.

    Args:
      half1: `[iteration, subject, unit]` alignment rows from half 1.
      half2: `[iteration, subject, unit]` alignment rows from half 2 (of the
        same metric, or of another metric for across-metric consistency).
      min_count: fewest shared finite units for a defined row correlation.
      tol: see `similarity.tolerance`.

    Returns:
      (consistency, own, other), each `[iteration, subject]`.
    """
    r = matrix_pearson(half1, half2, min_count, tol).r
    n_subjects = r.shape[-1]
    own = jnp.diagonal(r, axis1=-2, axis2=-1)
    others = jnp.where(jnp.eye(n_subjects, dtype=bool), jnp.nan, r)
    other = nan_mean(others)
    return own - other, own, other


def across_metric_alignment(similarity_a, similarity_b, min_count: int, tol: float):
    """Per-subject correlation of its alignment rows on two metrics.

    Args:
      similarity_a, similarity_b: `[subject, unit]` similarity matrices of the
        same units on metrics A and B.
      min_count, tol: as in `row_consistency`.

    Returns:
      `[subject]`.
    """
    return rowwise_pearson(similarity_a, similarity_b, min_count, tol).r
