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
