"""What the analysis works on: behaviour vectors of people and of instances.

The analysis knows nothing about networks: it sees one set of subjects (the
people) and any number of named sets of units (the instances of each
architecture), each as `[unit, condition, image]` arrays per metric, built
from tidy behaviour tables with `data.table.behaviour_vectors`. A metric is
analysed for a set only when both the people and that set have it (RT: people
and RTNet). The people themselves form the set "human", the human-human
benchmark.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np

from manyseeds.data.table import CONDITIONS, METRICS, BehaviourTable, behaviour_vectors
from manyseeds.errors import UserError

log = logging.getLogger(__name__)

HUMAN = "human"


@dataclasses.dataclass(frozen=True)
class AnalysisInputs:
    """Behaviour vectors of the people and of every architecture's instances.

    Attributes:
      humans: metric -> `[subject, condition, image]`, NaN for missing.
      models: set name (architecture) -> metric -> `[instance, condition,
        image]` over the same conditions and images as `humans`.
      subjects: `[subject]` ids of the people.
      instances: set name -> `[instance]` ids.
      conditions: instruction conditions, in axis order.
      images: `[image]` one-based MNIST test indices, in axis order.
      synthetic_humans: whether the people are a synthetic cohort.
      sources: set name -> the table's metadata (where it came from).
    """

    humans: dict[str, np.ndarray]
    models: dict[str, dict[str, np.ndarray]]
    subjects: np.ndarray
    instances: dict[str, np.ndarray]
    conditions: tuple[str, ...]
    images: np.ndarray
    synthetic_humans: bool = False
    sources: dict[str, dict] = dataclasses.field(default_factory=dict)

    @property
    def metrics(self) -> tuple[str, ...]:
        """Metrics the people have, in the order of `METRICS`."""
        return tuple(m for m in METRICS if m in self.humans)

    @property
    def archs(self) -> tuple[str, ...]:
        return tuple(self.models)

    def sets(self, metric: str) -> tuple[str, ...]:
        """The sets compared with the people on `metric`: "human" first."""
        if metric not in self.humans:
            return ()
        return (HUMAN,) + tuple(a for a in self.models if metric in self.models[a])

    def units(self, name: str, metric: str) -> np.ndarray:
        """`[unit, condition, image]` of set `name` ("human": the people)."""
        return self.humans[metric] if name == HUMAN else self.models[name][metric]

    def metric_pairs(self, name: str) -> list[tuple[str, str]]:
        """Metric pairs (A, B), A before B in `METRICS`, that `name` has both of."""
        have = [m for m in self.metrics if name in self.sets(m)]
        return [(a, b) for i, a in enumerate(have) for b in have[i + 1 :]]

    def validate(self) -> None:
        """Check shapes; raise ValueError on a mismatch (a programming error)."""
        shape = (len(self.subjects), len(self.conditions), len(self.images))
        for metric, values in self.humans.items():
            if values.shape != shape:
                raise ValueError(
                    f"humans[{metric}] has shape {values.shape}, not {shape}"
                )
        for name, per_metric in self.models.items():
            for metric, values in per_metric.items():
                expected = (len(self.instances[name]),) + shape[1:]
                if values.shape != expected:
                    raise ValueError(
                        f"models[{name}][{metric}] has shape {values.shape}, "
                        f"not {expected}"
                    )


def from_tables(
    humans: BehaviourTable,
    models: Sequence[BehaviourTable] = (),
    metrics: Sequence[str] = METRICS,
) -> AnalysisInputs:
    """Behaviour vectors of people and instances from tidy tables.

    The people's images and conditions fix the axes; instances are read on the
    same images (cells they lack are NaN and counted by the analysis).

    Args:
      humans: the people's trials (real or synthetic).
      models: one table per architecture; `meta["name"]` names the set.
      metrics: metrics to consider; each is kept where a table has it.

    Returns:
      `AnalysisInputs`.
    """
    present = set(humans.frame["condition"].unique())
    conditions = tuple(c for c in CONDITIONS if c in present)
    conditions += tuple(sorted(str(c) for c in present - set(conditions)))
    images = np.sort(humans.frame["image"].unique())
    human_vectors = {}
    subjects = humans.subjects
    for metric in metrics:
        if humans.has_metric(metric):
            vectors = behaviour_vectors(humans, metric, images, conditions)
            human_vectors[metric] = vectors.values
            subjects = vectors.subjects
    if not human_vectors:
        where = humans.meta.get("source", humans.name)
        raise UserError(f"{where}: no metric in the people's table")

    model_vectors: dict[str, dict[str, np.ndarray]] = {}
    instances: dict[str, np.ndarray] = {}
    sources = {HUMAN: dict(humans.meta)}
    for table in models:
        name = table.name
        where = table.meta.get("source", name)
        if name == HUMAN or name in model_vectors:
            raise UserError(
                f"{where}: model table named {name!r} clashes with another set; "
                "each architecture needs its own name (meta 'name')"
            )
        shown = np.isin(images, table.frame["image"].unique())
        if not shown.any():
            raise UserError(f"{where}: none of the people's {len(images)} images")
        if not shown.all():
            log.warning("%s: %d of %d images missing", name, (~shown).sum(),
                        len(images))
        model_vectors[name] = {}
        for metric in human_vectors:
            if table.has_metric(metric):
                vectors = behaviour_vectors(table, metric, images, conditions)
                model_vectors[name][metric] = vectors.values
                instances[name] = vectors.subjects
        if name not in instances:
            raise UserError(f"{where}: no metric in common with the people")
        sources[name] = dict(table.meta)

    inputs = AnalysisInputs(
        humans=human_vectors,
        models=model_vectors,
        subjects=subjects,
        instances=instances,
        conditions=conditions,
        images=images,
        synthetic_humans=humans.synthetic,
        sources=sources,
    )
    inputs.validate()
    return inputs
