"""The shipped float weights (what `finetune` starts from) are the shipped int8 model's: they name the same notes."""

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from app import features  # noqa: E402
from app.model import NoteModel  # noqa: E402
from app.notes import midi_to_hz  # noqa: E402
from model_build.cli import DEFAULT_WEIGHTS  # noqa: E402
from model_build.convert import load_float_model  # noqa: E402


def test_shipped_float_weights_agree_with_the_int8_model():
    float_model = load_float_model(DEFAULT_WEIGHTS)
    int8 = NoteModel()
    t = np.arange(15600) / 16000
    patches = np.stack([features.log_mel((0.3 * sum(np.sin(2 * np.pi * k * midi_to_hz(m) * t) / k for k in range(1, 6))).astype(np.float32))
                        for m in range(45, 85, 3)])
    a = np.argmax(float_model.predict(patches, verbose=0), axis=1)
    b = np.array([np.argmax(int8.probabilities(p)) for p in patches])
    assert np.mean(a == b) >= 0.9
