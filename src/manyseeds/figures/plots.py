"""The paper's figures (Figs. 1-3) and the similarity matrices, from an analysis.

Reads only what `manyseeds analyze` writes (`analysis.results` documents the
files: `statistics.json` with schema "manyseeds.analysis/1",
`per_subject.csv`, `units.csv`, `similarity.npz`) and draws, after the
captions of Figs. 1-3 of Fung, Ratan Murty & Rahnev (2025):

- 1a individual differences: per-unit mean accuracy, confidence and RT of the
  people and of each architecture's instances (confidence and RT divided by
  their mean over units, as in the paper), one dot per unit;
- 1b variability of each subject's alignment row, human-human against each
  human-ANN set, with the bootstrap p values of the differences;
- 1c consistency, 2a across-metric alignment, 2b across-metric consistency,
  3a within-metric and 3b across-metric prediction gains: bars are the mean
  over subjects, error bars the SEM, dots the subjects; p values of the paired
  t-tests against the human-human benchmark above each bar, and (2a, 3a, 3b)
  asterisks of the one-sample t-test against zero under each bar;
- the similarity matrices (`[subject, unit]` Pearson r on all images) as heat
  maps, one per set and metric.

Every figure built from a synthetic cohort carries `SYNTHETIC_MARK` as a red
subtitle and a diagonal watermark. Pieces an analysis lacks (RT for AlexNet
and ResNet18, an architecture, undefined statistics) leave their place empty
with a note. Figures are `matplotlib.figure.Figure` objects (no pyplot
state) saved as PNG and PDF.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from manyseeds.config import ARCHS
from manyseeds.errors import UserError

log = logging.getLogger(__name__)

SCHEMA = "manyseeds.analysis/1"
HUMAN = "human"
METRICS = ("accuracy", "confidence", "rt")
SYNTHETIC_MARK = "SYNTHETIC PEOPLE: not the human data of the study"
WATERMARK = "SYNTHETIC PEOPLE"
DPI = 150

METRIC_LABEL = {"accuracy": "accuracy", "confidence": "confidence", "rt": "RT"}
SET_LABEL = {
    HUMAN: "Human-human",
    "alexnet": "AlexNet",
    "resnet18": "ResNet18",
    "rtnet": "RTNet",
}
# One colour per set, the same in every figure; the benchmark is grey.
COLOURS = {HUMAN: "#8a8a8a", "alexnet": "#2b6fb0", "resnet18": "#e08214",
           "rtnet": "#2c9a5a"}
_SPARE_COLOURS = ("#8e5fbf", "#b5487a", "#2aa3a3", "#9c7a2b")

_STYLE = {
    "font.size": 9.5,
    "axes.titlesize": 10.5,
    "axes.labelsize": 9.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 8.5,
    "pdf.fonttype": 42,
}
_ASTERISKS = ((0.001, "***"), (0.01, "**"), (0.05, "*"))
_HEADER_IN = 0.42  # figure title, inches
_MARK_IN = 0.30  # synthetic subtitle, inches
_LINE_IN = 0.145  # one line of notes under the panels, inches
_FOOTER_PAD_IN = 0.1


# The title drawn on each figure, by file stem.
TITLES = {
    "fig1a_individual_differences":
        "Fig. 1a  Individual differences in humans and ANN instances",
    "fig1b_variability":
        "Fig. 1b  Variability of alignment with each subject",
    "fig1c_consistency":
        "Fig. 1c  Consistency of alignment across image halves",
    "fig2a_across_metric_alignment":
        "Fig. 2a  Across-metric alignment",
    "fig2b_across_metric_consistency":
        "Fig. 2b  Across-metric consistency",
    "fig3a_prediction_within":
        "Fig. 3a  Within-metric prediction: alignment-weighted vs equal weights",
    "fig3b_prediction_across":
        "Fig. 3b  Across-metric prediction (weights from \u2192 predicted metric)",
    "similarity_matrices":
        "Similarity matrices (all images)",
}


@dataclasses.dataclass
class Analysis:
    """The files of one analysis folder, read and checked.

    Attributes:
      directory: the folder.
      synthetic_humans: whether the people are a synthetic cohort.
      settings: the analysis settings (n_splits, n_bootstrap, ...).
      sets: `[{arch, n_units, metrics, synthetic, source}]`; "human" first.
      statistics: every statistics entry of `statistics.json`.
      nan_counts: rows of undefined alignments.
      per_subject: `per_subject.csv` (metric_b None where empty).
      units: `units.csv`, the per-unit means of Fig. 1a.
      similarity: `"<arch>/<metric>"` -> `[subject, unit]` r, plus ids.
    """

    directory: Path
    synthetic_humans: bool
    settings: dict[str, Any]
    sets: list[dict[str, Any]]
    statistics: list[dict[str, Any]]
    nan_counts: list[dict[str, Any]]
    per_subject: pd.DataFrame
    units: pd.DataFrame
    similarity: dict[str, np.ndarray]

    @property
    def set_names(self) -> list[str]:
        """The sets to draw: the benchmark, the paper's architectures (present
        or not, so a missing one gets a note), then any other set."""
        present = [s["arch"] for s in self.sets]
        return [HUMAN, *ARCHS, *(a for a in present if a not in (HUMAN, *ARCHS))]

    def has(self, arch: str, *metrics: str | None) -> bool:
        """Whether the analysis has `arch` with every one of `metrics`."""
        for item in self.sets:
            if item["arch"] == arch:
                return all(m in item.get("metrics", []) for m in metrics if m)
        return False

    @property
    def metrics(self) -> list[str]:
        """Metrics the people have, in the paper's order."""
        have = next((s.get("metrics", []) for s in self.sets if s["arch"] == HUMAN),
                    [])
        return [m for m in METRICS if m in have]

    def entry(self, name: str, arch: str, metric: str, metric_b: str | None = None,
              panel: str | None = None) -> dict[str, Any] | None:
        """The statistics entry with these fields, or None."""
        for entry in self.statistics:
            if (entry.get("name") == name and entry.get("arch") == arch
                    and entry.get("metric") == metric
                    and entry.get("metric_b") == metric_b
                    and (panel is None or entry.get("panel") == panel)):
                return entry
        return None

    def values(self, statistic: str, arch: str, metric: str,
               metric_b: str | None = None) -> np.ndarray:
        """`[subject]` values of a per-subject statistic (empty if absent)."""
        frame = self.per_subject
        if frame.empty:
            return np.empty(0)
        rows = frame[(frame["statistic"] == statistic) & (frame["arch"] == arch)
                     & (frame["metric"] == metric)
                     & (frame["metric_b"] == (metric_b or ""))]
        return rows["value"].to_numpy(dtype=float)

    def unit_means(self, arch: str, metric: str, normalised: bool) -> np.ndarray:
        """`[unit]` mean behaviour of a set (Fig. 1a; empty if absent)."""
        frame = self.units
        if frame.empty:
            return np.empty(0)
        rows = frame[(frame["arch"] == arch) & (frame["metric"] == metric)]
        return rows["normalised" if normalised else "mean"].to_numpy(dtype=float)


def load_analysis(analysis_dir: str | Path) -> Analysis:
    """Read an analysis folder written by `manyseeds analyze`.

    Raises:
      UserError: the folder or one of its files is missing or not what
        `analysis.results` writes.
    """
    directory = Path(analysis_dir)
    if not directory.is_dir():
        raise UserError(f"{directory}: no such analysis folder; expected the --out "
                        "folder of `manyseeds analyze`")
    path = directory / "statistics.json"
    if not path.is_file():
        raise UserError(f"{path}: missing; expected the output of `manyseeds analyze`")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise UserError(f"{path}: schema {found!r}, expected {SCHEMA!r}")
    for key, kind in (("statistics", list), ("sets", list)):
        if not isinstance(data.get(key), kind):
            raise UserError(f"{path}: key {key!r} missing or not a {kind.__name__}")
    files = data.get("files") or {}
    per_subject = _read_csv(
        directory / files.get("per_subject", "per_subject.csv"),
        ("statistic", "arch", "metric", "metric_b", "subject", "value"),
    )
    per_subject["metric_b"] = per_subject["metric_b"].fillna("").astype(str)
    units = _read_csv(directory / files.get("units", "units.csv"),
                      ("arch", "metric", "unit", "mean", "normalised"))
    return Analysis(
        directory=directory,
        synthetic_humans=bool(data.get("synthetic_humans", False)),
        settings=data.get("settings") or {},
        sets=data["sets"],
        statistics=data["statistics"],
        nan_counts=data.get("nan_counts") or [],
        per_subject=per_subject,
        units=units,
        similarity=_read_npz(directory / files.get("similarity", "similarity.npz")),
    )


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    if not path.is_file():
        raise UserError(f"{path}: missing; expected the output of `manyseeds analyze`")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=list(columns))
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: cannot be read as CSV ({err})") from None
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise UserError(f"{path}: missing column(s) {', '.join(absent)}")
    return frame


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise UserError(f"{path}: missing; expected the output of `manyseeds analyze`")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            return {key: arrays[key] for key in arrays.files}
    except (OSError, ValueError, zipfile.BadZipFile) as err:
        raise UserError(f"{path}: not a NumPy .npz archive ({err})") from None


# ---------------------------------------------------------------- helpers


def set_label(arch: str, people: bool = False) -> str:
    """Display name of a set; the people themselves are "Humans"."""
    if arch == HUMAN and people:
        return "Humans"
    return SET_LABEL.get(arch, arch)


def colour(arch: str, order: list[str] | None = None) -> str:
    """The set's colour, the same in every figure (the benchmark grey)."""
    if arch in COLOURS:
        return COLOURS[arch]
    extras = [a for a in (order or []) if a not in COLOURS]
    # Stable across runs (str hashes are not): position, else the characters.
    index = extras.index(arch) if arch in extras else sum(map(ord, arch))
    return _SPARE_COLOURS[index % len(_SPARE_COLOURS)]


def stars(p: float | None) -> str:
    """Asterisks of the paper's Fig. 3: n.s. p > 0.05, * < 0.05, ** < 0.01,
    *** < 0.001; "" when there is no p."""
    if p is None or not np.isfinite(p):
        return ""
    for level, mark in _ASTERISKS:
        if p < level:
            return mark
    return "n.s."


def format_p(p: float | None) -> str:
    """p as printed on the figures ("p n/a" when undefined)."""
    if p is None or not np.isfinite(p):
        return "p n/a"
    if p < 1e-3:
        return f"p={p:.1e}"
    return f"p={p:.3f}"


def figure_texts(fig: Figure) -> list[str]:
    """Every string drawn on a figure (titles, labels, notes, ticks)."""
    texts = [t.get_text() for t in fig.findobj(mpl.text.Text)]
    return [t for t in texts if t]


def _styled(builder: Callable[..., Figure]) -> Callable[..., Figure]:
    @functools.wraps(builder)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(_STYLE):
            return builder(*args, **kwargs)

    return wrapper


def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _frame(fig: Figure, analysis: Analysis, title: str, notes: str = "") -> None:
    """Title, synthetic mark, and notes with the settings under the panels."""
    width, height = fig.get_size_inches()
    settings = analysis.settings
    facts = [f"{settings[key]} {label}" for key, label in (
        ("n_subjects", "subjects"), ("n_images", "images"),
        ("n_splits", "split-halves"), ("n_bootstrap", "bootstrap resamples"),
    ) if key in settings]
    lines = [line for paragraph in notes.splitlines() if paragraph
             for line in textwrap.wrap(paragraph, int(width * 16))]
    lines.append("Analysis: " + ", ".join(facts) if facts else "Analysis settings: n/a")
    top = _HEADER_IN + (_MARK_IN if analysis.synthetic_humans else 0.0)
    bottom = (_FOOTER_PAD_IN + _LINE_IN * len(lines)) / height
    # rect is (left, bottom, width, height) in figure fractions.
    fig.get_layout_engine().set(rect=(0.0, bottom, 1.0, 1.0 - top / height - bottom))
    fig.text(0.5, 1.0 - 0.08 / height, title, ha="center", va="top",
             fontsize=12.5, fontweight="bold")
    if analysis.synthetic_humans:
        fig.text(0.5, 1.0 - (_HEADER_IN + 0.02) / height, SYNTHETIC_MARK,
                 ha="center", va="top", color="#d00000", fontsize=11,
                 fontweight="bold")
        fig.text(0.5, 0.5, WATERMARK, ha="center", va="center", rotation=22,
                 color="#d00000", alpha=0.11, fontsize=min(64, 6.2 * width),
                 fontweight="bold", zorder=100)
    fig.text(0.006, 0.04 / height, "\n".join(lines), ha="left", va="bottom",
             fontsize=7.5, color="0.25", linespacing=1.35)


def _note(ax, x: float, text: str) -> None:
    """A grey note in place of a missing bar."""
    ax.text(x, 0.5, text, transform=ax.get_xaxis_transform(), ha="center",
            va="center", fontsize=7.5, color="0.45", style="italic", rotation=90)


def _empty_panel(ax, text: str) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=9, color="0.4", style="italic")


def _grid(fig: Figure, n_panels: int, ncols: int):
    nrows = max(1, -(-n_panels // ncols))
    axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return axes[:max(n_panels, 1)]


def _missing_text(analysis: Analysis, arch: str, metrics: tuple[str | None, ...]):
    if not any(s["arch"] == arch for s in analysis.sets):
        return "not in this analysis"
    lacking = [METRIC_LABEL.get(m, m) for m in metrics
               if m and not analysis.has(arch, m)]
    return f"no {' or '.join(lacking)}" if lacking else ""


def _set_ticks(ax, names: list[str], labels: list[str], order: list[str]) -> None:
    ax.set_xticks(range(len(names)), labels)
    for tick, name in zip(ax.get_xticklabels(), names, strict=True):
        tick.set_color(colour(name, order))
    ax.set_xlim(-0.6, len(names) - 0.4)


def _dots(ax, x: float, values: np.ndarray, colour_: str, seed: int) -> None:
    jitter = np.random.default_rng(seed).uniform(-0.16, 0.16, values.size)
    ax.scatter(x + jitter, values, s=11, color=colour_, alpha=0.75, linewidths=0.3,
               edgecolors="white", zorder=3)


# ------------------------------------------------------------ subject bars


def _subject_panel(ax, analysis: Analysis, statistic: str, metric: str,
                   metric_b: str | None, one_sample: bool,
                   panel: str | None) -> None:
    """Bars (mean over subjects), SEM, dots per subject, p vs the benchmark."""
    names = analysis.set_names
    labels = []
    for x, arch in enumerate(names):
        label = set_label(arch, people=True)
        missing = _missing_text(analysis, arch, (metric, metric_b))
        values = analysis.values(statistic, arch, metric, metric_b)
        finite = values[np.isfinite(values)]
        if missing:
            _note(ax, x, missing)
        elif finite.size == 0:
            _note(ax, x, "undefined (NaN)")
        else:
            mean = finite.mean()
            sem = finite.std(ddof=1) / np.sqrt(finite.size) if finite.size > 1 else 0
            ax.bar(x, mean, width=0.62, color=colour(arch, names), alpha=0.35,
                   edgecolor=colour(arch, names), linewidth=1.2, zorder=2)
            _dots(ax, x, finite, colour(arch, names), seed=x)
            ax.errorbar(x, mean, yerr=sem, color="black", capsize=4, lw=1.3,
                        zorder=4)
            if one_sample:
                entry = analysis.entry(statistic, arch, metric, metric_b, panel)
                label += "\n" + (stars(entry.get("p")) if entry else "")
            if arch != HUMAN:
                entry = analysis.entry(f"{statistic}_vs_human", arch, metric,
                                       metric_b, panel)
                text = format_p(entry.get("p")) if entry else "p n/a"
                ax.text(x, 1.01, text, transform=ax.get_xaxis_transform(),
                        ha="center", va="bottom", fontsize=7.5, color="0.15")
        labels.append(label)
    _set_ticks(ax, names, labels, names)
    ax.axhline(0.0, color="0.3", lw=0.8, zorder=1)


def _subject_figure(analysis: Analysis, title: str, statistic: str,
                    panels: list[tuple[str, str | None]], ylabel: str,
                    versus_test: str, one_sample: bool, panel: str | None = None,
                    ncols: int = 3) -> Figure:
    nrows = max(1, -(-len(panels) // ncols))
    fig = _new_figure(3.7 * ncols, 3.3 * nrows + 1.0)
    axes = _grid(fig, len(panels), ncols)
    if not panels:
        _empty_panel(axes[0], "no statistics for this figure in the analysis")
    for ax, (metric, metric_b) in zip(axes, panels, strict=False):
        _subject_panel(ax, analysis, statistic, metric, metric_b, one_sample, panel)
        ax.set_title(_pair_title(metric, metric_b, panel), pad=14)
        ax.set_ylabel(ylabel)
    notes = ("Humans: the human-human benchmark (each subject against the other "
             "subjects). Bars: mean over subjects. Error bars: SEM. Dots: subjects. "
             f"p above bars: {versus_test} vs humans.")
    if one_sample:
        notes += ("\nUnder labels: one-sample t-test vs 0 (n.s. p>0.05, * p<0.05, "
                  "** p<0.01, *** p<0.001).")
    _frame(fig, analysis, title, notes)
    return fig


def _pair_title(metric: str, metric_b: str | None, panel: str | None) -> str:
    a = METRIC_LABEL.get(metric, metric)
    if metric_b is None:
        return a
    b = METRIC_LABEL.get(metric_b, metric_b)
    return f"{a} \u2192 {b}" if panel == "3b" else f"{a} \u2013 {b}"


def _pairs(analysis: Analysis, statistic: str) -> list[tuple[str, str]]:
    """Metric pairs with a per-subject statistic, in the paper's order."""
    frame = analysis.per_subject
    if frame.empty:
        return []
    rows = frame[(frame["statistic"] == statistic) & (frame["metric_b"] != "")]
    found = set(zip(rows["metric"], rows["metric_b"], strict=True))
    order = {m: i for i, m in enumerate(METRICS)}
    return sorted(found, key=lambda p: (order.get(p[0], 9), order.get(p[1], 9), p))


@_styled
def figure_1a(analysis: Analysis) -> Figure:
    """Fig. 1a: per-unit mean accuracy, confidence and RT of people and
    instances (confidence and RT divided by their mean over units)."""
    metrics = analysis.metrics
    fig = _new_figure(3.9 * max(len(metrics), 1), 4.4)
    axes = _grid(fig, len(metrics), max(len(metrics), 1))
    if not metrics:
        _empty_panel(axes[0], "no per-unit means in the analysis")
    names = analysis.set_names
    for ax, metric in zip(axes, metrics, strict=False):
        normalised = metric in ("confidence", "rt")
        scale = 1.0 if normalised else 100.0
        for x, arch in enumerate(names):
            missing = _missing_text(analysis, arch, (metric,))
            means = analysis.unit_means(arch, metric, normalised) * scale
            finite = means[np.isfinite(means)]
            if missing or finite.size == 0:
                _note(ax, x, missing or "undefined (NaN)")
                continue
            ax.boxplot(finite, positions=[x], widths=0.55, whis=(0, 100),
                       showfliers=False, patch_artist=True, zorder=2,
                       boxprops={"facecolor": colour(arch, names), "alpha": 0.25,
                                 "edgecolor": colour(arch, names)},
                       medianprops={"color": colour(arch, names), "lw": 1.5},
                       whiskerprops={"color": colour(arch, names)},
                       capprops={"color": colour(arch, names)})
            _dots(ax, x, finite, colour(arch, names), seed=x)
            if arch != HUMAN:
                entry = analysis.entry("spread_vs_human", arch, metric)
                if entry and entry.get("estimate") is not None:
                    text = f"SD \u00d7{entry['estimate']:.2f}\n{format_p(entry['p'])}"
                    ax.text(x, 1.01, text, transform=ax.get_xaxis_transform(),
                            ha="center", va="bottom", fontsize=7, color="0.15")
        _set_ticks(ax, names, [set_label(a, people=True) for a in names], names)
        ax.set_title(METRIC_LABEL[metric], pad=24)
        ax.set_ylabel({
            "accuracy": "mean accuracy (% correct)",
            "confidence": "mean confidence / mean over units",
            "rt": "mean RT / mean over units",
        }.get(metric, metric))
    notes = ("Dots: subjects (Humans) or instances. Boxes: quartiles, whiskers: "
             "min-max. Confidence and RT normalised by their mean over units "
             "(people: 1-4 rating, s; networks: logit margin, samples).\n"
             "Above boxes: SD ratio architecture / humans and Levene test p.")
    _frame(fig, analysis, TITLES["fig1a_individual_differences"], notes)
    return fig


@_styled
def figure_1b(analysis: Analysis) -> Figure:
    """Fig. 1b: variability of alignment rows, human-human vs human-ANN."""
    return _subject_figure(
        analysis, TITLES["fig1b_variability"],
        "variability", [(m, None) for m in analysis.metrics],
        "SD of alignment over units (Pearson r)", "bootstrap of subjects",
        one_sample=False, panel="1b",
    )


@_styled
def figure_1c(analysis: Analysis) -> Figure:
    """Fig. 1c: split-half consistency of alignment rows."""
    return _subject_figure(
        analysis, TITLES["fig1c_consistency"],
        "consistency", [(m, None) for m in analysis.metrics],
        "consistency (own r \u2212 mean other r)", "paired t-test",
        one_sample=False, panel="1c",
    )


@_styled
def figure_2a(analysis: Analysis) -> Figure:
    """Fig. 2a: correlation of each subject's alignment rows across metrics."""
    return _subject_figure(
        analysis, TITLES["fig2a_across_metric_alignment"],
        "across_metric_alignment", _pairs(analysis, "across_metric_alignment"),
        "correlation of alignment rows (r)", "paired t-test",
        one_sample=True, panel="2a",
    )


@_styled
def figure_2b(analysis: Analysis) -> Figure:
    """Fig. 2b: across-metric consistency (half 1 of A vs half 2 of B)."""
    return _subject_figure(
        analysis, TITLES["fig2b_across_metric_consistency"],
        "across_metric_consistency", _pairs(analysis, "across_metric_consistency"),
        "consistency (own r \u2212 mean other r)", "paired t-test",
        one_sample=False, panel="2b",
    )


@_styled
def figure_3a(analysis: Analysis) -> Figure:
    """Fig. 3a: within-metric gain of alignment-weighted prediction."""
    return _subject_figure(
        analysis, TITLES["fig3a_prediction_within"], "prediction_improvement",
        [(m, None) for m in analysis.metrics],
        "prediction gain (\u0394 Pearson r)", "paired t-test",
        one_sample=True, panel="3a",
    )


@_styled
def figure_3b(analysis: Analysis) -> Figure:
    """Fig. 3b: across-metric gain (weights from one metric, predicting another)."""
    return _subject_figure(
        analysis, TITLES["fig3b_prediction_across"], "prediction_improvement",
        _pairs(analysis, "prediction_improvement"),
        "prediction gain (\u0394 Pearson r)", "paired t-test",
        one_sample=True, panel="3b",
    )


@_styled
def figure_similarity(analysis: Analysis) -> Figure:
    """Similarity matrices `[subject, unit]` as heat maps, sets by metric."""
    metrics = analysis.metrics
    names = analysis.set_names
    fig = _new_figure(3.1 * len(names) + 0.8, 2.9 * max(len(metrics), 1) + 1.0)
    grid = fig.subplots(max(len(metrics), 1), len(names), squeeze=False)
    if not metrics:
        _empty_panel(grid[0, 0], "no similarity matrices in the analysis")
    cmap = mpl.colormaps["viridis"].with_extremes(bad="#d9d9d9")
    for row, metric in enumerate(metrics):
        matrices = {a: analysis.similarity.get(f"{a}/{metric}") for a in names}
        low, high = _colour_range(matrices.values())
        image = None
        for col, arch in enumerate(names):
            ax = grid[row, col]
            matrix = matrices[arch]
            missing = _missing_text(analysis, arch, (metric,))
            if matrix is None or missing:
                _empty_panel(ax, f"{set_label(arch)}\n{missing or 'no matrix'}")
                continue
            image = ax.imshow(matrix, cmap=cmap, vmin=low, vmax=high,
                              aspect="auto", interpolation="nearest")
            ax.set_title(f"{set_label(arch)}: {METRIC_LABEL[metric]}")
            ax.set_xlabel("other subject" if arch == HUMAN else "instance")
            ax.set_ylabel("subject")
            ax.spines[["top", "right"]].set_visible(True)
        if image is not None:
            fig.colorbar(image, ax=list(grid[row]), shrink=0.9, pad=0.01,
                         label="Pearson r")
    notes = ("Each cell: Pearson r over images between a subject (row) and an "
             "instance or another subject (column), conditions Fisher-z "
             "averaged; axes are row/column indices. Colour scale per metric: "
             "2nd-98th percentile. Grey: undefined (the benchmark's own subject).")
    _frame(fig, analysis, TITLES["similarity_matrices"], notes)
    return fig


def _colour_range(matrices) -> tuple[float, float]:
    """One colour scale for a metric's matrices: their 2nd-98th percentiles,
    so that the individual differences, not the shared level, show."""
    finite = [m[np.isfinite(m)] for m in matrices if m is not None]
    values = np.concatenate(finite) if finite else np.empty(0)
    if values.size == 0:
        return -1.0, 1.0
    low, high = np.quantile(values, [0.02, 0.98])
    return (float(low), float(high)) if high > low else (low - 0.5, high + 0.5)


# Name (file stem), builder and one-line caption of every figure, in order.
FIGURES: tuple[tuple[str, Callable[[Analysis], Figure], str], ...] = (
    ("fig1a_individual_differences", figure_1a,
     "Individual differences: per-unit mean accuracy, confidence and RT of "
     "people and instances (confidence and RT normalised by their mean)."),
    ("fig1b_variability", figure_1b,
     "Variability of each subject's alignment with the units, human-human vs "
     "human-ANN, with bootstrap p values."),
    ("fig1c_consistency", figure_1c,
     "Split-half consistency of alignment (corrected for the shared part), "
     "paired t-tests vs the human-human benchmark."),
    ("fig2a_across_metric_alignment", figure_2a,
     "Across-metric alignment: correlation of a subject's alignment rows on "
     "two metrics."),
    ("fig2b_across_metric_consistency", figure_2b,
     "Across-metric consistency: half 1 of one metric against half 2 of the "
     "other."),
    ("fig3a_prediction_within", figure_3a,
     "Within-metric prediction gain of alignment-weighted over equal-weight "
     "averages."),
    ("fig3b_prediction_across", figure_3b,
     "Across-metric prediction gain (weights from one metric, predicting "
     "another)."),
    ("similarity_matrices", figure_similarity,
     "Similarity matrices (subject x instance Pearson r on all images) per "
     "set and metric."),
)
CAPTIONS = {name: caption for name, _, caption in FIGURES}


def make_figures(analysis_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Draw every figure of an analysis as PNG (150 dpi) and PDF.

    Args:
      analysis_dir: the output folder of `manyseeds analyze`.
      out_dir: where to write `<name>.png` and `<name>.pdf` (`FIGURES` names).

    Returns:
      The files written, PNG then PDF for each figure in `FIGURES` order.

    Raises:
      UserError: the analysis folder is missing or invalid.
    """
    analysis = load_analysis(analysis_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if analysis.synthetic_humans:
        log.warning("figures: the people are a SYNTHETIC cohort; every figure "
                    "is marked")
    paths = []
    for name, builder, _ in FIGURES:
        fig = builder(analysis)
        # Lay out once, then keep it: both formats share the positions.
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
        for suffix in (".png", ".pdf"):
            path = out_dir / f"{name}{suffix}"
            fig.savefig(path, dpi=DPI, metadata=_metadata(analysis, suffix))
            paths.append(path)
        log.info("figures: wrote %s.png/.pdf", out_dir / name)
    return paths


def _metadata(analysis: Analysis, suffix: str) -> dict[str, str]:
    note = SYNTHETIC_MARK if analysis.synthetic_humans else "human data"
    key = "Description" if suffix == ".png" else "Subject"
    return {key: f"manyseeds figure ({note})"}
