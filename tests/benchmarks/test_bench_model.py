"""The model benchmark's detune table: synthesized held-out notes scored by how far each lies from its label."""

import numpy as np

from app.notes import label_index
from benchmarks.bench_model import detune_table


def test_detune_bands_score_only_the_synthesized_notes_in_each(capsys):
    none = label_index(None)
    y = np.array([10, 10, 10, 10, 20, 20, none])
    cents = np.array([5.0, 47.0, -46.0, 35.0, np.nan, 44.0, np.nan], np.float32)  # NaN: a rendered note, no note
    named = np.array([10, 11, 9, 10, 3, none, 5])
    store = {"": {}}
    detune_table(y, cents, {"": named}, store)
    assert store[""] == {"note_accuracy_int8_synth_detune_0_30": 1.0, "note_accuracy_int8_synth_detune_30_40": 1.0,
                         "note_accuracy_int8_synth_detune_40_45": 0.0, "note_accuracy_int8_synth_detune_45_50": 0.0}
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 4")]
    assert rows == ["| 40-45 cents | 1 | 0.00% | 0.00% |", "| 45-50 cents | 2 | 0.00% | 100.00% |"]
