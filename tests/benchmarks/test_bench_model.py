"""The model benchmark's tables: the detune bands, the paired test against a baseline, and the figures with the organ
sources apart."""

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


def test_mcnemar_p_is_the_exact_two_sided_binomial():
    from benchmarks.bench_model import mcnemar_p

    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(3, 3) == 1.0
    assert abs(mcnemar_p(5, 0) - 2 * 0.5**5) < 1e-12  # all five discordant patches one way
    assert abs(mcnemar_p(37, 16) - mcnemar_p(16, 37)) < 1e-12 and mcnemar_p(37, 16) < 0.01


def test_paired_table_counts_the_patches_only_one_model_gets_right(capsys):
    from benchmarks.bench_model import paired_table

    none = label_index(None)
    y = np.array([10, 10, 10, 20, 20, none])
    source = np.array(["fluidr3:1", "fluidr3:1", "synth:organ", "synth:organ", "fluidr3:1", "none"])
    model = np.array([10, 10, 22, 32, 20, 4])  # a false note on the no-note patch: not counted (notes only)
    baseline = np.array([10, 22, 10, 20, 8, none])
    store = {}
    paired_table({"validation": (None, y, source)}, {"": {"validation": model}, "baseline ": {"validation": baseline}}, store)
    # Right only with the model: patches 1 and 4; only with the baseline: 2 and 3. Octave errors only with the
    # model: patches 2 (22 for 10) and 3 (32 for 20); only with the baseline: 1 (22 for 10) and 4 (8 for 20).
    assert store["paired_clean"] == {"right_only_model": 2, "right_only_baseline": 2, "p": 1.0,
                                     "octave_only_model": 2, "octave_only_baseline": 2, "octave_p": 1.0}
    assert store["paired_clean_organs_apart"] == {"right_only_model": 2, "right_only_baseline": 0, "p": 0.5,
                                                  "octave_only_model": 0, "octave_only_baseline": 2, "octave_p": 0.5}
    out = capsys.readouterr().out
    assert "| clean | 5 | 2 | 2 | 1.000 | 2 | 2 | 1.000 |" in out and "| clean, organs apart | 3 | 2 | 0 | 0.500 | 0 | 2 | 0.500 |" in out


def test_split_figures_score_the_organ_sources_apart_as_well():
    from benchmarks.bench_model import split_figures

    none = label_index(None)
    y = np.array([10, 10, 20, 20, 30, none])
    source = np.array(["fluidr3:1", "fluidr3:1", "fluidr3:19", "synth:organ", "synth:formant", "none"])
    named = np.array([10, 22, 32, 8, 30, none])  # an octave error on an ordinary source, two on organs
    figures = split_figures(y, named, source, "_noisy")
    assert figures["note_accuracy_int8_noisy"] == 2 / 5 and figures["octave_errors_int8_noisy"] == 3 / 5
    assert figures["note_accuracy_int8_noisy_organs_apart"] == 2 / 3
    assert figures["octave_errors_int8_noisy_organs_apart"] == 1 / 3
    assert figures["false_note_rate_int8_noisy"] == 0.0 and figures["no_note_precision_int8_noisy"] == 1.0


def test_the_held_out_pianos_are_scored_by_register_and_soundfont(capsys):
    from benchmarks.bench_model import piano_table

    none = label_index(None)
    a0, c8, a4 = label_index(21), label_index(108), label_index(69)
    y = np.array([a0, a0, c8, c8, a4, a4, none])
    source = np.array(["fluidr3:1", "musescore:1", "fluidr3:1", "musescore:1", "fluidr3:0", "musescore:1", "none"])
    named = np.array([a0, a0 + 12, c8, c8 - 12, a4 + 1, a4, none])  # musescore's A0 and C8 an octave off
    store = {"": {}}
    piano_table({"validation": (None, y, source)}, {"": {"validation": named}}, store)
    assert store[""] == {"note_accuracy_int8_fluidr3:1_A0-A#0": 1.0, "note_accuracy_int8_musescore:1_A0-A#0": 0.0,
                         "note_accuracy_int8_musescore:1_C4-B5": 1.0, "note_accuracy_int8_fluidr3:1_C#7-C8": 1.0,
                         "note_accuracy_int8_musescore:1_C#7-C8": 0.0}  # fluidr3:0 is no held-out piano
    out = capsys.readouterr().out
    assert "| A0-A#0 | 2 | 100.0% | 0.0% (NO) |" in out and "| E2-B3 | 0 | – | – |" in out


def test_faded_notes_count_only_a_wrong_note_against_a_model(capsys):
    from benchmarks.bench_model import faded_table

    none = label_index(None)
    y = np.array([10, 10, 10, 20, none])
    faded = np.array([True, True, True, False, False])
    model = np.array([10, none, 11, 3, 4])  # right, none, a wrong note on the faded ones; the rest not counted
    baseline = np.array([none, none, none, 20, none])
    store = {"": {}, "baseline ": {}}
    faded_table({"validation": (None, y, None)}, {"validation": faded},
                {"": {"validation": model}, "baseline ": {"validation": baseline}}, store)
    assert store == {"": {"faded_wrong_notes_int8": 1}, "baseline ": {"faded_wrong_notes_int8": 0}}
    assert "| clean | 3 | 1 | 1 | 1 | 0 | 3 | 0 |" in capsys.readouterr().out
