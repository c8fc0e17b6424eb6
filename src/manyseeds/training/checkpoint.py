"""Checkpoints of a run with orbax: state, data position and config.

A run folder holds:

    checkpoints/<step>/   orbax checkpoint: `state` (the seed-stacked
                          TrainState) and `progress` (JSON: epoch, position
                          in the epoch, global step)
    config.json           the TrainConfig and model description
    metrics.jsonl         one line per (epoch, instance)
    manifest.json         written only when the run has finished

Orbax writes each checkpoint to a temporary folder and renames it when
complete, so a run killed at any moment resumes from its last complete
checkpoint.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp

log = logging.getLogger(__name__)


class RunCheckpoints:
    """The checkpoints of one run folder."""

    def __init__(self, run_dir: str | Path, max_to_keep: int = 2):
        self.directory = Path(run_dir).absolute() / "checkpoints"
        self.manager = ocp.CheckpointManager(
            self.directory,
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True),
            item_names=("state", "progress"),
        )

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def save(self, step: int, state: Any, progress: dict[str, Any]) -> None:
        """Save asynchronously; the previous save is finished first."""
        self.manager.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(state),
                progress=ocp.args.JsonSave(progress),
            ),
        )

    def restore(self, like: Any, step: int | None = None) -> tuple[Any, dict]:
        """Restore `(state, progress)` shaped and sharded like `like`."""
        step = self.latest_step() if step is None else step
        abstract = jax.tree.map(
            lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), like
        )
        restored = self.manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract),
                progress=ocp.args.JsonRestore(),
            ),
        )
        return restored["state"], dict(restored["progress"])

    def wait(self) -> None:
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.close()
