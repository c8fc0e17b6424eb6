"""Noise calibration: the level at which the instances are as accurate as people.

PROTOCOL.md section 3: the authors tested every instance at every noise level
from 1.00 to 3.49 in steps of 0.01 and picked, per human noise condition
(easy / hard), the level at which the instances' group-mean accuracy matches
the humans' group-mean accuracy of that condition. Here:

- human target: per subject, the accuracy over all of its trials of that
  noise condition (both instruction conditions, both showings); then the mean
  over subjects;
- model accuracy at a level: per instance, the accuracy over the condition's
  images (for RTNet over both thresholds, i.e. both instruction conditions,
  as for people); then the mean over instances. Missing trials (off-task
  responses, see `readout`) are left out of both, as in the table;
- the chosen level is the grid point whose model accuracy is closest to the
  target (ties: the lower level).

`bisect_grid` finds it with O(log n) evaluations (8 for the 250-point grid,
plus at most 2 to compare the two neighbours of the crossing) instead of the
authors' 250. Group accuracy falls as noise rises; when it is monotone in the
level on the grid, the first grid point at or below the target and its left
neighbour bracket the crossing, and the closer of the two is exactly the point
the full sweep picks. The noise pattern is one image per stimulus scaled by
the level, and RTNet's sample keys do not depend on the level, which keeps the
curve smooth; where small non-monotone wiggles remain, bisection still lands
on a crossing, at most a grid step or so from the sweep's choice (the test
checks this against `sweep_grid` on a tiny model).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable

import numpy as np

from manyseeds.data.table import NOISE_LEVELS, BehaviourTable
from manyseeds.errors import UserError

log = logging.getLogger(__name__)

AccuracyFn = Callable[[float], float]


@dataclasses.dataclass(frozen=True)
class Calibration:
    """The calibrated level of one noise condition.

    Attributes:
      condition: "easy" or "hard".
      level: the chosen noise level.
      human_accuracy: the humans' group-mean accuracy (the target).
      model_accuracy: the instances' group-mean accuracy at `level`.
      evaluations: accuracy evaluations spent.
      method: "bisection" or "sweep".
      edge: None, or "low"/"high" when the target lies outside the grid's
        range of accuracies and the grid's end was taken.
      curve: the evaluated `(level, accuracy)` pairs, in level order.
    """

    condition: str
    level: float
    human_accuracy: float
    model_accuracy: float
    evaluations: int
    method: str
    edge: str | None = None
    curve: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def human_accuracy(humans: BehaviourTable) -> dict[str, float]:
    """Group-mean accuracy of people per noise condition.

    Per subject, the mean of `correct` over that condition's trials (both
    instruction conditions; missing trials left out); then the mean over
    subjects.

    Raises:
      UserError: a noise condition has no trials.
    """
    frame = humans.frame.dropna(subset=["correct"])
    out = {}
    for condition in NOISE_LEVELS:
        rows = frame[frame["noise"] == condition]
        if rows.empty:
            raise UserError(
                f"{humans.meta.get('source', humans.name)}: no {condition!r} trials "
                "with a response; the calibration needs both noise conditions"
            )
        out[condition] = float(rows.groupby("subject")["correct"].mean().mean())
    return out


def group_accuracy(correct: np.ndarray) -> float:
    """Mean over instances of each instance's accuracy.

    Args:
      correct: `[instance, ...]` 1.0 / 0.0, NaN for missing trials.
    """
    correct = np.asarray(correct, np.float64).reshape(correct.shape[0], -1)
    valid = ~np.isnan(correct)
    counts = valid.sum(axis=1)
    per_instance = np.where(valid, correct, 0.0).sum(axis=1) / np.maximum(counts, 1)
    per_instance = per_instance[counts > 0]
    return float(per_instance.mean()) if per_instance.size else math.nan


def _closest(cache: dict[int, float], target: float) -> int:
    """The evaluated grid index closest to `target` (ties: lower level)."""
    return min(cache, key=lambda i: (abs(cache[i] - target), i))


def bisect_grid(
    accuracy_at: AccuracyFn,
    grid: np.ndarray,
    target: float,
    condition: str = "",
    progress: Callable[[], None] | None = None,
) -> Calibration:
    """The grid level whose accuracy is closest to `target`, by bisection.

    Finds the first grid index whose accuracy is at or below `target`
    (accuracy falls with the level), then takes it or its left neighbour,
    whichever is closer to `target`.

    Args:
      accuracy_at: group-mean accuracy at a level (one model evaluation).
      grid: ascending noise levels.
      target: the humans' group-mean accuracy.
      condition: name for logs and the result.
      progress: called after every evaluation (progress bars).

    Returns:
      The `Calibration`.
    """
    cache: dict[int, float] = {}

    def acc(index: int) -> float:
        if index not in cache:
            cache[index] = float(accuracy_at(float(grid[index])))
            if progress is not None:
                progress()
        return cache[index]

    lo, hi = 0, len(grid) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if acc(mid) <= target:
            hi = mid
        else:
            lo = mid + 1
    first_below = lo
    candidates = [first_below] + ([first_below - 1] if first_below > 0 else [])
    for index in candidates:
        acc(index)
    chosen = min(candidates, key=lambda i: (abs(cache[i] - target), i))
    edge = None
    if chosen == len(grid) - 1 and cache[chosen] > target:
        edge = "high"
    elif chosen == 0 and cache[chosen] < target:
        edge = "low"
    return _result(condition, grid, cache, chosen, target, "bisection", edge)


def sweep_grid(
    accuracy_at: AccuracyFn,
    grid: np.ndarray,
    target: float,
    condition: str = "",
    progress: Callable[[], None] | None = None,
) -> Calibration:
    """The authors' full sweep: evaluate every grid level, take the closest.

    Same arguments and result as `bisect_grid`, with `len(grid)` evaluations.
    """
    cache = {}
    for index, level in enumerate(grid):
        cache[index] = float(accuracy_at(float(level)))
        if progress is not None:
            progress()
    chosen = _closest(cache, target)
    accuracies = np.array([cache[i] for i in range(len(grid))])
    edge = None
    if target > accuracies.max() and chosen == int(np.argmax(accuracies)):
        edge = "low"
    elif target < accuracies.min() and chosen == int(np.argmin(accuracies)):
        edge = "high"
    return _result(condition, grid, cache, chosen, target, "sweep", edge)


def _result(condition, grid, cache, chosen, target, method, edge) -> Calibration:
    curve = tuple((float(grid[i]), cache[i]) for i in sorted(cache))
    result = Calibration(
        condition=condition, level=float(grid[chosen]), human_accuracy=float(target),
        model_accuracy=cache[chosen], evaluations=len(cache), method=method,
        edge=edge, curve=curve,
    )
    if edge == "high":
        log.warning(
            "calibration %s: the instances are more accurate (%.3f) than people "
            "(%.3f) even at the highest level %.2f of the grid; widen the grid",
            condition, result.model_accuracy, target, result.level,
        )
    elif edge == "low":
        log.warning(
            "calibration %s: the instances are less accurate (%.3f) than people "
            "(%.3f) even at the lowest level %.2f of the grid; lower the grid",
            condition, result.model_accuracy, target, result.level,
        )
    return result
