"""Tests of the synthetic cohort: schema, human-like marginals, planted structure."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import stats

from manyseeds.data import cohort, humans, mnist, stimuli
from manyseeds.data.table import meta_path
from manyseeds.errors import UserError

N = 24


@pytest.fixture(scope="module")
def stim(stimuli_path, mnist_dir):
    labels = mnist.load_labels("test", mnist_dir)
    return stimuli.load_stimuli_npz(stimuli_path).with_labels(labels)


@pytest.fixture(scope="module")
def people(stim):
    return cohort.synth_cohort(n_subjects=N, seed=0, stimuli=stim)


def _residual_consistency(frame, metric, n_subjects):
    """Per subject: correlation over images of its residuals in the two conditions.

    Residual = value minus the image's mean over subjects (per condition) minus
    the subject's mean; only subject-specific image structure survives it.
    """
    values = frame.pivot_table(
        index=["subject", "sat"], columns="mnist_index", values=metric
    ).to_numpy()
    values = values.reshape(n_subjects, 2, -1)
    residual = values - values.mean(axis=0, keepdims=True)
    residual = residual - residual.mean(axis=2, keepdims=True)
    return np.array(
        [np.corrcoef(residual[s, 0], residual[s, 1])[0, 1] for s in range(n_subjects)]
    )


def test_published_schema_and_design(people, stim):
    assert list(people.columns) == [*humans.PUBLISHED_COLUMNS, "synthetic"]
    assert (people["synthetic"] == 1).all()
    assert people.groupby("subject").size().eq(2 * len(stim)).all()
    per_image = people.groupby(["subject", "mnist_index"])
    assert per_image["sat"].nunique().eq(1 + 1).all()  # one showing per condition
    assert set(people["repeat"]) == {1, 2}
    assert set(people["sat"]) == {"accuracy focus", "speed focus"}
    noise_of = dict(zip(stim.images, stim.noise, strict=True))
    assert (people["mnist_index"].map(noise_of) == people["noise"]).all()


def test_responses_are_task_digits_and_agree_with_correct(people, stim):
    label_of = dict(zip(stim.images, stim.labels, strict=True))
    labels = people["mnist_index"].map(label_of)
    assert people["response"].between(1, 8).all()
    np.testing.assert_array_equal(people["correct"], people["response"] == labels)


def test_marginals_are_human_like(people):
    accuracy = people.groupby("subject")["correct"].mean()
    assert accuracy.min() > 0.35 and accuracy.max() < 0.85
    assert accuracy.max() - accuracy.min() > 0.15

    assert set(people["confidence"]) == {1, 2, 3, 4}
    levels_used = people.groupby("subject")["confidence"].nunique()
    assert (levels_used >= 3).mean() > 0.9

    rt = people["resp_rt"]
    assert rt.min() > 0.3
    assert rt.quantile(0.05) > 0.35 and rt.quantile(0.95) < 3.0
    assert 0.5 < rt.median() < 1.5
    assert stats.skew(rt) > 0.5 and rt.mean() > rt.median()


def test_hard_images_are_harder_slower_and_less_confident(people):
    by = people.groupby(["subject", "noise"])
    accuracy = by["correct"].mean().unstack()
    confidence = by["confidence"].mean().unstack()
    rt = by["resp_rt"].median().unstack()
    assert (accuracy["hard"] < accuracy["easy"]).all()
    assert (confidence["hard"] < confidence["easy"]).all()
    assert (rt["hard"] > rt["easy"]).mean() > 0.9


def test_speed_focus_is_faster(people):
    rt = people.groupby(["subject", "sat"])["resp_rt"].median().unstack()
    assert (rt["speed focus"] < rt["accuracy focus"]).mean() > 0.9


def test_same_seed_same_people(stim, people):
    again = cohort.synth_cohort(n_subjects=N, seed=0, stimuli=stim)
    other = cohort.synth_cohort(n_subjects=N, seed=1, stimuli=stim)
    assert again.equals(people)
    assert not other["correct"].equals(people["correct"])


def test_idiosyncrasy_zero_removes_subject_specific_structure(stim, people):
    flat = cohort.synth_cohort(n_subjects=N, seed=0, stimuli=stim, idiosyncrasy=0.0)
    accuracy_flat = _residual_consistency(flat, "correct", N).mean()
    accuracy_idio = _residual_consistency(people, "correct", N).mean()
    assert abs(accuracy_flat) < 0.04
    assert accuracy_idio > 0.07
    confidence_flat = _residual_consistency(flat, "confidence", N).mean()
    confidence_idio = _residual_consistency(people, "confidence", N).mean()
    assert confidence_idio > 0.25 and confidence_idio > 2 * confidence_flat


def test_planted_structure_is_what_the_people_show(stim):
    rng = np.random.default_rng(7)
    pattern = rng.standard_normal(len(stim))
    planted = np.stack([pattern] * 6 + [-pattern] * 6)  # [subject, image]
    frame = cohort.synth_cohort(seed=3, stimuli=stim, planted=planted)
    assert frame["subject"].nunique() == 12

    accuracy = frame.pivot_table(
        index="subject", columns="mnist_index", values="correct"
    )
    order = np.argsort(stim.images)  # pivot columns are sorted image indices
    residual = accuracy.to_numpy() - accuracy.to_numpy().mean(axis=0)
    alignment = np.array([np.corrcoef(r, pattern[order])[0, 1] for r in residual])
    assert (alignment[:6] > 0.1).all() and (alignment[6:] < -0.1).all()


def test_planted_shape_is_checked(stim):
    with pytest.raises(ValueError, match="expected"):
        cohort.synth_cohort(stimuli=stim, planted=np.zeros((3, 10)))
    with pytest.raises(ValueError, match="n_subjects=5"):
        cohort.synth_cohort(
            n_subjects=5, stimuli=stim, planted=np.zeros((3, len(stim)))
        )


def test_stimuli_without_labels_are_refused(stimuli_path):
    with pytest.raises(UserError, match="no digit labels"):
        cohort.synth_cohort(stimuli=stimuli.load_stimuli_npz(stimuli_path))


def test_written_cohort_says_it_is_synthetic(tmp_path, stim):
    frame = cohort.synth_cohort(n_subjects=3, seed=5, stimuli=stim, idiosyncrasy=0.5)
    path = cohort.write_cohort(frame, tmp_path / "out" / "cohort.csv")
    sidecar = json.loads(meta_path(path).read_text())
    assert sidecar["synthetic"] is True
    assert sidecar["params"]["seed"] == 5 and sidecar["params"]["idiosyncrasy"] == 0.5
    assert sidecar["params"]["stimuli"] == stim.source

    table = humans.load_humans(path, stimuli=stim)
    assert table.synthetic and table.meta["params"]["n_subjects"] == 3
    assert len(table.frame) == 3 * 2 * len(stim)
