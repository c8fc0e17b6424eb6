"""Command-line entry points of the figures stage: `figures` and `report`.

Commands:
  `figures --analysis DIR --out DIR`: every figure as PNG and PDF.
  `report --analysis DIR --out DIR [--context JSON]`: `report.md` and a
    self-contained `report.html` (the figures are drawn into `DIR/figures`).

`--context` is a JSON object, given inline or as the path of a JSON file,
with facts about the run for the report's summary (`report` module docstring).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from manyseeds.errors import UserError


def register(subparsers) -> None:
    """Add the `figures` and `report` commands."""
    figures = subparsers.add_parser(
        "figures", help="draw the paper's figures from an analysis folder"
    )
    _add_common(figures, "folder for the PNG and PDF figures")
    figures.set_defaults(func=_figures)

    report = subparsers.add_parser(
        "report",
        help="write report.md and a self-contained report.html from an analysis",
    )
    _add_common(report, "folder for report.md, report.html and figures/")
    report.add_argument(
        "--context",
        metavar="JSON",
        help="facts about the run for the summary: a JSON object, inline or the "
        "path of a .json file",
    )
    report.set_defaults(func=_report)


def _add_common(parser, out_help: str) -> None:
    parser.add_argument(
        "--analysis", required=True, metavar="DIR",
        help="output folder of `manyseeds analyze` (statistics.json, ...)",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help=out_help)


def _figures(args) -> int:
    from manyseeds.figures.plots import make_figures

    paths = make_figures(args.analysis, args.out)
    pngs = [p for p in paths if p.suffix == ".png"]
    print(f"wrote {len(pngs)} figures (PNG and PDF) to {args.out}")
    for path in pngs:
        print(f"  {path.stem}")
    return 0


def _report(args) -> int:
    from manyseeds.figures.report import write_report

    context = read_context(args.context) if args.context else None
    md_path, html_path = write_report(args.analysis, args.out, context=context)
    print(f"wrote {md_path} and {html_path}")
    return 0


def read_context(value: str) -> dict[str, Any]:
    """The `--context` object: inline JSON, or the path of a JSON file.

    Raises:
      UserError: not valid JSON, a missing file, or not a JSON object.
    """
    path = Path(value)
    if path.is_file():
        text, where = path.read_text(), str(path)
    else:
        text, where = value, "--context"
    try:
        context = json.loads(text)
    except json.JSONDecodeError as err:
        if where == "--context" and not value.lstrip().startswith(("{", "[")):
            raise UserError(f"--context {value}: no such file, and not inline "
                            "JSON") from None
        raise UserError(f"{where}: not valid JSON ({err})") from None
    if not isinstance(context, dict):
        raise UserError(f"{where}: expected a JSON object, not "
                        f"{type(context).__name__}")
    return context
