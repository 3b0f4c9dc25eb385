"""A whole model build on tiny data: its int8 .tflite loads and runs in LiteRT through the app's wrapper."""

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from app.model import NoteModel  # noqa: E402
from app.notes import class_labels  # noqa: E402
from app.params import LOW_SPECTRUM  # noqa: E402
from model_build.cli import main  # noqa: E402
from model_build.config import FLUIDR3_SF2  # noqa: E402

PRETRAINED = Path(__file__).resolve().parents[2] / "assets" / "pretrained"  # earlier versions' float weights


@pytest.mark.slow
@pytest.mark.skipif(not FLUIDR3_SF2.exists(), reason="fluid-soundfont-gm not installed")
def test_quick_build_makes_a_model_the_app_loads(tmp_path):
    out = tmp_path / "quick.tflite"
    assert main(["all", "--quick", "--work-dir", str(tmp_path / "build"), "--out", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["labels"] == class_labels()
    assert meta["metrics"]["float"]["patches"] == meta["metrics"]["int8"]["patches"] > 0
    # Each split's 64 patches but its notes faded by the patch's end (scored apart: corpus.faded_notes).
    assert 48 < meta["metrics"]["int8"]["patches"] <= 64 and 48 < meta["metrics"]["int8-noisy"]["patches"] <= 64
    assert set(meta["metrics"]["int8_per_source_accuracy"]) >= {"none"}
    assert meta["data"]["bank"]["notes"] > 0 and meta["library_versions"]["numpy"]
    assert (tmp_path / "build" / "eval" / "confusion-int8.png").stat().st_size > 1000
    model = NoteModel(out)
    p = model.predict(np.random.default_rng(0).standard_normal((96, 64)).astype(np.float32))
    assert p.probs.shape == (len(class_labels()),)
    assert p.probs.sum() == pytest.approx(1.0, abs=0.05)
    # Training resumes: a second run finds its checkpoint and trains no further.
    state = json.loads((tmp_path / "build" / "train" / "state.json").read_text())
    assert state["epoch"] == 1
    assert 0.0 <= state["history"][-1]["val_false_notes"] <= 1.0  # the validation split has no-note patches
    assert main(["train", "--quick", "--work-dir", str(tmp_path / "build")]) == 0
    assert json.loads((tmp_path / "build" / "train" / "state.json").read_text())["epoch"] == 1


@pytest.mark.slow
@pytest.mark.skipif(not FLUIDR3_SF2.exists(), reason="fluid-soundfont-gm not installed")
def test_quick_transfer_grows_a_two_input_model_the_app_loads(tmp_path, caplog):
    """--low-spectrum from a one-input model's weights (as from import-vggish): the branch is grown, trained through
    every phase, the last two epochs averaged and mixed with the start, converted with both inputs, and the app feeds
    both."""
    from app.model import DEFAULT_MODEL
    from model_build.convert import save_float_weights
    from model_build.vggish import build_model

    out = tmp_path / "low.tflite"
    init = tmp_path / "one-input.weights.npz"
    save_float_weights(build_model(len(class_labels())), init)
    assert main(["all", "--quick", "--low-spectrum", "--init", str(init), "--average-epochs", "2", "--mix-init", "0.5",
                 "--work-dir", str(tmp_path / "build"), "--out", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["low_spectrum"] == LOW_SPECTRUM.to_dict()
    assert [i["name"] for i in meta["inputs"]] == ["log_mel", "low_spectrum"]
    train_dir = tmp_path / "build" / "train"
    state = json.loads((train_dir / "state.json").read_text())
    assert [p["phase"] for p in state["phases"]][0] == "head" and len(state["phases"]) == 5
    # The average of the last two epochs, halfway back to the (grown) start, was scored like an epoch, and only the
    # weights it needs were kept.
    epochs = len(state["history"])
    assert state["average"]["of_epochs"] == [epochs - 1, epochs] and state["average"]["init_mix"] == 0.5
    assert (train_dir / "start.npz").exists()
    assert 0.0 <= state["average"]["val_accuracy"] <= 1.0 and 0.0 <= state["average"]["val_false_notes"] <= 1.0
    assert meta["training"]["average"] == state["average"]
    # The training section records the settings the model trained with; the data section only the data step's.
    assert meta["training"]["config"]["low_spectrum"] and meta["training"]["config"]["init_mix"] == 0.5
    assert "low_spectrum" not in meta["data"]["config"] and meta["data"]["config"]["validation_patches"] == 64
    assert sorted(p.name for p in train_dir.glob("epoch-*.npz")) == [f"epoch-{e:02d}.npz" for e in (epochs - 1, epochs)]
    # Stopped after the last epoch but before the average: a rerun scores the average and trains no further.
    average = state.pop("average")
    (train_dir / "state.json").write_text(json.dumps(state))
    assert main(["train", "--quick", "--low-spectrum", "--init", str(init), "--average-epochs", "2", "--mix-init", "0.5",
                 "--work-dir", str(tmp_path / "build")]) == 0
    again = json.loads((train_dir / "state.json").read_text())
    assert len(again["history"]) == epochs and again["average"]["of_epochs"] == average["of_epochs"]
    # Stopped inside the last phase, one epoch before its end: a rerun trains that epoch, not the whole phase again.
    inside = {**again, "epoch": epochs - 1, "history": again["history"][:-1], "phases": again["phases"][:-1]}
    del inside["average"]
    (train_dir / "state.json").write_text(json.dumps(inside))
    assert main(["train", "--quick", "--low-spectrum", "--init", str(init), "--average-epochs", "2", "--mix-init", "0.5",
                 "--work-dir", str(tmp_path / "build")]) == 0
    resumed = json.loads((train_dir / "state.json").read_text())
    assert [h["epoch"] for h in resumed["history"]] == list(range(1, epochs + 1)) and len(resumed["phases"]) == 5
    # A run of other classes (version 9's, from before A0-C8) is not resumed as this build's.
    assert resumed["labels"] == class_labels()
    same = ["train", "--quick", "--low-spectrum", "--init", str(init), "--average-epochs", "2", "--mix-init", "0.5",
            "--work-dir", str(tmp_path / "build")]
    (train_dir / "state.json").write_text(json.dumps({**resumed, "labels": resumed["labels"][2:-13] + ["none"]}))
    assert main(same) == 1
    assert "holds a run of 75 classes" in caplog.text  # 74 notes and "none"
    # Nor is a run made with other settings or from other weights: `make model` would convert it as this build's.
    (train_dir / "state.json").write_text(json.dumps(resumed))
    caplog.clear()
    assert main(same[:-2] + ["--draw-seed", "3"] + same[-2:]) == 1
    assert "holds a run made with other settings: draw_seed None (now 3)" in caplog.text
    other = tmp_path / "other.weights.npz"
    other.write_bytes(init.read_bytes())
    assert main([str(other) if a == str(init) else a for a in same]) == 1 and "holds a run from" in caplog.text
    model = NoteModel(out)
    assert model.takes_low_spectrum
    t = np.arange(16000) / 16000
    p = model.predict_audio((0.3 * np.sin(2 * np.pi * 55.0 * t)).astype(np.float32))
    assert p.probs.shape == (len(class_labels()),) and p.probs.sum() == pytest.approx(1.0, abs=0.05)
    with pytest.raises(ValueError, match="low spectrum"):
        model.probabilities(np.zeros((96, 64), np.float32))
    # The float weights written beside it rebuild the two-input model (what finetune starts from).
    from model_build.convert import load_float_model
    from model_build.vggish import takes_low_spectrum

    assert takes_low_spectrum(load_float_model(out.with_suffix(".weights.npz")))


@pytest.mark.slow
@pytest.mark.skipif(not FLUIDR3_SF2.exists(), reason="fluid-soundfont-gm not installed")
def test_quick_head_only_run_factorises_a_full_model(tmp_path):
    """--bottleneck from full-rank weights (version 9's) with --trunk-blocks 0 and --distill: the model is factorised,
    only the head phase runs, taught by the full model, the trunk comes out as it went in, and the int8 model, under
    5 MB, loads in the app with both inputs."""
    from app.model import DEFAULT_MODEL
    from model_build.convert import load_float_model
    from model_build.vggish import bottleneck_of, low_params

    out = tmp_path / "small.tflite"
    init = PRETRAINED / "pitchrec-v9.weights.npz"
    assert main(["all", "--quick", "--low-spectrum", "--init", str(init), "--bottleneck", "8",
                 "--trunk-blocks", "0", "--distill", "1", "--average-epochs", "2", "--head-epochs", "2",
                 "--work-dir", str(tmp_path / "build"), "--out", str(out)]) == 0
    state = json.loads((tmp_path / "build" / "train" / "state.json").read_text())
    assert [p["phase"] for p in state["phases"]] == ["head"] and len(state["history"]) == 2
    assert 0.0 <= state["average"]["val_accuracy"] <= 1.0  # scored on one-hot validation targets
    before, after = load_float_model(init), load_float_model(out.with_suffix(".weights.npz"))
    assert bottleneck_of(before) is None and bottleneck_of(after) == 8
    assert low_params(before) == low_params(after) == LOW_SPECTRUM
    for name in ("conv1", "conv3_2_bn", "conv4_2", "conv4_2_bn"):
        for b, a in zip(before.get_layer(name).get_weights(), after.get_layer(name).get_weights()):
            np.testing.assert_array_equal(a, b, err_msg=name)
    assert out.stat().st_size < 5_000_000
    model = NoteModel(out)
    assert model.low == LOW_SPECTRUM
    t = np.arange(16000) / 16000
    p = model.predict_audio((0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32))
    assert p.probs.shape == (len(class_labels()),) and p.probs.sum() == pytest.approx(1.0, abs=0.05)


@pytest.mark.slow
def test_a_version_9_model_still_loads_and_the_live_path_names_the_whole_piano_with_it(tmp_path):
    """Version 9's classes are B0 to C7, and a user's model fine-tuned from it has them too. Converted from its float
    weights, it loads, and through the live path A0 and C8 (beyond its classes, from the waveform) are named as
    well as A4."""
    from app.engine import Analyzer
    from app.features import log_mel, low_spectrum
    from app.notes import note_name
    from model_build.convert import load_float_model, saved_labels, to_int8_tflite, write_model
    from tests.app.test_golden import harmonic_tone

    weights = PRETRAINED / "pitchrec-v9.weights.npz"
    labels = saved_labels(weights)
    assert labels[0] == "B0" and labels[-2:] == ["C7", "none"]
    tones = [harmonic_tone(m, seconds=1.0) for m in range(24, 97, 6)]
    representative = {"log_mel": np.stack([log_mel(x)[-96:] for x in tones]),
                      "low_spectrum": np.stack([low_spectrum(x) for x in tones])}
    out = tmp_path / "v9.tflite"
    write_model(to_int8_tflite(load_float_model(weights), representative), out, {}, {}, "9", {}, LOW_SPECTRUM, labels)
    model = NoteModel(out)
    assert model.labels == labels
    for midi in (21, 69, 108):
        results = list(Analyzer(model, 48000).feed(harmonic_tone(midi, seconds=1.5, rate=48000)))
        shown = [r.note for r in results if 0.4 <= r.t_s <= 1.0]
        assert shown.count(note_name(midi)) >= 0.9 * len(shown), {n: shown.count(n) for n in set(shown)}
