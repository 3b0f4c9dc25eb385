"""A whole model build on tiny data: its int8 .tflite loads and runs in LiteRT through the app's wrapper."""

import json

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from app.model import NoteModel  # noqa: E402
from app.notes import class_labels  # noqa: E402
from model_build.cli import main  # noqa: E402
from model_build.config import FLUIDR3_SF2  # noqa: E402


@pytest.mark.slow
@pytest.mark.skipif(not FLUIDR3_SF2.exists(), reason="fluid-soundfont-gm not installed")
def test_quick_build_makes_a_model_the_app_loads(tmp_path):
    out = tmp_path / "quick.tflite"
    assert main(["all", "--quick", "--work-dir", str(tmp_path / "build"), "--out", str(out)]) == 0
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["labels"] == class_labels()
    assert meta["metrics"]["float"]["patches"] == meta["metrics"]["int8"]["patches"] > 0
    assert meta["metrics"]["int8-noisy"]["patches"] == meta["metrics"]["int8"]["patches"]
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
    assert main(["train", "--quick", "--work-dir", str(tmp_path / "build")]) == 0
    assert json.loads((tmp_path / "build" / "train" / "state.json").read_text())["epoch"] == 1
