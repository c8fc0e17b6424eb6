"""`manyseeds bench ...`: benchmarks that print their figures as ratios.

Each benchmark module exposes `add_parser(subparsers)`; they are imported
lazily so that `manyseeds --help` stays fast.
"""

import importlib

_BENCHES = ("train", "rtnet", "analysis")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench", help="benchmarks (speed ratios measured in one run)"
    )
    sub = parser.add_subparsers(dest="bench", metavar="BENCH")
    for name in _BENCHES:
        try:
            module = importlib.import_module(f"manyseeds.bench.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"manyseeds.bench.{name}":
                raise
            continue
        module.add_parser(sub)
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
