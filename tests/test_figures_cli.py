"""Tests of `manyseeds figures` and `manyseeds report` on bad input."""

from __future__ import annotations

import json

import pytest

from manyseeds import cli
from manyseeds.errors import UserError
from manyseeds.figures import cli as figures_cli


def _run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.mark.parametrize("command", ["figures", "report"])
def test_missing_analysis_folder_exits_2_with_one_line(capsys, tmp_path, command):
    code, out, err = _run(capsys, command, "--analysis", tmp_path / "absent",
                          "--out", tmp_path / "out")
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert f"manyseeds {command}: error:" in err and "no such analysis folder" in err
    assert not (tmp_path / "out").exists()


def test_folder_without_statistics_exits_2(capsys, tmp_path):
    (tmp_path / "analysis").mkdir()
    code, _, err = _run(capsys, "figures", "--analysis", tmp_path / "analysis",
                        "--out", tmp_path / "out")
    assert code == 2 and "statistics.json: missing" in err


def test_wrong_schema_exits_2(capsys, tmp_path):
    folder = tmp_path / "analysis"
    folder.mkdir()
    (folder / "statistics.json").write_text(json.dumps({"schema": "x/0"}))
    code, _, err = _run(capsys, "report", "--analysis", folder, "--out",
                        tmp_path / "out")
    assert code == 2 and "schema 'x/0'" in err


def test_bad_context_exits_2_before_any_work(capsys, tmp_path):
    code, _, err = _run(capsys, "report", "--analysis", tmp_path, "--out",
                        tmp_path / "out", "--context", "{oops")
    assert code == 2 and "--context: not valid JSON" in err


def test_context_from_inline_json_or_a_file(tmp_path):
    assert figures_cli.read_context('{"preset": "quick"}') == {"preset": "quick"}
    path = tmp_path / "context.json"
    path.write_text(json.dumps({"seeds": 8}))
    assert figures_cli.read_context(str(path)) == {"seeds": 8}
    with pytest.raises(UserError, match="expected a JSON object"):
        figures_cli.read_context("[1, 2]")
    with pytest.raises(UserError, match="no such file"):
        figures_cli.read_context(str(tmp_path / "absent.json"))
