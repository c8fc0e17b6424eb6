"""Every instance of a run on the noisy stimuli, as a tidy behaviour table.

    table, calibration = evaluate_run("runs/alexnet", humans, stimuli,
                                      BehaviourConfig(), out="alexnet.csv")

The steps (PROTOCOL.md sections 2-3):

1. The instances: the `[seed, ...]` variables of a trained run (instances
   whose loss became non-finite in training are left out, with a warning).
2. The stimuli at the model's input size, each with its noise pattern
   (`noise`).
3. Calibration, unless the levels are given: per noise condition, the grid
   level at which the instances' group-mean accuracy matches the humans'
   (`calibrate`). People's accuracy is over both instruction conditions, so
   RTNet's is too: it is calibrated on its accumulated decisions at both
   thresholds, averaged (one run gives both; see `accumulate`).
4. Behaviour at the chosen levels: for deterministic networks one forward
   pass per (instance, image) (`readout`), for RTNet the accumulation of
   evidence over weight samples at both thresholds (`accumulate`).
5. The table, in the columns of the human data with the instance's seed as
   `subject`, and a sidecar with every setting.

Instances run through `training.lift.SeedMap` (the seed axis's one home) with
the layout `training.strategy` chooses for the backend (CPU: one instance per
compiled call). A noise condition is evaluated as one unit (its images at its
level), so the calibration's evaluations and the final table share compiled
programs, and each evaluated (condition, level) is kept: the final table
reuses the calibration's evaluation at the chosen level.

Deterministic networks give the same trial in both instruction conditions
(nothing in them depends on the instruction); their rows are written for both
conditions, identical, so that humans and instances share the table's shape.
RTNet's conditions are its thresholds (`BehaviourConfig.thresholds`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from manyseeds.behaviour import accumulate as acc_lib
from manyseeds.behaviour import calibrate as cal_lib
from manyseeds.behaviour import noise as noise_lib
from manyseeds.behaviour import readout as readout_lib
from manyseeds.config import BehaviourConfig, TrainConfig
from manyseeds.data.stimuli import Stimuli
from manyseeds.data.table import COLUMNS, CONDITIONS, NOISE_LEVELS, BehaviourTable
from manyseeds.errors import UserError
from manyseeds.training import lift as lift_lib
from manyseeds.training.strategy import choose_layout

log = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".parquet")
# RTNet per-image sampling on a CPU: slots run one after another when the
# weight sample dominates the step (quick RTNet, 219k parameters: 1.3 vs 1.8
# ms per image-sample), side by side when per-operation overhead does (smoke,
# 3k: 0.18 vs 0.09 ms); measured on the project's 2-core CPU.
_SEQUENTIAL_MIN_PARAMS = 50_000


@dataclasses.dataclass
class Instances:
    """The instances of one architecture to evaluate.

    Attributes:
      spec: the `ModelSpec`.
      variables: `[seed, ...]` numpy tree `{"params", ["batch_stats"]}`.
      seeds: `[seed]` instance seeds (the table's `subject`).
      source: where they came from (a run folder, or "fresh").
      excluded: seeds left out (non-finite in training).
    """

    spec: Any
    variables: dict[str, Any]
    seeds: tuple[int, ...]
    source: str
    excluded: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.seeds)


def instances_from_run(run) -> Instances:
    """The finite instances of a `training.run.Run`."""
    frozen = np.asarray(run.frozen, bool).reshape(-1)
    keep = np.flatnonzero(~frozen)
    excluded = tuple(int(run.seeds[i]) for i in np.flatnonzero(frozen))
    if excluded:
        log.warning(
            "%d instance(s) had a non-finite loss in training and are left out: "
            "seeds %s", len(excluded), list(excluded),
        )
    if keep.size == 0:
        raise UserError("every instance of the run had a non-finite loss")
    variables = jax.tree.map(lambda x: np.asarray(x)[keep], run.variables)
    source = str(run.manifest.get("out", "")) if run.manifest else ""
    return Instances(
        spec=run.spec, variables=variables,
        seeds=tuple(int(run.seeds[i]) for i in keep), source=source,
        excluded=excluded,
    )


def fresh_instances(spec, num: int, seed: int = 0) -> Instances:
    """`num` freshly initialised (untrained) instances, `jax.vmap(spec.init)`."""
    keys = jax.random.split(jax.random.PRNGKey(seed), num)
    variables = jax.tree.map(np.asarray, jax.jit(jax.vmap(spec.init))(keys))
    return Instances(spec, variables, tuple(range(num)), source="fresh")


@dataclasses.dataclass(frozen=True)
class ConditionResult:
    """Behaviour of all instances on one noise condition's images at one level.

    Attributes:
      condition: "easy" or "hard".
      level: the noise level.
      positions: `[image]` positions in the `StimulusSet`.
      choice: `[seed, instruction, image]` chosen class.
      confidence: `[seed, instruction, image]` logit or evidence margin.
      rt: `[seed, instruction, image]` RTNet samples taken, or None.
      capped: `[seed, instruction, image]` RTNet stopped at the cap, or None.
    """

    condition: str
    level: float
    positions: np.ndarray
    choice: np.ndarray
    confidence: np.ndarray
    rt: np.ndarray | None
    capped: np.ndarray | None


class Evaluator:
    """Runs every instance of one architecture on the noisy stimuli.

    Args:
      instances: the instances.
      stimulus_set: the stimuli prepared for the architecture.
      config: the behaviour settings.
      strategy: seed batching ("auto": `training.strategy`'s choice).
      progress: show progress bars over instances for RTNet.
    """

    def __init__(
        self,
        instances: Instances,
        stimulus_set: noise_lib.StimulusSet,
        config: BehaviourConfig,
        strategy: str = "auto",
        progress: bool = True,
    ):
        self.instances, self.stimuli, self.config = instances, stimulus_set, config
        self.spec = instances.spec
        self.progress = progress
        self.conditions = check_thresholds(config.thresholds)
        order = np.argsort([value for _, value in config.thresholds], kind="stable")
        self._ascending = tuple(float(config.thresholds[i][1]) for i in order)
        # Row j of the accumulation's output belongs to condition conditions[j].
        self._rows = np.argsort(order)
        self._cache: dict[tuple[str, float], ConditionResult] = {}
        self._build(strategy)

    @property
    def bayesian(self) -> bool:
        return bool(self.spec.bayesian)

    def _build(self, strategy: str) -> None:
        n = len(self.instances)
        train = TrainConfig(
            arch=self.spec.arch, preset=self.spec.preset, seeds=n, strategy=strategy
        )
        layout = choose_layout(train, self.spec)
        # One SeedMap call per group of instances, so that progress can be
        # shown; a loop layout runs one instance per device per call.
        per_call = layout.num_devices * (
            layout.chunk_size if layout.strategy == "loop" else layout.seeds_per_device
        )
        self.group = min(n, per_call)
        self.layout = lift_lib.make_layout(
            self.group, layout.strategy, layout.chunk_size
        )
        cfg, spec = self.config, self.spec
        if self.bayesian:
            params = sum(a[0].size for a in jax.tree.leaves(self.instances.variables))
            sequential = (
                jax.default_backend() == "cpu" and params >= _SEQUENTIAL_MIN_PARAMS
            )
            root = jax.random.PRNGKey(cfg.eval_seed)
            self.keys = np.stack([
                np.asarray(jax.random.fold_in(root, seed))
                for seed in self.instances.seeds
            ])

            def one(_, xs, shared):
                variables, key = xs
                images, ids = shared
                probs = acc_lib.sample_probs(
                    spec, variables, cfg.restrict_to_task_digits
                )
                return None, acc_lib.accumulate(
                    probs, images, ids, key, self._ascending, cfg.max_steps,
                    cfg.shared_sample, cfg.rtnet_slots, sequential,
                )
        else:
            fn = readout_lib.readout_fn(
                spec, cfg.restrict_to_task_digits, cfg.image_batch
            )

            def one(_, xs, shared):
                return None, fn(xs, shared[0])

        self._map = lift_lib.SeedMap(one, self.layout)

    def run(self, condition: str, level: float) -> ConditionResult:
        """Behaviour of every instance on `condition`'s images at `level`."""
        level = float(round(level, 6))
        cached = self._cache.get((condition, level))
        if cached is not None:
            return cached
        positions, shared = self._inputs(condition, level)
        outputs = self._run_groups(shared, f"{self.spec.arch} {condition} {level:.2f}")
        if self.bayesian:
            rows = self._rows
            result = ConditionResult(
                condition, level, positions,
                choice=outputs.choice[:, rows], confidence=outputs.confidence[:, rows],
                rt=outputs.rt[:, rows], capped=outputs.capped[:, rows],
            )
        else:
            choice, confidence = outputs
            k = len(self.conditions)
            result = ConditionResult(
                condition, level, positions,
                choice=np.repeat(choice[:, None], k, axis=1),
                confidence=np.repeat(confidence[:, None], k, axis=1),
                rt=None, capped=None,
            )
        self._cache[(condition, level)] = result
        return result

    def compile(self, condition: str) -> float:
        """Compile (and run once, for one group of instances) the program of
        `condition`'s images; returns the seconds it took. For benchmarks."""
        start = time.perf_counter()
        _, shared = self._inputs(condition, 0.0)
        self._run_groups(shared, "compile", groups=1)
        return time.perf_counter() - start

    def _inputs(self, condition: str, level: float):
        positions = np.flatnonzero(self.stimuli.noise == condition)
        if positions.size == 0:
            raise UserError(f"the stimuli have no {condition!r} images")
        part = self.stimuli.subset(positions)
        images = noise_lib.noisy_images(part, {condition: level})
        return positions, (images, np.asarray(part.images, np.int32))

    def _run_groups(self, shared, desc: str, groups: int | None = None):
        n, group = len(self.instances), self.group
        xs_all = (
            (self.instances.variables, self.keys) if self.bayesian
            else self.instances.variables
        )
        shared = lift_lib.put_replicated(shared, self.layout)
        starts = list(range(0, n, group))[:groups]
        bar = tqdm(
            total=n, desc=desc, unit="inst", leave=False,
            disable=not (self.progress and self.bayesian),
        )
        # Dispatch every group before reading any back: JAX runs them
        # asynchronously, so independent instances can overlap on the cores.
        pending = []
        for start in starts:
            index = np.minimum(np.arange(start, start + group), n - 1)
            xs = jax.tree.map(lambda a, index=index: a[index], xs_all)
            _, ys = self._map(None, lift_lib.put_seeded(xs, self.layout), shared)
            pending.append((min(group, n - start), ys))
        parts = []
        for real, ys in pending:
            ys = lift_lib.gather_seeded(ys, self.layout)
            parts.append(jax.tree.map(lambda a, real=real: a[:real], ys))
            bar.update(real)
        bar.close()
        return jax.tree.map(lambda *a: np.concatenate(a), *parts)

    def correct(self, result: ConditionResult) -> np.ndarray:
        """`[seed, instruction, image]` correct (NaN where missing)."""
        labels = self.stimuli.labels[result.positions]
        return readout_lib.trial_columns(
            result.choice, labels[None, None], result.confidence,
            off_task=self.config.off_task,
        )["correct"]

    def accuracy(self, condition: str, level: float) -> float:
        """Group-mean accuracy on `condition`'s images at `level` (both
        instruction conditions)."""
        return cal_lib.group_accuracy(self.correct(self.run(condition, level)))


def check_thresholds(thresholds) -> tuple[str, ...]:
    """The instruction conditions named by `BehaviourConfig.thresholds`."""
    names = tuple(name for name, _ in thresholds)
    if sorted(names) != sorted(CONDITIONS):
        raise UserError(
            f"thresholds name the conditions {names}; expected each of {CONDITIONS} "
            "once"
        )
    return names


def calibrate(
    evaluator: Evaluator,
    targets: dict[str, float],
    method: str = "bisection",
    progress: bool = True,
) -> dict[str, cal_lib.Calibration]:
    """Per noise condition, the grid level matching the humans' accuracy.

    Args:
      evaluator: the instances and stimuli.
      targets: human group-mean accuracy per noise condition.
      method: "bisection" (O(log n) evaluations) or "sweep" (every level).

    Returns:
      condition -> `Calibration`.
    """
    grid = noise_lib.noise_grid(evaluator.config.noise_grid)
    search = {"bisection": cal_lib.bisect_grid, "sweep": cal_lib.sweep_grid}[method]
    expected = len(grid) if method == "sweep" else int(np.ceil(np.log2(len(grid)))) + 2
    out = {}
    bar = tqdm(
        total=expected * len(NOISE_LEVELS), desc=f"calibrate {evaluator.spec.arch}",
        unit="eval", disable=not progress,
    )
    for condition in NOISE_LEVELS:
        result = search(
            lambda level, c=condition: evaluator.accuracy(c, level), grid,
            targets[condition], condition, progress=lambda: bar.update(1),
        )
        out[condition] = result
        log.info(
            "calibration %s %s: humans %.3f, instances %.3f at noise %.2f "
            "(%d evaluations, %s)", evaluator.spec.arch, condition,
            result.human_accuracy, result.model_accuracy, result.level,
            result.evaluations, method,
        )
    bar.total = bar.n  # the estimate above is an upper bound
    bar.close()
    return out


def behaviour_frame(
    evaluator: Evaluator, results: dict[str, ConditionResult]
) -> pd.DataFrame:
    """The tidy rows of every (instance, noise condition, instruction, image)."""
    stimuli, seeds = evaluator.stimuli, np.asarray(evaluator.instances.seeds)
    frames = []
    for condition in NOISE_LEVELS:
        result = results[condition]
        n_seed, n_cond, n_img = result.choice.shape
        labels = stimuli.labels[result.positions]
        columns = readout_lib.trial_columns(
            result.choice, labels[None, None], result.confidence, result.rt,
            off_task=evaluator.config.off_task,
        )
        shape = (n_seed, n_cond, n_img)
        frame = pd.DataFrame({
            "subject": np.broadcast_to(seeds[:, None, None], shape).ravel(),
            "image": np.broadcast_to(stimuli.images[result.positions], shape).ravel(),
            "noise": condition,
            "condition": np.broadcast_to(
                np.asarray(evaluator.conditions)[None, :, None], shape
            ).ravel(),
            "repeat": 1,
            **{name: values.ravel() for name, values in columns.items()},
        })
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True)
    frame = frame.sort_values(["subject", "condition", "noise", "image"], kind="stable")
    return frame.loc[:, list(COLUMNS)].reset_index(drop=True)


def evaluate_run(
    run,
    humans: BehaviourTable | None,
    stimuli: Stimuli,
    config: BehaviourConfig | None = None,
    *,
    noise_levels: dict[str, float] | None = None,
    out: str | Path | None = None,
    mnist_dir: str | Path | None = None,
    method: str = "bisection",
    strategy: str = "auto",
    progress: bool = True,
) -> tuple[BehaviourTable, dict[str, Any]]:
    """Evaluate every instance of a run; calibrate the noise unless given.

    Args:
      run: a run folder, a `training.run.Run`, or `Instances`.
      humans: the human table whose group accuracy the calibration matches
        (may be None when `noise_levels` is given).
      stimuli: the stimulus set.
      config: the behaviour settings (None: the defaults).
      noise_levels: `{"easy": x, "hard": y}` to skip the calibration.
      out: where to write the table (`.csv` or `.parquet`) and its sidecar.
      mnist_dir: MNIST folder.
      method: calibration search, "bisection" or "sweep".
      strategy: seed batching ("auto", "vmap", "loop", "chunked").
      progress: progress bars.

    Returns:
      `(table, calibration)`; `calibration` has per noise condition the level,
      the human and model accuracies and how the level was found.
    """
    config = BehaviourConfig() if config is None else config
    if out is not None:
        check_output(out)
    instances = _instances(run)
    if noise_levels is None and humans is None:
        raise UserError(
            "the calibration needs a human table (or give both noise levels)"
        )
    t0 = time.perf_counter()
    stimulus_set = noise_lib.prepare_stimuli(
        instances.spec, stimuli, config.noise_seed, mnist_dir
    )
    evaluator = Evaluator(instances, stimulus_set, config, strategy, progress)
    targets = cal_lib.human_accuracy(humans) if humans is not None else None
    if noise_levels is None:
        found = calibrate(evaluator, targets, method, progress)
        levels = {c: found[c].level for c in NOISE_LEVELS}
        conditions = {c: found[c].to_dict() for c in NOISE_LEVELS}
    else:
        levels = _given_levels(noise_levels)
        conditions = {}
        for c in NOISE_LEVELS:
            conditions[c] = {
                "condition": c, "level": levels[c], "method": "given",
                "human_accuracy": None if targets is None else targets[c],
                "model_accuracy": evaluator.accuracy(c, levels[c]),
            }
    seconds_calibration = time.perf_counter() - t0
    results = {c: evaluator.run(c, levels[c]) for c in NOISE_LEVELS}
    frame = behaviour_frame(evaluator, results)
    seconds = time.perf_counter() - t0
    calibration = {
        "method": method if noise_levels is None else "given",
        "grid": list(config.noise_grid),
        "levels": levels,
        "conditions": conditions,
        "humans": None if humans is None else humans.meta.get("source", humans.name),
        "humans_synthetic": None if humans is None else humans.synthetic,
        "seconds": round(seconds_calibration, 2),
    }
    meta = _meta(evaluator, calibration, results, frame, stimuli, seconds)
    table = BehaviourTable(frame=frame, meta=meta)
    _log_summary(evaluator, frame, results, seconds)
    if out is not None:
        path = table.write(out)
        log.info(
            "wrote %d trials of %d instances to %s", len(frame), len(instances), path
        )
    return table, calibration


def check_output(out: str | Path) -> Path:
    """Refuse an output path the table cannot be written to."""
    out = Path(out)
    if out.suffix not in TABLE_SUFFIXES:
        raise UserError(f"{out}: expected a .csv or .parquet output file")
    if out.suffix == ".parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise UserError(
                f"{out}: writing Parquet needs pyarrow (pip install pyarrow); or "
                "write .csv"
            ) from None
    if out.is_dir():
        raise UserError(f"{out}: is a folder; expected a file name")
    return out


def _instances(run) -> Instances:
    if isinstance(run, Instances):
        return run
    if isinstance(run, str | Path):
        from manyseeds.training.run import load_run

        path = str(run)
        run = load_run(run)
        instances = instances_from_run(run)
        instances.source = path
        return instances
    return instances_from_run(run)


def _given_levels(noise_levels: dict[str, float]) -> dict[str, float]:
    missing = [c for c in NOISE_LEVELS if noise_levels.get(c) is None]
    if missing:
        raise UserError(
            f"noise level(s) missing for {missing}; give both --noise-easy and "
            "--noise-hard, or neither to calibrate"
        )
    levels = {c: float(noise_levels[c]) for c in NOISE_LEVELS}
    bad = {c: v for c, v in levels.items() if not np.isfinite(v) or v < 0}
    if bad:
        raise UserError(f"noise level(s) {bad}; expected finite values >= 0")
    return levels


def _meta(evaluator, calibration, results, frame, stimuli, seconds) -> dict[str, Any]:
    spec, cfg, inst = evaluator.spec, evaluator.config, evaluator.instances
    per_instance = frame.groupby("subject")["correct"].mean()
    meta: dict[str, Any] = {
        "kind": "model",
        "name": spec.arch,
        "synthetic": False,
        "arch": spec.arch,
        "preset": spec.preset,
        "run": inst.source,
        "instances": len(inst),
        "seeds": list(inst.seeds),
        "excluded_seeds": list(inst.excluded),
        "stimuli": stimuli.source,
        "noise_levels": calibration["levels"],
        "noise_seed": cfg.noise_seed,
        "noise": "image + level x U[0,1) after resizing, not clipped (as the authors)",
        "calibration": calibration,
        "calibrated_on_synthetic_humans": bool(calibration["humans_synthetic"]),
        "readout": "digits 1-8" if cfg.restrict_to_task_digits else "all 10 classes",
        "off_task": cfg.off_task,
        "confidence": "evidence margin" if evaluator.bayesian else "logit margin",
        "behaviour_config": dataclasses.asdict(cfg),
        "accuracy_per_instance": {
            "min": float(per_instance.min()), "median": float(per_instance.median()),
            "max": float(per_instance.max()),
        },
        "seconds": round(seconds, 2),
    }
    if evaluator.bayesian:
        meta["rtnet"] = {
            "thresholds": dict(cfg.thresholds),
            "sampling": "shared" if cfg.shared_sample else "per-image",
            "max_steps": cfg.max_steps,
            "eval_seed": cfg.eval_seed,
            "same_samples_for_both_thresholds": True,
            "capped_trials": {
                c: int(results[c].capped.sum()) for c in NOISE_LEVELS
            },
        }
    else:
        meta["rtnet"] = None
        meta["conditions_identical"] = True
    return meta


def _log_summary(evaluator, frame: pd.DataFrame, results, seconds: float) -> None:
    per_instance = frame.groupby("subject")["correct"].mean()
    log.info(
        "%s: %d instances, accuracy %.3f-%.3f (mean %.3f) in %.1f s",
        evaluator.spec.arch, per_instance.size, per_instance.min(),
        per_instance.max(), per_instance.mean(), seconds,
    )
    if evaluator.bayesian:
        capped = int(sum(r.capped.sum() for r in results.values()))
        if capped:
            log.warning(
                "%s: %d RTNet decisions hit the cap of %d samples before reaching "
                "the threshold", evaluator.spec.arch, capped,
                evaluator.config.max_steps,
            )
