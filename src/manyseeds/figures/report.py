"""The report of a run: Markdown and one self-contained HTML page.

`write_report(analysis_dir, out_dir)` reads an analysis folder (the files of
`analysis.results`) and writes `report.md` and `report.html` with, in order:

1. a banner at the very top when the people are a synthetic cohort;
2. a summary of the run: the people and the sets of instances, the analysis
   settings beside the paper's, and whatever an optional `context` dict holds
   (preset, seeds, training wall times and validation accuracies,
   calibration, timings);
3. every figure of `plots.FIGURES` with its caption;
4. our numbers beside the paper's reported values (`paper.REPORTED`,
   PROTOCOL.md section 5) with whether they agree in direction and
   significance;
5. every statistic of `statistics.json` with its test;
6. the counts of undefined alignments (NaN).

The HTML page embeds the PNG figures as base64 and its CSS inline: it needs
no other file. The Markdown file links the PNGs by relative path.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from manyseeds.errors import UserError
from manyseeds.figures import paper
from manyseeds.figures.plots import (
    CAPTIONS,
    FIGURES,
    HUMAN,
    METRIC_LABEL,
    SYNTHETIC_MARK,
    TITLES,
    Analysis,
    load_analysis,
    make_figures,
    set_label,
)

log = logging.getLogger(__name__)

TITLE = "manyseeds report: individual differences from random initialisations"
BANNER = (
    f"{SYNTHETIC_MARK}. The people in this report are a synthetic cohort made by "
    "manyseeds. Every number about people, and every comparison with the paper, "
    "checks the pipeline; none of it is a replication of the study."
)
# The paper's analysis settings (PROTOCOL.md section 4; paper, section 2).
PAPER_SETTINGS = {"n_subjects": 60, "n_splits": 1000, "n_bootstrap": 2000,
                  "n_images": 480}
STATISTIC_COLUMNS = ("name", "panel", "arch", "versus", "metrics", "estimate", "SEM",
                     "test", "statistic", "df", "n", "p")
NAN_COLUMNS = ("scope", "arch", "metric", "condition", "pairs", "undefined",
               "too_few", "constant")
# Context keys with a title, rendered first in this order; others follow.
CONTEXT_TITLES = {
    "preset": "Preset",
    "seeds": "Seeds (instances per architecture)",
    "humans": "People",
    "training": "Training (per architecture)",
    "calibration": "Calibration of the noise level (per condition)",
    "timings": "Timings",
}


def write_report(
    analysis_dir: str | Path,
    out_dir: str | Path,
    figures: Sequence[str | Path] | None = None,
    context: Mapping[str, Any] | None = None,
) -> tuple[Path, Path]:
    """Write `report.md` and `report.html` for an analysis.

    Args:
      analysis_dir: the output folder of `manyseeds analyze`.
      out_dir: where to write the report (created if needed).
      figures: figure files to include (their PNGs are used); None draws them
        all into `out_dir/figures` with `plots.make_figures`.
      context: facts about the run to summarise (module docstring); any
        JSON-like dict, rendered key by key.

    Returns:
      (path of report.md, path of report.html).

    Raises:
      UserError: the analysis folder is missing or invalid, a figure file
        does not exist, or `context` is not a dict.
    """
    analysis = load_analysis(analysis_dir)
    if context is not None and not isinstance(context, Mapping):
        raise UserError(f"report context must be a JSON object, not "
                        f"{type(context).__name__}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if figures is None:
        figures = make_figures(analysis_dir, out_dir / "figures")
    pngs = _pngs(figures)
    blocks = build_blocks(analysis, pngs, dict(context or {}))
    md_path, html_path = out_dir / "report.md", out_dir / "report.html"
    md_path.write_text(to_markdown(blocks, md_path.parent))
    html_path.write_text(to_html(blocks))
    log.info("report: wrote %s and %s", md_path, html_path)
    return md_path, html_path


def _pngs(figures: Sequence[str | Path]) -> list[Path]:
    """The PNGs among `figures`, in `FIGURES` order, others after."""
    order = {name: i for i, (name, _, _) in enumerate(FIGURES)}
    pngs = [Path(f) for f in figures if Path(f).suffix.lower() == ".png"]
    for path in pngs:
        if not path.is_file():
            raise UserError(f"{path}: figure file not found")
    return sorted(pngs, key=lambda p: (order.get(p.stem, len(order)), p.name))


# ------------------------------------------------------------------ blocks
# A report is a list of blocks, rendered to Markdown and to HTML alike:
# ("banner", text), ("heading", level, text), ("text", text),
# ("list", [text]), ("table", columns, rows), ("figure", path, title, caption).


def build_blocks(analysis: Analysis, pngs: Sequence[Path],
                 context: dict[str, Any]) -> list[tuple]:
    """The report's content as blocks (see the comment above)."""
    blocks: list[tuple] = []
    if analysis.synthetic_humans:
        blocks.append(("banner", BANNER))
    blocks.append(("heading", 1, TITLE))
    blocks.append(("text", _intro(analysis)))
    blocks += _summary(analysis, context)
    blocks.append(("heading", 2, "Figures"))
    if analysis.synthetic_humans:
        blocks.append(("text", f"Every figure is marked \"{SYNTHETIC_MARK}\"."))
    if not pngs:
        blocks.append(("text", "No figures were given."))
    for path in pngs:
        title = TITLES.get(path.stem, path.stem.replace("_", " "))
        blocks.append(("figure", path, title, CAPTIONS.get(path.stem, "")))
    blocks += _paper_section(analysis)
    blocks += _statistics_section(analysis)
    blocks += _nan_section(analysis)
    return blocks


def _intro(analysis: Analysis) -> str:
    people = "a synthetic cohort" if analysis.synthetic_humans else "human data"
    return (
        "A rerun of the analysis of Fung, Ratan Murty & Rahnev (2025), 'Human-like "
        "individual differences emerge from random weight initializations in "
        f"neural networks', on {people}, read from the analysis folder "
        f"`{analysis.directory}`."
    )


def _summary(analysis: Analysis, context: dict[str, Any]) -> list[tuple]:
    blocks: list[tuple] = [("heading", 2, "Summary of the run")]
    rows = [
        [set_label(s["arch"], people=True), str(s.get("n_units", "")),
         ", ".join(METRIC_LABEL.get(m, m) for m in s.get("metrics", [])),
         "yes" if s.get("synthetic") else "no", str(s.get("source") or "")]
        for s in analysis.sets
    ]
    blocks.append(("table", ("set", "units", "metrics", "synthetic", "source"), rows))
    synthetic_models = [s["arch"] for s in analysis.sets
                        if s["arch"] != HUMAN and s.get("synthetic")]
    if synthetic_models:
        blocks.append(("text", "Synthetic instances (not trained networks): "
                       + ", ".join(set_label(a) for a in synthetic_models) + "."))
    settings = analysis.settings
    rows = [[key, _cell(value), _cell(PAPER_SETTINGS.get(key, ""))]
            for key, value in settings.items()]
    blocks.append(("heading", 3, "Analysis settings"))
    blocks.append(("table", ("setting", "this run", "paper"), rows))
    if context:
        blocks += _context_blocks(context)
    return blocks


def _context_blocks(context: dict[str, Any]) -> list[tuple]:
    """Whatever the run's context holds: scalars in one table, each nested
    value as its own table (dicts of dicts: one row per outer key)."""
    keys = [k for k in CONTEXT_TITLES if k in context]
    keys += [k for k in context if k not in CONTEXT_TITLES]
    scalars = [[CONTEXT_TITLES.get(k, k), _cell(context[k])] for k in keys
               if not isinstance(context[k], Mapping | list)]
    blocks: list[tuple] = [("heading", 3, "Run")]
    if scalars:
        blocks.append(("table", ("item", "value"), scalars))
    for key in keys:
        value = context[key]
        if isinstance(value, Mapping | list):
            blocks.append(("heading", 4, CONTEXT_TITLES.get(key, key)))
            blocks.append(_nested_table(value))
    return blocks


def _nested_table(value: Mapping | list) -> tuple:
    if isinstance(value, list):
        records = [(str(i), item) for i, item in enumerate(value)]
        first = "#"
    else:
        records = list(value.items())
        first = "key"
    if all(not isinstance(v, Mapping) for _, v in records):
        return ("table", (first, "value"), [[str(k), _cell(v)] for k, v in records])
    flat = [(str(k), _flatten(v) if isinstance(v, Mapping) else {"value": v})
            for k, v in records]
    columns: list[str] = []
    for _, row in flat:
        columns += [c for c in row if c not in columns]
    rows = [[k, *(_cell(row.get(c, "")) for c in columns)] for k, row in flat]
    return ("table", (first, *columns), rows)


def _flatten(value: Mapping, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            out.update(_flatten(item, name + " / "))
        else:
            out[name] = item
    return out


def _paper_section(analysis: Analysis) -> list[tuple]:
    rows = paper.compare(analysis.statistics)
    counted = [r for r in rows if r["agrees"] in ("yes", "no")]
    agree = sum(r["agrees"] == "yes" for r in counted)
    blocks: list[tuple] = [("heading", 2, "Our numbers beside the paper's")]
    settings = analysis.settings
    if analysis.synthetic_humans:
        blocks.append(("text", (
            "**This is a pipeline check, not a replication.** The people are "
            "synthetic, so agreement or disagreement with the paper says only "
            "that the pipeline runs end to end and yields numbers of the expected "
            "kind; it says nothing about whether the paper's findings hold.")))
    else:
        blocks.append(("text", (
            "The people are the study's human data (as given to this run); "
            "agreement is judged in direction and significance only.")))
    blocks.append(("text", (
        f"Significance is judged at alpha = {paper.ALPHA:g} for every claim; the "
        "paper's thresholds (e.g. p > 0.257) describe its data, not a criterion. "
        "Spread claims (Fig. 1a) are untested in the paper and checked for "
        f"direction only. This run: {settings.get('n_subjects', '?')} subjects, "
        f"{settings.get('n_splits', '?')} split-halves and "
        f"{settings.get('n_bootstrap', '?')} bootstrap resamples (paper: 60, "
        "1,000 and 2,000); p values depend on these numbers. A bootstrap p "
        f"(Fig. 1b) cannot fall below {_bootstrap_floor(settings)}.")))
    blocks.append(("text", f"Agreement: {agree} of {len(counted)} checked rows "
                   f"agree; {len(rows) - len(counted)} rows are descriptive or "
                   "not available."))
    table = [[r["panel"], r["key"], r["claim"], _set_names(r["arch"]),
              r["metrics"], r["paper"], r["ours"], r["criterion"], r["agrees"]]
             for r in rows]
    blocks.append(("table", ("panel", "key", "claim", "set", "metrics", "paper",
                             "ours", "criterion", "agrees"), table))
    blocks.append(("heading", 3, "Where the paper reports them"))
    blocks.append(("list", [f"`{r.key}` (Fig. {r.panel}): \u201c{r.quote}\u201d"
                            for r in paper.REPORTED]))
    return blocks


def _bootstrap_floor(settings: dict[str, Any]) -> str:
    """The smallest bootstrap p, 2 / (B + 1) (`analysis.stats`)."""
    n = settings.get("n_bootstrap")
    return f"2 / (B + 1) = {2 / (n + 1):.2g}" if isinstance(n, int) else "2 / (B + 1)"


def _set_names(archs: str) -> str:
    """Display names of a comma-separated list of sets (people: "Humans")."""
    return ", ".join(set_label(a.strip(), people=True) for a in archs.split(","))


def _statistics_section(analysis: Analysis) -> list[tuple]:
    rows = []
    for e in analysis.statistics:
        metrics = e.get("metric") or ""
        if e.get("metric_b"):
            arrow = " \u2192 " if e.get("panel") == "3b" else " & "
            metrics += arrow + e["metric_b"]
        p = e.get("p")
        cells = [e.get("name"), e.get("panel"), e.get("arch"), e.get("versus"),
                 metrics, e.get("estimate"), e.get("sem"), e.get("test"),
                 e.get("statistic"), e.get("df"), e.get("n")]
        rows.append([*map(_cell, cells), "-" if p is None else paper.format_p(p)])
    return [
        ("heading", 2, "Every statistic"),
        ("text", (
            "Estimates: mean over subjects (one-sample entries), mean difference "
            "architecture - human benchmark (paired and bootstrap entries), SD of "
            "unit means (`spread`) or SD ratio architecture / people "
            "(`spread_vs_human`). p values are two-sided; '-' means no test or too "
            "few values. More numbers per entry (`details`) are in "
            "statistics.json.")),
        ("table", STATISTIC_COLUMNS, rows),
    ]


def _nan_section(analysis: Analysis) -> list[tuple]:
    rows = analysis.nan_counts
    blocks: list[tuple] = [("heading", 2, "Undefined alignments (NaN counts)")]
    if not rows:
        blocks.append(("text", "The analysis recorded no NaN counts."))
        return blocks
    undefined = sum(r.get("undefined") or 0 for r in rows
                    if r.get("condition") == "combined")
    pairs = sum(r.get("pairs") or 0 for r in rows if r.get("condition") == "combined")
    blocks.append(("text", (
        f"Condition-combined: {undefined} undefined of {pairs} (subject, unit) "
        "correlations. Scope 'all_images' counts the similarity matrices; "
        "'split_halves' sums over iterations and both halves. too_few: fewer "
        "shared finite images than the minimum; constant: no variance.")))
    table = [[_cell(r.get(c)) for c in NAN_COLUMNS] for r in rows]
    blocks.append(("table", NAN_COLUMNS, table))
    return blocks


def _cell(value: Any) -> str:
    """One table cell: numbers to 4 significant digits, None as '-'."""
    if value is None or value == "":
        return "-" if value is None else ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0 or 1e-3 <= abs(value) < 1e5:
            return f"{value:.4g}"
        return f"{value:.3e}"
    if isinstance(value, list | tuple):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str)
    return str(value)


# ---------------------------------------------------------------- renderers


def to_markdown(blocks: Sequence[tuple], base: Path) -> str:
    """Markdown of the blocks; figures linked relative to `base`."""
    out = []
    for block in blocks:
        kind = block[0]
        if kind == "banner":
            out.append(f"> **\u26a0 {block[1]}**")
        elif kind == "heading":
            out.append("#" * block[1] + " " + block[2])
        elif kind == "text":
            out.append(block[1])
        elif kind == "list":
            out.append("\n".join(f"- {item}" for item in block[1]))
        elif kind == "table":
            out.append(_markdown_table(block[1], block[2]))
        elif kind == "figure":
            _, path, title, caption = block
            link = Path(os.path.relpath(path, base)).as_posix()
            out.append(f"### {title}\n\n![{title}]({link})\n\n*{caption}*")
    return "\n\n".join(out) + "\n"


def _markdown_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def row(cells):
        text = (str(c).replace("|", "\\|").replace("\n", "<br>") for c in cells)
        return "| " + " | ".join(text) + " |"

    lines = [row(columns), "| " + " | ".join("---" for _ in columns) + " |"]
    lines += [row(r) for r in rows]
    return "\n".join(lines)


_CSS = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif;
       margin: 0 auto; max-width: 1200px; padding: 0 1.5em 3em; color: #222;
       line-height: 1.45; }
.banner { background: #b00000; color: #fff; font-weight: 700; padding: 0.9em 1.2em;
          margin: 0 -1.5em 1em; font-size: 1.05em; }
h1 { font-size: 1.6em; margin-top: 0.8em; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 1.8em; }
table { border-collapse: collapse; margin: 0.6em 0 1.2em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.55em; text-align: left;
         vertical-align: top; }
th { background: #f2f2f2; position: sticky; top: 0; }
tr:nth-child(even) td { background: #fafafa; }
td.yes { color: #16703a; font-weight: 600; }
td.no { color: #b00000; font-weight: 600; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; border: 1px solid #e5e5e5; }
figcaption { font-style: italic; color: #444; margin-top: 0.3em; }
code { background: #f4f4f4; padding: 0 0.25em; }
"""


def to_html(blocks: Sequence[tuple]) -> str:
    """One self-contained HTML page: inline CSS, figures as base64 PNG."""
    body = []
    for block in blocks:
        kind = block[0]
        if kind == "banner":
            body.append(f'<div class="banner">\u26a0 {_inline(block[1])}</div>')
        elif kind == "heading":
            body.append(f"<h{block[1]}>{_inline(block[2])}</h{block[1]}>")
        elif kind == "text":
            body.append(f"<p>{_inline(block[1])}</p>")
        elif kind == "list":
            items = "".join(f"<li>{_inline(i)}</li>" for i in block[1])
            body.append(f"<ul>{items}</ul>")
        elif kind == "table":
            body.append(_html_table(block[1], block[2]))
        elif kind == "figure":
            _, path, title, caption = block
            data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
            body.append(
                f"<figure><h3>{_inline(title)}</h3>"
                f'<img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{_inline(caption)}</figcaption></figure>"
            )
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{html.escape(TITLE)}</title>\n<style>{_CSS}</style>\n</head>\n"
        "<body>\n" + "\n".join(body) + "\n</body>\n</html>\n"
    )


def _html_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    lines = []
    for row in rows:
        cells = []
        for column, cell in zip(columns, row, strict=True):
            css = f' class="{cell}"' if column == "agrees" and cell in ("yes", "no") \
                else ""
            cells.append(f"<td{css}>{_inline(str(cell))}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody>" \
        "</table>"


def _inline(text: str) -> str:
    """Escaped text with the two Markdown marks the blocks use: `code`, **bold**."""
    escaped = html.escape(text)
    parts = escaped.split("`")
    escaped = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = escaped.split("**")
    return "".join(f"<strong>{p}</strong>" if i % 2 else p for i, p in enumerate(parts))
