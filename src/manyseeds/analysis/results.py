"""Results of the analysis: per-subject values, statistics, files on disk.

Both the JAX engine (`engine.run`) and the NumPy reference (`reference.run`)
return an `AnalysisOutput`; `statistics(output)` turns its per-subject values
into tests, and `write(output, out_dir)` writes everything the figures and the
report read. Nothing else is read downstream.

Files written to `out_dir`:

- `statistics.json`, one object:

      schema            "manyseeds.analysis/1"
      synthetic_humans  bool, true when the people are a synthetic cohort
      settings          {n_splits, n_bootstrap, seed, chunk, dtype, min_count,
                         weight_rule, n_subjects, n_images, conditions}
      sets              [{arch, n_units, metrics, synthetic, source}]; arch
                        "human" is the human-human benchmark (the people)
      statistics        [entry, ...], see below
      nan_counts        [{scope, arch, metric, condition, pairs, undefined,
                          too_few, constant}]: undefined alignments, with
                        scope "all_images" (the similarity matrices) or
                        "split_halves" (summed over iterations and both
                        halves); condition "combined" counts entries that no
                        condition defines (too_few/constant are null there)
      files             {per_subject, units, similarity}: names of the files
                        below

  Each statistics entry:

      name       what is estimated (below)
      panel      figure panel of the paper: "1a" "1b" "1c" "2a" "2b" "3a" "3b"
      arch       the set the entry is about ("human" = benchmark)
      versus     "human" for comparisons with the benchmark, else null
      metric     metric (for prediction: the metric the weights come from)
      metric_b   second metric of across-metric entries (for prediction: the
                 predicted metric), else null
      estimate   the mean (one-sample), mean difference arch - human (paired
                 and bootstrap), or SD ratio arch / human (spread_vs_human)
      sem        standard error of the mean over subjects, or null
      test       name of the test, null for descriptive entries
      statistic  t (t-tests), W (Levene), null otherwise
      df         degrees of freedom of a t-test, else null
      n          subjects (units for 1a) that entered the estimate
      p          two-sided p value, null when there is no test or too few n
      details    extra numbers named in the entry's description

  Names (definitions in the docstrings of `similarity`, `consistency`,
  `prediction`; tests in `stats`):

      spread                 1a  SD of the per-unit means (no test); details
                                 n, mean, sd, min, max, range and, for
                                 confidence and RT, normalised_* (the same of
                                 the means divided by their average)
      spread_vs_human        1a  SD ratio set / people, Levene test (on the
                                 normalised means for confidence and RT)
      variability            1b  mean over subjects of the SD of their
                                 alignment rows (no test)
      variability_vs_human   1b  mean difference set - human, bootstrap of
                                 subjects; details ci_low, ci_high (95%),
                                 n_bootstrap
      consistency            1c  mean, one-sample t vs 0; details own, other
                                 (the two terms of the difference)
      across_metric_alignment    2a  mean, one-sample t vs 0
      across_metric_consistency  2b  mean, one-sample t vs 0
      prediction_improvement  3a/3b  mean weighted - equal score, one-sample t
                                 vs 0; details weighted, equal (mean scores),
                                 fallback ((iteration, subject) predictions
                                 with no positive weight, so equal weights)
      <name>_vs_human        same panel, mean difference set - human, paired
                                 t (for the last four names)

  Entries are sorted by panel, name, set ("human" first), metric(s).
- `per_subject.csv`: statistic, panel, arch, metric, metric_b, subject,
  value, n_iterations (split-half iterations that defined the value; empty
  for statistics on all images).
- `units.csv`: arch, kind ("human"/"model"), metric, unit, mean, normalised
  (the per-unit means of Fig. 1a; normalised = mean / average over units).
- `similarity.npz`: for every set and metric, `"<arch>/<metric>"` the
  `[subject, unit]` similarity matrix on all images (condition-combined, NaN
  diagonal for "human"), plus `"subjects"` and `"units/<arch>"` ids.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from manyseeds.analysis import stats
from manyseeds.analysis.inputs import HUMAN
from manyseeds.data.table import METRICS

SCHEMA = "manyseeds.analysis/1"
NORMALISED_METRICS = ("confidence", "rt")  # normalised in Fig. 1a

# Per-subject statistics and their figure panels.
VARIABILITY = "variability"
CONSISTENCY = "consistency"
CONSISTENCY_OWN = "consistency_own"
CONSISTENCY_OTHER = "consistency_other"
ACROSS_ALIGNMENT = "across_metric_alignment"
ACROSS_CONSISTENCY = "across_metric_consistency"
PREDICTION_WEIGHTED = "prediction_weighted"
PREDICTION_EQUAL = "prediction_equal"
PREDICTION_IMPROVEMENT = "prediction_improvement"


class Key(NamedTuple):
    """Names one per-subject statistic: what, for which set, on which metrics."""

    statistic: str
    arch: str
    metric: str
    metric_b: str | None = None


def panel(key: Key) -> str:
    """The paper's figure panel of a per-subject statistic."""
    if key.statistic == VARIABILITY:
        return "1b"
    if key.statistic.startswith("consistency"):
        return "1c"
    if key.statistic == ACROSS_ALIGNMENT:
        return "2a"
    if key.statistic == ACROSS_CONSISTENCY:
        return "2b"
    return "3a" if key.metric_b is None else "3b"


@dataclasses.dataclass
class AnalysisOutput:
    """Everything computed, before tests (engine and reference alike).

    Attributes:
      subjects: `[subject]` ids.
      conditions: instruction conditions.
      n_images: images in the behaviour vectors.
      unit_ids: set -> `[unit]` ids (the subjects for "human").
      metrics: set -> metrics analysed for it.
      units: (set, metric) -> `[unit]` mean behaviour (Fig. 1a).
      similarity: (set, metric) -> `[subject, unit]` on all images.
      per_subject: `Key` -> `[subject]` values.
      n_iterations: `Key` -> `[subject]` iterations that defined the value
        (split-half statistics only).
      bootstrap: (set, metric) -> `[resample]` mean variability difference
        set - human over resampled subjects.
      fallback: (set, metric_a, metric_b) -> number of (iteration, subject)
        predictions that fell back to equal weights.
      nan_counts: rows of undefined alignments (see module docstring).
      settings: the settings the numbers depend on.
      synthetic_humans: whether the people are synthetic.
      sources: set -> metadata of its table.
    """

    subjects: np.ndarray
    conditions: tuple[str, ...]
    n_images: int
    unit_ids: dict[str, np.ndarray]
    metrics: dict[str, list[str]]
    units: dict[tuple[str, str], np.ndarray] = dataclasses.field(default_factory=dict)
    similarity: dict[tuple[str, str], np.ndarray] = dataclasses.field(
        default_factory=dict
    )
    per_subject: dict[Key, np.ndarray] = dataclasses.field(default_factory=dict)
    n_iterations: dict[Key, np.ndarray] = dataclasses.field(default_factory=dict)
    bootstrap: dict[tuple[str, str], np.ndarray] = dataclasses.field(
        default_factory=dict
    )
    fallback: dict[tuple[str, str, str], int] = dataclasses.field(default_factory=dict)
    nan_counts: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    synthetic_humans: bool = False
    sources: dict[str, dict] = dataclasses.field(default_factory=dict)

    @property
    def archs(self) -> list[str]:
        """The sets other than the human-human benchmark."""
        return [name for name in self.unit_ids if name != HUMAN]


def new_output(
    inputs, splits: np.ndarray, resamples: np.ndarray, config, dtype: str,
    min_count: int, weight_rule: str,
) -> AnalysisOutput:
    """An empty `AnalysisOutput` for `inputs`, with the settings recorded.

    Shared by the JAX engine and the NumPy reference so that both describe
    their run the same way.
    """
    return AnalysisOutput(
        subjects=np.asarray(inputs.subjects),
        conditions=tuple(inputs.conditions),
        n_images=len(inputs.images),
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
            "weight_rule": weight_rule,
            "n_subjects": len(inputs.subjects),
            "n_images": len(inputs.images),
            "conditions": list(inputs.conditions),
        },
        synthetic_humans=inputs.synthetic_humans,
        sources=inputs.sources,
    )


def _entry(name: str, panel_: str, arch: str, metric: str, metric_b=None, **fields):
    entry = {
        "name": name,
        "panel": panel_,
        "arch": arch,
        "versus": None,
        "metric": metric,
        "metric_b": metric_b,
        "estimate": None,
        "sem": None,
        "test": None,
        "statistic": None,
        "df": None,
        "n": None,
        "p": None,
        "details": {},
    }
    entry.update(fields)
    return entry


def statistics(output: AnalysisOutput) -> list[dict[str, Any]]:
    """Every statistic of Figs. 1-3 as JSON-ready entries (module docstring).

    Sorted by panel, statistic, set ("human" first), metric(s), and each
    comparison with the benchmark after its set's own entry.
    """
    entries = _spread_entries(output)
    for key, values in output.per_subject.items():
        if key.statistic in (CONSISTENCY_OWN, CONSISTENCY_OTHER, PREDICTION_WEIGHTED,
                             PREDICTION_EQUAL):
            continue
        entries.extend(_subject_entries(output, key, values))
    archs = list(output.unit_ids)
    metrics = [*METRICS, None]
    return sorted(entries, key=lambda e: (
        e["panel"], e["name"].removesuffix("_vs_human"), archs.index(e["arch"]),
        metrics.index(e["metric"]), metrics.index(e["metric_b"]), e["versus"] or "",
    ))


def _spread_entries(output: AnalysisOutput) -> list[dict[str, Any]]:
    entries = []
    for (arch, metric), means in output.units.items():
        spread = stats.spread(means, normalise=metric in NORMALISED_METRICS)
        entries.append(
            _entry("spread", "1a", arch, metric, estimate=spread["sd"],
                   n=spread["n"], details=spread)
        )
        if arch == HUMAN:
            continue
        test = stats.spread_test(means, output.units[(HUMAN, metric)],
                                 normalise=metric in NORMALISED_METRICS)
        entries.append(_entry("spread_vs_human", "1a", arch, metric, versus=HUMAN,
                              **test))
    return entries


def _subject_entries(output: AnalysisOutput, key: Key, values: np.ndarray):
    where = panel(key)
    human = output.per_subject.get(key._replace(arch=HUMAN))
    if key.statistic == VARIABILITY:
        entries = [_entry(key.statistic, where, key.arch, key.metric,
                          **stats.describe(values))]
        if key.arch != HUMAN:
            test = stats.bootstrap_test(
                values, human, output.bootstrap[(key.arch, key.metric)]
            )
            entries.append(_entry(key.statistic + "_vs_human", where, key.arch,
                                  key.metric, versus=HUMAN, **test))
        return entries

    def mean_of(name):
        return stats.nan_mean(output.per_subject[key._replace(statistic=name)])

    details = {}
    if key.statistic == CONSISTENCY:
        details = {"own": mean_of(CONSISTENCY_OWN), "other": mean_of(CONSISTENCY_OTHER)}
    if key.statistic == PREDICTION_IMPROVEMENT:
        details = {"weighted": mean_of(PREDICTION_WEIGHTED),
                   "equal": mean_of(PREDICTION_EQUAL)}
        details["fallback"] = output.fallback.get(
            (key.arch, key.metric, key.metric_b or key.metric), 0
        )
    entries = [_entry(key.statistic, where, key.arch, key.metric, key.metric_b,
                      details=details, **stats.one_sample_t(values))]
    if key.arch != HUMAN and human is not None:
        entries.append(_entry(key.statistic + "_vs_human", where, key.arch,
                              key.metric, key.metric_b, versus=HUMAN,
                              **stats.paired_t(values, human)))
    return entries


def per_subject_frame(output: AnalysisOutput) -> pd.DataFrame:
    """One row per (statistic, set, metric(s), subject)."""
    frames = []
    for key, values in output.per_subject.items():
        iterations = output.n_iterations.get(key)
        frames.append(
            pd.DataFrame(
                {
                    "statistic": key.statistic,
                    "panel": panel(key),
                    "arch": key.arch,
                    "metric": key.metric,
                    "metric_b": key.metric_b,
                    "subject": output.subjects,
                    "value": values,
                    "n_iterations": pd.array(
                        iterations if iterations is not None
                        else [pd.NA] * len(values),
                        dtype="Int64",
                    ),
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def units_frame(output: AnalysisOutput) -> pd.DataFrame:
    """The per-unit means of Fig. 1a, one row per (set, metric, unit)."""
    frames = []
    for (arch, metric), means in output.units.items():
        frames.append(
            pd.DataFrame(
                {
                    "arch": arch,
                    "kind": "human" if arch == HUMAN else "model",
                    "metric": metric,
                    "unit": output.unit_ids[arch],
                    "mean": means,
                    "normalised": means / np.nanmean(means)
                    if np.isfinite(means).any() else np.nan,
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def to_json(output: AnalysisOutput) -> dict[str, Any]:
    """The whole `statistics.json` object."""
    sets = [
        {
            "arch": arch,
            "n_units": len(ids),
            "metrics": output.metrics.get(arch, []),
            "synthetic": bool(
                output.synthetic_humans if arch == HUMAN
                else output.sources.get(arch, {}).get("synthetic", False)
            ),
            "source": output.sources.get(arch, {}).get("source"),
        }
        for arch, ids in output.unit_ids.items()
    ]
    return _clean(
        {
            "schema": SCHEMA,
            "synthetic_humans": bool(output.synthetic_humans),
            "settings": output.settings,
            "sets": sets,
            "statistics": statistics(output),
            "nan_counts": output.nan_counts,
            "files": {
                "per_subject": "per_subject.csv",
                "units": "units.csv",
                "similarity": "similarity.npz",
            },
        }
    )


def write(output: AnalysisOutput, out_dir: str | Path) -> dict[str, Path]:
    """Write `statistics.json`, the CSVs and `similarity.npz` to `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "statistics": out_dir / "statistics.json",
        "per_subject": out_dir / "per_subject.csv",
        "units": out_dir / "units.csv",
        "similarity": out_dir / "similarity.npz",
    }
    document = json.dumps(to_json(output), indent=2, allow_nan=False)
    paths["statistics"].write_text(document)
    per_subject_frame(output).to_csv(paths["per_subject"], index=False)
    units_frame(output).to_csv(paths["units"], index=False)
    arrays = {f"{a}/{m}": matrix for (a, m), matrix in output.similarity.items()}
    arrays["subjects"] = output.subjects
    arrays.update({f"units/{arch}": ids for arch, ids in output.unit_ids.items()})
    np.savez_compressed(paths["similarity"], **arrays)
    return paths


def _clean(value):
    """JSON-safe copy: NumPy scalars to Python, NaN and inf to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_clean(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        value = float(value)
        return value if math.isfinite(value) else None
    return value
