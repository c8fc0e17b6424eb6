"""The tidy behaviour table: the contract between people and networks.

Humans (from the published `human.csv`, or a synthetic cohort) and network
instances (from `manyseeds evaluate`) arrive in the same columns, one row per
trial:

    subject     int    subject number, or instance number for a network
    image       int    one-based index into the MNIST test set
    noise       str    "easy" (low noise) or "hard" (high noise)
    condition   str    instruction condition: "accuracy" or "speed"
    repeat      int    showing of this image within (subject, condition)
    response    float  chosen digit; NaN when missing (e.g. a network chose 0/9)
    correct     float  1.0 / 0.0; NaN when the response is missing
    confidence  float  rating 1-4 for people, logit margin for networks
    rt          float  seconds for people, samples for RTNet, NaN otherwise

A table also carries `meta`: what it is (`kind` "human" or "model", `name`,
`synthetic`, where it came from, the settings that made it). It is written as
CSV (or Parquet) with a `<file>.meta.json` sidecar.

The analysis reads tables only through `behaviour_vectors`, which averages the
repeats of each image and returns `[subject, condition, image]` arrays.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from manyseeds.errors import UserError

COLUMNS = (
    "subject",
    "image",
    "noise",
    "condition",
    "repeat",
    "response",
    "correct",
    "confidence",
    "rt",
)
NOISE_LEVELS = ("easy", "hard")
CONDITIONS = ("accuracy", "speed")
# Behavioural metrics of the paper (section 4): accuracy, confidence, RT.
METRICS = ("accuracy", "confidence", "rt")
_METRIC_COLUMN = {"accuracy": "correct", "confidence": "confidence", "rt": "rt"}


@dataclasses.dataclass
class BehaviourTable:
    """Trials of people or network instances in the tidy columns.

    Attributes:
      frame: one row per trial, columns `COLUMNS`.
      meta: `kind` ("human" | "model"), `name`, `synthetic` (bool), and
        anything else that says how the table was made.
    """

    frame: pd.DataFrame
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.meta.get("name", self.meta.get("kind", "table")))

    @property
    def synthetic(self) -> bool:
        return bool(self.meta.get("synthetic", False))

    @property
    def subjects(self) -> np.ndarray:
        return np.sort(self.frame["subject"].unique())

    def has_metric(self, metric: str) -> bool:
        """Whether the table has any non-missing value of `metric`."""
        return bool(self.frame[_METRIC_COLUMN[metric]].notna().any())

    def write(self, path: str | Path) -> Path:
        """Write the table (CSV, or Parquet for `.parquet`) and its sidecar."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame = self.frame.loc[:, list(COLUMNS)]
        if path.suffix == ".parquet":
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
        meta_path(path).write_text(json.dumps(self.meta, indent=2, default=str))
        return path

    @classmethod
    def read(cls, path: str | Path) -> BehaviourTable:
        """Read a table written by `write` (for human CSVs use `data.humans`)."""
        path = Path(path)
        if not path.is_file():
            raise UserError(f"{path}: no such behaviour table")
        try:
            if path.suffix == ".parquet":
                frame = pd.read_parquet(path)
            else:
                frame = pd.read_csv(path)
        except Exception as err:  # noqa: BLE001 - any parse failure is the file's
            raise UserError(f"{path}: cannot be read as a table ({err})") from None
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise UserError(
                f"{path}: missing column(s) {', '.join(missing)}; a behaviour table "
                f"has {', '.join(COLUMNS)}"
            )
        sidecar = meta_path(path)
        meta = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
        meta.setdefault("name", path.stem)
        meta.setdefault("source", str(path))
        return cls(frame=frame.loc[:, list(COLUMNS)], meta=meta)


def meta_path(path: str | Path) -> Path:
    """The sidecar that holds a table's metadata."""
    path = Path(path)
    return path.with_name(path.name + ".meta.json")


@dataclasses.dataclass(frozen=True)
class BehaviourVectors:
    """Per-image behaviour of every subject (or instance), repeats averaged.

    Attributes:
      values: `[subject, condition, image]` float64; NaN where a subject has no
        valid trial of that image in that condition.
      subjects: `[subject]` ids, in row order.
      conditions: condition names, in axis order.
      images: `[image]` one-based MNIST test indices, in column order.
    """

    values: np.ndarray
    subjects: np.ndarray
    conditions: tuple[str, ...]
    images: np.ndarray


def behaviour_vectors(
    table: BehaviourTable,
    metric: str,
    images: np.ndarray | None = None,
    conditions: tuple[str, ...] = CONDITIONS,
) -> BehaviourVectors:
    """Average repeats into one value per (subject, condition, image).

    Args:
      table: the trials.
      metric: "accuracy", "confidence" or "rt".
      images: column order of the result (default: the table's sorted images).
        Pass the human table's images when building model vectors so that both
        sides share columns.
      conditions: condition axis order.

    Returns:
      `BehaviourVectors` with NaN for (subject, condition, image) cells that
      have no valid trial.
    """
    if metric not in _METRIC_COLUMN:
        raise UserError(f"unknown metric {metric!r}; expected one of {METRICS}")
    frame = table.frame
    column = _METRIC_COLUMN[metric]
    subjects = np.sort(frame["subject"].unique())
    if images is None:
        images = np.sort(frame["image"].unique())
    images = np.asarray(images)
    means = (
        frame.dropna(subset=[column])
        .groupby(["subject", "condition", "image"])[column]
        .mean()
    )
    index = pd.MultiIndex.from_product(
        [subjects, list(conditions), images], names=["subject", "condition", "image"]
    )
    values = means.reindex(index).to_numpy(dtype=np.float64)
    values = values.reshape(len(subjects), len(conditions), len(images))
    return BehaviourVectors(
        values=values, subjects=subjects, conditions=tuple(conditions), images=images
    )
