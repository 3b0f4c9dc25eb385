"""The shipped float weights (what `finetune` starts from) are the shipped int8 model's: they name the same notes."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from app.model import NoteModel  # noqa: E402
from app.notes import midi_to_hz  # noqa: E402
from model_build.cli import DEFAULT_WEIGHTS  # noqa: E402
from model_build.convert import load_float_model  # noqa: E402


def test_shipped_float_weights_agree_with_the_int8_model():
    float_model = load_float_model(DEFAULT_WEIGHTS)
    int8 = NoteModel()
    t = np.arange(15600) / 16000
    tones = [(0.3 * sum(np.sin(2 * np.pi * k * midi_to_hz(m) * t) / k for k in range(1, 6))).astype(np.float32)
             for m in range(33, 85, 3)]
    inputs = [int8.inputs_at_end(x) for x in tones]
    patches = np.stack([mel for mel, _ in inputs])
    x = patches if not int8.takes_low_spectrum else {"log_mel": patches, "low_spectrum": np.stack([low for _, low in inputs])}
    a = np.argmax(float_model.predict(x, verbose=0), axis=1)
    b = np.array([np.argmax(int8.probabilities(mel, low)) for mel, low in inputs])
    assert np.mean(a == b) >= 0.9
