"""Tests of the stimulus set: the npz file, the seeded draw, a human file's set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from manyseeds.data import mnist, paths, stimuli
from manyseeds.data.table import BehaviourTable
from manyseeds.errors import UserError

# No user config, no data environment, no tensorflow-datasets.
pytestmark = pytest.mark.usefixtures("isolated_data_config")


@pytest.fixture(scope="module")
def test_labels(mnist_dir):
    return mnist.load_labels("test", mnist_dir)


def _balanced(stim):
    """Counts per (noise, digit)."""
    frame = stim.as_frame()
    return frame.groupby(["noise", "label"]).size()


def test_npz_is_read_with_its_noise_levels(stimuli_path, test_labels):
    stim = stimuli.load_stimuli_npz(stimuli_path)
    raw = np.load(stimuli_path)
    assert len(stim) == 480 and stim.labels is None
    assert stim.source == f"npz:{stimuli_path}"
    np.testing.assert_array_equal(stim.images[stim.noise == "easy"], raw["low"])
    np.testing.assert_array_equal(stim.images[stim.noise == "hard"], raw["high"])
    labelled = stim.with_labels(test_labels)
    counts = _balanced(labelled)
    assert set(counts.index.get_level_values("label")) == set(range(1, 9))
    assert (counts == 30).all()


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"low": np.arange(1, 241)}, "no array 'high'"),
        ({"low": np.arange(1, 241), "high": np.arange(241, 480)}, "shape"),
        (
            {"low": np.arange(0, 240), "high": np.arange(241, 481)},
            "outside 1..10000",
        ),
        (
            {"low": np.arange(1, 241), "high": np.arange(9_800, 10_040)},
            "outside 1..10000",
        ),
        (
            {"low": np.arange(1, 241), "high": np.arange(200, 440)},
            "both noise levels",
        ),
        (
            {"low": np.arange(1, 241) * 1.0, "high": np.arange(241, 481)},
            "expected integer",
        ),
    ],
)
def test_bad_npz_is_refused(tmp_path, arrays, message):
    path = tmp_path / "noise_index.npz"
    np.savez(path, **arrays)
    with pytest.raises(UserError, match=message) as err:
        stimuli.load_stimuli_npz(path)
    assert str(path) in str(err.value)


def test_duplicate_within_a_level_is_refused(tmp_path):
    low = np.arange(1, 241)
    low[5] = low[4]
    path = tmp_path / "dup.npz"
    np.savez(path, low=low, high=np.arange(301, 541))
    with pytest.raises(UserError, match="twice in 'easy'"):
        stimuli.load_stimuli_npz(path)


def test_drawn_set_is_balanced_disjoint_and_seeded(test_labels):
    first = stimuli.draw_stimuli(test_labels, seed=3)
    again = stimuli.draw_stimuli(test_labels, seed=3)
    other = stimuli.draw_stimuli(test_labels, seed=4)

    assert len(first) == 480 and first.source == "drawn:seed=3"
    assert (_balanced(first) == 30).all() and len(_balanced(first)) == 16
    np.testing.assert_array_equal(first.labels, test_labels[first.images - 1])
    easy = set(first.images[first.noise == "easy"])
    hard = set(first.images[first.noise == "hard"])
    assert len(easy) == 240 and len(hard) == 240 and not easy & hard
    assert first.images.min() >= 1 and first.images.max() <= 10_000
    np.testing.assert_array_equal(first.images, again.images)
    assert not np.array_equal(first.images, other.images)


def _human_table(pairs, source="people.csv"):
    frame = pd.DataFrame(
        [
            {
                "subject": s,
                "image": i,
                "noise": n,
                "condition": "accuracy",
                "repeat": 1,
                "response": 1.0,
                "correct": 1.0,
                "confidence": 2.0,
                "rt": 0.8,
            }
            for s in (1, 2)
            for i, n in pairs
        ]
    )
    return BehaviourTable(frame, {"kind": "human", "source": source})


def test_set_from_a_human_file(test_labels):
    table = _human_table([(40, "hard"), (7, "easy"), (3, "hard"), (12, "easy")])
    stim = stimuli.stimuli_from_humans(table, test_labels)
    np.testing.assert_array_equal(stim.images, [7, 12, 3, 40])
    np.testing.assert_array_equal(stim.noise, ["easy", "easy", "hard", "hard"])
    np.testing.assert_array_equal(stim.labels, test_labels[[6, 11, 2, 39]])
    assert stim.source == "humans:people.csv"


def test_human_file_with_an_image_at_both_levels_is_refused():
    table = _human_table([(7, "easy"), (7, "hard")])
    with pytest.raises(UserError, match="image 7 is listed at both noise levels"):
        stimuli.stimuli_from_humans(table)


def test_precedence_npz_then_humans_then_draw(stimuli_path, mnist_dir, monkeypatch):
    table = _human_table([(7, "easy"), (3, "hard")])
    drawn = stimuli.resolve_stimuli(mnist_dir=mnist_dir, seed=2)
    assert drawn.source == "drawn:seed=2"
    from_people = stimuli.resolve_stimuli(humans=table, mnist_dir=mnist_dir)
    assert from_people.source.startswith("humans:") and len(from_people) == 2
    assert from_people.labels is not None
    from_npz = stimuli.resolve_stimuli(stimuli_path, humans=table, mnist_dir=mnist_dir)
    assert from_npz.source.startswith("npz:") and from_npz.labels is not None

    monkeypatch.setenv(paths.ENV_STIMULI, str(stimuli_path))
    assert stimuli.resolve_stimuli(humans=table).source.startswith("npz:")


def test_npz_without_mnist_has_no_labels(stimuli_path):
    stim = stimuli.resolve_stimuli(stimuli_path)
    assert stim.labels is None and len(stim) == 480
    assert "easy_per_digit" not in stim.summary()


def test_draw_without_mnist_says_what_to_set():
    with pytest.raises(UserError, match="--mnist-dir"):
        stimuli.resolve_stimuli()


def test_missing_stimulus_file_names_the_flag(tmp_path):
    with pytest.raises(UserError, match="--stimuli .*no such file"):
        stimuli.resolve_stimuli(tmp_path / "none.npz")
