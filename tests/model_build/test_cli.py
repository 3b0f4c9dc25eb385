import pytest

from model_build.cli import build_parser, main


@pytest.mark.parametrize("command", ["data", "train", "evaluate", "convert", "all"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([command, "--help"])
    assert exit_.value.code == 0
    assert "--work-dir" in capsys.readouterr().out


def test_steps_out_of_order_say_what_to_run_first(tmp_path):
    with pytest.raises(SystemExit, match="run `pitchrec-build data` first"):
        main(["train", "--work-dir", str(tmp_path)])
    for step in ("evaluate", "convert"):
        with pytest.raises(SystemExit, match="run `pitchrec-build data` first"):
            main([step, "--work-dir", str(tmp_path)])
    (tmp_path / "data").mkdir()
    for name in ("validation.npz", "bank.npz"):
        (tmp_path / "data" / name).write_bytes(b"")
    for step in ("evaluate", "convert"):
        with pytest.raises(SystemExit, match="run `pitchrec-build train` first"):
            main([step, "--work-dir", str(tmp_path)])
