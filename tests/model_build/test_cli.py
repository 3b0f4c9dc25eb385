import dataclasses

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
    with pytest.raises(SystemExit, match="needs --init"):
        config("--mix-init", "0.5")
    with pytest.raises(SystemExit, match="between 0 and 1"):
        config("--init", "m.keras", "--mix-init", "1.5")


def test_bottleneck_distillation_and_a_shorter_schedule_are_options():
    from model_build.cli import _config

    config = lambda *argv: _config(build_parser().parse_args(["train", *argv]))  # noqa: E731
    default = config()
    assert default.bottleneck is None and default.transfer_blocks == 4 and default.transfer_head_epochs == 2
    short = config("--init", "m.npz", "--bottleneck", "32", "--trunk-blocks", "0", "--head-epochs", "4")
    assert dataclasses.replace(short, bottleneck=None, transfer_blocks=4, transfer_head_epochs=2) == default
    assert (short.bottleneck, short.transfer_blocks, short.transfer_head_epochs) == (32, 0, 4)
    with pytest.raises(SystemExit, match="needs --init"):
        config("--trunk-blocks", "0")
    with pytest.raises(SystemExit, match="at least 1"):
        config("--bottleneck", "0")
    with pytest.raises(SystemExit, match="at least 1"):
        config("--init", "m.npz", "--head-epochs", "0")
    with pytest.raises(SystemExit):  # argparse: not one of 0-4
        config("--init", "m.npz", "--trunk-blocks", "5")
    assert default.distill == 0.0 and config("--init", "m.npz", "--distill", "1").distill == 1.0
    with pytest.raises(SystemExit, match="needs --init"):
        config("--distill", "0.5")
    with pytest.raises(SystemExit, match="up to 1"):
        config("--init", "m.npz", "--distill", "0")
    assert default.learning_rate == 1e-3 and config("--learning-rate", "1e-4").learning_rate == 1e-4
    with pytest.raises(SystemExit, match="between 0 and 1"):
        config("--learning-rate", "0")


def test_each_corpus_version_builds_as_it_was_made():
    from model_build.cli import _config
    from model_build.synth import FAMILIES, FAMILIES_V2, FAMILIES_V3, FAMILIES_V5

    config = lambda *argv: _config(build_parser().parse_args(["data", *argv]))  # noqa: E731
    v1, v2, v3, v5, v6 = (config("--corpus", v) for v in ("v1", "v2", "v3", "v5", "v6"))
    assert v6.no_note_loudest_db > -15.0 and dataclasses.replace(v6, no_note_loudest_db=-15.0) == v5
    assert v1.soundfonts == ("fluidr3",) and not v1.augment and v1.synth_families == FAMILIES_V2
    assert set(v2.soundfonts) == {"fluidr3", "musescore"} and v2.augment and v2.synth_families == FAMILIES_V2
    assert v1.low_register_boost == v2.low_register_boost == 1.0 and v2.transfer_final_epochs == 1
    assert not v1.drop_sub_octave_notes and not v2.drop_sub_octave_notes and v3.drop_sub_octave_notes
    assert v3.synth_families == FAMILIES_V3 and "hollow" in FAMILIES_V3 and v3.low_register_boost > 1 and v3.transfer_final_epochs > 1
    assert v5.synth_families == FAMILIES_V5 and {"ranks", "sparse"} <= set(FAMILIES_V5) and dataclasses.replace(v5, synth_families=FAMILIES_V3, noise_onsets=False) == v3
    v7, v8 = config("--corpus", "v7"), config("--corpus", "v8")
    assert v7.room_p > v6.room_p and v7.noise_p > v6.noise_p and dataclasses.replace(v7, room_p=v6.room_p, noise_p=v6.noise_p) == v6
    assert v8.synth_families is None and set(FAMILIES) - set(FAMILIES_V5) == {"pipes"} and dataclasses.replace(v8, synth_families=FAMILIES_V5) == v7
    v9 = config("--corpus", "v9")
    assert (v9.shift_cents, v9.shift_synth_cents) == (30.0, False) and dataclasses.replace(v9, shift_cents=20.0, shift_synth_cents=True) == v8
    v10 = config("--corpus", "v10")
    assert config() == v10  # the default: how model version 9 is made
    assert v10.no_note_quietest_db == -70.0 > v9.no_note_quietest_db and dataclasses.replace(v10, no_note_quietest_db=-90.0) == v9
    v11 = config("--corpus", "v11")
    assert (v11.noise_p, v11.snr_db) == (0.7, (0.0, 30.0)) and dataclasses.replace(v11, noise_p=0.6, snr_db=(0.0, 40.0)) == v10


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
