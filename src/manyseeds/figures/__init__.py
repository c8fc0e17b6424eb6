"""The figures stage: the paper's figures and the report, from an analysis.

Reads only the files of `manyseeds analyze` (`analysis.results`):

- `plots`: Figs. 1a-3b and the similarity matrices (`make_figures`);
- `report`: `report.md` and a self-contained `report.html` (`write_report`);
- `paper`: the paper's reported values and the comparison with ours;
- `cli`: `manyseeds figures` and `manyseeds report`.

`make_figures` and `write_report` are importable from here; matplotlib is
loaded only when they are first used.
"""

from __future__ import annotations

__all__ = ["make_figures", "write_report"]


def __getattr__(name: str):
    if name == "make_figures":
        from manyseeds.figures.plots import make_figures

        return make_figures
    if name == "write_report":
        from manyseeds.figures.report import write_report

        return write_report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
