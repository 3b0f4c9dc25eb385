"""Fine pitch (MPM near a hinted note): sub-cent on synthesized tones, never an octave off."""

import numpy as np
import pytest

from app import pitch
from app.notes import hz_to_midi, midi_to_hz


def tone(f_hz, n, rate, harmonics=8, fundamental=1.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = sum((fundamental if k == 1 else 1.0 / k) * np.sin(2 * np.pi * k * f_hz * t + rng.uniform(0, 6.3))
            for k in range(1, harmonics + 1) if k * f_hz < rate / 2)
    return x.astype(np.float32)


def cents_error(f_est, f_true):
    return 1200.0 * np.log2(f_est / f_true)


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000, 96000])
@pytest.mark.parametrize("midi", [23, 28, 40, 52, 69, 81, 96])
@pytest.mark.parametrize("cents", [-45.0, -10.0, 0.0, 3.3, 30.0])
def test_sub_cent_on_clean_harmonic_tones(rate, midi, cents):
    f = midi_to_hz(midi + cents / 100.0)
    x = tone(f, pitch.window_samples(midi, rate) + 50, rate)
    est = pitch.estimate(x, rate, midi)
    assert est is not None
    assert abs(cents_error(est.f0_hz, f)) < 0.5
    assert est.clarity > 0.9


@pytest.mark.parametrize("midi", [28, 45, 64])
def test_missing_fundamental_still_measured_near_the_hint(midi):
    rate = 48000
    f = midi_to_hz(midi + 0.2)
    x = tone(f, pitch.window_samples(midi, rate), rate, harmonics=10, fundamental=0.0)
    est = pitch.estimate(x, rate, midi)
    assert abs(cents_error(est.f0_hz, f)) < 1.0


def test_search_stays_near_the_hint_so_no_octave_errors():
    rate = 44100
    f = midi_to_hz(57)  # A3
    x = tone(f, 20000, rate)
    for hint in (56, 57, 58):
        est = pitch.estimate(x, rate, hint)
        assert est is not None and abs(hz_to_midi(est.f0_hz) - 57) < 0.05
    # Hinted an octave away, the true period lies outside the search range: no answer, not a wrong one.
    assert pitch.estimate(x, rate, 69) is None or abs(hz_to_midi(pitch.estimate(x, rate, 69).f0_hz) - 69) <= 1.0


def test_noise_has_low_clarity():
    x = np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    est = pitch.estimate(x, 16000, 60)
    assert est is None or est.clarity < 0.5


def test_reference_a4_moves_the_search():
    rate = 48000
    x = tone(415.0, 4000, rate)  # A4 at baroque pitch
    est = pitch.estimate(x, rate, 69, a4_hz=415.0)
    assert abs(cents_error(est.f0_hz, 415.0)) < 0.5


def test_window_is_longer_for_low_notes():
    assert pitch.window_samples(23, 48000) > 3 * pitch.window_samples(69, 48000)
    assert pitch.window_samples(96, 48000) >= 0.04 * 48000


def _partials(f0, amps, seconds=0.5, rate=48000):
    t = np.arange(int(seconds * rate)) / rate
    return sum(a * np.sin(2 * np.pi * k * f0 * t + k) for k, a in amps.items()).astype(np.float32)


def test_octave_check_finds_the_period_below_a_note_named_an_octave_high():
    # A2 (110 Hz) with strong even harmonics: a model that sees only the bands above 125 Hz may call it A3.
    x = _partials(110.0, {1: 0.5, 2: 1.0, 3: 0.4, 4: 1.0, 6: 0.8})
    assert pitch.octave_check(x, 48000, 57) == 45
    # Two octaves: period four times the named one.
    assert pitch.octave_check(_partials(55.0, {1: 0.4, 2: 0.3, 3: 0.4, 4: 1.0, 5: 0.3, 8: 1.0}), 48000, 57) == 33


def test_octave_check_finds_the_period_below_a_note_named_a_fifth_high():
    # E2 (82.4 Hz) with a weak fundamental and strong 2nd and 3rd harmonics (E3, B3): the model may take them for
    # the octave and twelfth of B2, a fifth above, whose period the sound does not repeat at.
    x = _partials(82.41, {1: 0.2, 2: 1.0, 3: 1.0, 4: 0.3, 5: 0.2, 6: 0.3})
    assert pitch.octave_check(x, 48000, 47) == 40
    # An octave and a fifth: the named note's period is a third of the sound's.
    assert pitch.octave_check(x, 48000, 59) == 40


@pytest.mark.parametrize("midi", [28, 40, 45, 57, 69, 81])
def test_octave_check_leaves_a_correctly_named_periodic_note_alone(midi):
    from app.notes import midi_to_hz

    x = _partials(midi_to_hz(midi), {1: 1.0, 2: 0.5, 3: 0.3, 4: 0.2}, seconds=0.6)
    assert pitch.octave_check(x, 48000, midi) == midi


@pytest.mark.parametrize("named", [57 - 12, 57 - 19, 57 - 24])
def test_octave_check_moves_a_named_subharmonic_up_to_the_sounding_period(named):
    x = _partials(220.0, {1: 1.0, 2: 0.5, 3: 0.3, 4: 0.2}, seconds=0.6)  # A3, periodic at its own period
    assert pitch.octave_check(x, 48000, named) == 57


@pytest.mark.parametrize("rate", [16000, 48000])
@pytest.mark.parametrize("midi", [23, 28, 33, 45, 69])
@pytest.mark.parametrize("off, cents", [(-3, 45.0), (-2, -45.0), (2, 45.0), (3, -45.0)])
def test_wide_search_finds_a_tone_named_up_to_three_semitones_off(rate, midi, off, cents):
    # In the bass the model names a neighbour or the note two or three away; the waveform must still be found.
    f = midi_to_hz(midi + cents / 100.0)
    hint = midi + off
    x = tone(f, pitch.window_samples(hint, rate, search_semitones=pitch.WIDE_SEARCH_SEMITONES) + 50, rate)
    est = pitch.estimate(x, rate, hint, search_semitones=pitch.WIDE_SEARCH_SEMITONES)
    assert est is not None and abs(cents_error(est.f0_hz, f)) < 0.5 and est.clarity > 0.9
    narrow = pitch.estimate(x, rate, hint)  # the default range does not reach it
    assert narrow is None or abs(cents_error(narrow.f0_hz, f)) > 50.0


def test_octave_check_keeps_a_correct_note_whose_odd_harmonics_are_weak():
    # A low harp or double-bass string: weak fundamental and 3rd, so the sound almost repeats every half period
    # (NSDF about 0.95 there). It still has the named period; it must not go up an octave.
    x = _partials(midi_to_hz(47), {1: 0.15, 2: 1.0, 3: 0.1, 4: 0.5, 6: 0.3}, seconds=0.6)
    half = pitch.estimate(x, 48000, 59)
    assert 0.93 < half.clarity < pitch.UP_RATIO
    assert pitch.octave_check(x, 48000, 47) == 47


def test_octave_check_keeps_an_organ_note_whose_mixture_repeats_an_octave_below():
    # C5 on an organ with a 5 1/3' rank (a fifth above the sub-octave): partials at 2, 3, 4, 6, 8, 9 times C4's f0.
    # The sound repeats every C4 period, not every C5 one, yet its pitch is C5: C4's own 1st, 5th and 7th
    # harmonics are silent.
    c4 = midi_to_hz(60)
    x = _partials(c4, {2: 1.0, 3: 0.8, 4: 0.6, 6: 0.4, 8: 0.3, 9: 0.3}, seconds=0.6)
    assert pitch.estimate(x, 48000, 72).clarity < pitch.OCTAVE_NAMED_BELOW  # the period rule alone would move it
    assert pitch.estimate(x, 48000, 60).clarity > pitch.OCTAVE_LOWER_ABOVE
    assert not pitch.sounds_its_own_partials(x, 48000, c4)
    assert pitch.octave_check(x, 48000, 72) == 72
    # With a quiet 16' rank (C4 itself, 25 dB down) the sound does reach down to C4.
    x16 = x + _partials(c4, {1: 0.06}, seconds=0.6)
    assert pitch.sounds_its_own_partials(x16, 48000, c4)
    assert pitch.octave_check(x16, 48000, 72) == 60


def test_harmonic_levels_are_relative_to_the_strongest():
    x = _partials(110.0, {1: 0.1, 2: 1.0, 3: 0.01}, seconds=0.5)
    levels = pitch.harmonic_levels_db(x, 48000, 110.0, harmonics=4)
    assert levels[1] == pytest.approx(0.0)
    assert levels[0] == pytest.approx(-20.0, abs=1.0) and levels[2] == pytest.approx(-40.0, abs=1.5)
    assert levels[3] < -80.0


@pytest.mark.parametrize("rate", [8000, 48000])
@pytest.mark.parametrize("midi", [24, 33, 45, 57, 69, 81, 93])
def test_strongest_period_names_a_tone_over_the_whole_range(rate, midi):
    f = midi_to_hz(midi + 0.3)
    x = tone(f, int(0.3 * rate), rate, harmonics=10, fundamental=0.3)  # weak fundamental: 2T must not win
    est = pitch.strongest_period(x, rate, 23, 96)
    assert est is not None and est.clarity > 0.9
    assert round(hz_to_midi(est.f0_hz)) == midi


def test_strongest_period_of_noise_is_not_clear():
    x = np.random.default_rng(1).standard_normal(16000).astype(np.float32)
    est = pitch.strongest_period(x, 16000, 23, 96)
    assert est is None or est.clarity < 0.5


def test_a_partial_buried_in_noise_counts_as_absent():
    # Brown noise (strong at low frequencies) at 20 dB below an A2 tone: no partial at A1's own f0.
    rate = 48000
    x = _partials(110.0, {1: 1.0, 2: 0.5, 3: 0.3}, seconds=0.5)
    noise = np.cumsum(np.random.default_rng(2).standard_normal(len(x)))
    noise = noise - np.convolve(noise, np.ones(2001) / 2001, mode="same")  # no DC drift
    x = x + (noise / np.std(noise) * np.std(x) * 0.1).astype(np.float32)
    levels = pitch.harmonic_levels_db(x, rate, 55.0, harmonics=3)
    assert levels[0] == -120.0 and levels[1] == pytest.approx(0.0)
    assert not pitch.sounds_its_own_partials(x, rate, 55.0)


@pytest.mark.parametrize("rate", [16000, 48000])
@pytest.mark.parametrize("midi", [40, 52, 69, 84, 96])
def test_period_reading_names_a_note_from_a_short_window(rate, midi):
    """What the tracker reads right after an onset: 40 ms of a note from E2 up."""
    f = midi_to_hz(midi - 0.2)
    x = tone(f, int(0.04 * rate), rate, harmonics=6)
    reading = pitch.period_reading(x, rate, midi_to_hz(22.5), midi_to_hz(96.5))
    assert reading is not None and round(hz_to_midi(reading.f0_hz)) == midi
    assert reading.clarity > 0.9 and reading.best_clarity - reading.clarity < 0.03
    assert reading.rival_clarity is None if midi > 84 else reading.rival_clarity < 0.5  # above C6 no rival in range


def test_period_reading_searches_no_period_longer_than_half_its_window():
    x = tone(midi_to_hz(28), int(0.04 * 48000), 48000)  # E1: 24 ms periods, not two in 40 ms
    reading = pitch.period_reading(x, 48000, midi_to_hz(22.5), midi_to_hz(96.5))
    assert reading is None or round(hz_to_midi(reading.f0_hz)) != 28
    assert pitch.period_reading(x[:100], 48000, midi_to_hz(22.5), midi_to_hz(96.5)) is None


def test_period_reading_names_b0_from_two_periods():
    x = tone(midi_to_hz(23), int(0.066 * 48000), 48000, harmonics=6)  # B0: 32 ms periods
    reading = pitch.period_reading(x, 48000, midi_to_hz(22.5), midi_to_hz(96.5))
    assert reading is not None and round(hz_to_midi(reading.f0_hz)) == 23 and reading.clarity > 0.9


@pytest.mark.parametrize("seconds", [0.066, 0.1])  # two and three periods of B0
def test_own_partials_are_told_from_a_mixture_in_a_few_periods_of_a_low_note(seconds):
    # Too few periods for a tapered spectrum to resolve the harmonics of B0 (31 Hz): the untapered one over whole
    # periods still finds a real B0's fundamental, and finds none in an organ mixture repeating at B0's period.
    b0 = midi_to_hz(23)
    note = _partials(b0, {1: 1.0, 2: 0.6, 3: 0.4, 4: 0.3, 5: 0.2}, seconds=seconds)
    mixture = _partials(b0, {2: 1.0, 3: 0.8, 4: 0.6, 6: 0.4, 8: 0.3}, seconds=seconds)
    assert pitch.harmonic_levels_db(note, 48000, b0)[0] == pytest.approx(0.0)
    assert pitch.sounds_its_own_partials(note, 48000, b0)
    assert max(pitch.harmonic_levels_db(mixture, 48000, b0)[[0, 4, 6]]) < pitch.OWN_PARTIAL_DB
    assert not pitch.sounds_its_own_partials(mixture, 48000, b0)


def test_a_short_stretch_of_noise_sounds_hardly_a_partial():
    # Three periods of B0 in white noise: a bin stands 12 dB above both its neighbours now and then, by chance.
    noises = [np.random.default_rng(seed).standard_normal(int(0.1 * 48000)) for seed in range(20)]
    present = sum(int((pitch.harmonic_levels_db(x, 48000, midi_to_hz(23)) > -120.0).sum()) for x in noises)
    assert present <= 8  # of 160
    short = noises[0][:1000]  # under two periods
    assert all(level == -120.0 for level in pitch.harmonic_levels_db(short, 48000, midi_to_hz(23)))


def test_period_reading_of_strong_even_harmonics_shows_its_ambiguity():
    # A "hollow" tone: a weak fundamental under strong even partials repeats nearly as well at half its period, so
    # McLeod's rule picks the octave above; the longer period, more periodic, says the pick may be wrong.
    from app.tracker import TrackerParams

    x = _partials(220.0, {1: 0.15, 2: 1.0, 3: 0.1, 4: 0.8, 6: 0.5}, seconds=0.06)
    reading = pitch.period_reading(x, 48000, midi_to_hz(22.5), midi_to_hz(96.5))
    assert reading is not None and reading.f0_hz == pytest.approx(440.0, rel=0.01)
    assert reading.best_clarity - reading.clarity > TrackerParams().provisional_best_margin


def test_period_reading_of_noise_is_not_clear():
    x = np.random.default_rng(3).standard_normal(4800).astype(np.float32)
    reading = pitch.period_reading(x, 48000, midi_to_hz(22.5), midi_to_hz(96.5))
    assert reading is None or reading.clarity < 0.5


def test_waveform_measures_each_note_once():
    calls = []
    real = pitch.estimate

    def counting(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    wave = pitch.Waveform(tone(220.0, 9600, 48000), 48000)
    try:
        pitch.estimate = counting
        first, again = wave.near(57), wave.near(57)
    finally:
        pitch.estimate = real
    assert first is again and calls == [57]


def test_an_estimate_tells_how_periodic_the_octave_above_is():
    even = pitch.estimate(_partials(220.0, {2: 1.0, 4: 0.6, 6: 0.4}, seconds=0.3), 48000, 57)  # A4's partials only
    full = pitch.estimate(tone(220.0, 14400, 48000), 48000, 57)
    assert even.above_clarity > 0.98 * even.clarity
    assert full.above_clarity < 0.5 * full.clarity


def test_a_rate_too_low_for_the_top_of_a_piano_is_said_not_guessed():
    assert pitch.highest_midi(8000) == 103 and pitch.highest_midi(16000) >= 108
    assert pitch.rate_limit_note(8000) == ("at 8000 Hz notes above G7 cannot be measured: choose a rate of 11 kHz or "
                                           "more for the top of a piano")
    assert pitch.rate_limit_note(11025) is None and pitch.rate_limit_note(48000) is None
