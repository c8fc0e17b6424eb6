"""Tests of `figures.report`: the Markdown and HTML report of an analysis."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from manyseeds import cli
from manyseeds.analysis import engine, results, synthetic
from manyseeds.config import AnalysisConfig
from manyseeds.errors import UserError
from manyseeds.figures import paper, plots, report

CONTEXT = {
    "preset": "smoke",
    "seeds": 8,
    "training": {"alexnet": {"wall_s": 12.5, "val_accuracy": {"min": 0.9712}}},
    "calibration": {"rtnet": {"easy": {"noise": 1.37, "human_accuracy": 0.81}}},
}


@pytest.fixture(scope="module")
def analysis_dir(tmp_path_factory):
    """A small analysis of planted-twin people and instances (RT: RTNet only)."""
    inputs = synthetic.planted_inputs(n_subjects=10, n_instances=8, n_images=40,
                                      missing=0.02, seed=5)
    output = engine.run(inputs, AnalysisConfig(n_splits=6, n_bootstrap=50, chunk=6))
    out = tmp_path_factory.mktemp("analysis")
    results.write(output, out)
    return out


@pytest.fixture(scope="module")
def written(analysis_dir, tmp_path_factory):
    """The report written by `manyseeds report`, figures drawn on the way."""
    out = tmp_path_factory.mktemp("report")
    code = cli.main(["report", "--analysis", str(analysis_dir), "--out", str(out),
                     "--context", json.dumps(CONTEXT)])
    assert code == 0
    return out, (out / "report.md").read_text(), (out / "report.html").read_text()


def test_report_starts_with_the_synthetic_banner(written):
    _, md, page = written
    assert md.startswith("> **\u26a0 " + plots.SYNTHETIC_MARK)
    body = page[page.index("<body>") + len("<body>"):].lstrip()
    assert body.startswith('<div class="banner">')
    assert "This is a pipeline check, not a replication." in md


def test_report_lists_every_statistic(written, analysis_dir):
    _, md, page = written
    entries = json.loads((analysis_dir / "statistics.json").read_text())["statistics"]
    section = md[md.index("## Every statistic"):md.index("## Undefined alignments")]
    rows = [line for line in section.splitlines()
            if line.startswith("| ") and not line.startswith("| name")
            and not line.startswith("| ---")]
    assert len(rows) == len(entries)
    for row, entry in zip(rows, entries, strict=True):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[:3] == [entry["name"], entry["panel"], entry["arch"]]
        expected_p = "-" if entry["p"] is None else paper.format_p(entry["p"])
        assert cells[-1] == expected_p
    assert page.count("<tr>") >= len(entries)


def test_report_sets_ours_beside_the_papers_numbers(written, analysis_dir):
    _, md, _ = written
    section = md[md.index("## Our numbers beside the paper's"):
                 md.index("## Every statistic")]
    for item in paper.REPORTED:
        assert f"| {item.key} |" in section
        assert item.reported in section
    for value in ("21%-93%", "41%-81%", "p = 2.87e-13", "p = 1.30e-9",
                  "p = 2.72e-6", "all p > 0.257", "all p > 0.19"):
        assert value in section
    statistics = json.loads((analysis_dir / "statistics.json").read_text())
    rows = paper.compare(statistics["statistics"])
    counted = [r for r in rows if r["agrees"] in ("yes", "no")]
    agree = sum(r["agrees"] == "yes" for r in counted)
    assert f"Agreement: {agree} of {len(counted)} checked rows agree" in section


def test_report_summarises_the_run_and_nan_counts(written):
    _, md, _ = written
    assert "| n_splits | 6 | 1000 |" in md
    assert "| Preset | smoke |" in md
    assert "| alexnet | 12.5 | 0.9712 |" in md  # nested keys flattened
    assert "easy / noise" in md and "| rtnet | 1.37 | 0.81 |" in md
    assert "## Undefined alignments (NaN counts)" in md
    assert "| all_images | human | accuracy | accuracy |" in md


def test_html_is_self_contained_with_every_figure(written):
    out, md, page = written
    sources = re.findall(r'src="([^"]*)"', page)
    assert len(sources) == len(plots.FIGURES)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"<link|<script|href=|url\(|@import", page)
    for name, _, _ in plots.FIGURES:
        assert f"](figures/{name}.png)" in md
        assert (out / "figures" / f"{name}.pdf").is_file()


def test_real_people_get_no_banner_and_honest_wording(analysis_dir, tmp_path):
    folder = tmp_path / "analysis"
    shutil.copytree(analysis_dir, folder)
    path = folder / "statistics.json"
    data = json.loads(path.read_text())
    data["synthetic_humans"] = False
    path.write_text(json.dumps(data))

    md_path, html_path = report.write_report(folder, tmp_path / "out", figures=[])
    md, page = md_path.read_text(), html_path.read_text()
    assert "SYNTHETIC PEOPLE" not in md and 'class="banner"' not in page
    assert md.startswith("# ")
    assert "pipeline check" not in md
    assert "No figures were given." in md


def test_bad_inputs_raise_user_errors(analysis_dir, tmp_path):
    with pytest.raises(UserError, match="figure file not found"):
        report.write_report(analysis_dir, tmp_path, figures=[tmp_path / "x.png"])
    with pytest.raises(UserError, match="must be a JSON object"):
        report.write_report(analysis_dir, tmp_path, figures=[], context=[1, 2])
    with pytest.raises(UserError, match="no such analysis folder"):
        report.write_report(tmp_path / "absent", tmp_path)
