"""`manyseeds reproduce` end to end on the smoke preset, and its reuse."""

from __future__ import annotations

import json

from manyseeds.cli import main


def test_smoke_reproduce_end_to_end_then_reuses(tmp_path, caplog):
    out = tmp_path / "smoke"
    args = ["reproduce", "--preset", "smoke", "--out", str(out), "--no-progress",
            "--splits", "8", "--bootstrap", "50"]
    assert main(args) == 0

    context = json.loads((out / "context.json").read_text())
    assert context["synthetic_humans"] is True
    assert set(context["training"]) == {"alexnet", "resnet18", "rtnet"}
    for arch in ("alexnet", "resnet18", "rtnet"):
        assert (out / "runs" / arch / "manifest.json").is_file()
        assert (out / "behaviour" / arch / f"{arch}.csv").is_file()
        calibration = context["calibration"][arch]
        assert {"easy noise level", "hard noise level"} <= set(calibration)
    stats = json.loads((out / "analysis" / "statistics.json").read_text())
    assert stats["synthetic_humans"] is True
    figures = sorted(p.name for p in (out / "report" / "figures").glob("*.png"))
    assert len(figures) >= 8
    report = (out / "report" / "report.md").read_text()
    assert "SYNTHETIC" in report.upper().split("\n", 5)[0] + report[:2000].upper()
    assert (out / "report" / "report.html").stat().st_size > 10_000

    # A second run reuses every stage: nothing is trained, evaluated or
    # analysed again.
    stamps = {
        p: p.stat().st_mtime_ns for p in out.rglob("*.csv")
    } | {out / "analysis" / "statistics.json":
         (out / "analysis" / "statistics.json").stat().st_mtime_ns}
    caplog.clear()
    with caplog.at_level("INFO"):
        assert main(args) == 0
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    text = caplog.text
    assert "finished run found" in text and "reusing the analysis" in text
