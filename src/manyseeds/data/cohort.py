r"""A synthetic cohort of people in the published `human.csv` schema.

The real human data (60 people; PROTOCOL.md section 1) is not available
offline, so the pipeline's default run and its tests use people drawn from the
generative model below. Every file it writes says that it is synthetic (a
`synthetic` column of 1s and a `<file>.meta.json` sidecar with the
parameters), and every table read from it carries `synthetic=True`.

Generative model (all draws from one `numpy.random.default_rng(seed)`), for
subject s, stimulus image i (label y_i, noise level n_i) and showing t under
instruction condition c_t:

    difficulty     d_i      ~ N(mu_{n_i}, sd_difficulty^2)     shared by everyone;
                                                              mu_hard > mu_easy
    ability        a_s      ~ N(0, sd_ability^2)
    idiosyncrasy   u_{s,i}  = idiosyncrasy * sd_idio * e_{s,i},  e_{s,i} ~ N(0, 1)
                              (or e = `planted`); the same for both showings
    quality        q_{s,i,t} = a_s - d_i + u_{s,i} - speed_cost * [c_t = speed]

    accuracy       P(correct) = 1/8 + 7/8 * logistic(q)         (8 choices)
                   a wrong response is uniform over the other digits 1-8
    confidence     k = b_s + conf_slope * q + conf_correct * (correct - 1/2)
                       + N(0, sd_conf_noise^2),  b_s ~ N(0, sd_conf_bias^2)
                   rating = 1 + #{cut in conf_cuts : k > cut}  (1-4)
    response time  rt = rt_floor + exp(log(rt_scale) + v_s - rt_slope * q
                       + rt_error * [wrong] - speed_gain * [c_t = speed]
                       + N(0, sd_rt_noise^2)),  v_s ~ N(0, sd_speed^2)

So harder images (larger d_i) are less accurate, rated less confident and
slower; the speed condition is faster and a little less accurate; RTs are
right-skewed (a shifted log-normal). The subject-specific image effects
u_{s,i} enter all three metrics through q and persist across the two showings
of an image, so a subject's individual pattern is real structure. With
`idiosyncrasy=0` people differ only in ability, confidence bias and speed:
what is left of a subject's pattern after removing the image and subject means
is trial noise, plus the small subject-by-image interactions that the
nonlinear links (logistic, rating cuts, exp) make out of ability, bias and
speed (visible mostly in confidence).

Design, per subject: the 480 stimulus images, each shown twice (960 trials),
one showing in each instruction condition; which condition comes first is
drawn per subject and image, and `repeat` is the showing (1 or 2). The
published material does not say how the authors split the showings between
conditions (PROTOCOL.md section 1); the loader accepts any split.

The default parameters give per-subject accuracy of roughly 40-80% (the paper
reports 41-81% for people), all four confidence ratings, and RTs mostly
between 0.4 and 3 s.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from manyseeds.data.stimuli import DIGITS, Stimuli, resolve_stimuli
from manyseeds.data.table import meta_path
from manyseeds.errors import UserError

log = logging.getLogger(__name__)

# Published `sat` values, in the order of the tidy CONDITIONS.
SAT = {"accuracy": "accuracy focus", "speed": "speed focus"}
SHOWINGS = 2
# PROTOCOL.md section 1: 60 people.
DEFAULT_SUBJECTS = 60


@dataclasses.dataclass(frozen=True)
class CohortModel:
    """Constants of the generative model (symbols of the module docstring).

    Attributes:
      mu_easy, mu_hard: mean image difficulty per noise level (logit units).
      sd_difficulty: spread of difficulty across images of one level.
      sd_ability: spread of subject ability.
      sd_idio: scale of the subject-specific image effects at idiosyncrasy 1.
      speed_cost: quality lost under speed focus.
      conf_slope, conf_correct: weight of quality and of being right in the
        confidence variable.
      sd_conf_bias: spread of subject confidence bias.
      sd_conf_noise: trial noise of the confidence variable.
      conf_cuts: the three cut points between ratings 1|2, 2|3, 3|4.
      rt_floor: non-decision time (s).
      rt_scale: median of the decision time of an average trial (s).
      rt_slope: how much quality shortens log decision time.
      rt_error: extra log decision time of wrong trials.
      speed_gain: log decision time saved under speed focus.
      sd_speed: spread of subject speed (log units).
      sd_rt_noise: trial noise of log decision time.
    """

    mu_easy: float = -1.2
    mu_hard: float = 0.2
    sd_difficulty: float = 1.0
    sd_ability: float = 0.5
    sd_idio: float = 1.0
    speed_cost: float = 0.25
    conf_slope: float = 0.6
    conf_correct: float = 0.8
    sd_conf_bias: float = 0.6
    sd_conf_noise: float = 0.7
    conf_cuts: tuple[float, float, float] = (-0.6, 0.3, 1.1)
    rt_floor: float = 0.3
    rt_scale: float = 0.6
    rt_slope: float = 0.15
    rt_error: float = 0.15
    speed_gain: float = 0.3
    sd_speed: float = 0.3
    sd_rt_noise: float = 0.5


def synth_cohort(
    n_subjects: int | None = None,
    seed: int = 0,
    stimuli: Stimuli | None = None,
    labels: np.ndarray | None = None,
    idiosyncrasy: float = 1.0,
    model: CohortModel = CohortModel(),
    planted: np.ndarray | None = None,
) -> pd.DataFrame:
    """Draw a synthetic cohort from the model of the module docstring.

    Args:
      n_subjects: number of people; default 60 (the study's number), or the
        rows of `planted` when that is given.
      seed: seed of every draw.
      stimuli: the stimulus set in force; None: `resolve_stimuli()` (the npz
        file if configured, else the seeded balanced draw from MNIST).
      labels: `[image]` digits of `stimuli.images`, in the same order; default
        `stimuli.labels`.
      idiosyncrasy: strength of the subject-specific image effects u (0 =
        none: subjects differ only in ability, confidence bias and speed).
      model: the generative constants.
      planted: optional `[subject, image]` latent structure that replaces the
        standard-normal draws e_{s,i} of the subject-specific effects, so that
        u = idiosyncrasy * sd_idio * planted. Images follow `stimuli.images`
        order; `planted.shape[0]` is the number of subjects. Used to test that
        an analysis recovers known structure: people built from given latent
        patterns (e.g. a network instance's per-image behaviour, standardised).

    Returns:
      One row per trial in the published columns plus `synthetic` (= 1):
      subject (1..n), mnist_index, sat, noise, repeat (1, 2), response,
      correct, resp_rt (s, 3 decimals), confidence (1-4). Sorted by subject,
      repeat and image. `frame.attrs["cohort"]` holds the parameters.
    """
    if stimuli is None:
        stimuli = resolve_stimuli()
    labels = stimuli.labels if labels is None else np.asarray(labels, np.int64)
    if labels is None:
        raise UserError(
            f"the stimulus set ({stimuli.source}) has no digit labels; pass "
            "--mnist-dir so that they can be looked up"
        )
    n_images = len(stimuli)
    if labels.shape != (n_images,):
        raise UserError(f"labels of shape {labels.shape}; expected ({n_images},)")
    if not np.isin(labels, DIGITS).all():
        raise UserError(
            f"the stimulus set ({stimuli.source}) has digits outside 1-8; the task's "
            "choices are the digits 1-8"
        )
    if planted is not None:
        planted = np.asarray(planted, dtype=np.float64)
        if planted.ndim != 2 or planted.shape[1] != n_images:
            raise ValueError(
                f"planted has shape {planted.shape}; expected [subject, {n_images}]"
            )
        if n_subjects not in (None, planted.shape[0]):
            raise ValueError(
                f"n_subjects={n_subjects} but planted has {planted.shape[0]} subjects"
            )
        n_subjects = planted.shape[0]
    if n_subjects is None:
        n_subjects = DEFAULT_SUBJECTS
    if n_subjects < 1:
        raise UserError(f"--subjects {n_subjects}: expected at least 1")
    if idiosyncrasy < 0:
        raise UserError(f"--idiosyncrasy {idiosyncrasy}: expected a value >= 0")

    rng = np.random.default_rng(seed)
    m = model
    hard = stimuli.noise == "hard"
    difficulty = rng.normal(np.where(hard, m.mu_hard, m.mu_easy), m.sd_difficulty)
    ability = rng.normal(0.0, m.sd_ability, n_subjects)
    conf_bias = rng.normal(0.0, m.sd_conf_bias, n_subjects)
    speed = rng.normal(0.0, m.sd_speed, n_subjects)
    e = rng.standard_normal((n_subjects, n_images)) if planted is None else planted
    idio = idiosyncrasy * m.sd_idio * e  # [subject, image]

    # Trials: [subject, showing, image]; one showing per condition.
    shape = (n_subjects, SHOWINGS, n_images)
    speed_first = rng.random((n_subjects, n_images)) < 0.5
    is_speed = np.stack([speed_first, ~speed_first], axis=1)
    quality = (
        ability[:, None, None]
        - difficulty[None, None, :]
        + idio[:, None, :]
        - m.speed_cost * is_speed
    )
    p_correct = 1 / 8 + 7 / 8 / (1 + np.exp(-quality))
    correct = rng.random(shape) < p_correct
    # A wrong answer: one of the other 7 task digits, uniformly.
    offset = rng.integers(1, len(DIGITS), shape)
    label_pos = np.broadcast_to(labels - DIGITS[0], shape)
    wrong = (label_pos + offset) % len(DIGITS) + DIGITS[0]
    response = np.where(correct, np.broadcast_to(labels, shape), wrong)

    conf_var = (
        conf_bias[:, None, None]
        + m.conf_slope * quality
        + m.conf_correct * (correct - 0.5)
        + rng.normal(0.0, m.sd_conf_noise, shape)
    )
    confidence = 1 + (conf_var[..., None] > np.asarray(m.conf_cuts)).sum(axis=-1)

    log_decision = (
        np.log(m.rt_scale)
        + speed[:, None, None]
        - m.rt_slope * quality
        + m.rt_error * ~correct
        - m.speed_gain * is_speed
        + rng.normal(0.0, m.sd_rt_noise, shape)
    )
    rt = m.rt_floor + np.exp(log_decision)

    subject, showing, image_pos = np.indices(shape).reshape(3, -1)
    frame = pd.DataFrame(
        {
            "subject": subject + 1,
            "mnist_index": stimuli.images[image_pos],
            "sat": np.where(is_speed.ravel(), SAT["speed"], SAT["accuracy"]),
            "noise": stimuli.noise[image_pos],
            "repeat": showing + 1,
            "response": response.ravel().astype(np.int64),
            "correct": correct.ravel().astype(np.int64),
            "resp_rt": np.round(rt.ravel(), 3),
            "confidence": confidence.ravel().astype(np.int64),
            "synthetic": 1,
        }
    )
    frame.attrs["cohort"] = {
        "n_subjects": int(n_subjects),
        "seed": int(seed),
        "idiosyncrasy": float(idiosyncrasy),
        "planted": planted is not None,
        "stimuli": stimuli.source,
        "model": dataclasses.asdict(model),
    }
    return frame


def write_cohort(
    frame: pd.DataFrame, path: str | Path, params: dict[str, Any] | None = None
) -> Path:
    """Write a cohort as CSV with a `<file>.meta.json` sidecar.

    Args:
      frame: from `synth_cohort`.
      path: the CSV to write (folders are created).
      params: the generative parameters to record; default
        `frame.attrs["cohort"]`.

    Returns:
      The CSV path. The sidecar holds `synthetic: true`, `kind: "human"`, the
      generator's name and `params`.
    """
    path = Path(path)
    params = dict(frame.attrs.get("cohort", {}) if params is None else params)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
        sidecar = {
            "synthetic": True,
            "kind": "human",
            "generator": "manyseeds.data.cohort.synth_cohort",
            "params": params,
        }
        meta_path(path).write_text(json.dumps(sidecar, indent=2, default=str) + "\n")
    except OSError as err:
        raise UserError(f"{path}: cannot write the cohort ({err})") from None
    log.info("wrote a SYNTHETIC cohort of %d trials to %s", len(frame), path)
    return path
