"""Augmentation keeps labels right: pitch shifts move the label with the pitch; rooms, microphones and noise keep it."""

import dataclasses

import numpy as np
import pytest

pytest.importorskip("audiomentations")
pytest.importorskip("pyroomacoustics")

from app.notes import hz_to_midi, label_index, midi_to_hz  # noqa: E402
from model_build.augment import Augmenter, Probabilities, babble, rms  # noqa: E402
from model_build.corpus import PatchMaker  # noqa: E402

from .test_corpus import f0_by_autocorrelation, tiny_bank  # noqa: E402

SR = 16000


@pytest.fixture(scope="module")
def augmenter():
    return Augmenter(np.random.default_rng(0), room_count=3)


def test_pitch_shift_moves_the_label_with_the_pitch(augmenter):
    shifting = Augmenter(np.random.default_rng(0), 0, Probabilities(pitch_shift=1.0, semitone_shift=0.5))
    rng = np.random.default_rng(1)
    t = np.arange(int(1.5 * SR)) / SR
    steps = set()
    for _ in range(40):
        label = int(rng.integers(45, 90))
        source, ratio = shifting.pitch_shift(rng, label, 23, 96)
        steps.add(label - source)
        shifted = Augmenter.resample(np.sin(2 * np.pi * midi_to_hz(source) * t).astype(np.float32), ratio)
        measured = hz_to_midi(f0_by_autocorrelation(shifted[2000:12000], label))
        assert abs(measured - label) < 0.25, (label, source, ratio)  # within ±20 cents of the label, plus margin
        assert len(shifted) == pytest.approx(len(t) / ratio, abs=2)
    assert steps == {-1, 0, 1}


def test_pitch_shift_stays_inside_the_range():
    shifting = Augmenter(np.random.default_rng(0), 0, Probabilities(pitch_shift=1.0, semitone_shift=1.0))
    rng = np.random.default_rng(2)
    for _ in range(50):
        assert 23 <= shifting.pitch_shift(rng, 23, 23, 96)[0] <= 96
        assert 23 <= shifting.pitch_shift(rng, 96, 23, 96)[0] <= 96


def test_room_impulse_responses_start_with_the_direct_sound_and_decay(augmenter):
    for ir in augmenter.irs:
        assert np.argmax(np.abs(ir)) == 0 and np.abs(ir).max() == pytest.approx(1.0)
        assert len(ir) <= 0.8 * SR
        head, tail = ir[: len(ir) // 4], ir[-len(ir) // 4 :]
        assert rms(tail) < rms(head)


def test_noise_is_added_at_the_drawn_snr():
    fixed = Augmenter(np.random.default_rng(0), 0, Probabilities(noise=1.0, snr_db=(10.0, 10.0)))
    rng = np.random.default_rng(3)
    x = np.zeros(SR, dtype=np.float32)
    for _ in range(10):
        noisy = fixed.noise(rng, x, signal_rms=0.1)
        assert 20 * np.log10(0.1 / rms(noisy)) == pytest.approx(10.0, abs=0.1)


def test_babble_is_unit_rms_and_in_the_voice_band():
    x = babble(np.random.default_rng(4), SR)
    assert rms(x) == pytest.approx(1.0, rel=1e-3)
    p = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    assert p[(f > 130) & (f < 4100)].sum() > 0.98 * p.sum()  # the modulation smears the edges by a few Hz


def test_augmented_patches_keep_their_label_at_the_end(augmenter):
    """Sine notes through every augmentation: the last frame's strongest band is the label's (give or take one)."""
    always = Augmenter(np.random.default_rng(5), 3, Probabilities(pitch_shift=1.0, room=1.0, microphone=1.0, noise=1.0,
                                                                   snr_db=(30.0, 40.0), second_note=0.0, clip=0.0))
    maker, plain = PatchMaker(tiny_bank(), always), PatchMaker(tiny_bank())
    rng = np.random.default_rng(6)
    for midi in (60, 67, 76, 84):
        expected = plain.make(np.random.default_rng(1), midi)[0][-1].argmax()
        for _ in range(10):
            x, y, _ = maker.make(rng, midi)
            assert y == label_index(midi)
            assert np.isfinite(x).all()
            assert abs(int(x[-1].argmax()) - int(expected)) <= 1


def test_augmented_batches_are_reproducible_from_their_seed(augmenter):
    maker = PatchMaker(tiny_bank(), augmenter)
    a = maker.batch(np.random.default_rng([7, 8]), 12)
    b = maker.batch(np.random.default_rng([7, 8]), 12)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("rate", [16000, 48000])
def test_hum_is_at_mains_frequency_at_any_rate(rate):
    from model_build.augment import hum

    x = hum(np.random.default_rng(1), rate * 2, rate)
    spectrum = np.abs(np.fft.rfft(x))
    f = np.fft.rfftfreq(len(x), 1 / rate)
    strongest = f[np.argsort(spectrum)[-3:]]
    assert all(min(abs(s / 50 - round(s / 50)), abs(s / 60 - round(s / 60))) < 0.01 for s in strongest), strongest


def test_training_draws_rooms_and_noise_as_the_config_says():
    from model_build.config import BuildConfig
    from model_build.train import training_maker

    config = BuildConfig(room_p=0.5, noise_p=0.8, snr_db=(5.0, 25.0), shift_cents=25.0, shift_synth_cents=True,
                         room_impulse_responses=2)
    p = training_maker(config, tiny_bank(), low=None).augmenter.p
    assert (p.room, p.noise, p.snr_db, p.shift_cents, p.synth_cents) == (0.5, 0.8, (5.0, 25.0), 25.0, True)
    # the rest are the augmenter's own defaults
    assert dataclasses.replace(p, room=0.4, noise=0.5, snr_db=(0.0, 40.0), shift_cents=20.0) == Probabilities()


def test_noise_lands_at_the_drawn_snr_below_the_note():
    """The SNR range a build draws from is the one noise is added at: noise RMS = note RMS / 10^(snr/20)."""
    p = dataclasses.replace(Probabilities(), noise=1.0, snr_db=(12.0, 12.0))
    aug = Augmenter(np.random.default_rng(0), 0, p)
    x = np.zeros(16000, dtype=np.float32)
    for seed in range(5):
        noise = aug.noise(np.random.default_rng(seed), x, signal_rms=0.5)
        assert np.sqrt(np.mean(noise.astype(np.float64) ** 2)) == pytest.approx(0.5 * 10 ** (-12 / 20), rel=1e-3)


@pytest.mark.parametrize("synth_cents", [True, False])
def test_synthesized_notes_shift_by_whole_semitones_unless_told(monkeypatch, synth_cents):
    """Synthesized notes are detuned up to ±49 cents already, so a few cents more would carry some past
    their label's half-semitone; they shift by whole semitones only. Soundfont notes shift by up to shift_cents."""
    bank = tiny_bank()
    bank.source[::2] = "fluidr3:0"
    p = Probabilities(pitch_shift=1.0, semitone_shift=0.5, shift_cents=30.0, synth_cents=synth_cents, second_note=0.0,
                      room=0.0, microphone=0.0, noise=0.0, clip=0.0)
    maker = PatchMaker(bank, Augmenter(np.random.default_rng(0), 0, p))
    shifts: dict[str, list[float]] = {"fluidr3": [], "synth": []}
    note = PatchMaker._note

    def spy(self, i, ratio=1.0):
        if ratio != 1.0:
            shifts[bank.source[i].split(":")[0]].append(1200.0 * np.log2(ratio))
        return note(self, i, ratio)

    monkeypatch.setattr(PatchMaker, "_note", spy)
    rng = np.random.default_rng(3)
    for _ in range(200):
        maker.make(rng, int(rng.integers(40, 90)))
    rendered, synthesized = np.array(shifts["fluidr3"]), np.array(shifts["synth"])
    assert len(rendered) > 40 and len(synthesized) > 20
    off_semitone = lambda c: np.abs(c - 100.0 * np.round(c / 100.0))  # noqa: E731
    assert off_semitone(rendered).max() <= 30.0 and off_semitone(rendered).max() > 25.0
    assert set(np.round(rendered / 100.0)) == {-1.0, 0.0, 1.0}
    if synth_cents:
        assert off_semitone(synthesized).max() > 20.0
    else:
        assert off_semitone(synthesized).max() < 1e-6 and set(np.round(synthesized / 100.0)) == {-1.0, 1.0}
