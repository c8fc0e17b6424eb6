"""Tests of `figures.paper`: the paper's reported values and the comparison."""

from __future__ import annotations

import pytest

from manyseeds.figures import paper


def _entry(name, panel, arch, metric, metric_b=None, estimate=0.1, p=0.5, **extra):
    return {"name": name, "panel": panel, "arch": arch, "metric": metric,
            "metric_b": metric_b, "estimate": estimate, "p": p, "n": 60, **extra}


def _only(key):
    return [item for item in paper.REPORTED if item.key == key]


def test_the_papers_numbers_are_written_once_with_their_source():
    keys = [item.key for item in paper.REPORTED]
    assert len(keys) == len(set(keys))
    reported = {item.key: item.reported for item in paper.REPORTED}
    # PROTOCOL.md section 5.
    assert reported["ann_accuracy_range"] == "21%-93%"
    assert reported["human_accuracy_range"] == "41%-81%"
    assert reported["variability_same"] == "all p > 0.257"
    assert reported["variability_resnet18"] == "lower, p < 0.011 (both)"
    assert reported["consistency_same"] == "all p > 0.19"
    assert reported["consistency_resnet18"] == "lower, p = 0.002 (both)"
    assert reported["across_positive"] == "all p < 0.001"
    assert reported["across_resnet18"] == "lower, p = 2.87e-13"
    assert reported["rtnet_rt_confidence"] == "higher, p = 1.30e-9"
    assert reported["across_consistency_resnet18"] == "lower, p = 2.72e-6"
    assert reported["prediction_gain"] == "all p < 0.001"
    for item in paper.REPORTED:
        assert item.panel in ("1a", "1b", "1c", "2a", "2b", "3a", "3b")
        assert item.expect in paper.CRITERIA
        assert len(item.quote) > 30 and item.targets


@pytest.mark.parametrize(
    ("key", "estimate", "p", "agrees"),
    [
        ("variability_same", -0.01, 0.40, "yes"),
        ("variability_same", -0.01, 0.01, "no"),
        ("variability_resnet18", -0.02, 0.001, "yes"),
        ("variability_resnet18", 0.02, 0.001, "no"),  # significant, wrong sign
        ("variability_resnet18", -0.02, 0.30, "no"),
        ("variability_resnet18", -0.02, None, "n/a"),
    ],
)
def test_agreement_is_direction_and_significance(key, estimate, p, agrees):
    item = _only(key)
    arch, metric, _ = item[0].targets[0]
    entries = [_entry("variability_vs_human", "1b", arch, metric, estimate=estimate,
                      p=p)]
    rows = paper.compare(entries, item)
    assert rows[0]["agrees"] == agrees
    assert rows[0]["arch"] == arch and rows[0]["paper"] == item[0].reported
    assert all(r["agrees"] == "n/a" for r in rows[1:])  # not in the entries
    assert rows[-1]["ours"] == "not in this analysis"


def test_spread_is_checked_for_direction_and_ranges_are_pooled():
    entries = [
        _entry("spread", "1a", "alexnet", "accuracy",
               details={"min": 0.30, "max": 0.90}),
        _entry("spread", "1a", "rtnet", "accuracy", details={"min": 0.21, "max": 0.7}),
        _entry("spread_vs_human", "1a", "alexnet", "accuracy", estimate=1.8, p=0.2),
        _entry("spread_vs_human", "1a", "resnet18", "accuracy", estimate=0.9, p=0.01),
    ]
    claims = _only("ann_accuracy_range") + _only("accuracy_spread")
    rows = paper.compare(entries, claims)
    assert rows[0]["ours"] == "21%-90%" and rows[0]["agrees"] == "descriptive"
    assert rows[0]["arch"] == "alexnet, rtnet"
    assert [r["agrees"] for r in rows[1:]] == ["yes", "no", "n/a"]


def test_across_metric_gains_are_compared_with_within_metric_gains():
    entries = [
        _entry("prediction_improvement", "3a", "rtnet", "accuracy", estimate=0.05),
        _entry("prediction_improvement", "3a", "rtnet", "rt", estimate=0.03),
        _entry("prediction_improvement", "3b", "rtnet", "accuracy", "rt",
               estimate=0.01),
        _entry("prediction_improvement", "3a", "alexnet", "accuracy", estimate=0.01),
        _entry("prediction_improvement", "3b", "alexnet", "accuracy", "confidence",
               estimate=0.02),
    ]
    rows = paper.compare(entries, _only("prediction_across_weaker"))
    agrees = {r["arch"]: r["agrees"] for r in rows}
    assert agrees == {"alexnet": "no", "resnet18": "n/a", "rtnet": "yes"}


def test_format_p():
    assert paper.format_p(0.25734) == "0.257"
    assert paper.format_p(2.87e-13) == "2.87e-13"
    assert paper.format_p(None) == "n/a"
    assert paper.format_p(float("nan")) == "n/a"
