"""Similarity matrices: Pearson correlations between people and instances.

Definitions (PROTOCOL.md section 4, items 1-2; paper, section 2 "Methods"):

- Behaviour vector: for one subject (or instance), one metric and one
  instruction condition, the value of every image with the repeats averaged
  (`data.table.behaviour_vectors`); NaN where the subject has no valid trial of
  that image in that condition.
- Alignment of subject s with instance n in condition c: the Pearson
  correlation over the images where both vectors are finite (pairwise-complete).
  It is undefined (NaN) when fewer than `min_count` images are shared
  ("too_few") or when either vector is constant over the shared images
  ("constant"); both reasons are counted, never replaced by a number.
- Similarity matrix `[subject, instance]`: the alignments of every condition,
  Fisher z-transformed, averaged over the conditions where they are defined,
  and transformed back with tanh, so that every entry is on the correlation
  scale. Correlations are clipped to +-`R_MAX` before arctanh so that a
  perfect correlation stays finite. An entry is NaN only when no condition
  defines it.
- Human-human benchmark: the instances are the subjects themselves and the
  diagonal (a subject with itself) is NaN, so a row holds the alignments with
  the other S - 1 subjects (the paper's 60 x 59 matrix, stored as 60 x 60).

The functions here are pure and jit-able. A Pearson correlation is computed
from sums over images (count, sums, sums of squares, cross products), each a
matrix product over the image axis, so that a similarity matrix for many
split-halves is one batched product. Sums are additive over images, so the
second half of a split is the total minus the first half. Inputs are expected
to be standardised per set beforehand (`standardise`), which leaves every
correlation unchanged and keeps the one-pass sums accurate in float32.
"""

from __future__ import annotations

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

# Correlations are clipped to this magnitude before the Fisher z-transform.
R_MAX = 1.0 - 1e-7


class Sums(NamedTuple):
    """Sums over the images shared by pairs of vectors, `[..., a, b]` each.

    Attributes:
      n: number of shared finite images.
      sx, sy: sums of the left and right vectors over them.
      sxx, syy: sums of squares.
      sxy: sum of products.
    """

    n: jnp.ndarray
    sx: jnp.ndarray
    sy: jnp.ndarray
    sxx: jnp.ndarray
    syy: jnp.ndarray
    sxy: jnp.ndarray


def standardise(values: np.ndarray) -> np.ndarray:
    """Centre and scale a set's behaviour per condition, over all its cells.

    One mean and one SD per condition for the whole `[unit, condition, image]`
    block, so every vector of the set gets the same affine map: correlations do
    not change, and weighted averages of instances (`prediction`) commute with
    it. NaN stays NaN.

    Args:
      values: `[unit, condition, image]` float with NaN for missing.

    Returns:
      `[unit, condition, image]` float64.
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    for c in range(values.shape[1]):
        block = values[:, c, :]
        finite = np.isfinite(block)
        mean = block[finite].mean() if finite.any() else 0.0
        sd = block[finite].std() if finite.sum() > 1 else 0.0
        out[:, c, :] = (block - mean) / (sd if sd > 0 else 1.0)
    return out


def split_nan(values: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Values with NaN set to 0, and the mask of finite cells, both in `dtype`."""
    finite = np.isfinite(values)
    return np.where(finite, values, 0.0).astype(dtype), finite.astype(dtype)


def tolerance(dtype) -> float:
    """Relative variance below which a vector counts as constant.

    A vector is constant over the shared images when the sum of its squared
    deviations is at most `tolerance * sum of squares`: exactly zero in exact
    arithmetic, a few rounding errors in floating point.
    """
    return 1e-5 if jnp.dtype(dtype) == jnp.float32 else 1e-12


def pair_sums(x, mx, y, my, half=None) -> Sums:
    """Sums over shared images for every pair of a left and a right vector.

    Args:
      x, mx: `[condition, a, image]` values (0 where missing) and finite mask.
      y, my: `[condition, b, image]` likewise.
      half: optional `[iteration, image]` 0/1 mask of the images to sum over.

    Returns:
      `Sums` of shape `[condition, a, b]`, or `[iteration, condition, a, b]`
      with `half`.
    """
    if half is not None:
        x = x[None] * half[:, None, None, :]
        mx = mx[None] * half[:, None, None, :]
    a = x.shape[-2]

    def dot(left, right):
        return jnp.einsum("...cai,cbi->...cab", left, right)

    # Three products instead of six: the left stacks share their right side.
    by_my = dot(jnp.concatenate([mx, x, x * x], axis=-2), my)
    by_y = dot(jnp.concatenate([mx, x], axis=-2), y)
    syy = dot(mx, y * y)
    return Sums(
        n=by_my[..., :a, :],
        sx=by_my[..., a : 2 * a, :],
        sxx=by_my[..., 2 * a :, :],
        sy=by_y[..., :a, :],
        sxy=by_y[..., a:, :],
        syy=syy,
    )


def subtract(total: Sums, part: Sums) -> Sums:
    """Sums over the images of `total` that are not in `part` (the other half)."""
    return Sums(*(t - p for t, p in zip(total, part, strict=True)))


class Correlation(NamedTuple):
    """Pearson correlations and why some are undefined.

    Attributes:
      r: correlations, NaN where undefined.
      too_few: fewer than `min_count` shared finite values.
      constant: enough values, but one side constant over them.
    """

    r: jnp.ndarray
    too_few: jnp.ndarray
    constant: jnp.ndarray


def pearson_from_sums(sums: Sums, min_count: int, tol: float) -> Correlation:
    """Pearson correlation from sums over the shared values (same shapes)."""
    n, sx, sy, sxx, syy, sxy = sums
    too_few = n < min_count
    safe_n = jnp.where(too_few | (n <= 0), 1.0, n)
    vx = sxx - sx * sx / safe_n
    vy = syy - sy * sy / safe_n
    cxy = sxy - sx * sy / safe_n
    constant = ~too_few & ((vx <= tol * sxx) | (vy <= tol * syy))
    ok = ~too_few & ~constant
    denominator = jnp.sqrt(jnp.where(ok, vx * vy, 1.0))
    r = jnp.where(ok, jnp.clip(cxy / denominator, -1.0, 1.0), jnp.nan)
    return Correlation(r=r, too_few=too_few, constant=constant)


def rowwise_pearson(x, y, min_count: int, tol: float) -> Correlation:
    """Pearson correlation of paired vectors along the last axis, NaN-aware.

    Args:
      x, y: `[..., k]` arrays with NaN for missing; pairs are the leading
        indices, values the last axis.
      min_count: fewest shared finite values for a defined correlation.
      tol: see `tolerance`.

    Returns:
      `Correlation` of shape `[...]`.
    """
    both = jnp.isfinite(x) & jnp.isfinite(y)
    x0 = jnp.where(both, x, 0.0)
    y0 = jnp.where(both, y, 0.0)
    m = both.astype(x0.dtype)
    sums = Sums(
        n=m.sum(-1),
        sx=x0.sum(-1),
        sy=y0.sum(-1),
        sxx=(x0 * x0).sum(-1),
        syy=(y0 * y0).sum(-1),
        sxy=(x0 * y0).sum(-1),
    )
    return pearson_from_sums(sums, min_count, tol)


def matrix_pearson(x, y, min_count: int, tol: float) -> Correlation:
    """Pearson correlation of every row of `x` with every row of `y`, NaN-aware.

    Each pair uses the positions where both rows are finite.

    Args:
      x: `[..., a, k]` with NaN for missing.
      y: `[..., b, k]` with the same leading axes.
      min_count: fewest shared finite values for a defined correlation.
      tol: see `tolerance`.

    Returns:
      `Correlation` of shape `[..., a, b]`.
    """
    mx = jnp.isfinite(x).astype(x.dtype)
    my = jnp.isfinite(y).astype(y.dtype)
    x0 = jnp.where(mx > 0, x, 0.0)
    y0 = jnp.where(my > 0, y, 0.0)

    def dot(left, right):
        return jnp.einsum("...ak,...bk->...ab", left, right)

    sums = Sums(
        n=dot(mx, my),
        sx=dot(x0, my),
        sy=dot(mx, y0),
        sxx=dot(x0 * x0, my),
        syy=dot(mx, y0 * y0),
        sxy=dot(x0, y0),
    )
    return pearson_from_sums(sums, min_count, tol)


def fisher_mean(r, axis: int = 0):
    """Average correlations in Fisher z over `axis`, skipping NaN; back via tanh.

    Returns NaN where every value along `axis` is NaN.
    """
    z = jnp.arctanh(jnp.clip(r, -R_MAX, R_MAX))
    finite = jnp.isfinite(z)
    count = finite.sum(axis)
    total = jnp.where(finite, z, 0.0).sum(axis)
    return jnp.where(count > 0, jnp.tanh(total / jnp.maximum(count, 1)), jnp.nan)


def self_mask(n_subjects: int, columns: tuple[int, int], n_columns: int):
    """`[subject, column]` True where a column is the subject itself.

    Args:
      n_subjects: rows.
      columns: (start, stop) of the human block among the columns; column
        `start + s` is subject s.
      n_columns: total columns.
    """
    start, stop = columns
    mask = np.zeros((n_subjects, n_columns), dtype=bool)
    mask[np.arange(stop - start), start + np.arange(stop - start)] = True
    return mask
