import dataclasses

import pytest

from model_build.cli import build_parser, main


@pytest.mark.parametrize("command", ["data", "train", "evaluate", "convert", "all"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([command, "--help"])
    assert exit_.value.code == 0
    assert "--work-dir" in capsys.readouterr().out


def test_steps_out_of_order_say_what_to_run_first(tmp_path, caplog):
    for step in ("train", "evaluate", "convert"):
        caplog.clear()
        assert main([step, "--work-dir", str(tmp_path)]) == 1
        assert "run `pitchrec-build data` first" in caplog.text
    (tmp_path / "data").mkdir()
    for name in ("validation.npz", "bank.npz"):
        (tmp_path / "data" / name).write_bytes(b"")
    for step in ("evaluate", "convert"):
        caplog.clear()
        assert main([step, "--work-dir", str(tmp_path)]) == 1
        assert "run `pitchrec-build train` first" in caplog.text


def test_inputs_that_do_not_fit_are_one_line_not_a_traceback(monkeypatch, caplog):
    def refuse(args):
        raise ValueError("m.npz has a bottleneck 32 wide; --bottleneck asks for 16")

    monkeypatch.setattr("model_build.cli.cmd_train", refuse)
    assert main(["train", "--init", "m.npz", "--bottleneck", "16"]) == 1
    assert "asks for 16" in caplog.text
    with pytest.raises(ValueError):  # -v shows where
        main(["train", "-v", "--init", "m.npz", "--bottleneck", "16"])


def test_mix_init_needs_init_and_a_share_between_0_and_1():
    from model_build.cli import _config

    config = lambda *argv: _config(build_parser().parse_args(["train", *argv]))  # noqa: E731
    assert config("--init", "m.keras", "--mix-init", "0.5", "--average-epochs", "3").init_mix == 0.5
    assert config("--init", "m.keras").init_mix == 0.0
    with pytest.raises(ValueError, match="needs --init"):
        config("--mix-init", "0.5")
    with pytest.raises(ValueError, match="below 1"):
        config("--init", "m.keras", "--mix-init", "1.5")


def test_bottleneck_distillation_and_a_shorter_schedule_are_options():
    from model_build.cli import _config

    config = lambda *argv: _config(build_parser().parse_args(["train", *argv]))  # noqa: E731
    default = config()
    assert default.bottleneck is None and default.transfer_blocks == 4 and default.transfer_head_epochs == 2
    short = config("--init", "m.npz", "--bottleneck", "32", "--trunk-blocks", "0", "--head-epochs", "4")
    assert dataclasses.replace(short, bottleneck=None, transfer_blocks=4, transfer_head_epochs=2) == default
    assert (short.bottleneck, short.transfer_blocks, short.transfer_head_epochs) == (32, 0, 4)
    with pytest.raises(ValueError, match="needs --init"):
        config("--trunk-blocks", "0")
    with pytest.raises(ValueError, match="at least 1"):
        config("--bottleneck", "0")
    with pytest.raises(ValueError, match="at least 1"):
        config("--init", "m.npz", "--head-epochs", "0")
    with pytest.raises(SystemExit):  # argparse: not one of 0-4
        config("--init", "m.npz", "--trunk-blocks", "5")
    assert default.distill == 0.0 and config("--init", "m.npz", "--distill", "1").distill == 1.0
    with pytest.raises(ValueError, match="needs --init"):
        config("--distill", "0.5")
    with pytest.raises(ValueError, match="between 0 and 1"):
        config("--init", "m.npz", "--distill", "1.5")
    assert default.learning_rate == 1e-3 and config("--learning-rate", "1e-4").learning_rate == 1e-4
    with pytest.raises(ValueError, match="between 0 and 1"):
        config("--learning-rate", "0")


def test_a_setting_out_of_range_is_one_line_and_exit_code_1(caplog, tmp_path):
    assert main(["all", "--learning-rate", "2", "--work-dir", str(tmp_path)]) == 1
    assert "the learning rate is a rate between 0 and 1 (got 2.0)" in caplog.text


def test_the_one_corpus_is_the_one_the_shipped_model_is_made_from():
    """Version 11's corpus (v13); earlier ones are rebuilt from git history (docs/model-history.md)."""
    from model_build.cli import _config
    from model_build.config import BuildConfig

    config = _config(build_parser().parse_args(["data"]))
    assert config == BuildConfig()
    assert config.synth_families is None and set(config.soundfonts) == {"fluidr3", "musescore"} and config.augment
    assert config.drop_sub_octave_notes and config.low_register_boost == 2.0
    assert (config.no_note_quietest_db, config.no_note_loudest_db) == (-70.0, -6.0)
    assert (config.room_p, config.noise_p, config.snr_db) == (0.6, 0.7, (0.0, 30.0))
    assert (config.shift_cents, config.shift_synth_cents) == (30.0, False)
    assert (config.transfer_final_epochs, config.transfer_decay) == (3, 0.7)
    with pytest.raises(SystemExit):  # the option is gone
        build_parser().parse_args(["data", "--corpus", "v10"])


def test_draw_seed_gives_fresh_training_patches_and_keeps_the_build_seed():
    """`train --draw-seed N`: another run's patches differ; the bank and the validation split (config.seed) do not."""
    from model_build.cli import _config
    from model_build.train import _patches

    class Seeds:  # a patch maker that returns the first number its generator draws
        def batch(self, rng, size):
            return rng.random()

    default = _config(build_parser().parse_args(["train"]))
    other = _config(build_parser().parse_args(["train", "--draw-seed", "7"]))
    assert default.draw_seed is None and other.draw_seed == 7 and other.seed == default.seed
    first = [_patches(c, Seeds(), steps=3, first_epoch=0)[i] for c in (default, other) for i in range(3)]
    again = [_patches(default, Seeds(), steps=3, first_epoch=0)[i] for i in range(3)]
    assert first[:3] == again and not set(first[:3]) & set(first[3:])
