"""The paper's reported results, written once, and ours set beside them.

Each `Reported` is one claim of the Results of Fung, Ratan Murty & Rahnev
(2025), as collected in PROTOCOL.md section 5: the figure panel, the
statistic of `statistics.json` (schema "manyseeds.analysis/1") that our
number comes from, the architectures and metrics it concerns, the value as
the paper states it, what it implies about the direction and significance of
an effect, and the sentence of the paper it comes from.

`compare(entries)` looks each claim up in our statistics and says whether our
result agrees in direction and significance. Significance is judged at
`ALPHA` = 0.05 for every claim: the paper's own thresholds (e.g. "all p's >
0.257") describe its data, not a criterion, so a p of 0.10 here "agrees" with
a reported p > 0.257 (both not significant), and a p of 0.01 "agrees" with a
reported p = 2.87e-13 (both significant, same sign). The claims about spread
(Fig. 1a) have no test in the paper, so only their direction is checked (our
SD ratio of unit means, architecture / people).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Any

ALPHA = 0.05
ANNS = ("alexnet", "resnet18", "rtnet")

# What a claim implies; `CRITERIA` says how each is checked.
RANGE = "range"  # descriptive: min-max of unit means, no check
WIDER = "wider"  # SD ratio arch / people > 1
NARROWER = "narrower"  # SD ratio arch / people < 1
SAME = "same"  # p >= ALPHA
LOWER = "lower"  # estimate < 0 and p < ALPHA
HIGHER = "higher"  # estimate > 0 and p < ALPHA
POSITIVE = "positive"  # one-sample: estimate > 0 and p < ALPHA
NOT_LOWER = "not_lower"  # not (estimate < 0 and p < ALPHA)
WEAKER_ACROSS = "weaker_across"  # mean 3b gain < mean 3a gain of the arch

CRITERIA = {
    RANGE: "descriptive (no check)",
    WIDER: "SD ratio > 1 (direction only)",
    NARROWER: "SD ratio < 1 (direction only)",
    SAME: f"n.s. (p >= {ALPHA:g})",
    LOWER: f"difference < 0 and p < {ALPHA:g}",
    HIGHER: f"difference > 0 and p < {ALPHA:g}",
    POSITIVE: f"mean > 0 and p < {ALPHA:g}",
    NOT_LOWER: f"not (difference < 0 and p < {ALPHA:g})",
    WEAKER_ACROSS: "mean across-metric gain < mean within-metric gain",
}

# A target: (arch, metric, metric_b); metric None means "every metric".
Target = tuple[str, str | None, str | None]

_WITHIN = {
    "alexnet": ("accuracy", "confidence"),
    "resnet18": ("accuracy", "confidence"),
    "rtnet": ("accuracy", "confidence", "rt"),
}
_PAIRS = {
    "alexnet": (("accuracy", "confidence"),),
    "resnet18": (("accuracy", "confidence"),),
    "rtnet": (("accuracy", "confidence"), ("accuracy", "rt"), ("confidence", "rt")),
}


def _within(archs: Sequence[str]) -> tuple[Target, ...]:
    return tuple((a, m, None) for a in archs for m in _WITHIN[a])


def _pairs(archs: Sequence[str]) -> tuple[Target, ...]:
    return tuple((a, m, b) for a in archs for m, b in _PAIRS[a])


@dataclasses.dataclass(frozen=True)
class Reported:
    """One result the paper reports.

    Attributes:
      key: short id, used in the report.
      panel: figure panel ("1a" ... "3b").
      claim: what the paper reports, in our words.
      statistic: name of the `statistics.json` entries our number comes from.
      targets: (arch, metric, metric_b) the claim is about; RT exists for
        RTNet only, so "every metric" lists accuracy and confidence for
        AlexNet and ResNet18.
      reported: the value as the paper gives it.
      expect: what the claim implies (see `CRITERIA`).
      quote: the sentence of the paper's Results it comes from.
    """

    key: str
    panel: str
    claim: str
    statistic: str
    targets: tuple[Target, ...]
    reported: str
    expect: str
    quote: str


# PROTOCOL.md section 5; quotes from the paper's Results (section 3).
REPORTED: tuple[Reported, ...] = (
    Reported(
        "ann_accuracy_range", "1a", "accuracy of ANN instances at matched noise",
        "spread", tuple((a, "accuracy", None) for a in ANNS), "21%-93%", RANGE,
        "these ANN models demonstrated a large range of accuracy ranging from "
        "21% to 93%",
    ),
    Reported(
        "human_accuracy_range", "1a", "accuracy of human subjects", "spread",
        (("human", "accuracy", None),), "41%-81%", RANGE,
        "greater variability than the variability observed in human subjects "
        "(41% - 81%)",
    ),
    Reported(
        "accuracy_spread", "1a", "every architecture varies more than people in "
        "accuracy", "spread_vs_human", tuple((a, "accuracy", None) for a in ANNS),
        "ANN > humans", WIDER,
        "with all ANN architectures demonstrating greater variability than the "
        "variability observed in human subjects",
    ),
    Reported(
        "confidence_spread", "1a", "every architecture varies more than people in "
        "confidence", "spread_vs_human", tuple((a, "confidence", None) for a in ANNS),
        "ANN > humans", WIDER,
        "Similar results were found for confidence but not RT",
    ),
    Reported(
        "rt_spread", "1a", "people vary more than RTNet in RT", "spread_vs_human",
        (("rtnet", "rt", None),), "humans > RTNet", NARROWER,
        "where we found larger variability in humans than RTNet",
    ),
    Reported(
        "variability_same", "1b", "variability of human-ANN alignment equals the "
        "human-human one", "variability_vs_human", _within(("alexnet", "rtnet")),
        "all p > 0.257", SAME,
        "most of which was statistically indistinguishable from the human-human "
        "variability (all p's > 0.257; Figure 1b)",
    ),
    Reported(
        "variability_resnet18", "1b", "ResNet18 alignment varies less than the "
        "human-human one", "variability_vs_human", _within(("resnet18",)),
        "lower, p < 0.011 (both)", LOWER,
        "The only exception was ResNet18 which demonstrated reliably lower "
        "variability (both p's < 0.011)",
    ),
    Reported(
        "consistency_same", "1c", "RTNet and AlexNet as consistent as the "
        "human-human benchmark", "consistency_vs_human", _within(("alexnet", "rtnet")),
        "all p > 0.19", SAME,
        "human-RTNet and human-AlexNet alignments were as consistent as the "
        "human-human benchmark for all behavioral metrics (all p's > 0.19)",
    ),
    Reported(
        "consistency_resnet18", "1c", "ResNet18 less consistent than the benchmark",
        "consistency_vs_human", _within(("resnet18",)), "lower, p = 0.002 (both)",
        LOWER,
        "ResNet18 showed lower consistency than the human-human benchmark for both "
        "accuracy and confidence (both p's = 0.002)",
    ),
    Reported(
        "across_positive", "2a", "human-ANN alignments positive across metrics",
        "across_metric_alignment", _pairs(ANNS), "all p < 0.001", POSITIVE,
        "Across all pairs of behavioral metrics, human-ANN alignments were "
        "significantly positive (all p's < 0.001, Figure 2a)",
    ),
    Reported(
        "across_resnet18", "2a", "ResNet18 across-metric alignment below the "
        "benchmark", "across_metric_alignment_vs_human", _pairs(("resnet18",)),
        "lower, p = 2.87e-13", LOWER,
        "except for the human-ResNet18 correlation, which was significantly worse "
        "than the human-human benchmark (p = 2.87 x 10^-13)",
    ),
    Reported(
        "across_same", "2a", "other across-metric alignments equal the benchmark",
        "across_metric_alignment_vs_human",
        (("alexnet", "accuracy", "confidence"), ("rtnet", "accuracy", "confidence"),
         ("rtnet", "accuracy", "rt")),
        "each p > 0.18", SAME,
        "all other human-ANN alignments across behavioral metric pairs were "
        "indistinguishable from the human-human benchmark (each p > 0.18)",
    ),
    Reported(
        "rtnet_rt_confidence", "2a", "RTNet RT-confidence alignment above the "
        "benchmark", "across_metric_alignment_vs_human",
        (("rtnet", "confidence", "rt"),), "higher, p = 1.30e-9", HIGHER,
        "for the case of human-RTNet and RT-confidence, it even outperformed the "
        "human-human benchmark (p = 1.30 x 10^-9)",
    ),
    Reported(
        "across_consistency_resnet18", "2b", "ResNet18 across-metric consistency "
        "below the benchmark", "across_metric_consistency_vs_human",
        _pairs(("resnet18",)), "lower, p = 2.72e-6", LOWER,
        "whereas human-ResNet18 alignment was significantly weaker than the human "
        "benchmark (p = 2.72 x 10^-6)",
    ),
    Reported(
        "across_consistency_same", "2b", "RTNet and AlexNet across-metric "
        "consistency equal the benchmark", "across_metric_consistency_vs_human",
        _pairs(("alexnet", "rtnet")), "all p > 0.05", SAME,
        "Human-RTNet and Human-AlexNet alignments again showed across-metric "
        "consistency comparable to the human benchmark in all metric pairs (all "
        "p's > 0.05)",
    ),
    Reported(
        "prediction_gain", "3a", "alignment-weighted prediction beats equal "
        "weights", "prediction_improvement", _within(ANNS), "all p < 0.001",
        POSITIVE,
        "incorporating these human-ANN alignments improved predictions for unseen "
        "data across all behavioral metrics (all p's < 0.001; Figure 3a)",
    ),
    Reported(
        "prediction_vs_human", "3a", "ANN gains comparable to or above the human "
        "benchmark", "prediction_improvement_vs_human", _within(ANNS),
        "comparable or higher", NOT_LOWER,
        "all three ANNs either showed comparable improvements or improve "
        "significantly more than the subject benchmark (Figure 3a)",
    ),
    Reported(
        "prediction_across_weaker", "3b", "across-metric gains smaller than "
        "within-metric gains", "prediction_improvement",
        tuple((a, None, None) for a in ANNS), "weaker than within-metric",
        WEAKER_ACROSS,
        "Similar benefits were also observed in most across-metric predictions, "
        "though the effect was generally weaker as compared to the within-metric "
        "predictions (Figure 3b)",
    ),
)


def compare(
    entries: Iterable[dict[str, Any]],
    reported: Sequence[Reported] = REPORTED,
    alpha: float = ALPHA,
) -> list[dict[str, Any]]:
    """Set each reported result beside ours.

    Args:
      entries: the `statistics` list of `statistics.json`.
      reported: the claims to check (default: all of `REPORTED`).
      alpha: significance level for "agrees".

    Returns:
      One row per (claim, target) (one per claim for ranges): key, panel,
      claim, arch, metrics, paper, ours, criterion, agrees ("yes", "no" or
      "n/a" when our number is missing or undefined).
    """
    entries = list(entries)
    rows = []
    for item in reported:
        if item.expect == RANGE:
            rows.append(_range_row(item, entries))
            continue
        for arch, metric, metric_b in item.targets:
            if item.expect == WEAKER_ACROSS:
                ours, agrees = _weaker_across(entries, arch)
            else:
                entry = _find(entries, item.statistic, item.panel, arch, metric,
                              metric_b)
                ours, agrees = _judge(entry, item.expect, alpha)
            rows.append(_row(item, arch, _metrics(metric, metric_b), ours, agrees))
    return rows


def _row(item: Reported, arch: str, metrics: str, ours: str, agrees: str):
    return {
        "key": item.key,
        "panel": item.panel,
        "claim": item.claim,
        "arch": arch,
        "metrics": metrics,
        "paper": item.reported,
        "ours": ours,
        "criterion": CRITERIA[item.expect],
        "agrees": agrees,
    }


def _metrics(metric: str | None, metric_b: str | None) -> str:
    if metric is None:
        return "all"
    return metric if metric_b is None else f"{metric} & {metric_b}"


def _find(entries, name, panel, arch, metric, metric_b):
    for entry in entries:
        if (entry.get("name") == name and entry.get("panel") == panel
                and entry.get("arch") == arch and entry.get("metric") == metric
                and entry.get("metric_b") == metric_b):
            return entry
    return None


def _finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def format_p(p) -> str:
    """A p value as the report writes it ("n/a" when undefined)."""
    if not _finite(p):
        return "n/a"
    return f"{p:.2e}" if p < 1e-3 else f"{p:.3f}"


def _judge(entry, expect: str, alpha: float) -> tuple[str, str]:
    """Our number as text, and whether it agrees with `expect`."""
    if entry is None:
        return "not in this analysis", "n/a"
    estimate, p = entry.get("estimate"), entry.get("p")
    if expect in (WIDER, NARROWER):
        if not _finite(estimate):
            return "undefined (NaN)", "n/a"
        agrees = estimate > 1 if expect == WIDER else estimate < 1
        return (f"SD ratio {estimate:.2f} (Levene p = {format_p(p)})",
                "yes" if agrees else "no")
    label = "mean" if expect == POSITIVE else "difference"
    if not _finite(estimate) or not _finite(p):
        shown = f"{label} {estimate:+.3g}, " if _finite(estimate) else ""
        return f"{shown}p undefined (NaN)", "n/a"
    ours = f"{label} {estimate:+.3g}, p = {format_p(p)} (n = {entry.get('n')})"
    significant = p < alpha
    agrees = {
        SAME: not significant,
        LOWER: significant and estimate < 0,
        HIGHER: significant and estimate > 0,
        POSITIVE: significant and estimate > 0,
        NOT_LOWER: not (significant and estimate < 0),
    }[expect]
    return ours, "yes" if agrees else "no"


def _range_row(item: Reported, entries) -> dict[str, Any]:
    lows, highs, archs = [], [], []
    for arch, metric, metric_b in item.targets:
        entry = _find(entries, item.statistic, item.panel, arch, metric, metric_b)
        details = (entry or {}).get("details") or {}
        if _finite(details.get("min")) and _finite(details.get("max")):
            lows.append(details["min"])
            highs.append(details["max"])
            archs.append(arch)
    if lows:
        ours = f"{100 * min(lows):.0f}%-{100 * max(highs):.0f}%"
        agrees = "descriptive"
    else:
        ours, agrees = "not in this analysis", "n/a"
    metric = item.targets[0][1]
    return _row(item, ", ".join(archs) or "-", metric or "all", ours, agrees)


def _weaker_across(entries, arch: str) -> tuple[str, str]:
    def mean_gain(panel: str) -> float:
        values = [
            e["estimate"] for e in entries
            if e.get("name") == "prediction_improvement" and e.get("panel") == panel
            and e.get("arch") == arch and _finite(e.get("estimate"))
        ]
        return sum(values) / len(values) if values else math.nan

    within, across = mean_gain("3a"), mean_gain("3b")
    if not (math.isfinite(within) and math.isfinite(across)):
        return "not in this analysis", "n/a"
    ours = f"mean gain within {within:+.3g}, across {across:+.3g}"
    return ours, "yes" if across < within else "no"
