"""Tests of the human-data loader: the published schema, mapping, validation."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from manyseeds import cli
from manyseeds.data import humans
from manyseeds.data.stimuli import Stimuli
from manyseeds.data.table import COLUMNS, meta_path
from manyseeds.errors import UserError

# No user config, no data environment, no tensorflow-datasets.
pytestmark = pytest.mark.usefixtures("isolated_data_config")

IMAGES = np.array([11, 12, 13, 14, 21, 22, 23, 24])
NOISE = np.array(["easy"] * 4 + ["hard"] * 4)
LABELS = np.array([1, 2, 3, 4, 5, 6, 7, 8])


def _stimuli():
    return Stimuli(IMAGES, NOISE, LABELS, source="test-set")


def _frame(n_subjects=3):
    """A valid file: every image twice per subject, one showing per condition.

    Subject s answers image k correctly unless k < s, so subject accuracies are
    known: (8 - (s - 1)) / 8.
    """
    rows = []
    for s in range(1, n_subjects + 1):
        for k, (image, noise, label) in enumerate(
            zip(IMAGES, NOISE, LABELS, strict=True)
        ):
            for repeat, sat in ((1, "accuracy focus"), (2, "speed focus")):
                right = k >= s - 1
                rows.append(
                    {
                        "subject": s,
                        "mnist_index": image,
                        "sat": sat,
                        "noise": noise,
                        "repeat": repeat,
                        "response": label if right else label % 8 + 1,
                        "correct": int(right),
                        "resp_rt": 0.5 + 0.1 * k + 0.05 * repeat,
                        "confidence": 1 + (k + repeat) % 4,
                    }
                )
    return pd.DataFrame(rows)


def _write(frame, tmp_path, name="human.csv"):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_published_schema_becomes_the_tidy_table(tmp_path):
    frame = _frame()
    path = _write(frame, tmp_path)
    table = humans.load_humans(path, stimuli=_stimuli())
    tidy = table.frame
    assert tuple(tidy.columns) == COLUMNS
    assert len(tidy) == len(frame)
    assert set(tidy["condition"]) == {"accuracy", "speed"}
    assert set(tidy["noise"]) == {"easy", "hard"}
    np.testing.assert_array_equal(tidy["image"], frame["mnist_index"])
    np.testing.assert_allclose(tidy["rt"], frame["resp_rt"])
    assert table.meta["kind"] == "human" and table.meta["source"] == str(path)
    assert table.synthetic is False


def test_any_split_of_showings_between_conditions_is_accepted(tmp_path):
    frame = _frame()
    frame["sat"] = "accuracy focus"  # both showings in one condition
    table = humans.load_humans(_write(frame, tmp_path))
    assert set(table.frame["condition"]) == {"accuracy"}
    assert table.frame.groupby(["subject", "image"]).size().eq(2).all()


def test_summary(tmp_path):
    frame = _frame(n_subjects=3)
    frame.loc[[0, 5], "resp_rt"] = np.nan
    table = humans.load_humans(_write(frame, tmp_path))
    summary = humans.summarise_humans(table)
    accuracies = [(8 - (s - 1)) / 8 for s in (1, 2, 3)]
    assert summary["subjects"] == 3 and summary["trials"] == 48
    assert summary["trials_per_subject"] == {"min": 16, "median": 16, "max": 16}
    assert summary["accuracy_per_subject"] == {
        "min": min(accuracies),
        "median": float(np.median(accuracies)),
        "max": max(accuracies),
    }
    expected_hist = frame["confidence"].value_counts().to_dict()
    assert summary["confidence_histogram"] == {
        k: expected_hist[k] for k in (1, 2, 3, 4)
    }
    assert summary["rt_nan"] == 2
    rts = frame["resp_rt"].dropna()
    assert summary["rt_quantiles"]["50%"] == pytest.approx(rts.median())
    assert (
        summary["by_noise"]["hard"]["median_rt"]
        > summary["by_noise"]["easy"]["median_rt"]
    )
    text = humans.format_summary(summary)
    assert "3 subjects" in text and "NaN" in text


def test_column_mapping_for_other_data_sets(tmp_path):
    frame = _frame().rename(columns={"subject": "participant", "resp_rt": "rt_s"})
    path = _write(frame, tmp_path)
    mapping = humans.parse_columns("subject=participant, resp_rt=rt_s")
    assert mapping == {"subject": "participant", "resp_rt": "rt_s"}
    table = humans.load_humans(path, columns=mapping)
    assert len(table.frame) == len(frame)
    assert table.meta["columns"] == mapping
    with pytest.raises(UserError, match="no column 'subject'"):
        humans.load_humans(path)


@pytest.mark.parametrize(
    ("spec", "message"),
    [("subject", "not PUBLISHED=YOURS"), ("subjct=participant", "did you mean")],
)
def test_bad_columns_flag(spec, message):
    with pytest.raises(UserError, match=message):
        humans.parse_columns(spec)


def test_synthetic_flag_from_column_or_sidecar(tmp_path):
    frame = _frame()
    frame["synthetic"] = 1
    assert humans.load_humans(_write(frame, tmp_path, "a.csv")).synthetic
    path = _write(_frame(), tmp_path, "b.csv")
    meta_path(path).write_text(json.dumps({"synthetic": True, "params": {"seed": 4}}))
    table = humans.load_humans(path)
    assert table.synthetic and table.meta["params"] == {"seed": 4}
    assert not humans.load_humans(_write(_frame(), tmp_path, "c.csv")).synthetic


def test_nan_rts_are_allowed(tmp_path):
    frame = _frame().astype({"resp_rt": object})
    frame.loc[3, "resp_rt"] = ""
    frame.loc[4, "resp_rt"] = "NaN"
    table = humans.load_humans(_write(frame, tmp_path))
    assert table.frame["rt"].isna().sum() == 2


def test_placeholder_rows_of_a_subject_with_trials_are_dropped(tmp_path):
    frame = _frame()
    blank = pd.DataFrame([{"subject": 2}, {}])
    table = humans.load_humans(_write(pd.concat([frame, blank]), tmp_path))
    assert len(table.frame) == len(frame)


# Each bad file: (how to break the valid frame, column named, words expected,
# data row named). Rows are 1-based data rows (0-based frame index + 1).
def _set(row, column, value):
    def edit(frame):
        frame = frame.astype({column: object})
        frame.loc[row, column] = value
        return frame

    return edit


def _duplicate(frame):
    frame = frame.copy()
    frame.loc[9, :] = frame.loc[2, :]
    return frame


def _subject_without_trials(frame):
    listed = pd.DataFrame([{"subject": 9}, {"subject": 9}])
    return pd.concat([frame, listed], ignore_index=True)


BAD_FILES = {
    "non-numeric": (_set(6, "confidence", "high"), "'confidence'", "not a number", 7),
    "missing value": (_set(2, "response", ""), "'response'", "missing value", 3),
    "index above MNIST": (
        _set(4, "mnist_index", 10_001),
        "'mnist_index'",
        "outside 1-10000",
        5,
    ),
    "index zero": (_set(8, "mnist_index", 0), "'mnist_index'", "outside 1-10000", 9),
    "not a whole number": (_set(1, "repeat", 1.5), "'repeat'", "not a whole number", 2),
    "confidence outside 1-4": (
        _set(11, "confidence", 5),
        "'confidence'",
        "outside 1-4",
        12,
    ),
    "confidence zero": (_set(3, "confidence", 0), "'confidence'", "outside 1-4", 4),
    "negative RT": (_set(7, "resp_rt", -0.2), "'resp_rt'", "negative", 8),
    "correct not 0/1": (_set(7, "correct", 2), "'correct'", "outside 0-1", 8),
    "unknown sat": (_set(5, "sat", "fast"), "'sat'", "unknown value 'fast'", 6),
    "unknown noise": (_set(5, "noise", "medium"), "'noise'", "unknown value", 6),
    "duplicated trial": (_duplicate, "mnist_index", "appears twice", 3),
    "subject with no trials": (
        _subject_without_trials,
        "'subject'",
        "subject 9 has no trials",
        49,
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_is_refused_with_row_and_column(case, tmp_path, capsys):
    edit, column, words, row = BAD_FILES[case]
    path = _write(edit(_frame()), tmp_path)
    with pytest.raises(UserError) as err:
        humans.load_humans(path)
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message and column in message and words in message
    assert f"data row {row} " in message or f"data rows {row} " in message
    assert re.search(rf"\(lines? {row + 1}\b", message) and "expected" in message

    code = cli.main(["cohort", "check", str(path)])
    out, stderr = capsys.readouterr()
    assert code == 2
    assert stderr.count("\n") == 1 and words in stderr
    assert "Traceback" not in stderr + out


def test_misspelt_column_suggests_the_closest_name(tmp_path, capsys):
    path = _write(_frame().rename(columns={"resp_rt": "resp_rts"}), tmp_path)
    with pytest.raises(UserError) as err:
        humans.load_humans(path)
    message = str(err.value)
    assert "header (line 1)" in message
    assert "no column 'resp_rt'" in message and "closest: 'resp_rts'" in message
    assert cli.main(["cohort", "check", str(path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_images_outside_the_stimulus_set_are_refused(tmp_path):
    frame = _frame()
    frame.loc[10, "mnist_index"] = 99
    with pytest.raises(
        UserError, match="data row 11 .*image 99 is not in the stimulus"
    ):
        humans.load_humans(_write(frame, tmp_path), stimuli=_stimuli())
    humans.load_humans(_write(frame, tmp_path))  # inside MNIST: fine alone


def test_image_at_the_wrong_noise_level_is_refused(tmp_path):
    frame = _frame()
    frame.loc[[0, 1], "noise"] = "hard"
    with pytest.raises(UserError, match="data row 1 .*'noise'.*'easy' in the stimulus"):
        humans.load_humans(_write(frame, tmp_path), stimuli=_stimuli())


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(UserError, match="empty file"):
        humans.load_humans(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(humans.PUBLISHED_COLUMNS) + "\n")
    with pytest.raises(UserError, match="no trials"):
        humans.load_humans(header_only)
    with pytest.raises(UserError, match="no such human data file"):
        humans.load_humans(tmp_path / "nothing.csv")


def test_frame_input_uses_the_same_rules():
    frame = _frame()
    assert len(humans.humans_from_frame(frame, source="memory").frame) == len(frame)
    frame.loc[0, "confidence"] = 7
    with pytest.raises(UserError, match="memory: data row 1 .*outside 1-4"):
        humans.humans_from_frame(frame, source="memory")


def test_correct_that_disagrees_with_the_label_is_reported(tmp_path, caplog):
    path = _write(_frame(), tmp_path, "good.csv")
    with caplog.at_level("WARNING"):
        humans.load_humans(path, stimuli=_stimuli())
    assert "disagrees" not in caplog.text
    frame = _frame()
    frame.loc[4, "correct"] = 1 - frame.loc[4, "correct"]
    with caplog.at_level("WARNING"):
        humans.load_humans(_write(frame, tmp_path, "odd.csv"), stimuli=_stimuli())
    assert "1 trials where 'correct' disagrees" in caplog.text
    assert "data row 5" in caplog.text
