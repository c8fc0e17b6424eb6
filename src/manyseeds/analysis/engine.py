"""The JAX engine: every statistic of Figs. 1-3, batched over split-halves.

`run(inputs, config)` computes, for every metric and every set (the
human-human benchmark "human" and each architecture):

1. on all images: the similarity matrices (`similarity`), the per-unit means
   (Fig. 1a), the variability of alignment rows and its bootstrap against the
   benchmark (Fig. 1b, `consistency`), and the across-metric alignment
   (Fig. 2a);
2. for all split-halves, chunk by chunk: the half-1 and half-2 similarity
   matrices of every set (one batched matrix product per set and metric for
   all iterations of the chunk), then consistency (Fig. 1c), across-metric
   consistency (Fig. 2b) and within- and across-metric prediction (Figs. 3a,
   3b, `prediction`), summed over the iterations of the chunk.

Layout: each (set, metric) is computed on its own, with its units padded by
all-NaN units to the size of the largest set, so that every set and metric
has the same shapes (`[iteration, subject, unit]`) and each jitted function
compiles once (per density, below). Padded units drop out of every
pairwise-complete correlation, get zero weight in predictions, and are not
counted as undefined.

Speed: a side without missing values (`dense`, a static flag) needs no masks
in its sums (`similarity.pair_sums`); where neither the people nor a set miss
anything, the prediction score comes from sums and Gram matrices without
forming the prediction (`prediction.gram_score`). Every path implements the
same definitions and is checked against the reference. The chunk loop does
not wait for each computation, so that independent ones overlap on the CPU
cores.

The split-halves are one `[iteration, image]` index array: iteration t puts
the images `splits[t, :I // 2]` in half 1 and the rest in half 2. The
bootstrap resamples are one `[resample, subject]` index array. Both are drawn
from `jax.random` keys made from `config.seed`, so every number is
reproducible; both can also be passed in (the tests give the same arrays to
`reference.run`, which implements the same definitions with loops).

Numbers are float32 unless `dtype="float64"`, which switches JAX to 64-bit
inside this call only (`jax.enable_x64`), leaving the rest of the process
alone. Chunks of `config.chunk` iterations bound memory; the last chunk is
padded to the same size so that each function compiles once per shape.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from manyseeds.analysis import consistency as cons
from manyseeds.analysis import prediction as pred
from manyseeds.analysis import similarity as sim
from manyseeds.analysis.inputs import HUMAN, AnalysisInputs
from manyseeds.analysis.results import (
    ACROSS_ALIGNMENT,
    ACROSS_CONSISTENCY,
    CONSISTENCY,
    CONSISTENCY_OTHER,
    CONSISTENCY_OWN,
    PREDICTION_EQUAL,
    PREDICTION_IMPROVEMENT,
    PREDICTION_WEIGHTED,
    VARIABILITY,
    AnalysisOutput,
    Key,
    new_output,
)
from manyseeds.config import AnalysisConfig

log = logging.getLogger(__name__)

CONSISTENCY_PARTS = (CONSISTENCY, CONSISTENCY_OWN, CONSISTENCY_OTHER)

# Fewest shared finite values (images, or units for row correlations) for a
# Pearson correlation to count as defined.
MIN_COUNT = 3
WEIGHT_RULE = (
    f"w = r_half1 where r_half1 > {pred.WEIGHT_FLOOR:g}, else 0; "
    "equal weights when none is positive"
)


def draw_splits(seed: int, n_splits: int, n_images: int) -> np.ndarray:
    """`[iteration, image]` random permutations of the images (split-halves).

    Each row orders the images by independent uniform draws from the key
    `fold_in(key(seed), 0)`.
    """
    return np.argsort(_uniform(seed, 0, (n_splits, n_images)), axis=1, kind="stable")


def draw_resamples(seed: int, n_bootstrap: int, n_subjects: int) -> np.ndarray:
    """`[resample, subject]` subject indices drawn with replacement.

    Index `floor(u * n_subjects)` for uniform draws u from the key
    `fold_in(key(seed), 1)`.
    """
    draws = _uniform(seed, 1, (n_bootstrap, n_subjects))
    return np.minimum((draws * n_subjects).astype(np.int64), n_subjects - 1)


def _uniform(seed: int, stream: int, shape: tuple[int, int]) -> np.ndarray:
    """Uniform [0, 1) float64 draws from `fold_in(key(seed), stream)`.

    Drawn as 32-bit integers in one fixed-size call per 2**16 numbers, so that
    one compiled function serves every shape.
    """
    block = 1 << 16
    size = shape[0] * shape[1]
    key = jax.random.fold_in(jax.random.key(seed), stream)
    words = [
        np.asarray(_bits(jax.random.fold_in(key, i), block))
        for i in range(-(-size // block))
    ]
    words = np.concatenate(words)[:size] if words else np.zeros(0, np.uint32)
    return (words.astype(np.float64) / 2.0**32).reshape(shape)


@functools.partial(jax.jit, static_argnames="n")
def _bits(key, n):
    return jax.random.bits(key, (n,), dtype=jnp.uint32)


def _accumulate(values, valid):
    """Sum and count over valid iterations of finite `[iteration, subject]` values."""
    ok = jnp.isfinite(values) & valid[:, None]
    return jnp.where(ok, values, 0.0).sum(0), ok.sum(0)


@functools.partial(jax.jit, static_argnames=("min_count", "tol"))
def _all_images(x0, mx, y0, my, self_mask, counted, min_count, tol):
    """Similarity matrix on all images, variability, undefined counts.

    Uses the general sums (masks on both sides) whatever the density, so that
    it compiles once.
    """
    sums = sim.pair_sums(x0, mx, y0, my)
    corr = sim.pearson_from_sums(sums, min_count, tol)
    similarity = sim.fisher_mean(jnp.where(self_mask, jnp.nan, corr.r), axis=0)
    counts = (
        (corr.too_few & counted).sum((1, 2)),
        (corr.constant & counted).sum((1, 2)),
        (jnp.isnan(similarity) & counted).sum(),
    )
    return similarity, cons.variability(similarity), counts


@functools.partial(jax.jit, static_argnames=("min_count", "tol"))
def _split_halves(people, units, total, first, later, valid, min_count, tol):
    """`[iteration, subject, unit]` similarity matrices of both halves.

    Half 1's sums come from one product over its images, half 2's are the
    totals minus half 1's (sums are additive over images).

    Args:
      people, units: `_People` and `_Units` of one metric.
      total: `Sums` over all images (`_totals`).
      first, later: `[iteration, j]` image positions of half 1 and half 2.
      valid: `[iteration]` real (not padding) iterations.

    Returns:
      (half 1, half 2, (half-2 `Sums`, half-2 Gram matrices `[iteration,
      condition, unit, unit]` or None), undefined counts). The Gram matrices,
      for `prediction.gram_score`, exist when the units have no missing value.
    """
    n_iterations, n_images = first.shape[0], people.x0.shape[-1]
    half = jnp.zeros((n_iterations, n_images), people.x0.dtype)
    half = half.at[jnp.arange(n_iterations)[:, None], first].set(1.0)
    part = sim.pair_sums(people.x0, people.mx, units.y0, units.my, half,
                         x_dense=people.dense, y_dense=units.dense)
    second = sim.subtract(total, part)
    # Both halves at once: [half * iteration, condition, subject, unit].
    both = sim.Sums(*(jnp.concatenate([a, b]) for a, b in zip(part, second,
                                                               strict=True)))
    corr = sim.pearson_from_sums(both, min_count, tol)
    corr = sim.Correlation(*jax.lax.optimization_barrier(tuple(corr)))
    combined = sim.fisher_mean(jnp.where(units.self_mask, jnp.nan, corr.r), axis=1)
    keep = jnp.concatenate([valid, valid])[:, None, None, None] & units.counted
    counts = (
        (corr.too_few & keep).sum((0, 2, 3)),
        (corr.constant & keep).sum((0, 2, 3)),
        (jnp.isnan(combined) & keep[:, 0]).sum(),
    )
    gram = None
    if units.dense:
        gram = jnp.einsum("ti,cui,cvi->tcuv", 1.0 - half, units.y0, units.y0)
    return combined[:n_iterations], combined[n_iterations:], (second, gram), counts


_row_consistency = jax.jit(cons.row_consistency, static_argnames=("min_count", "tol"))
_accumulate_jit = jax.jit(_accumulate)


_across_alignment = jax.jit(cons.across_metric_alignment,
                            static_argnames=("min_count", "tol"))


@jax.jit
def _totals(people, units):
    """`Sums` over all images, with the density of `_split_halves`."""
    return sim.pair_sums(people.x0, people.mx, units.y0, units.my,
                         x_dense=people.dense, y_dense=units.dense)


@jax.jit
def _whole_units(raw, by_image0, by_imagem, equal_weights):
    """Per-unit means of the raw behaviour, and equal-weight predictions.

    Args:
      raw, by_image0, by_imagem, equal_weights: the fields of `_Units`.

    Returns:
      (`[unit]` means, (p0, mp) `[image, condition, subject]` equal-weight
      predictions).
    """
    means = cons.nan_mean(raw.reshape(raw.shape[0], -1))
    p0, mp = pred.weighted_prediction(equal_weights[None], by_image0[None],
                                      by_imagem[None])
    return means, (p0[0], mp[0])


@jax.jit
def _bootstrap(variability, human, draws):
    """`[resample]` mean over resampled subjects of set - human variability."""
    return cons.nan_mean((variability - human)[draws])


@functools.partial(jax.jit, static_argnames=("min_count", "tol"))
def _second_half(units, people, equal, later, min_count, tol):
    """Half-2 behaviour of units and people, and the equal-weight scores.

    Args:
      units: the set's `_Units` on the predicted metric.
      people: the people's `_People` on the predicted metric.
      equal: (p0, mp) `[image, condition, subject]` equal-weight predictions.
      later: `[iteration, j]` half-2 image positions.

    Returns:
      (units (y0, my) `[iteration, j, unit, condition]`, people (x0, mx)
      `[iteration, j, condition, subject]`, equal-weight scores
      `[iteration, subject]`).
    """

    def half2(a):  # image-major [image, ...] -> [iteration, j, ...]
        return jnp.take(a, later, axis=0)

    y = (half2(units.by_image0), half2(units.by_imagem))
    x = (half2(people.by_image0), half2(people.by_imagem))
    score = pred.prediction_score(half2(equal[0]), half2(equal[1]), *x, min_count, tol)
    return y, x, score


@functools.partial(jax.jit, static_argnames=("min_count", "tol"))
def _prediction(half1, equal_weights, y, x, score_equal, valid, min_count, tol):
    """Weighted and equal-weight scores for one (weights, predicted) metric pair.

    Args:
      half1: `[iteration, subject, unit]` half-1 similarity (weights metric).
      equal_weights: `[subject, unit]` of the set.
      y, x, score_equal: from `_second_half` of the predicted metric.
      valid: `[iteration]` real (not padding) iterations.
    """
    weights, fell_back = pred.alignment_weights(half1, equal_weights)
    score = pred.prediction_score(*pred.weighted_prediction(weights, *y), *x,
                                  min_count, tol)
    score = jnp.where(fell_back, score_equal, score)
    return {
        PREDICTION_WEIGHTED: _accumulate(score, valid),
        PREDICTION_EQUAL: _accumulate(score_equal, valid),
        PREDICTION_IMPROVEMENT: _accumulate(score - score_equal, valid),
    }, (fell_back & valid[:, None]).sum()


@functools.partial(jax.jit, static_argnames=("min_count", "tol"))
def _prediction_dense(half1, equal_weights, second, valid, min_count, tol):
    """`_prediction` for sets and people without missing values (Gram form).

    Args:
      half1: `[iteration, subject, unit]` half-1 similarity (weights metric).
      equal_weights: `[subject, unit]` of the set.
      second: (half-2 sums, half-2 Gram matrices) of the predicted metric,
        from `_split_halves`.
      valid: `[iteration]` real (not padding) iterations.
    """
    weights, fell_back = pred.alignment_weights(half1, equal_weights)
    equal = jnp.broadcast_to(equal_weights, weights.shape)
    # Weighted and equal weights as two "iterations" of one computation.
    sums, gram = second
    sums = sim.Sums(*(jnp.concatenate([a, a]) for a in sums))
    scores = pred.gram_score(jnp.concatenate([weights, equal]), sums,
                             jnp.concatenate([gram, gram]), min_count, tol)
    score, score_equal = jnp.split(scores, 2)
    score = jnp.where(fell_back, score_equal, score)
    return {
        PREDICTION_WEIGHTED: _accumulate(score, valid),
        PREDICTION_EQUAL: _accumulate(score_equal, valid),
        PREDICTION_IMPROVEMENT: _accumulate(score - score_equal, valid),
    }, (fell_back & valid[:, None]).sum()


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class _People:
    """The people on one metric, standardised.

    Attributes:
      x0, mx: `[condition, subject, image]` values (0 where missing), mask.
      by_image0, by_imagem: `[image, condition, subject]` the same, image-major.
      dense: no value is missing (static: selects the faster sums).
    """

    x0: jnp.ndarray
    mx: jnp.ndarray
    by_image0: jnp.ndarray
    by_imagem: jnp.ndarray
    dense: bool = dataclasses.field(metadata={"static": True})

    @classmethod
    def make(cls, values: np.ndarray, dtype) -> _People:
        standardised = sim.standardise(values)  # [subject, condition, image]
        x0, mx = sim.split_nan(np.swapaxes(standardised, 0, 1), dtype)
        by_image0, by_imagem = sim.split_nan(standardised.transpose(2, 1, 0), dtype)
        arrays = map(jnp.asarray, (x0, mx, by_image0, by_imagem))
        return cls(*arrays, dense=bool(np.isfinite(values).all()))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class _Units:
    """One set's units on one metric, padded with all-NaN units to `n_units`.

    Attributes:
      y0, my: `[condition, unit, image]` standardised values (0 where
        missing) and mask.
      by_image0, by_imagem: `[image, unit, condition]` the same, image-major.
      raw: `[unit, condition, image]` as given, NaN for missing.
      self_mask: `[subject, unit]` the benchmark's diagonal (else all False).
      counted: `[subject, unit]` real units that are not the subject itself.
      equal_weights: `[subject, unit]` `counted` as 0/1.
      dense: no real unit has a missing value (static; padded units are
        zero vectors that every correlation marks constant).
    """

    y0: jnp.ndarray
    my: jnp.ndarray
    by_image0: jnp.ndarray
    by_imagem: jnp.ndarray
    raw: jnp.ndarray
    self_mask: jnp.ndarray
    counted: jnp.ndarray
    equal_weights: jnp.ndarray
    dense: bool = dataclasses.field(metadata={"static": True})

    @classmethod
    def make(cls, units, n_units, n_subjects, is_benchmark, dtype) -> _Units:
        shape = (n_units,) + units.shape[1:]
        raw = np.full(shape, np.nan)
        raw[: len(units)] = np.where(np.isfinite(units), units, np.nan)
        standardised = np.full(shape, np.nan)
        standardised[: len(units)] = sim.standardise(units)
        y0, my = sim.split_nan(np.swapaxes(standardised, 0, 1), dtype)
        by_image0, by_imagem = sim.split_nan(standardised.transpose(2, 0, 1), dtype)
        self_mask = np.zeros((n_subjects, n_units), dtype=bool)
        if is_benchmark:
            self_mask[np.arange(n_subjects), np.arange(n_subjects)] = True
        counted = (np.arange(n_units) < len(units))[None, :] & ~self_mask
        return cls(
            y0=jnp.asarray(y0),
            my=jnp.asarray(my),
            by_image0=jnp.asarray(by_image0),
            by_imagem=jnp.asarray(by_imagem),
            raw=jnp.asarray(raw, dtype),
            self_mask=jnp.asarray(self_mask),
            counted=jnp.asarray(counted),
            equal_weights=jnp.asarray(counted, dtype),
            dense=bool(np.isfinite(units).all()),
        )


def run(
    inputs: AnalysisInputs,
    config: AnalysisConfig | None = None,
    *,
    dtype: str = "float32",
    min_count: int = MIN_COUNT,
    splits: np.ndarray | None = None,
    resamples: np.ndarray | None = None,
    progress: bool = False,
) -> AnalysisOutput:
    """Every statistic of Figs. 1-3 (per subject), batched in JAX.

    Args:
      inputs: behaviour vectors of the people and the instances.
      config: n_splits, n_bootstrap, seed, chunk (iterations per chunk);
        default `AnalysisConfig()`, the paper's numbers.
      dtype: "float32" or "float64".
      min_count: fewest shared finite values for a defined correlation.
      splits: `[iteration, image]` permutations (default: `draw_splits`).
      resamples: `[resample, subject]` indices (default: `draw_resamples`).
      progress: show a progress bar over chunks of split-halves.

    Returns:
      `AnalysisOutput`; `results.statistics` turns it into tests.
    """
    inputs.validate()
    config = config or AnalysisConfig()
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, not {dtype!r}")
    n_subjects, n_images = len(inputs.subjects), len(inputs.images)
    if splits is None:
        splits = draw_splits(config.seed, config.n_splits, n_images)
    if resamples is None:
        resamples = draw_resamples(config.seed, config.n_bootstrap, n_subjects)
    splits, resamples = np.asarray(splits), np.asarray(resamples)
    output = new_output(
        inputs, splits, resamples, config, dtype, min_count, WEIGHT_RULE
    )
    start = time.perf_counter()
    with jax.enable_x64(dtype == "float64"):
        np_dtype = np.float64 if dtype == "float64" else np.float32
        tol = sim.tolerance(np_dtype)
        n_units = max(len(ids) for ids in output.unit_ids.values())
        people = {m: _People.make(inputs.humans[m], np_dtype) for m in inputs.metrics}
        units = {
            (s, m): _Units.make(inputs.units(s, m), n_units, n_subjects, s == HUMAN,
                                np_dtype)
            for m in inputs.metrics
            for s in inputs.sets(m)
        }
        whole = _whole_data(inputs, people, units, output, resamples, min_count, tol)
        _over_splits(inputs, people, units, whole, splits, output, config.chunk,
                     min_count, tol, progress)
    log.info("analysis: %d split-halves in %.1f s", splits.shape[0],
             time.perf_counter() - start)
    return output


def _whole_data(inputs, people, units, output, resamples, min_count, tol):
    """Statistics on all images.

    Returns:
      (set, metric) -> (`Sums` over all images, equal-weight predictions
      (p0, mp) `[image, condition, subject]`): what the split-halves start
      from.
    """
    whole, padded = {}, {}
    for (s, m), u in units.items():
        size = len(output.unit_ids[s])
        similarity, variability, counts = _all_images(
            people[m].x0, people[m].mx, u.y0, u.my, u.self_mask, u.counted, min_count,
            tol,
        )
        means, equal = _whole_units(u.raw, u.by_image0, u.by_imagem, u.equal_weights)
        whole[(s, m)] = (_totals(people[m], u), equal)
        padded[(s, m)] = similarity
        output.units[(s, m)] = np.asarray(means, np.float64)[:size]
        output.similarity[(s, m)] = np.asarray(similarity, np.float64)[:, :size]
        output.per_subject[Key(VARIABILITY, s, m)] = np.asarray(variability, np.float64)
        output.nan_counts.extend(_nan_rows("all_images", s, m, output, 1, counts))
    draws = jnp.asarray(resamples)
    for (s, m) in units:
        if s != HUMAN:
            variability = output.per_subject[Key(VARIABILITY, s, m)]
            human = output.per_subject[Key(VARIABILITY, HUMAN, m)]
            dtype = people[m].x0.dtype
            output.bootstrap[(s, m)] = np.asarray(
                _bootstrap(jnp.asarray(variability, dtype), jnp.asarray(human, dtype),
                           draws),
                np.float64,
            )
    for s in output.unit_ids:
        for a, b in inputs.metric_pairs(s):
            output.per_subject[Key(ACROSS_ALIGNMENT, s, a, b)] = np.asarray(
                _across_alignment(padded[(s, a)], padded[(s, b)], min_count=min_count,
                                  tol=tol),
                np.float64,
            )
    return whole


def _nan_rows(scope, s, m, output, n_matrices, counts):
    """Rows of undefined counts of one set and metric (see `results`)."""
    too_few, constant, undefined = (np.asarray(c) for c in counts)
    units = len(output.unit_ids[s]) - (1 if s == HUMAN else 0)
    pairs = len(output.subjects) * units * n_matrices
    rows = [
        {
            "scope": scope, "arch": s, "metric": m, "condition": condition,
            "pairs": pairs, "undefined": int(too_few[c] + constant[c]),
            "too_few": int(too_few[c]), "constant": int(constant[c]),
        }
        for c, condition in enumerate(output.conditions)
    ]
    rows.append({
        "scope": scope, "arch": s, "metric": m, "condition": "combined",
        "pairs": pairs, "undefined": int(undefined), "too_few": None,
        "constant": None,
    })
    return rows


def _over_splits(inputs, people, units, whole, splits, output, chunk, min_count,
                 tol, progress):
    """Split-half statistics, chunk by chunk, summed over iterations.

    Sums stay on the device and the loop waits only for the chunk before the
    current one, so that independent computations overlap on the CPU cores
    while memory holds at most two chunks.
    """
    n_iterations, n_images = splits.shape
    chunk = max(1, min(chunk, n_iterations))
    n_first = n_images // 2
    sums: dict = {}
    previous = None
    starts = range(0, n_iterations, chunk)
    for start in tqdm(starts, desc="split-halves", unit="chunk", disable=not progress):
        index = splits[start : start + chunk]
        valid = jnp.asarray(np.arange(chunk) < index.shape[0])
        index = np.concatenate([index, np.repeat(index[:1], chunk - len(index), 0)])
        first, later = jnp.asarray(index[:, :n_first]), jnp.asarray(index[:, n_first:])
        current = _one_chunk(inputs, people, units, whole, first, later, valid,
                             output, min_count, tol)
        for key, value in current.items():
            old = sums.get(key)
            sums[key] = value if old is None else jax.tree.map(jnp.add, old, value)
        jax.block_until_ready(previous)
        previous = current
    sums = {
        key: jax.tree.map(lambda a: np.asarray(a, np.float64), value)
        for key, value in sums.items()
    }
    _unpack(sums, output, n_iterations)


def _one_chunk(inputs, people, units, whole, first, later, valid, output, min_count,
               tol):
    """Sums over one chunk of split-halves of every split-half statistic.

    Returns:
      key -> summed values: ("nan", set, metric) undefined counts;
      (consistency part, set, metric), (ACROSS_CONSISTENCY, set, a, b) and
      ("prediction", set, a, b) (sum, count) pairs over iterations.
    """
    out = {}
    halves = {}
    for (s, m), u in units.items():
        h1, h2, second, nan = _split_halves(people[m], u, whole[(s, m)][0], first,
                                            later, valid, min_count, tol)
        halves[(s, m)] = (h1, h2, second)
        out[("nan", s, m)] = nan
        parts = _row_consistency(h1, h2, min_count, tol)
        for statistic, value in zip(CONSISTENCY_PARTS, parts, strict=True):
            out[(statistic, s, m)] = _accumulate_jit(value, valid)

    for s in output.unit_ids:
        for a, b in inputs.metric_pairs(s):
            (a1, a2, _), (b1, b2, _) = halves[(s, a)], halves[(s, b)]
            forward = _row_consistency(a1, b2, min_count, tol)[0]
            backward = _row_consistency(b1, a2, min_count, tol)[0]
            out[(ACROSS_CONSISTENCY, s, a, b)] = _accumulate_jit(
                (forward + backward) / 2, valid
            )
        for b in output.metrics[s]:
            weights_equal = units[(s, b)].equal_weights
            if units[(s, b)].dense and people[b].dense:
                for a in output.metrics[s]:
                    out[("prediction", s, a, b)] = _prediction_dense(
                        halves[(s, a)][0], weights_equal, halves[(s, b)][2], valid,
                        min_count, tol,
                    )
                continue
            y, x, score_equal = _second_half(units[(s, b)], people[b],
                                             whole[(s, b)][1], later, min_count, tol)
            for a in output.metrics[s]:
                out[("prediction", s, a, b)] = _prediction(
                    halves[(s, a)][0], weights_equal, y, x, score_equal, valid,
                    min_count, tol,
                )
    return out


def _unpack(sums, output, n_iterations):
    """Per-subject means over iterations from the accumulated sums."""

    def store(key, pair):
        total, count = pair
        output.per_subject[key] = np.where(count > 0, total / np.maximum(count, 1),
                                           np.nan)
        output.n_iterations[key] = count.astype(np.int64)

    for key, value in sums.items():
        kind, s, *metrics = key
        if kind == "nan":
            output.nan_counts.extend(
                _nan_rows("split_halves", s, metrics[0], output, 2 * n_iterations,
                          value)
            )
        elif kind in CONSISTENCY_PARTS:
            store(Key(kind, s, metrics[0]), value)
        elif kind == ACROSS_CONSISTENCY:
            store(Key(ACROSS_CONSISTENCY, s, *metrics), value)
        else:
            a, b = metrics
            parts, fell_back = value
            for statistic, pair in parts.items():
                store(Key(statistic, s, a, None if a == b else b), pair)
            output.fallback[(s, a, b)] = int(fell_back)
