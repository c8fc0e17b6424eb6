"""`manyseeds analyze`: compare people with instances, every statistic of Figs. 1-3.

    manyseeds analyze --humans human.csv --models alexnet.csv rtnet.csv \\
        --out runs/analysis [--splits 1000] [--bootstrap 2000] [--seed 0]

`--humans` takes a human file in the published `human.csv` schema (it has a
`mnist_index` column; read by `data.humans.load_humans`) or a tidy behaviour
table (`data.table.BehaviourTable`). `--models` takes one behaviour table per
architecture (its `meta.name` names the set); without it only the human-human
benchmark is computed. Writes `statistics.json`, `per_subject.csv`,
`units.csv` and `similarity.npz` (see `analysis.results`).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import pandas as pd

from manyseeds.analysis import engine, results
from manyseeds.analysis.inputs import HUMAN, from_tables
from manyseeds.config import AnalysisConfig
from manyseeds.data.table import COLUMNS, BehaviourTable
from manyseeds.errors import UserError

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    """Add `manyseeds analyze`."""
    defaults = AnalysisConfig()
    p = subparsers.add_parser(
        "analyze",
        help="alignment of people with instances: every statistic of Figs. 1-3",
        description="Compare people with network instances: every statistic of "
        "Figs. 1-3 of the paper (consistency, across-metric, prediction).",
    )
    p.add_argument("--humans", type=Path, required=True,
                   help="human.csv (published schema) or a behaviour table")
    p.add_argument("--models", type=Path, nargs="*", default=[],
                   help="behaviour tables of instances, one per architecture")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--splits", type=int, default=defaults.n_splits,
                   help="random split-halves of the images (paper: 1000)")
    p.add_argument("--bootstrap", type=int, default=defaults.n_bootstrap,
                   help="bootstrap resamples of subjects (paper: 2000)")
    p.add_argument("--seed", type=int, default=defaults.seed,
                   help="key of the split-halves and bootstrap resamples")
    p.add_argument("--chunk", type=int, default=defaults.chunk,
                   help="split-halves per jitted chunk (bounds memory)")
    p.add_argument("--min-count", type=int, default=engine.MIN_COUNT,
                   help="fewest shared values for a defined correlation")
    p.add_argument("--x64", action="store_true", help="compute in float64")
    p.set_defaults(func=analyze)


def read_humans(path: Path) -> BehaviourTable:
    """The people: a behaviour table, or a published human file by its header."""
    if not path.is_file():
        raise UserError(f"{path}: no such human data file")
    if path.suffix == ".parquet":
        return BehaviourTable.read(path)
    sep = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    try:
        header = list(pd.read_csv(path, sep=sep, nrows=0).columns)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        raise UserError(f"{path}: cannot read a CSV header") from None
    if all(column in header for column in COLUMNS):
        table = BehaviourTable.read(path)
        table.meta.setdefault("kind", "human")
        return table
    if "mnist_index" in header:
        from manyseeds.data.humans import load_humans  # the data stage's loader

        return load_humans(path)
    raise UserError(
        f"{path}: neither a published human file (needs mnist_index, ...) nor a "
        f"behaviour table (needs {', '.join(COLUMNS)})"
    )


def read_models(paths: list[Path]) -> list[BehaviourTable]:
    """One behaviour table per architecture."""
    tables = []
    for path in paths:
        table = BehaviourTable.read(path)
        if table.meta.get("kind") == "human" or table.name == HUMAN:
            raise UserError(f"{path}: a human table given as --models")
        tables.append(table)
    return tables


def analyze(args: argparse.Namespace) -> int:
    """Run the analysis and write its results to `args.out`."""
    for flag, value in (("--splits", args.splits), ("--bootstrap", args.bootstrap),
                        ("--chunk", args.chunk), ("--min-count", args.min_count)):
        if value < 1:
            raise UserError(f"{flag} must be at least 1, not {value}")
    humans = read_humans(args.humans)
    if humans.synthetic:
        log.warning("SYNTHETIC PEOPLE: %s is a synthetic cohort; every result "
                    "made from it is marked synthetic", args.humans)
    models = read_models(args.models)
    inputs = from_tables(humans, models)
    log.info(
        "analysing %d people against %s on %s; %d images, conditions %s",
        len(inputs.subjects),
        ", ".join(f"{a} ({len(inputs.instances[a])})" for a in inputs.archs)
        or "no architecture (human-human benchmark only)",
        ", ".join(inputs.metrics), len(inputs.images), ", ".join(inputs.conditions),
    )
    config = AnalysisConfig(n_splits=args.splits, n_bootstrap=args.bootstrap,
                            seed=args.seed, chunk=args.chunk)
    start = time.perf_counter()
    output = engine.run(inputs, config, dtype="float64" if args.x64 else "float32",
                        min_count=args.min_count, progress=True)
    paths = results.write(output, args.out)
    print(f"analysis of {len(inputs.subjects)} "
          f"{'SYNTHETIC people' if inputs.synthetic_humans else 'people'} "
          f"in {time.perf_counter() - start:.1f} s -> {paths['statistics']}")
    for line in summary(results.statistics(output)):
        print(line)
    return 0


def summary(entries: list[dict]) -> list[str]:
    """One line per consistency and prediction entry (the headline numbers)."""
    lines = []
    for e in entries:
        if e["name"] not in ("consistency", "consistency_vs_human",
                             "prediction_improvement"):
            continue
        metrics = e["metric"] + (f"->{e['metric_b']}" if e["metric_b"] else "")
        p = "" if e["p"] is None or e["p"] != e["p"] else f"  p={e['p']:.3g}"
        estimate = e["estimate"]
        value = "nan" if estimate is None else f"{estimate:+.4f}"
        lines.append(f"  {e['panel']} {e['name']:<24} {e['arch']:<10} "
                     f"{metrics:<22} {value}{p}")
    return lines
