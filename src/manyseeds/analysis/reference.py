"""A plain NumPy implementation of the analysis, written to be read.

The same definitions as the JAX engine (module docstrings of `similarity`,
`consistency`, `prediction`; PROTOCOL.md section 4), computed one correlation
at a time with explicit loops over subjects, units, conditions and
split-halves, on the raw (unstandardised) behaviour. It is the check on the
engine: given the same split-halves and bootstrap resamples, both return the
same `AnalysisOutput` (to 1e-6 in float64; tests/test_analysis_engine.py),
and it is the baseline of `manyseeds bench analysis`.
"""

from __future__ import annotations

import numpy as np

from manyseeds.analysis.engine import MIN_COUNT, WEIGHT_RULE
from manyseeds.analysis.inputs import HUMAN, AnalysisInputs
from manyseeds.analysis.prediction import WEIGHT_FLOOR
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
from manyseeds.analysis.similarity import R_MAX
from manyseeds.config import AnalysisConfig


def pearson(a: np.ndarray, b: np.ndarray, min_count: int) -> tuple[float, str | None]:
    """Pearson r over the positions where both are finite, and why it is NaN.

    Returns:
      (r, None), or (NaN, "too_few") with fewer than `min_count` shared values,
      or (NaN, "constant") when either side is constant over them.
    """
    both = np.isfinite(a) & np.isfinite(b)
    if both.sum() < min_count:
        return np.nan, "too_few"
    a, b = a[both], b[both]
    if np.all(a == a[0]) or np.all(b == b[0]):
        return np.nan, "constant"
    da, db = a - a.mean(), b - b.mean()
    r = np.dot(da, db) / np.sqrt(np.dot(da, da) * np.dot(db, db))
    return float(np.clip(r, -1.0, 1.0)), None


def fisher_mean(rs: list[float]) -> float:
    """tanh of the mean arctanh of the defined correlations; NaN if none."""
    z = [np.arctanh(np.clip(r, -R_MAX, R_MAX)) for r in rs if np.isfinite(r)]
    return float(np.tanh(np.mean(z))) if z else np.nan


def finite_mean(values: list[float]) -> float:
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else np.nan


def similarity_matrix(people, units, images, is_benchmark, min_count, counts=None):
    """`[subject, unit]` alignments over `images`, Fisher-combined over conditions.

    Args:
      people: `[subject, condition, image]`.
      units: `[unit, condition, image]` (the people again for the benchmark).
      images: image positions to use.
      is_benchmark: the units are the people; the diagonal is NaN.
      min_count: fewest shared images.
      counts: optional dict to add undefined counts to, keyed by
        (condition index, reason) and "combined".
    """
    n_subjects, n_conditions = people.shape[0], people.shape[1]
    out = np.full((n_subjects, units.shape[0]), np.nan)
    for s in range(n_subjects):
        for u in range(units.shape[0]):
            if is_benchmark and s == u:
                continue
            rs = []
            for c in range(n_conditions):
                r, reason = pearson(people[s, c, images], units[u, c, images],
                                    min_count)
                if reason is not None and counts is not None:
                    counts[(c, reason)] = counts.get((c, reason), 0) + 1
                rs.append(r)
            out[s, u] = fisher_mean(rs)
            if np.isnan(out[s, u]) and counts is not None:
                counts["combined"] = counts.get("combined", 0) + 1
    return out


def row_consistency(half1, half2, min_count):
    """Per subject: corr(own rows) minus mean corr with other subjects' rows.

    Returns:
      (consistency, own, other), each `[subject]`.
    """
    n_subjects = half1.shape[0]
    own = np.full(n_subjects, np.nan)
    other = np.full(n_subjects, np.nan)
    for s in range(n_subjects):
        own[s] = pearson(half1[s], half2[s], min_count)[0]
        others = [
            pearson(half1[s], half2[o], min_count)[0]
            for o in range(n_subjects)
            if o != s
        ]
        other[s] = finite_mean(others)
    return own - other, own, other


def predict(weights, units, images):
    """Weighted average of the units' values, image by image: `[condition, image]`."""
    out = np.full((units.shape[1], len(images)), np.nan)
    for c in range(units.shape[1]):
        values = units[:, c, images]
        finite = np.isfinite(values)
        numerator = np.where(finite, values, 0.0).T @ weights
        denominator = finite.astype(float).T @ weights
        ok = denominator > 0
        out[c, ok] = numerator[ok] / denominator[ok]
    return out


def prediction_scores(half1_rows, units, people, images, is_benchmark, min_count):
    """Per subject: (weighted score, equal score, fell back) on `images`."""
    n_subjects, n_units = people.shape[0], units.shape[0]
    weighted = np.full(n_subjects, np.nan)
    equal = np.full(n_subjects, np.nan)
    fell_back = np.zeros(n_subjects, dtype=bool)
    for s in range(n_subjects):
        equal_weights = np.ones(n_units)
        if is_benchmark:
            equal_weights[s] = 0.0
        weights = np.zeros(n_units)
        for u in range(n_units):
            r = half1_rows[s, u]
            if equal_weights[u] > 0 and np.isfinite(r) and r > WEIGHT_FLOOR:
                weights[u] = r
        scores = []
        for w in (weights, equal_weights):
            prediction = predict(w, units, images)
            rs = [
                pearson(prediction[c], people[s, c, images], min_count)[0]
                for c in range(people.shape[1])
            ]
            scores.append(fisher_mean(rs))
        fell_back[s] = weights.sum() <= 0
        weighted[s] = scores[1] if fell_back[s] else scores[0]
        equal[s] = scores[1]
    return weighted, equal, fell_back


def run(
    inputs: AnalysisInputs,
    splits: np.ndarray,
    resamples: np.ndarray,
    config: AnalysisConfig | None = None,
    min_count: int = MIN_COUNT,
) -> AnalysisOutput:
    """The whole analysis with loops: the engine's `run` in plain NumPy.

    Args:
      inputs: behaviour vectors.
      splits: `[iteration, image]` permutations; half 1 is the first
        `n_images // 2` of each row.
      resamples: `[resample, subject]` bootstrap indices.
      config: only `seed` and `chunk` are recorded in the settings.
      min_count: fewest shared finite values for a defined correlation.
    """
    config = config or AnalysisConfig()
    n_images = len(inputs.images)
    everything = np.arange(n_images)
    output = new_output(
        inputs, splits, resamples, config, "float64", min_count, WEIGHT_RULE
    )
    pairs = [(s, m) for m in inputs.metrics for s in inputs.sets(m)]

    # Fig. 1a: per-unit means.
    for s, m in pairs:
        units = inputs.units(s, m)
        output.units[(s, m)] = np.array(
            [np.nanmean(units[u]) if np.isfinite(units[u]).any() else np.nan
             for u in range(units.shape[0])]
        )

    # Similarity matrices on all images; Fig. 1b variability.
    for s, m in pairs:
        counts = {}
        output.similarity[(s, m)] = similarity_matrix(
            inputs.humans[m], inputs.units(s, m), everything, s == HUMAN, min_count,
            counts,
        )
        output.nan_counts.extend(_nan_rows("all_images", s, m, inputs, counts, 1))
        variability = np.full(len(inputs.subjects), np.nan)
        for subject, row in enumerate(output.similarity[(s, m)]):
            row = row[np.isfinite(row)]
            if row.size >= 2:
                variability[subject] = row.std(ddof=1)
        output.per_subject[Key(VARIABILITY, s, m)] = variability

    # Fig. 1b: bootstrap of subjects for set - human.
    for s, m in pairs:
        if s == HUMAN:
            continue
        diff = (output.per_subject[Key(VARIABILITY, s, m)]
                - output.per_subject[Key(VARIABILITY, HUMAN, m)])
        output.bootstrap[(s, m)] = np.array(
            [finite_mean(list(diff[draw])) for draw in resamples]
        )

    # Fig. 2a: across-metric alignment.
    for s in output.unit_ids:
        for a, b in inputs.metric_pairs(s):
            output.per_subject[Key(ACROSS_ALIGNMENT, s, a, b)] = np.array([
                pearson(output.similarity[(s, a)][subject],
                        output.similarity[(s, b)][subject], min_count)[0]
                for subject in range(len(inputs.subjects))
            ])

    # Split-halves: Figs. 1c, 2b, 3a, 3b.
    per_iteration: dict[Key, list[np.ndarray]] = {}
    split_counts: dict[tuple[str, str], dict] = {pair: {} for pair in pairs}
    n_first = n_images // 2
    for index in splits:
        first, second = index[:n_first], index[n_first:]
        halves = {}
        for s, m in pairs:
            halves[(s, m)] = tuple(
                similarity_matrix(inputs.humans[m], inputs.units(s, m), images,
                                  s == HUMAN, min_count, split_counts[(s, m)])
                for images in (first, second)
            )
        for s, m in pairs:
            h1, h2 = halves[(s, m)]
            value, own, other = row_consistency(h1, h2, min_count)
            for name, v in ((CONSISTENCY, value), (CONSISTENCY_OWN, own),
                            (CONSISTENCY_OTHER, other)):
                per_iteration.setdefault(Key(name, s, m), []).append(v)
        for s in output.unit_ids:
            for a, b in inputs.metric_pairs(s):
                (a1, a2), (b1, b2) = halves[(s, a)], halves[(s, b)]
                forward = row_consistency(a1, b2, min_count)[0]
                backward = row_consistency(b1, a2, min_count)[0]
                per_iteration.setdefault(Key(ACROSS_CONSISTENCY, s, a, b), []).append(
                    (forward + backward) / 2
                )
        for s in output.unit_ids:
            have = output.metrics[s]
            for a in have:
                for b in have:
                    weighted, equal, fell_back = prediction_scores(
                        halves[(s, a)][0], inputs.units(s, b), inputs.humans[b],
                        second, s == HUMAN, min_count,
                    )
                    other = None if a == b else b
                    for name, v in ((PREDICTION_WEIGHTED, weighted),
                                    (PREDICTION_EQUAL, equal),
                                    (PREDICTION_IMPROVEMENT, weighted - equal)):
                        per_iteration.setdefault(Key(name, s, a, other), []).append(v)
                    output.fallback[(s, a, b)] = (
                        output.fallback.get((s, a, b), 0) + int(fell_back.sum())
                    )

    for key, rows in per_iteration.items():
        rows = np.array(rows)  # [iteration, subject]
        count = np.isfinite(rows).sum(0)
        output.per_subject[key] = np.array(
            [finite_mean(list(rows[:, s])) for s in range(rows.shape[1])]
        )
        output.n_iterations[key] = count.astype(np.int64)
    for s, m in pairs:
        output.nan_counts.extend(
            _nan_rows("split_halves", s, m, inputs, split_counts[(s, m)],
                      2 * splits.shape[0])
        )
    return output


def _nan_rows(scope, s, m, inputs, counts, n_matrices):
    n_units = inputs.units(s, m).shape[0] - (1 if s == HUMAN else 0)
    pairs = len(inputs.subjects) * n_units * n_matrices
    rows = []
    for c, condition in enumerate(inputs.conditions):
        few, const = counts.get((c, "too_few"), 0), counts.get((c, "constant"), 0)
        rows.append({
            "scope": scope, "arch": s, "metric": m, "condition": condition,
            "pairs": pairs, "undefined": few + const, "too_few": few,
            "constant": const,
        })
    rows.append({
        "scope": scope, "arch": s, "metric": m, "condition": "combined",
        "pairs": pairs, "undefined": counts.get("combined", 0), "too_few": None,
        "constant": None,
    })
    return rows
