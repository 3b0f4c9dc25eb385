"""Golden tests of the shipped model: sustained harmonic tones at every key of a piano, A0 to C8, are named right by
the model alone, and through the whole live path."""

import numpy as np
import pytest

from app.engine import Analyzer
from app.model import NoteModel
from app.notes import NOTE_MAX, NOTE_MIN, midi_to_hz, note_name

# Tones the shipped model names wrong today; issue 2 stays open until this set is empty.
# strict=True: a note the model starts to name right fails the test, so the set cannot go stale.
KNOWN_MISSES: set[str] = set()  # version 1 missed F2 (one semitone low); version 3 names all of them


def golden_notes():
    reason = "shipped model misses this low note (issue 2: low register below target)"
    return [
        pytest.param(m, id=note_name(m), marks=pytest.mark.xfail(strict=True, reason=reason)) if note_name(m) in KNOWN_MISSES
        else pytest.param(m, id=note_name(m))
        for m in range(NOTE_MIN, NOTE_MAX + 1)
    ]


def harmonic_tone(midi: int, seconds: float = 1.5, rate: int = 16000, cents: float = 0.0) -> np.ndarray:
    """A plucked-string-like tone: 1/k partials, each decaying faster the higher it is."""
    f0 = midi_to_hz(midi + cents / 100.0)
    t = np.arange(int(seconds * rate)) / rate
    partials = [k for k in range(1, 40) if k * f0 < rate / 2 * 0.9]
    x = sum(np.exp(-t * (0.8 + 0.3 * k)) / k * np.sin(2 * np.pi * k * f0 * t) for k in partials)
    return (0.3 * x / np.abs(x).max()).astype(np.float32)


@pytest.fixture(scope="module")
def model():
    return NoteModel()


@pytest.mark.parametrize("midi", golden_notes())
def test_shipped_model_names_sustained_tones(model, midi):
    prediction = model.predict_audio(harmonic_tone(midi))
    assert prediction.label == note_name(midi), f"top: {prediction.label} at {prediction.confidence:.2f}"


@pytest.mark.parametrize("cents", [-35.0, 35.0])
@pytest.mark.parametrize("midi", [45, 57, 64, 76])
def test_detuned_tones_keep_their_nearest_note(model, midi, cents):
    assert model.predict_audio(harmonic_tone(midi, cents=cents)).label == note_name(midi)


def test_silence_and_noise_are_no_note(model):
    rng = np.random.default_rng(0)
    for level in (0.0, 1e-4, 1e-2):
        x = (rng.standard_normal(16000) * level).astype(np.float32)
        assert model.predict_audio(x).label == "none", level


@pytest.mark.parametrize("lead_s", [0.0, 1.0])
@pytest.mark.parametrize("exponent", [0.0, 1.0, 2.0], ids=["white", "pink", "brown"])
def test_noise_starting_after_silence_is_no_note_at_every_hop(model, exponent, lead_s):
    """The live path from the stream's first hop: digital silence, then noise at -40 to -10 dBFS. Model version 4
    named low notes in the first 100-250 ms of such noise (corpus v5 trains on noise onsets). Candidate 6 (corpus
    v5) named pink noise at -10 dBFS D#1 for two hops (corpus v6 trains on noise up to -6 dBFS); version 6 named it
    at -25 dBFS for one sure hop (out of no note the engine now takes a note the waveform does not bear out only
    after two hops)."""
    rng = np.random.default_rng(int(exponent * 10 + lead_s))
    for level_db in (-40, -25, -10):
        spectrum = np.fft.rfft(rng.standard_normal(32000)) / np.maximum(np.arange(16001), 1) ** (exponent / 2)
        noise = np.fft.irfft(spectrum, 32000)
        noise *= 10 ** (level_db / 20) / np.sqrt(np.mean(noise**2))
        audio = np.concatenate([np.zeros(int(lead_s * 16000)), noise]).astype(np.float32)
        notes = [(round(r.t_s, 2), r.note) for r in Analyzer(model, 16000).feed(audio) if r.note is not None]
        assert notes == [], f"{level_db} dBFS: {notes}"


@pytest.mark.parametrize("midi", [21, 24, 36, 48, 60, 72, 84, 96, 108], ids=note_name)
def test_the_live_path_names_a_piano_range(model, midi):
    """A0, every C from C1 to C7, and C8, through the whole live path at 48 kHz with the shipped model."""
    from app.engine import Settings

    results = list(Analyzer(model, 48000, Settings()).feed(harmonic_tone(midi, seconds=1.5, rate=48000)))
    shown = [r.note for r in results if 0.4 <= r.t_s <= 1.0]
    assert shown.count(note_name(midi)) >= 0.9 * len(shown), {n: shown.count(n) for n in set(shown)}
