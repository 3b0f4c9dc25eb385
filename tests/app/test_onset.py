"""Onsets from the log-mel frames: at a note's start, at a change of note, at a note entering noise; not on a
steady note or steady noise."""

import numpy as np
import pytest

from app import features
from app.notes import midi_to_hz
from app.onset import OnsetDetector

RATE = 48000


def tone(midi, seconds, amp=0.3):
    t = np.arange(int(seconds * RATE)) / RATE
    f = midi_to_hz(midi)
    return (amp * sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 8))).astype(np.float32)


def onsets(audio, hop_s=0.02):
    stream, detector = features.LogMelStream(RATE), OnsetDetector()
    hop = int(hop_s * RATE)
    found = [detector.push(stream.push(audio[i : i + hop])) for i in range(0, len(audio), hop)]
    return [t for t in found if t is not None]


def pink(seconds, level, seed=0):
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(rng.standard_normal(n)) / np.sqrt(np.maximum(np.arange(n // 2 + 1), 1))
    x = np.fft.irfft(spectrum, n)
    return (x * level / np.sqrt(np.mean(x**2))).astype(np.float32)


@pytest.mark.parametrize("midi", [28, 45, 69, 93])
def test_a_note_after_silence_has_one_onset_at_its_start(midi):
    found = onsets(np.concatenate([np.zeros(int(0.5 * RATE), np.float32), tone(midi, 1.5)]))
    assert len(found) == 1 and found[0] == pytest.approx(0.5, abs=0.015)


@pytest.mark.parametrize("interval", [1, 5, 12])
def test_a_change_of_note_without_a_gap_is_an_onset(interval):
    audio = np.concatenate([tone(57, 1.0), tone(57 + interval, 1.0)])
    found = onsets(audio)
    assert found[0] <= 0.03 and any(abs(t - 1.0) <= 0.02 for t in found[1:])
    assert len(found) <= 3


def test_a_note_entering_loud_noise_is_an_onset():
    noise = pink(2.0, 0.1)
    audio = noise + np.concatenate([np.zeros(RATE, np.float32), tone(45, 1.0, amp=0.3)])
    assert any(abs(t - 1.0) <= 0.03 for t in onsets(audio))


def test_steady_noise_has_few_onsets():
    found = onsets(pink(10.0, 0.05, seed=1))
    assert len(found) <= 1 + 10  # its start, and at most one a second after (each costs one model call)
