"""Fine-tuning on clips in the window's format: bad clips are listed and skipped; a quick run makes a model the app loads."""

import json

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("tensorflow")

from app import features  # noqa: E402
from app.model import NoteModel  # noqa: E402
from app.notes import class_labels, label_index, midi_to_hz  # noqa: E402
from app.params import LOW_SPECTRUM  # noqa: E402
from model_build.config import FLUIDR3_SF2  # noqa: E402
from model_build.finetune import clip_patches, read_clips, split  # noqa: E402

RATE = 48000


def write_clip(folder, name, midi, seconds=1.5, label=None, amp=0.3, sidecar=True):
    t = np.arange(int(seconds * RATE)) / RATE
    audio = amp * sum(np.sin(2 * np.pi * k * midi_to_hz(midi) * t) / k for k in range(1, 6)) if midi else np.zeros_like(t)
    wav = folder / f"{name}.wav"
    sf.write(wav, audio.astype(np.float32), RATE, subtype="FLOAT")
    if sidecar:
        meta = {"label": label or f"m{midi}", "midi": midi, "instrument": "test", "sample_rate_hz": RATE, "status": "complete"}
        wav.with_suffix(".json").write_text(json.dumps(meta))
    return wav


@pytest.fixture
def clip_dir(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    for i, midi in enumerate((45, 45, 52, 57, 57, 64)):
        write_clip(folder, f"good{i}", midi)
    write_clip(folder, "short", 60, seconds=0.2)
    write_clip(folder, "silent", 60, amp=0.0)
    write_clip(folder, "nolabel", None, label="detected")
    write_clip(folder, "nosidecar", 60, sidecar=False)
    write_clip(folder, "outofrange", 20)
    (folder / "garbage.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (folder / "garbage.json").write_text(json.dumps({"label": "A4", "midi": 69}))
    return folder


def test_bad_clips_are_listed_with_reasons_and_skipped(clip_dir):
    good, bad = read_clips(clip_dir)
    assert sorted(c.wav.stem for c in good) == [f"good{i}" for i in range(6)]
    why = {p.stem: reason for p, reason in bad}
    assert set(why) == {"short", "silent", "nolabel", "nosidecar", "outofrange", "garbage"}
    assert "too short" in why["short"] and "silent" in why["silent"] and "label" in why["nolabel"]
    assert "sidecar" in why["nosidecar"] and "range" in why["outofrange"] and "unreadable" in why["garbage"]


def test_a_folder_without_a_usable_clip_is_one_line_and_exit_code_1(tmp_path, caplog):
    from model_build.cli import main

    folder = tmp_path / "clips"
    folder.mkdir()
    write_clip(folder, "silent", None)
    write_clip(folder, "nolabel", None, label="detected")
    assert main(["finetune", "--clips", str(folder), "--work-dir", str(tmp_path / "work"), "--out", str(tmp_path)]) == 1
    assert f"no usable clips in {folder} (2 skipped)" in caplog.text


def test_patches_carry_the_clip_label_and_held_out_clips_are_whole(clip_dir):
    good, _ = read_clips(clip_dir)
    x = clip_patches(good[0])
    assert x["log_mel"].shape[1:] == (96, 64) and len(x["log_mel"]) >= 5
    assert x["low_spectrum"].shape == (len(x["log_mel"]), *LOW_SPECTRUM.shape)
    # Each patch's low spectrum is that of the audio up to where the patch's last frame ends, as the engine has it.
    audio = good[0].audio
    frames = features.log_mel(audio)
    for j in (0, len(x["log_mel"]) - 1):
        e = int(np.flatnonzero(np.all(frames == x["log_mel"][j][-1], axis=1))[0])
        np.testing.assert_array_equal(x["low_spectrum"][j], features.low_spectrum(audio[: e * 160 + 400]))
    train, held = split(good, 0.25, seed=1)
    assert len(held) == 2 and len(train) == 4
    assert not {c.wav for c in train} & {c.wav for c in held}


@pytest.mark.slow
@pytest.mark.skipif(not FLUIDR3_SF2.exists(), reason="fluid-soundfont-gm not installed")
@pytest.mark.parametrize("two_inputs", [False, True], ids=["one input", "with low spectrum"])
def test_quick_finetune_writes_a_model_the_app_loads(clip_dir, tmp_path, two_inputs, monkeypatch):
    from model_build import train
    from model_build.cli import main
    from model_build.config import BuildConfig
    from model_build.convert import save_float_weights
    from model_build.vggish import build_model

    makers = []  # fine-tuning's replay sample is drawn as training draws it
    real_training_maker = train.training_maker
    monkeypatch.setattr(train, "training_maker",
                        lambda config, bank, low: makers.append(real_training_maker(config, bank, low)) or makers[-1])

    base = tmp_path / "base.weights.npz"
    save_float_weights(build_model(len(class_labels()), batch_norm=True, low=LOW_SPECTRUM if two_inputs else None), base)
    out = tmp_path / "models"
    assert main(["finetune", "--quick", "--clips", str(clip_dir), "--base", str(base), "--out", str(out),
                 "--work-dir", str(tmp_path / "build"), "--name", "mine"]) == 0
    model = NoteModel(out / "mine.tflite")
    assert model.takes_low_spectrum == two_inputs and model.version == "mine"
    assert model.predict_audio(np.zeros(16000, np.float32)).probs.shape == (len(class_labels()),)
    report = json.loads((out / "mine.json").read_text())["metrics"]["finetune"]
    assert report["clips_used"] == 6 and report["clips_held_out"] == 2 and len(report["skipped"]) == 6
    assert [p["phase"] for p in report["phases"]] == ["head", "+conv4_1+conv4_2", "+conv3_1+conv3_2"]
    for when in ("before", "after"):
        assert 0.0 <= report[when]["user_held_out"] <= 1.0 and 0.0 <= report[when]["base_validation"] <= 1.0
    assert (out / "mine.md").read_text().startswith("# mine")
    assert (out / "mine.weights.npz").exists()
    assert label_index(45) == 24  # the labels the clips were scored with: A2, the 25th of A0 to C8
    (replay,) = makers
    assert replay.augmenter is not None and replay.no_note_loudest_db == BuildConfig().no_note_loudest_db
    assert replay.noise_onsets and (replay.low is not None) == two_inputs


def test_the_window_counts_the_epochs_fine_tuning_runs():
    pytest.importorskip("PySide6")
    from app.gui.retrain import RetrainPanel
    from model_build.config import BuildConfig

    c = BuildConfig()
    assert RetrainPanel.total_epochs == c.transfer_head_epochs + c.finetune_blocks * c.transfer_block_epochs
