"""`manyseeds analyze` on small files, and `manyseeds bench analysis` on a tiny size.

The people and instances are small synthetic tables written with
`BehaviourTable.write` (and, once, a hand-written file in the published
`human.csv` schema); the shapes match tests/test_analysis_engine.py so that
compiled functions are shared.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from manyseeds.analysis import synthetic
from manyseeds.analysis.inputs import from_tables
from manyseeds.cli import main
from manyseeds.data.table import BehaviourTable, behaviour_vectors

ENTRY_FIELDS = {"name", "panel", "arch", "versus", "metric", "metric_b", "estimate",
                "sem", "test", "statistic", "df", "n", "p", "details"}
SMALL = ["--splits", "8", "--bootstrap", "50", "--chunk", "3"]


def to_table(values: dict[str, np.ndarray], conditions, images, meta) -> BehaviourTable:
    """Tidy trials (one showing per condition) from `[unit, condition, image]`."""
    units, n_conditions, n_images = values["accuracy"].shape
    u, c, i = np.meshgrid(np.arange(units), np.arange(n_conditions),
                          np.arange(n_images), indexing="ij")
    frame = pd.DataFrame({
        "subject": u.ravel() + 1,
        "image": np.asarray(images)[i.ravel()],
        "noise": np.where(i.ravel() % 2 == 0, "easy", "hard"),
        "condition": np.asarray(conditions)[c.ravel()],
        "repeat": c.ravel() + 1,
        "response": 3.0,
    })
    for metric, column in (("accuracy", "correct"), ("confidence", "confidence"),
                           ("rt", "rt")):
        frame[column] = values[metric].ravel() if metric in values else np.nan
    return BehaviourTable(frame=frame, meta=meta)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analyze")
    inputs = synthetic.planted_inputs(n_subjects=6, archs=("alexnet", "rtnet"),
                                      n_instances=5, n_images=41, seed=2)
    inputs.models["alexnet"]["accuracy"][0, 0, :3] = np.nan
    conditions, images = inputs.conditions, inputs.images
    humans = to_table(inputs.humans, conditions, images,
                      {"kind": "human", "name": "people", "synthetic": True})
    paths = {"humans": humans.write(folder / "people.csv")}
    for arch, values in inputs.models.items():
        table = to_table(values, conditions, images,
                         {"kind": "model", "name": arch, "synthetic": True})
        paths[arch] = table.write(folder / f"{arch}.csv")
    return folder, paths, inputs


def test_tables_round_trip_to_the_same_vectors(files):
    _, paths, inputs = files
    humans = BehaviourTable.read(paths["humans"])
    vectors = behaviour_vectors(humans, "confidence")
    np.testing.assert_allclose(vectors.values, inputs.humans["confidence"])
    rebuilt = from_tables(humans, [BehaviourTable.read(paths["rtnet"])])
    assert rebuilt.sets("rt") == ("human", "rtnet")
    assert rebuilt.synthetic_humans


def test_analyze_writes_every_file_and_the_json_schema(files, capsys, caplog):
    folder, paths, _ = files
    out = folder / "out"
    code = main(["analyze", "--humans", str(paths["humans"]), "--models",
                 str(paths["alexnet"]), str(paths["rtnet"]), "--out", str(out), *SMALL])
    assert code == 0
    assert "SYNTHETIC PEOPLE" in caplog.text
    printed = capsys.readouterr().out
    assert "SYNTHETIC people" in printed and "consistency" in printed

    document = json.loads((out / "statistics.json").read_text())
    assert document["schema"] == "manyseeds.analysis/1"
    assert document["synthetic_humans"] is True
    assert document["settings"]["n_splits"] == 8
    assert document["settings"]["n_bootstrap"] == 50
    assert {s["arch"] for s in document["sets"]} == {"human", "alexnet", "rtnet"}
    entries = document["statistics"]
    assert all(set(e) == ENTRY_FIELDS for e in entries)
    names = {(e["name"], e["arch"]) for e in entries}
    assert ("consistency_vs_human", "alexnet") in names
    assert ("variability_vs_human", "rtnet") in names
    rt = [e for e in entries if e["metric"] == "rt" or e["metric_b"] == "rt"]
    assert rt and {e["arch"] for e in rt} == {"human", "rtnet"}
    tested = [e for e in entries if e["test"] is not None]
    assert tested and all(e["n"] >= 2 for e in tested)
    assert all(e["p"] is None or 0 <= e["p"] <= 1 for e in entries)
    missing = [r for r in document["nan_counts"]
               if r["arch"] == "alexnet" and r["scope"] == "all_images"]
    assert missing

    per_subject = pd.read_csv(out / "per_subject.csv")
    assert set(per_subject["panel"]) == {"1b", "1c", "2a", "2b", "3a", "3b"}
    assert per_subject.groupby(["statistic", "arch", "metric"]).size().min() >= 6
    units = pd.read_csv(out / "units.csv")
    assert set(units["kind"]) == {"human", "model"}
    similarity = np.load(out / "similarity.npz")
    assert similarity["alexnet/accuracy"].shape == (6, 5)
    assert similarity["human/rt"].shape == (6, 6)
    assert "rtnet/rt" in similarity and "alexnet/rt" not in similarity


def test_analyze_reads_a_published_human_file(files, tmp_path):
    _, paths, _ = files
    trials = BehaviourTable.read(paths["humans"]).frame
    published = pd.DataFrame({
        "subject": trials["subject"],
        "mnist_index": trials["image"],
        "sat": trials["condition"] + " focus",
        "noise": trials["noise"],
        "repeat": trials["repeat"],
        "response": 3,
        "correct": np.round(trials["correct"]).astype(int),
        "resp_rt": trials["rt"].round(3),
        "confidence": trials["confidence"].astype(int),
    })
    path = tmp_path / "human.csv"
    published.to_csv(path, index=False)
    code = main(["analyze", "--humans", str(path), "--models", str(paths["rtnet"]),
                 "--out", str(tmp_path / "out"), *SMALL])
    assert code == 0
    document = json.loads((tmp_path / "out" / "statistics.json").read_text())
    assert document["synthetic_humans"] is False
    assert {s["arch"] for s in document["sets"]} == {"human", "rtnet"}


def test_human_only_analysis_is_the_benchmark(files, tmp_path):
    _, paths, _ = files
    assert main(["analyze", "--humans", str(paths["humans"]), "--out",
                 str(tmp_path), *SMALL]) == 0
    document = json.loads((tmp_path / "statistics.json").read_text())
    assert {e["arch"] for e in document["statistics"]} == {"human"}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--humans", "nowhere.csv"], "no such"),
        (["--splits", "0"], "--splits must be at least 1"),
        (["--humans", "{bad}"], "neither a published human file"),
        (["--models", "{humans}"], "a human table given as --models"),
    ],
)
def test_analyze_refuses_bad_input_in_one_line(files, tmp_path, capsys, args, message):
    _, paths, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    base = {"--humans": str(paths["humans"]), "--out": str(tmp_path / "out")}
    fill = {"{bad}": str(bad), "{humans}": str(paths["humans"])}
    args = [fill.get(a, a) for a in args]
    for flag, value in base.items():
        if flag not in args:
            args += [flag, value]
    assert main(["analyze", *SMALL, *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_bench_analysis_prints_both_times_and_the_ratio(capsys):
    code = main(["bench", "analysis", "--subjects", "6", "--archs", "2",
                 "--instances", "5", "--images", "41", "--splits", "8",
                 "--bootstrap", "50", "--chunk", "3", "--reference-splits", "1"])
    assert code == 0
    out = capsys.readouterr().out
    assert "JAX engine" in out and "NumPy reference" in out and "speed-up" in out
