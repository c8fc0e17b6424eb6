"""The JAX engine: every statistic of Figs. 1-3, batched over split-halves.

`run(inputs, config)` computes, for every metric and every set (the
human-human benchmark "human" and each architecture):

1. on all images: the similarity matrices (`similarity`), the per-unit means
   (Fig. 1a), the variability of alignment rows and its bootstrap against the
   benchmark (Fig. 1b, `consistency`), and the across-metric alignment
   (Fig. 2a);
2. for all split-halves, chunk by chunk: the half-1 and half-2 similarity
   matrices of every set from one batched product per metric, then
   consistency (Fig. 1c), across-metric consistency (Fig. 2b) and within- and
   across-metric prediction (Figs. 3a, 3b, `prediction`), summed over the
   iterations of the chunk.

Layout: each (set, metric) is computed on its own, with its units padded by
all-NaN units to the size of the largest set, so that every set and metric
has the same shapes (`[iteration, subject, unit]`) and each jitted function
compiles once. Padded units drop out of every pairwise-complete correlation,
get zero weight in predictions, and are not counted as undefined.

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
)
from manyseeds.config import AnalysisConfig

log = logging.getLogger(__name__)

# Fewest shared finite values (images, or units for row correlations) for a
# Pearson correlation to count as defined.
MIN_COUNT = 3
WEIGHT_RULE = "w = max(r_half1, 0); equal weights when none is positive"


def draw_splits(seed: int, n_splits: int, n_images: int) -> np.ndarray:
    """`[iteration, image]` random permutations of the images (split-halves).

    Each row orders the images by independent uniform draws from the key
    `fold_in(key(seed), 0)`.
    """
    key = jax.random.fold_in(jax.random.key(seed), 0)
    draws = np.asarray(jax.random.uniform(key, (n_splits, n_images)))
    return np.argsort(draws, axis=1, kind="stable")


def draw_resamples(seed: int, n_bootstrap: int, n_subjects: int) -> np.ndarray:
    """`[resample, subject]` subject indices drawn with replacement."""
    key = jax.random.fold_in(jax.random.key(seed), 1)
    draws = np.asarray(jax.random.uniform(key, (n_bootstrap, n_subjects)))
    return np.minimum((draws * n_subjects).astype(np.int64), n_subjects - 1)


def _accumulate(values, valid):
    """Sum and count over valid iterations of finite `[iteration, subject]` values."""
    ok = jnp.isfinite(values) & valid[:, None]
    return jnp.where(ok, values, 0.0).sum(0), ok.sum(0)


@functools.partial(jax.jit, static_argnames=("min_count", "tol"))
def _all_images(people, units, min_count, tol):
    """Similarity matrix on all images, its sums, variability, undefined counts."""
    sums = sim.pair_sums(people.x0, people.mx, units.y0, units.my)
    corr = sim.pearson_from_sums(sums, min_count, tol)
    similarity = sim.fisher_mean(jnp.where(units.self_mask, jnp.nan, corr.r), axis=0)
    counts = (
        (corr.too_few & units.counted).sum((1, 2)),
        (corr.constant & units.counted).sum((1, 2)),
        (jnp.isnan(similarity) & units.counted).sum(),
    )
    return sums, similarity, cons.variability(similarity), counts


@functools.partial(jax.jit, static_argnames=("min_count", "tol"))
def _split_halves(people, units, totals, half, valid, min_count, tol):
    """`[iteration, subject, unit]` similarity matrices of both halves."""
    part = sim.pair_sums(people.x0, people.mx, units.y0, units.my, half)
    keep = valid[:, None, None, None] & units.counted
    halves, too_few, constant, undefined = [], 0, 0, 0
    for sums in (part, sim.subtract(totals, part)):
        corr = sim.pearson_from_sums(sums, min_count, tol)
        combined = sim.fisher_mean(jnp.where(units.self_mask, jnp.nan, corr.r), axis=1)
        too_few = too_few + (corr.too_few & keep).sum((0, 2, 3))
        constant = constant + (corr.constant & keep).sum((0, 2, 3))
        undefined = undefined + (jnp.isnan(combined) & keep[:, 0]).sum()
        halves.append(combined)
    return halves[0], halves[1], (too_few, constant, undefined)


@functools.partial(jax.jit, static_argnames=("min_count", "tol"))
def _consistency(half1, half2, valid, min_count, tol):
    value, own, other = cons.row_consistency(half1, half2, min_count, tol)
    return {
        CONSISTENCY: _accumulate(value, valid),
        CONSISTENCY_OWN: _accumulate(own, valid),
        CONSISTENCY_OTHER: _accumulate(other, valid),
    }


@functools.partial(jax.jit, static_argnames=("min_count", "tol"))
def _across_consistency(a1, a2, b1, b2, valid, min_count, tol):
    forward = cons.row_consistency(a1, b2, min_count, tol)[0]
    backward = cons.row_consistency(b1, a2, min_count, tol)[0]
    return _accumulate((forward + backward) / 2, valid)


_across_alignment = jax.jit(cons.across_metric_alignment,
                            static_argnames=("min_count", "tol"))


@jax.jit
def _whole_units(units):
    """Per-unit means of the raw behaviour, and equal-weight predictions."""
    means = cons.nan_mean(units.raw.reshape(units.raw.shape[0], -1))
    equal = pred.weighted_prediction(units.equal_weights[None], units.values[None])[0]
    return means, equal


@jax.jit
def _bootstrap(variability, human, draws):
    """`[resample]` mean over resampled subjects of set - human variability."""
    return cons.nan_mean((variability - human)[draws])


@functools.partial(jax.jit, static_argnames=("min_count", "tol"))
def _prediction(half1, units, target, equal, later, valid, min_count, tol):
    """Weighted and equal-weight scores for one (weights, predicted) metric pair.

    Args:
      half1: `[iteration, subject, unit]` half-1 similarity (weights metric).
      units: the set's `_Units` on the predicted metric.
      target: `[subject, condition, image]` the people's predicted metric.
      equal: `[subject, condition, image]` equal-weight predictions.
      later: `[iteration, j]` half-2 image positions.
      valid: `[iteration]` real (not padding) iterations.
    """

    def half2(a):  # [..., condition, image] -> [iteration, ..., condition, j]
        return jnp.moveaxis(a[..., later], -2, 0)

    target = half2(target)
    weights, fell_back = pred.alignment_weights(half1, units.equal_weights)
    score_equal = pred.prediction_score(half2(equal), target, min_count, tol)
    score = pred.prediction_score(
        pred.weighted_prediction(weights, half2(units.values)), target, min_count, tol
    )
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
      target: `[subject, condition, image]` values with NaN.
    """

    x0: jnp.ndarray
    mx: jnp.ndarray
    target: jnp.ndarray

    @classmethod
    def make(cls, values: np.ndarray, dtype) -> _People:
        standardised = sim.standardise(values)
        x0, mx = sim.split_nan(np.swapaxes(standardised, 0, 1), dtype)
        return cls(jnp.asarray(x0), jnp.asarray(mx), jnp.asarray(standardised, dtype))


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class _Units:
    """One set's units on one metric, padded with all-NaN units to `n_units`.

    Attributes:
      y0, my: `[condition, unit, image]` standardised values (0 where
        missing) and mask.
      values: `[unit, condition, image]` standardised, NaN for missing.
      raw: `[unit, condition, image]` as given, NaN for missing.
      self_mask: `[subject, unit]` the benchmark's diagonal (else all False).
      counted: `[subject, unit]` real units that are not the subject itself.
      equal_weights: `[subject, unit]` `counted` as 0/1.
    """

    y0: jnp.ndarray
    my: jnp.ndarray
    values: jnp.ndarray
    raw: jnp.ndarray
    self_mask: jnp.ndarray
    counted: jnp.ndarray
    equal_weights: jnp.ndarray

    @classmethod
    def make(cls, units, n_units, n_subjects, is_benchmark, dtype) -> _Units:
        shape = (n_units,) + units.shape[1:]
        raw = np.full(shape, np.nan)
        raw[: len(units)] = units
        standardised = np.full(shape, np.nan)
        standardised[: len(units)] = sim.standardise(units)
        y0, my = sim.split_nan(np.swapaxes(standardised, 0, 1), dtype)
        self_mask = np.zeros((n_subjects, n_units), dtype=bool)
        if is_benchmark:
            self_mask[np.arange(n_subjects), np.arange(n_subjects)] = True
        counted = (np.arange(n_units) < len(units))[None, :] & ~self_mask
        return cls(
            y0=jnp.asarray(y0),
            my=jnp.asarray(my),
            values=jnp.asarray(standardised, dtype),
            raw=jnp.asarray(raw, dtype),
            self_mask=jnp.asarray(self_mask),
            counted=jnp.asarray(counted),
            equal_weights=jnp.asarray(counted, dtype),
        )


def run(
    inputs: AnalysisInputs,
    config: AnalysisConfig = AnalysisConfig(),
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
      config: n_splits, n_bootstrap, seed, chunk (iterations per chunk).
      dtype: "float32" or "float64".
      min_count: fewest shared finite values for a defined correlation.
      splits: `[iteration, image]` permutations (default: `draw_splits`).
      resamples: `[resample, subject]` indices (default: `draw_resamples`).
      progress: show a progress bar over chunks of split-halves.

    Returns:
      `AnalysisOutput`; `results.statistics` turns it into tests.
    """
    inputs.validate()
    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be float32 or float64, not {dtype!r}")
    n_subjects, n_images = len(inputs.subjects), len(inputs.images)
    if splits is None:
        splits = draw_splits(config.seed, config.n_splits, n_images)
    if resamples is None:
        resamples = draw_resamples(config.seed, config.n_bootstrap, n_subjects)
    splits, resamples = np.asarray(splits), np.asarray(resamples)
    output = AnalysisOutput(
        subjects=np.asarray(inputs.subjects),
        conditions=tuple(inputs.conditions),
        n_images=n_images,
        unit_ids={HUMAN: np.asarray(inputs.subjects), **inputs.instances},
        metrics={
            name: [m for m in inputs.metrics if name in inputs.sets(m)]
            for name in (HUMAN, *inputs.archs)
        },
        settings={
            "n_splits": int(splits.shape[0]),
            "n_bootstrap": int(resamples.shape[0]),
            "seed": config.seed,
            "chunk": config.chunk,
            "dtype": dtype,
            "min_count": min_count,
            "weight_rule": WEIGHT_RULE,
            "n_subjects": n_subjects,
            "n_images": n_images,
            "conditions": list(inputs.conditions),
        },
        synthetic_humans=inputs.synthetic_humans,
        sources=inputs.sources,
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
        totals = _whole_data(inputs, people, units, output, resamples, min_count, tol)
        _over_splits(inputs, people, units, totals, splits, output, config.chunk,
                     min_count, tol, progress)
    log.info("analysis: %d split-halves in %.1f s", splits.shape[0],
             time.perf_counter() - start)
    return output


def _whole_data(inputs, people, units, output, resamples, min_count, tol):
    """Statistics on all images; returns each (set, metric)'s image sums."""
    totals, padded = {}, {}
    for (s, m), u in units.items():
        size = len(output.unit_ids[s])
        sums, similarity, variability, counts = _all_images(people[m], u, min_count, tol)
        totals[(s, m)], padded[(s, m)] = sums, similarity
        means = _whole_units(u)[0]
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
    return totals


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


def _over_splits(inputs, people, units, totals, splits, output, chunk, min_count,
                 tol, progress):
    """Split-half statistics, chunk by chunk, summed over iterations."""
    n_iterations, n_images = splits.shape
    chunk = max(1, min(chunk, n_iterations))
    n_first = n_images // 2
    dtype = next(iter(people.values())).x0.dtype
    equal = {key: _whole_units(u)[1] for key, u in units.items()}
    sums: dict = {}

    def add(key, value):
        value = jax.tree.map(lambda a: np.asarray(a, np.float64), value)
        old = sums.get(key)
        sums[key] = value if old is None else jax.tree.map(np.add, old, value)

    starts = range(0, n_iterations, chunk)
    for start in tqdm(starts, desc="split-halves", unit="chunk", disable=not progress):
        index = splits[start : start + chunk]
        valid = jnp.asarray(np.arange(chunk) < index.shape[0])
        index = np.concatenate([index, np.repeat(index[:1], chunk - len(index), 0)])
        half = np.zeros((chunk, n_images), dtype=dtype)
        np.put_along_axis(half, index[:, :n_first], 1.0, axis=1)
        half, later = jnp.asarray(half), jnp.asarray(index[:, n_first:])

        halves = {}
        for (s, m), u in units.items():
            h1, h2, nan = _split_halves(people[m], u, totals[(s, m)], half, valid,
                                        min_count, tol)
            halves[(s, m)] = (h1, h2)
            add(("nan", s, m), nan)
            add((CONSISTENCY, s, m), _consistency(h1, h2, valid, min_count, tol))

        for s in output.unit_ids:
            for a, b in inputs.metric_pairs(s):
                value = _across_consistency(*halves[(s, a)], *halves[(s, b)], valid,
                                            min_count, tol)
                add((ACROSS_CONSISTENCY, s, a, b), value)
            for a in output.metrics[s]:
                for b in output.metrics[s]:
                    value = _prediction(halves[(s, a)][0], units[(s, b)],
                                        people[b].target, equal[(s, b)], later, valid,
                                        min_count, tol)
                    add(("prediction", s, a, b), value)

    _unpack(sums, output, n_iterations)


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
        elif kind == CONSISTENCY:
            for statistic, pair in value.items():
                store(Key(statistic, s, metrics[0]), pair)
        elif kind == ACROSS_CONSISTENCY:
            store(Key(ACROSS_CONSISTENCY, s, *metrics), value)
        else:
            a, b = metrics
            parts, fell_back = value
            for statistic, pair in parts.items():
                store(Key(statistic, s, a, None if a == b else b), pair)
            output.fallback[(s, a, b)] = int(fell_back)
