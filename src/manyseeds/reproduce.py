"""`manyseeds reproduce`: from nothing to the paper's figures and report.

    manyseeds reproduce --preset quick --out checkpoints/quick

Stages, each in its own folder of `--out`:

    people/      the human table (given with --humans, or a synthetic cohort)
    runs/<arch>  trained instances (`manyseeds train`), resumed if unfinished
    behaviour/   each architecture on the noisy stimuli, noise calibrated to
                 the people (`manyseeds evaluate`)
    analysis/    every statistic of Figures 1-3 (`manyseeds analyze`)
    report/      figures and the report (`manyseeds figures`, `report`)

Running it again reuses what is done: every stage records a fingerprint of
its inputs and settings in `<stage>/stamp.json` and is redone only when that
fingerprint changes (a finished training run is never redone; an unfinished
one resumes).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from pathlib import Path
from typing import Any

from manyseeds.config import ARCHS, PRESETS, ExperimentConfig, experiment
from manyseeds.data.table import BehaviourTable
from manyseeds.errors import UserError

log = logging.getLogger(__name__)

SYNTHETIC_WARNING = (
    "SYNTHETIC PEOPLE: no human data file was given, so the people are a "
    "synthetic cohort; results check the pipeline, they are not the study's."
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "reproduce",
        help="train, evaluate, analyse and report: the whole study",
        description="The whole study with one command; reuses finished stages.",
    )
    p.add_argument("--preset", choices=PRESETS, default="quick")
    p.add_argument("--out", help="output folder (default: checkpoints/<preset>)")
    p.add_argument("--humans", help="human data file (default: synthetic cohort)")
    p.add_argument("--mnist-dir", help="MNIST IDX folder (or MANYSEEDS_MNIST_DIR)")
    p.add_argument("--stimuli", help="noise_index.npz (or MANYSEEDS_STIMULI)")
    p.add_argument("--seeds", type=int, help="instances per architecture")
    p.add_argument("--subjects", type=int, help="people in the synthetic cohort")
    p.add_argument("--archs", default=",".join(ARCHS), help="comma-separated")
    p.add_argument("--splits", type=int, help="split-halves (paper: 1000)")
    p.add_argument("--bootstrap", type=int, help="bootstrap resamples (paper: 2000)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_run_cli)


def _run_cli(args) -> int:
    config = experiment(args.preset)
    archs = tuple(a.strip() for a in args.archs.split(",") if a.strip())
    unknown = [a for a in archs if a not in ARCHS]
    if unknown:
        raise UserError(f"unknown architecture(s) {unknown}; expected {ARCHS}")
    changes: dict[str, Any] = {"archs": archs}
    for flag, field in (("seeds", "seeds"), ("subjects", "subjects")):
        value = getattr(args, flag)
        if value is not None:
            if value < 2:
                raise UserError(f"--{flag} must be at least 2")
            changes[field] = value
    analysis = config.analysis
    if args.splits:
        analysis = dataclasses.replace(analysis, n_splits=args.splits)
    if args.bootstrap:
        analysis = dataclasses.replace(analysis, n_bootstrap=args.bootstrap)
    config = config.replace(analysis=analysis, **changes)
    out = Path(args.out or Path("checkpoints") / args.preset)
    reproduce(
        config, out, humans=args.humans, mnist_dir=args.mnist_dir,
        stimuli=args.stimuli, progress=not args.no_progress,
    )
    return 0


def fingerprint(*parts: Any) -> str:
    """A short hash of JSON-able settings and of files' contents."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            digest.update(part.read_bytes() if part.is_file() else str(part).encode())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def _stamp_ok(folder: Path, stamp: str, outputs: list[Path]) -> bool:
    path = folder / "stamp.json"
    return (
        path.is_file()
        and json.loads(path.read_text()).get("stamp") == stamp
        and all(p.exists() for p in outputs)
    )


def _write_stamp(folder: Path, stamp: str) -> None:
    (folder / "stamp.json").write_text(json.dumps({"stamp": stamp}))


class _Stage:
    """Logs one line per stage with its elapsed time."""

    def __init__(self, name: str, timings: dict[str, float]):
        self.name, self.timings = name, timings

    def __enter__(self):
        self.start = time.time()
        log.info("stage %s ...", self.name)
        return self

    def __exit__(self, *exc):
        seconds = time.time() - self.start
        self.timings[self.name] = seconds
        if exc[0] is None:
            log.info("stage %s done in %.1f s", self.name, seconds)


def reproduce(
    config: ExperimentConfig,
    out: str | Path,
    *,
    humans: str | Path | None = None,
    mnist_dir: str | Path | None = None,
    stimuli: str | Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run every stage of the study, reusing what is already done.

    Args:
      config: the experiment (`manyseeds.config.experiment(preset)`).
      out: the output folder.
      humans: the human data file; None makes a synthetic cohort.
      mnist_dir: MNIST IDX folder (default: resolved by `manyseeds.data`).
      stimuli: the stimulus file (default: resolved by `manyseeds.data`).
      progress: progress bars.

    Returns:
      The context written beside the report: settings, training summaries,
      calibration, stage timings, and paths.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    started, timings = time.time(), {}
    with _Stage("people", timings):
        people, stimulus_set, people_path = _people(config, out, humans, stimuli,
                                                    mnist_dir)
    if people.synthetic:
        log.warning(SYNTHETIC_WARNING)
    manifests = {}
    for arch in config.archs:
        with _Stage(f"train {arch}", timings):
            manifests[arch] = _train(config, arch, out, mnist_dir, progress)
    tables, calibration = {}, {}
    for arch in config.archs:
        with _Stage(f"behaviour {arch}", timings):
            tables[arch], calibration[arch] = _behaviour(
                config, arch, out, people, people_path, stimulus_set, mnist_dir,
                progress,
            )
    with _Stage("analysis", timings):
        analysis_dir = _analysis(config, out, people, people_path, tables, progress)
    context = _context(config, people, manifests, calibration, timings, out)
    with _Stage("report", timings):
        report = _report(out, analysis_dir, context)
    context["timings"] = dict(timings)
    context["total_seconds"] = time.time() - started
    (out / "context.json").write_text(json.dumps(context, indent=2, default=str))
    log.info("all done in %.0f s; report: %s", context["total_seconds"], report)
    return context


def _people(config, out, humans, stimuli_flag, mnist_dir):
    """The human table, its file, and the stimulus set in force."""
    from manyseeds.data.cohort import synth_cohort, write_cohort
    from manyseeds.data.humans import load_humans
    from manyseeds.data.stimuli import resolve_stimuli

    if humans is not None:
        stimulus_set = resolve_stimuli(stimuli_flag, humans=humans, mnist_dir=mnist_dir)
        return load_humans(humans, stimuli=stimulus_set), stimulus_set, Path(humans)
    stimulus_set = resolve_stimuli(stimuli_flag, mnist_dir=mnist_dir)
    folder = out / "people"
    folder.mkdir(exist_ok=True)
    path = folder / "synthetic_humans.csv"
    stamp = fingerprint(
        config.subjects, config.cohort_seed, config.idiosyncrasy,
        stimulus_set.images.tolist(), stimulus_set.noise.tolist(),
    )
    if not _stamp_ok(folder, stamp, [path]):
        frame = synth_cohort(
            n_subjects=config.subjects, seed=config.cohort_seed,
            stimuli=stimulus_set, idiosyncrasy=config.idiosyncrasy,
        )
        write_cohort(frame, path)
        _write_stamp(folder, stamp)
    else:
        log.info("reusing the synthetic cohort %s", path)
    return load_humans(path, stimuli=stimulus_set), stimulus_set, path


def _train(config, arch, out, mnist_dir, progress) -> dict[str, Any]:
    """Train, resume, or reuse; a run with other settings is kept aside."""
    from manyseeds.training.trainer import train

    run_dir, train_config = out / "runs" / arch, config.train(arch)
    saved = run_dir / "config.json"
    if saved.is_file():
        old = json.loads(saved.read_text())["train"]
        if old != json.loads(json.dumps(train_config.to_dict())):
            k = 1
            while run_dir.with_name(f"{arch}.previous-{k}").exists():
                k += 1
            aside = run_dir.with_name(f"{arch}.previous-{k}")
            run_dir.rename(aside)
            log.warning("%s: training settings changed; the old run is kept in %s",
                        arch, aside)
    return train(
        train_config, run_dir, mnist_dir=mnist_dir, resume=True, progress=progress
    )


def _behaviour(config, arch, out, people, people_path, stimulus_set, mnist_dir,
               progress):
    from manyseeds.behaviour.evaluate import evaluate_run

    folder = out / "behaviour" / arch
    folder.mkdir(parents=True, exist_ok=True)
    table_path = folder / f"{arch}.csv"
    run_dir = out / "runs" / arch
    stamp = fingerprint(
        run_dir / "manifest.json", people_path, dataclasses.asdict(config.behaviour),
        stimulus_set.images.tolist(),
    )
    if _stamp_ok(folder, stamp, [table_path]):
        log.info("reusing %s", table_path)
        table = BehaviourTable.read(table_path)
        return table, table.meta.get("calibration", {})
    table, calibration = evaluate_run(
        run_dir, people, stimulus_set, config.behaviour, out=table_path,
        mnist_dir=mnist_dir, progress=progress,
    )
    _write_stamp(folder, stamp)
    return table, calibration


def _analysis(config, out, people, people_path, tables, progress) -> Path:
    from manyseeds.analysis import engine, results
    from manyseeds.analysis.inputs import from_tables

    folder = out / "analysis"
    folder.mkdir(exist_ok=True)
    table_files = [out / "behaviour" / a / f"{a}.csv" for a in tables]
    stamp = fingerprint(
        people_path, *table_files, dataclasses.asdict(config.analysis)
    )
    if _stamp_ok(folder, stamp, [folder / "statistics.json"]):
        log.info("reusing the analysis in %s", folder)
        return folder
    inputs = from_tables(people, list(tables.values()))
    output = engine.run(inputs, config.analysis, progress=progress)
    results.write(output, folder)
    _write_stamp(folder, stamp)
    return folder


def _context(config, people, manifests, calibration, timings, out) -> dict:
    training = {}
    for arch, manifest in manifests.items():
        acc = manifest.get("val_accuracy", [])
        training[arch] = {
            "seeds": len(acc),
            "val_accuracy_min": min(acc) if acc else None,
            "val_accuracy_median": sorted(acc)[len(acc) // 2] if acc else None,
            "val_accuracy_max": max(acc) if acc else None,
            "seeds_below_97": sum(a < 0.97 for a in acc),
            "train_seconds": manifest.get("train_seconds"),
            "strategy": manifest.get("strategy"),
        }
    return {
        "experiment": config.name,
        "preset": config.preset,
        "seeds": config.seeds,
        "synthetic_humans": people.synthetic,
        "people": people.meta.get("source"),
        "subjects": int(len(people.subjects)),
        "training": training,
        "calibration": {arch: _calibration_row(c) for arch, c in calibration.items()},
        "timings": dict(timings),
        "out": str(out),
    }


def _calibration_row(calibration: dict[str, Any]) -> dict[str, Any]:
    """Noise level and human / instance accuracy per noise condition."""
    row: dict[str, Any] = {"method": calibration.get("method")}
    for condition, result in calibration.get("conditions", {}).items():
        row[f"{condition} noise level"] = result.get("level")
        row[f"{condition} human accuracy"] = result.get("human_accuracy")
        row[f"{condition} instance accuracy"] = result.get("model_accuracy")
    return row


def _report(out, analysis_dir, context) -> Path:
    from manyseeds.figures import make_figures, write_report

    folder = out / "report"
    folder.mkdir(exist_ok=True)
    figures = make_figures(analysis_dir, folder / "figures")
    markdown, _ = write_report(analysis_dir, folder, figures=figures, context=context)
    return markdown
