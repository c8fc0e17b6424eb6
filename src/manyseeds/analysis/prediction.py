"""Alignment-weighted prediction of a subject's held-out behaviour (Fig. 3).

Definitions (PROTOCOL.md section 4, item 7; paper, section 2 and Fig. 3), for
subject s in one split-half iteration, weights from metric A and predicted
metric B (A = B within-metric, Fig. 3a; A != B across-metric, Fig. 3b):

- Weights: w_n = r1[s, n] where r1[s, n] > `WEIGHT_FLOOR`, else 0, where r1
  is the half-1 similarity matrix of metric A and n runs over the units
  (instances, or the other subjects for the human-human benchmark; an
  undefined r1 gives weight 0). That is max(r, 0), except that alignments
  within `WEIGHT_FLOOR` of zero (zero up to rounding, which happens with
  discrete behaviour such as accuracy) get no weight in either precision.
  Negative alignments get no weight because a weighted average with negative
  weights is not an average. When no weight is positive, the equal weights
  below are used (the improvement is then exactly zero; such cases are
  counted).
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

from manyseeds.analysis.similarity import (
    Sums,
    fisher_mean,
    masked_sums,
    pearson_from_sums,
)

# Alignments at or below this get no weight (module docstring).
WEIGHT_FLOOR = 1e-6


def alignment_weights(half1_rows, equal_weights):
    """Weights from half-1 alignments: r above the floor, else equal weights.

    Args:
      half1_rows: `[iteration, subject, unit]` half-1 similarity rows
        (metric A), NaN where undefined.
      equal_weights: `[subject, unit]` the equal weights (1, and 0 for the
        subject itself in the benchmark).

    Returns:
      (weights `[iteration, subject, unit]`, fell_back `[iteration, subject]`).
    """
    weights = jnp.where(half1_rows > WEIGHT_FLOOR, half1_rows, 0.0)  # NaN -> 0
    weights = weights * (equal_weights > 0)
    fell_back = weights.sum(-1) <= 0
    weights = jnp.where(fell_back[..., None], equal_weights[None], weights)
    return weights, fell_back


def weighted_prediction(weights, y0, my):
    """Weighted average of the units' behaviour, image by image.

    Arrays are image-major (`[iteration, image, condition, ...]`) so that
    picking the half-2 images is a gather of whole rows.

    Args:
      weights: `[iteration, subject, unit]`, non-negative.
      y0, my: `[iteration, image, unit, condition]` values (0 where missing)
        and 0/1 mask.

    Returns:
      (p0, mp), each `[iteration, image, condition, subject]`: the prediction
      (0 where undefined) and 1 where some unit with a positive weight has
      the image.
    """
    n_conditions = y0.shape[-1]
    both = jnp.einsum("tjuc,tsu->tjcs", jnp.concatenate([y0, my], axis=-1), weights)
    numerator, denominator = both[:, :, :n_conditions], both[:, :, n_conditions:]
    defined = denominator > 0
    p0 = jnp.where(defined, numerator / jnp.where(defined, denominator, 1.0), 0.0)
    return p0, defined.astype(y0.dtype)


def prediction_score(p0, mp, x0, mx, min_count: int, tol: float):
    """Fisher-mean over conditions of corr(prediction, target) over images.

    Args:
      p0, mp: `[iteration, image, condition, subject]` prediction (0 where
        undefined) and 0/1 mask.
      x0, mx: `[iteration, image, condition, subject]` the subject's
        behaviour (0 where missing) and mask.
      min_count, tol: see `similarity.pearson_from_sums`.

    Returns:
      `[iteration, subject]`.
    """
    sums = masked_sums(p0, mp, x0, mx, axis=1)
    return fisher_mean(pearson_from_sums(sums, min_count, tol).r, axis=1)


def gram_score(weights, sums, gram, min_count: int, tol: float):
    """The score without forming the prediction, when nothing is missing.

    With no missing values among the units and the people, the prediction is
    P = w~ Y (w~ = w / sum w), so its sums over the half-2 images follow from
    sums already at hand: sum P = w~ . sum_j y, sum P x = w~ . sum_j x y, and
    sum P^2 = w~' G w~ with G the units' Gram matrix over those images. The
    score is then the same Pearson correlation as `prediction_score`.

    Args:
      weights: `[iteration, subject, unit]` non-negative, positive sum.
      sums: `similarity.Sums` of people x units over the half-2 images,
        broadcastable to `[iteration, condition, subject, unit]`.
      gram: `[iteration, condition, unit, unit]` sum over half-2 images of
        y_u y_v.
      min_count, tol: see `similarity.pearson_from_sums`.

    Returns:
      `[iteration, subject]`.
    """
    w = weights / weights.sum(-1, keepdims=True)
    shape = jnp.broadcast_shapes(*(a.shape for a in sums))

    def per_subject(a):  # [iteration, condition, subject, 1 or unit] -> [.., subject]
        return jnp.broadcast_to(a, shape)[..., 0]

    def weighted(a):  # sum over units of w~ * a
        return (w[:, None] * a).sum(-1)

    prediction_sums = Sums(
        n=per_subject(sums.n),
        sx=weighted(sums.sy),
        sy=per_subject(sums.sx),
        sxx=jnp.einsum("tsu,tcuv,tsv->tcs", w, gram, w),
        syy=per_subject(sums.sxx),
        sxy=weighted(sums.sxy),
    )
    return fisher_mean(pearson_from_sums(prediction_sums, min_count, tol).r, axis=1)
