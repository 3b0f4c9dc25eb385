"""The live benchmark's truth: a detuned copy names the note nearest its f0 where that f0 is exactly known."""

import math

import pytest

from app.notes import midi_to_hz
from benchmarks.live_corpus import Note, detuned


def cents_from(midi: int, f0_hz: float) -> float:
    return 1200.0 * math.log2(f0_hz / midi_to_hz(midi))


@pytest.mark.parametrize(("drawn_cents", "copy_cents", "midi"), [
    (40.0, 26.0, 61),  # 66 cents over C4: C#4, 34 cents flat
    (40.0, 7.0, 60),  # 47 cents over: still C4
    (-30.0, -30.0, 59),  # 60 cents under: B3
    (-45.0, 26.0, 60),
])
def test_a_synthesized_copy_names_the_note_nearest_its_exact_f0(drawn_cents, copy_cents, midi):
    note = Note(0.3, 1.8, 60, midi_to_hz(60) * 2 ** (drawn_cents / 1200))
    copy = detuned(note, copy_cents)
    assert copy.midi == midi
    assert cents_from(midi, copy.f0_hz) == pytest.approx(drawn_cents + copy_cents - 100 * (midi - 60))
    assert abs(cents_from(copy.midi, copy.f0_hz)) <= 50.0
    factor = 2 ** (copy_cents / 1200)
    assert (copy.onset_s, copy.offset_s) == pytest.approx((0.3 / factor, 1.8 / factor))


def test_a_copy_of_unknown_tuning_keeps_its_note():
    copy = detuned(Note(0.3, 1.8, 40, None), 26.0)
    assert copy.midi == 40 and copy.f0_hz is None


def test_a_note_is_to_be_named_while_it_sounds_over_the_gate():
    import numpy as np

    from app.engine import Settings
    from benchmarks.live_corpus import AUDIBLE_DBFS, RATE_HZ, audible_end

    assert AUDIBLE_DBFS > Settings().gate_dbfs
    t = np.arange(int(1.5 * RATE_HZ)) / RATE_HZ
    tone = np.sin(2 * np.pi * 3000 * t) * np.sqrt(2) * 10 ** (-20 / 20)  # -20 dBFS RMS ...
    fading = tone * 10 ** (-40 * t / 20)  # ... falling 40 dB a second: -54 dBFS at 0.85 s
    assert audible_end(fading, 0.0) == pytest.approx(0.85, abs=0.05)
    assert audible_end(tone, 0.0) == 1.5  # a sustained note lasts to the end
    assert audible_end(np.zeros_like(tone), 0.3) == 0.3  # never audible: nothing to name after the onset
