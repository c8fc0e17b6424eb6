"""Tests of `figures.plots`: every figure from a small synthetic analysis."""

from __future__ import annotations

import json
import shutil

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from manyseeds.analysis import engine, results, synthetic
from manyseeds.config import AnalysisConfig
from manyseeds.errors import UserError
from manyseeds.figures import plots


@pytest.fixture(scope="module")
def analysis_dir(tmp_path_factory):
    """A small analysis of planted-twin people and instances (RT: RTNet only)."""
    inputs = synthetic.planted_inputs(n_subjects=10, n_instances=8, n_images=40,
                                      missing=0.02, seed=3)
    output = engine.run(inputs, AnalysisConfig(n_splits=6, n_bootstrap=50, chunk=6))
    out = tmp_path_factory.mktemp("analysis")
    results.write(output, out)
    return out


def _copy(analysis_dir, tmp_path, edit_json=None):
    target = tmp_path / "analysis"
    shutil.copytree(analysis_dir, target)
    if edit_json:
        path = target / "statistics.json"
        data = json.loads(path.read_text())
        edit_json(data)
        path.write_text(json.dumps(data))
    return target


def _draw(fig):
    """Lay out and draw a figure as saving does, without rasterising it."""
    fig.draw_without_rendering()
    return plots.figure_texts(fig)


def test_make_figures_writes_every_figure_as_png_and_pdf(analysis_dir, tmp_path):
    paths = plots.make_figures(analysis_dir, tmp_path / "figs")

    names = [name for name, _, _ in plots.FIGURES]
    assert names == [
        "fig1a_individual_differences", "fig1b_variability", "fig1c_consistency",
        "fig2a_across_metric_alignment", "fig2b_across_metric_consistency",
        "fig3a_prediction_within", "fig3b_prediction_across", "similarity_matrices",
    ]
    assert sorted(p.name for p in paths) == sorted(
        f"{n}{s}" for n in names for s in (".png", ".pdf")
    )
    for path in paths:
        assert path.is_file() and path.stat().st_size > 5000
        if path.suffix == ".png":
            image = matplotlib.image.imread(path)
            assert image.ndim == 3 and min(image.shape[:2]) > 300
            assert image.std() > 0.05  # not a blank page
        else:
            assert path.read_bytes()[:5] == b"%PDF-"


def test_every_figure_is_marked_when_people_are_synthetic(analysis_dir):
    analysis = plots.load_analysis(analysis_dir)
    assert analysis.synthetic_humans
    for name, builder, _ in plots.FIGURES:
        texts = plots.figure_texts(builder(analysis))
        assert plots.SYNTHETIC_MARK in texts, name
        assert plots.WATERMARK in texts, name
        assert plots.TITLES[name] in texts


def test_no_mark_when_the_analysis_says_the_people_are_real(analysis_dir, tmp_path):
    def real(data):
        data["synthetic_humans"] = False

    analysis = plots.load_analysis(_copy(analysis_dir, tmp_path, real))
    for name, builder, _ in plots.FIGURES:
        texts = " ".join(plots.figure_texts(builder(analysis)))
        assert "SYNTHETIC" not in texts, name


def test_panels_carry_labels_tests_and_notes(analysis_dir):
    analysis = plots.load_analysis(analysis_dir)

    texts = _draw(plots.figure_1c(analysis))
    assert "consistency (own r \u2212 mean other r)" in texts
    entry = analysis.entry("consistency_vs_human", "resnet18", "accuracy")
    assert plots.format_p(entry["p"]) in texts
    assert texts.count("no RT") == 2  # AlexNet and ResNet18 have no RT

    texts = _draw(plots.figure_3a(analysis))
    entry = analysis.entry("prediction_improvement", "rtnet", "rt", panel="3a")
    assert f"RTNet\n{plots.stars(entry['p'])}" in texts
    assert any("one-sample t-test vs 0" in t for t in texts)

    texts = _draw(plots.figure_3b(analysis))
    assert "accuracy \u2192 confidence" in texts and "RT \u2192 confidence" in texts


def test_stars_follow_the_papers_thresholds():
    assert [plots.stars(p) for p in (0.2, 0.04, 0.005, 1e-5, None, float("nan"))] == [
        "n.s.", "*", "**", "***", "", ""
    ]


def test_missing_architecture_and_undefined_statistics_leave_notes(
    analysis_dir, tmp_path
):
    def drop_resnet(data):
        data["sets"] = [s for s in data["sets"] if s["arch"] != "resnet18"]
        data["statistics"] = [e for e in data["statistics"]
                              if e["arch"] != "resnet18"]
        for entry in data["statistics"]:
            if entry["arch"] == "rtnet" and entry["panel"] == "1c":
                entry.update(estimate=None, sem=None, statistic=None, p=None)

    folder = _copy(analysis_dir, tmp_path, drop_resnet)
    frame = pd.read_csv(folder / "per_subject.csv")
    frame = frame[frame["arch"] != "resnet18"]
    frame.loc[(frame["arch"] == "rtnet") & (frame["panel"] == "1c"), "value"] = np.nan
    frame.to_csv(folder / "per_subject.csv", index=False)
    units = pd.read_csv(folder / "units.csv")
    units[units["arch"] != "resnet18"].to_csv(folder / "units.csv", index=False)
    analysis = plots.load_analysis(folder)

    for name, builder, _ in plots.FIGURES:
        texts = _draw(builder(analysis))
        notes = [t for t in texts if "not in this analysis" in t]
        assert notes, name  # ResNet18's place is kept, with a note
    texts = _draw(plots.figure_1c(analysis))
    assert texts.count("undefined (NaN)") == 3  # RTNet on every metric


def test_load_analysis_rejects_what_analyze_does_not_write(analysis_dir, tmp_path):
    with pytest.raises(UserError, match="no such analysis folder"):
        plots.load_analysis(tmp_path / "absent")
    folder = _copy(analysis_dir, tmp_path, lambda d: d.update(schema="other/9"))
    with pytest.raises(UserError, match="schema 'other/9'"):
        plots.load_analysis(folder)
    (folder / "statistics.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        plots.load_analysis(folder)
    shutil.copy(analysis_dir / "statistics.json", folder)
    (folder / "units.csv").unlink()
    with pytest.raises(UserError, match="units.csv: missing"):
        plots.load_analysis(folder)
    shutil.copy(analysis_dir / "units.csv", folder)
    pd.read_csv(analysis_dir / "per_subject.csv").drop(columns="value").to_csv(
        folder / "per_subject.csv", index=False)
    with pytest.raises(UserError, match="per_subject.csv: missing column"):
        plots.load_analysis(folder)
