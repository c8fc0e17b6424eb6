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
  ("constant": its squared deviations are zero up to rounding, see
  `tolerance`); both reasons are counted, never replaced by a number.
  Infinite values count as missing.
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

import jax
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
    it. NaN (and any infinity) comes out as NaN.

    Args:
      values: `[unit, condition, image]` float with NaN for missing.

    Returns:
      `[unit, condition, image]` float64.
    """
    values = np.asarray(values, dtype=np.float64)
    values = np.where(np.isfinite(values), values, np.nan)
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


def pair_sums(
    x, mx, y, my, half=None, x_dense: bool = False, y_dense: bool = False
) -> Sums:
    """Sums over shared images for every pair of a left and a right vector.

    The pair sums come from one matrix product of a left stack (x, and x^2 and
    the mask where needed) with a right stack (y, and its mask and y^2 where
    needed): one large product is faster on CPU than several small ones. A
    side without missing values (`*_dense`) needs no mask, so its sums are
    plain sums over images and the product shrinks (9 blocks with missing
    values on both sides, 4 with one, 1 with none). With `half`, the left
    stack is multiplied by the 0/1 image mask of each iteration, so all
    iterations share one product.

    Args:
      x, mx: `[condition, a, image]` values (0 where missing) and 0/1 mask.
      y, my: `[condition, b, image]` likewise.
      half: optional `[iteration, image]` 0/1 mask of the images to sum over.
      x_dense, y_dense: the side has no missing value (its mask is all 1).

    Returns:
      `Sums` broadcastable to `[condition, a, b]`, or to `[iteration,
      condition, a, b]` with `half`.
    """

    def product(left, right):
        if half is None:
            return jnp.einsum("cai,cbi->cab", left, right)
        return jnp.einsum("tcai,cbi->tcab", left[None] * half[:, None, None, :], right)

    def total(a):  # sum over (half's) images: [(iteration,) condition, rows]
        return a.sum(-1) if half is None else jnp.einsum("ti,cri->tcr", half, a)

    left = [x] + ([x * x] if not y_dense else []) + ([mx] if not x_dense else [])
    right = [y] + ([my] if not y_dense else []) + ([y * y] if not x_dense else [])
    products = product(jnp.concatenate(left, axis=1), jnp.concatenate(right, axis=1))
    a, b = x.shape[1], y.shape[1]

    def block(i, j):
        return products[..., i * a : (i + 1) * a, j * b : (j + 1) * b]

    mask_row = len(left) - 1  # mx is last on the left when present
    if y_dense:
        sx, sxx = total(x)[..., None], total(x * x)[..., None]
        n = total(mx)[..., None]
    else:
        sx, sxx = block(0, 1), block(1, 1)
        n = block(mask_row, 1) if not x_dense else total(my)[..., None, :]
    if x_dense:
        sy, syy = total(y)[..., None, :], total(y * y)[..., None, :]
    else:
        sy, syy = block(mask_row, 0), block(mask_row, len(right) - 1)
    sums = Sums(n=n, sx=sx, sy=sy, sxx=sxx, syy=syy, sxy=block(0, 0))
    return Sums(*jax.lax.optimization_barrier(tuple(sums)))


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


def masked_sums(x0, mx, y0, my, axis: int = -1) -> Sums:
    """Sums along `axis` over positions where both masks are 1.

    Args:
      x0, mx: values (0 where missing) and 0/1 mask.
      y0, my: likewise, the same shape.
      axis: the axis to sum over (the values of each pair).
    """
    xm, ym = x0 * my, y0 * mx
    sums = Sums(
        n=(mx * my).sum(axis), sx=xm.sum(axis), sy=ym.sum(axis),
        sxx=(xm * x0).sum(axis), syy=(ym * y0).sum(axis), sxy=(xm * y0).sum(axis),
    )
    # Materialise the sums: fused into their consumers, XLA would redo the
    # reductions for every use.
    return Sums(*jax.lax.optimization_barrier(tuple(sums)))


def split_missing(x):
    """NaN-bearing array -> (values with 0 for NaN, 0/1 mask of the rest)."""
    present = x == x  # False exactly for NaN
    return jnp.where(present, x, 0.0), present.astype(x.dtype)


def rowwise_pearson(x, y, min_count: int, tol: float) -> Correlation:
    """Pearson correlation of paired vectors along the last axis, NaN-aware.

    Args:
      x, y: `[..., k]` arrays with NaN for missing (no infinities); pairs are
        the leading indices, values the last axis.
      min_count: fewest shared finite values for a defined correlation.
      tol: see `tolerance`.

    Returns:
      `Correlation` of shape `[...]`.
    """
    return pearson_from_sums(
        masked_sums(*split_missing(x), *split_missing(y)), min_count, tol
    )


def matrix_pearson(x, y, min_count: int, tol: float) -> Correlation:
    """Pearson correlation of every row of `x` with every row of `y`, NaN-aware.

    Each pair uses the positions where both rows are finite.

    Args:
      x: `[..., a, k]` with NaN for missing (no infinities).
      y: `[..., b, k]` with the same leading axes.
      min_count: fewest shared finite values for a defined correlation.
      tol: see `tolerance`.

    Returns:
      `Correlation` of shape `[..., a, b]`.
    """
    x0, mx = split_missing(x)
    y0, my = split_missing(y)

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

    Computed as tanh(mean arctanh r) = (e^L - 1) / (e^L + 1) with
    L = mean log((1 + r) / (1 - r)) = 2 mean arctanh r: the same number, from
    cheaper functions (this runs on every similarity matrix). Returns NaN
    where every value along `axis` is NaN.
    """
    clipped = jnp.clip(r, -R_MAX, R_MAX)
    present = r == r  # False exactly for NaN
    count = present.sum(axis)
    log_ratio = jnp.where(present, jnp.log((1 + clipped) / (1 - clipped)), 0.0)
    growth = jnp.exp(log_ratio.sum(axis) / jnp.maximum(count, 1))
    return jnp.where(count > 0, (growth - 1) / (growth + 1), jnp.nan)


