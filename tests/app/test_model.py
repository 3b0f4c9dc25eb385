"""app.model: the shipped model loads and validates; every broken model gives a one-line ModelError."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from app.model import DEFAULT_MODEL, ModelError, NoteModel, metadata_path
from app.notes import class_labels
from app.params import LOW_SPECTRUM, VGGISH, LowSpectrumParams


@pytest.fixture()
def model_copy(tmp_path):
    """A copy of the shipped model and its metadata that a test may break."""
    path = tmp_path / "m.tflite"
    shutil.copy(DEFAULT_MODEL, path)
    shutil.copy(metadata_path(DEFAULT_MODEL), metadata_path(path))
    return path


def edit_metadata(path, **changes):
    meta = json.loads(metadata_path(path).read_text())
    meta.update(changes)
    metadata_path(path).write_text(json.dumps(meta))


def load_error(path) -> str:
    with pytest.raises(ModelError) as err:
        NoteModel(path)
    message = str(err.value)
    assert "\n" not in message
    assert path.name in message or metadata_path(path).name in message  # names the file at fault
    return message


def test_shipped_model_loads_with_its_labels_and_front_end():
    model = NoteModel()
    assert model.labels == class_labels()
    assert model.metadata["front_end"] == VGGISH.to_dict()
    assert DEFAULT_MODEL.stat().st_size <= 5_000_000  # issue 27: at most 5 MB
    p = model.predict_audio(np.zeros(16000, np.float32))
    assert p.probs.shape == (len(class_labels()),)
    assert 0.0 <= p.confidence <= 1.0 and p.probs.sum() == pytest.approx(1.0, abs=0.05)
    assert p.label == "none"  # digital silence


def test_missing_model(tmp_path):
    assert "not found" in load_error(tmp_path / "nothing.tflite")


def test_missing_metadata(model_copy):
    metadata_path(model_copy).unlink()
    assert "metadata not found" in load_error(model_copy)


def test_corrupt_metadata(model_copy):
    metadata_path(model_copy).write_text("{ not json")
    assert "not valid JSON" in load_error(model_copy)


def test_corrupt_model_bytes(model_copy):
    model_copy.write_bytes(np.random.default_rng(0).bytes(4096))
    assert "not a loadable TFLite model" in load_error(model_copy)


def test_truncated_model(model_copy):
    data = model_copy.read_bytes()
    model_copy.write_bytes(data[: len(data) // 3])
    assert "not a loadable TFLite model" in load_error(model_copy)


def test_empty_model(model_copy):
    model_copy.write_bytes(b"")
    assert "not a loadable TFLite model" in load_error(model_copy)


@pytest.mark.parametrize(("changes", "says"), [
    ({"front_end": {**VGGISH.to_dict(), "num_mel_bands": 128}}, "other front-end settings"),
    ({"front_end": {**VGGISH.to_dict(), "fmax": 8000}}, "bad front-end settings"),
    ({"labels": class_labels()[:-1]}, "labels"),
    ({"low_spectrum": {**LOW_SPECTRUM.to_dict(), "frames": 8}}, "other low-spectrum settings"),
    ({"low_spectrum": {**LOW_SPECTRUM.to_dict(), "hop_s": 0.01}}, "bad low-spectrum settings"),
    ({"low_spectrum": None}, "2 inputs"),  # metadata that forgets the model's second input
    ({"low_spectrum": {**LOW_SPECTRUM.to_dict(), "periodicity_frames": 4}}, "periodicity channels"),  # an experiment's
    ({"labels": ["H2", *class_labels()[1:]]}, "a label that is no note"),
    ({"labels": ["G#8", *class_labels()[1:]]}, "distinct notes from A0 to C8"),  # above a piano
    ({"labels": [class_labels()[1], *class_labels()[1:]]}, "distinct notes"),
    ({"labels": [*class_labels()[:-1], "A4"]}, "distinct notes"),  # no "none" class
], ids=["front-end-mismatch", "unknown-front-end-key", "label-count", "low-spectrum-mismatch",
        "unknown-low-spectrum-key", "second-input-forgotten", "periodicity-channels", "label-no-note",
        "label-above-c8", "label-twice", "no-none-class"])
def test_metadata_that_disagrees_with_the_app_or_the_model(model_copy, changes, says):
    edit_metadata(model_copy, **changes)
    assert says in load_error(model_copy)


def test_metadata_without_labels(model_copy):
    metadata_path(model_copy).write_text(json.dumps({"front_end": VGGISH.to_dict()}))
    assert "lacks 'labels'" in load_error(model_copy)


def test_shipped_model_takes_the_low_spectrum_and_wants_it():
    model = NoteModel()
    assert model.takes_low_spectrum and model.low == LOW_SPECTRUM == LowSpectrumParams.from_dict(model.metadata["low_spectrum"])
    patch, low = model.inputs_at_end(np.zeros(8000, np.float32))
    assert low.shape == LOW_SPECTRUM.shape
    with pytest.raises(ValueError, match="low spectrum"):
        model.probabilities(patch)


def test_importing_the_app_does_not_import_tensorflow_or_librosa():
    code = (
        "import sys, app, app.cli, app.model, app.features, app.audio_file, app.notes, app.engine, app.audio, app.pitch, app.ringbuffer\n"
        "bad = [m for m in ('tensorflow', 'librosa', 'keras') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_loading_silences_litert_on_descriptor_2_even_where_sys_stderr_writes_elsewhere():
    # As in the app (app.audio.portaudio_output_to_the_log): descriptor 2 is a pipe and sys.stderr another
    # descriptor. LiteRT's "Created TensorFlow Lite XNNPACK delegate" must not reach the pipe; a subprocess, since
    # LiteRT may say it once per process.
    code = """
import io, os, sys
read_end, write_end = os.pipe()
os.dup2(write_end, 2)
sys.stderr = io.TextIOWrapper(io.FileIO(os.dup(1), "w"))
from app.model import NoteModel
NoteModel()
os.close(2)
os.close(write_end)
print(os.read(read_end, 65536).decode(errors="replace"), end="")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "XNNPACK" not in proc.stdout and "INFO" not in proc.stdout
