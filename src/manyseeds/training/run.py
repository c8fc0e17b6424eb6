"""Reading a trained run back: the model and its seed-stacked variables.

The behaviour stage calls `load_run(DIR)` to get every instance of a run as
one `[seed, ...]` tree of variables, ready for `jax.vmap(spec.apply)`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jax
import numpy as np

from manyseeds.config import TrainConfig
from manyseeds.errors import UserError
from manyseeds.training import step as step_lib
from manyseeds.training.checkpoint import RunCheckpoints
from manyseeds.training.seeds import seed_list


@dataclasses.dataclass
class Run:
    """A trained run.

    Attributes:
      spec: the model (`manyseeds.models.ModelSpec`).
      config: how it was trained.
      variables: `[seed, ...]` numpy tree: `{"params", ["batch_stats"]}`.
      seeds: `[seed]` instance seeds.
      manifest: the finished run's manifest (None while unfinished).
      frozen: `[seed]` True for instances whose loss became non-finite.
    """

    spec: Any
    config: TrainConfig
    variables: dict[str, Any]
    seeds: tuple[int, ...]
    manifest: dict[str, Any] | None
    frozen: np.ndarray


def load_run(run_dir: str | Path, require_finished: bool = True) -> Run:
    """Load the latest checkpoint of a run folder written by `train`."""
    from manyseeds.models import get_model

    run_dir = Path(run_dir)
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        raise UserError(f"{run_dir}: not a training run (no config.json)")
    saved = json.loads(config_path.read_text())
    config = TrainConfig(**saved["train"])
    manifest_path = run_dir / "manifest.json"
    manifest = None
    if manifest_path.is_file():
        manifest = json.loads(manifest_path.read_text())
    if require_finished and manifest is None:
        raise UserError(
            f"{run_dir}: the run has not finished; continue it with "
            "`manyseeds train ... --resume`"
        )
    spec = get_model(config.arch, config.preset, init=config.init)
    ckpt = RunCheckpoints(run_dir)
    if ckpt.latest_step() is None:
        raise UserError(f"{run_dir}: no checkpoint found")
    like = _abstract_state(spec, config, saved["padded_seeds"])
    state, _ = ckpt.restore(like)
    ckpt.close()
    n = config.seeds
    host = jax.tree.map(lambda x: np.asarray(x)[:n], state)
    variables = {"params": host.params}
    if jax.tree.leaves(host.batch_stats):
        variables["batch_stats"] = host.batch_stats
    return Run(
        spec=spec, config=config, variables=variables,
        seeds=seed_list(n, config.seed_offset), manifest=manifest,
        frozen=np.asarray(host.frozen),
    )


def _abstract_state(spec, config: TrainConfig, padded: int):
    tx = step_lib.make_optimizer(config)
    keys = jax.ShapeDtypeStruct((padded, 2), np.uint32)
    shapes = jax.eval_shape(
        jax.vmap(lambda k: step_lib.init_state(spec, tx, k, k)), keys
    )
    device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
    return jax.tree.map(
        lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=device), shapes
    )
