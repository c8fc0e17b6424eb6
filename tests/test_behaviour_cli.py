"""`manyseeds evaluate`: every user mistake is one line on stderr and exit 2."""

import pytest

from manyseeds.cli import main


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--humans"),
        (["--noise-easy", "1.5"], "--noise-hard"),
        (["--noise-easy", "1", "--noise-hard", "1", "--max-steps", "0"], "max-steps"),
        (["--humans", "{tmp}/none.csv"], "no such human data file"),
        (["--noise-easy", "1", "--noise-hard", "1"], "not a training run"),
        (["--humans", "h.csv", "--noise-grid", "3", "1", "0.1"], "noise grid"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(extra, message, tmp_path, capsys):
    extra = [part.replace("{tmp}", str(tmp_path)) for part in extra]
    code = main([
        "evaluate", "--run", str(tmp_path / "no_run"), "--out",
        str(tmp_path / "out.csv"), "--no-progress", *extra,
    ])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert message in err and len(err.splitlines()) == 1


def test_output_must_be_csv_or_parquet(tmp_path, capsys):
    code = main([
        "evaluate", "--run", str(tmp_path), "--out", str(tmp_path / "t.xlsx"),
        "--noise-easy", "1", "--noise-hard", "2",
    ])
    assert code == 2
    assert ".csv or .parquet" in capsys.readouterr().err
