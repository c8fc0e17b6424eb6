"""Synthetic people and instances with planted twins, for tests and the bench.

A small generative model, independent of networks and of the synthetic
cohort in `data.cohort`: it makes `AnalysisInputs` directly, so that the
analysis can be checked against a structure we planted. For image i, instance
n of any architecture and subject k:

    instance latent  l[n, i] = d[i] + u[n, i] + a[arch, n, i]
    subject latent   h[k, i] = d[i] + twin * u[k mod N, i] + e[k, i]

with d the shared image difficulty (SD `difficulty`), u an idiosyncratic
pattern per instance number (SD 1, shared by the instances with that number in
every architecture), a an architecture-specific part (SD `arch_noise`) and e
the subject's own pattern (SD `own`). With `twin > 0`, subject k's planted
twin is instance k of every architecture; with `twin = 0` people are
independent of the instances' individual patterns. Each condition adds fresh
noise (SD `condition_noise`). From a latent x (per condition):

- accuracy: the mean of two trials correct when x + N(0, 1) > 0 (0, 0.5, 1);
- confidence: people rate 1-4 by thresholds on x + N(0, 1); instances give
  a positive margin softplus(x + N(0, 0.5)) + 0.1;
- rt: people take exp(0.4 - 0.3 x + N(0, 0.3)) seconds; instances with RT
  (`rt_archs`) take 1 + round(exp(1.5 - 0.3 x)) samples.

`missing` is the fraction of cells set to NaN at random (missing responses).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from manyseeds.analysis.inputs import AnalysisInputs


def planted_inputs(
    n_subjects: int = 60,
    archs: Sequence[str] = ("alexnet", "resnet18", "rtnet"),
    n_instances: int = 60,
    n_images: int = 480,
    conditions: Sequence[str] = ("accuracy", "speed"),
    twin: float = 1.0,
    own: float = 1.0,
    difficulty: float = 1.0,
    arch_noise: float = 0.5,
    condition_noise: float = 0.5,
    rt_archs: Sequence[str] = ("rtnet",),
    missing: float = 0.0,
    seed: int = 0,
) -> AnalysisInputs:
    """People and instances from the planted-twin model (module docstring).

    Returns:
      `AnalysisInputs` with accuracy and confidence for everyone and RT for
      the people and `rt_archs`; marked synthetic.
    """
    rng = np.random.default_rng(seed)
    n_conditions = len(conditions)
    d = difficulty * rng.standard_normal(n_images)
    pattern = rng.standard_normal((max(n_instances, n_subjects), n_images))

    def per_condition(latent):
        noise = condition_noise * rng.standard_normal(
            (latent.shape[0], n_conditions, n_images)
        )
        return latent[:, None, :] + noise

    twins = pattern[np.arange(n_subjects) % n_instances]
    people = per_condition(
        d + twin * twins + own * rng.standard_normal((n_subjects, n_images))
    )
    humans = {
        "accuracy": _accuracy(people, rng),
        "confidence": np.digitize(
            people + rng.standard_normal(people.shape), [-0.5, 0.5, 1.5]
        ).astype(float) + 1.0,
        "rt": np.exp(0.4 - 0.3 * people + 0.3 * rng.standard_normal(people.shape)),
    }
    models, instances = {}, {}
    for arch in archs:
        latent = per_condition(
            d + pattern[:n_instances]
            + arch_noise * rng.standard_normal((n_instances, n_images))
        )
        models[arch] = {
            "accuracy": _accuracy(latent, rng),
            "confidence": np.logaddexp(
                0.0, latent + 0.5 * rng.standard_normal(latent.shape)
            ) + 0.1,
        }
        if arch in rt_archs:
            models[arch]["rt"] = 1.0 + np.round(np.exp(1.5 - 0.3 * latent))
        instances[arch] = np.arange(n_instances)
    for values in (*humans.values(), *(v for m in models.values() for v in m.values())):
        values[rng.random(values.shape) < missing] = np.nan
    return AnalysisInputs(
        humans=humans,
        models=models,
        subjects=np.arange(1, n_subjects + 1),
        instances=instances,
        conditions=tuple(conditions),
        images=np.arange(1, n_images + 1),
        synthetic_humans=True,
        sources={"human": {"name": "planted", "synthetic": True}},
    )


def _accuracy(latent: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mean of two trials, each correct when latent + N(0, 1) > 0."""
    trials = latent[..., None] + rng.standard_normal(latent.shape + (2,)) > 0
    return trials.mean(-1)
