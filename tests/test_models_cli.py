"""`manyseeds models` prints the sizes of every architecture."""

from __future__ import annotations

from manyseeds import cli


def test_models_table_shows_the_paper_counts(capsys):
    code = cli.main(["models", "--preset", "paper"])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["arch", "preset", "parameters"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert "58,299,082" in rows["alexnet"] and "227x227x1" in rows["alexnet"]
    assert "11,175,370" in rows["resnet18"] and "28x28x1" in rows["resnet18"]
    assert "116,598,164" in rows["rtnet"]
    assert rows["rtnet"].split()[-1] == "500"  # RTNet's training batch


def test_models_table_one_arch(capsys):
    assert cli.main(["models", "--arch", "resnet18"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[1] for line in lines[1:]] == ["smoke", "quick", "paper"]


def test_models_bad_arch_is_an_argparse_error(capsys):
    try:
        code = cli.main(["models", "--arch", "vgg"])
    except SystemExit as exit_:
        code = exit_.code
    assert code == 2
