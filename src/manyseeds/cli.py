"""The `manyseeds` command line: one subcommand per pipeline stage.

Each stage module under `manyseeds` that has a `cli.py` exposes
`register(subparsers)`, which adds its subcommands; every subcommand stores
a `func(args) -> int | None` in its namespace.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from manyseeds import __version__
from manyseeds.errors import UserError

# Stage order follows the pipeline; each module registers its own subcommands.
_STAGE_CLIS = (
    "manyseeds.data.cli",
    "manyseeds.models.cli",
    "manyseeds.training.cli",
    "manyseeds.behaviour.cli",
    "manyseeds.analysis.cli",
    "manyseeds.figures.cli",
    "manyseeds.bench.cli",
    "manyseeds.reproduce",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="manyseeds",
        description="Train many seeds at once and compare them with people.",
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="warnings and errors only"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _STAGE_CLIS:
        importlib.import_module(name).register(subparsers)
    return parser


def setup_logging(verbose: int = 0, quiet: bool = False) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO)
    # orbax imports absl, whose handler on the root logger would otherwise
    # swallow our format; other handlers (e.g. pytest's) are left alone.
    for handler in list(logging.root.handlers):
        if type(handler).__name__ == "ABSLHandler":
            logging.root.removeHandler(handler)
    fmt = "%(asctime)s %(levelname)s %(message)s"
    logging.basicConfig(level=level, format=fmt, datefmt="%H:%M:%S")
    for handler in logging.root.handlers:
        # A plain stderr handler left by a library's own basicConfig() call.
        if type(handler) is logging.StreamHandler:
            handler.setFormatter(logging.Formatter(fmt, datefmt="%H:%M:%S"))
    logging.root.setLevel(level)
    # JAX and orbax are chatty at INFO; keep them quiet unless asked.
    for noisy in ("jax", "absl", "orbax", "etils", "matplotlib"):
        logging.getLogger(noisy).setLevel(
            logging.DEBUG if verbose > 1 else logging.WARNING
        )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    setup_logging(args.verbose, args.quiet)
    try:
        code = args.func(args)
    except UserError as err:
        print(f"manyseeds {args.command}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print(f"manyseeds {args.command}: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
