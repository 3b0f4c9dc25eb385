"""The NumPy front end against an independent computation, and streaming against whole-signal use."""

import math

import numpy as np
import pytest

from app import features
from app.params import LOW_SPECTRUM, VGGISH, FrontEndParams, LowSpectrumParams

SR = VGGISH.sample_rate_hz


def tone(f_hz: float, seconds: float, rate: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amp * np.sin(2 * np.pi * f_hz * t)).astype(np.float32)


def reference_mel_weights(p: FrontEndParams) -> np.ndarray:
    """The VGGish filterbank written out one weight at a time from its definition."""
    mel = lambda f: 1127.0 * math.log(1.0 + f / 700.0)  # noqa: E731
    lo, hi = mel(p.mel_min_hz), mel(p.mel_max_hz)
    step = (hi - lo) / (p.num_mel_bands + 1)
    w = np.zeros((p.num_fft_bins, p.num_mel_bands))
    for k in range(1, p.num_fft_bins):  # the DC bin has no weight
        m = mel(k * p.sample_rate_hz / p.fft_size)
        for b in range(p.num_mel_bands):
            left, centre, right = lo + b * step, lo + (b + 1) * step, lo + (b + 2) * step
            if left < m <= centre:
                w[k, b] = (m - left) / (centre - left)
            elif centre < m < right:
                w[k, b] = (right - m) / (right - centre)
    return w


def reference_log_mel(x: np.ndarray, p: FrontEndParams) -> np.ndarray:
    """Direct DFT (no np.fft) of periodic-Hann frames, then the reference filterbank."""
    n_win, hop, n_fft = p.window_samples, p.hop_samples, p.fft_size
    n = np.arange(n_win)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_win)
    k = np.arange(p.num_fft_bins)[:, None]
    dft = np.exp(-2j * np.pi * k * n[None, :] / n_fft)  # zero padding to n_fft adds nothing to the sum
    frames = [x[s : s + n_win] * window for s in range(0, len(x) - n_win + 1, hop)]
    mag = np.abs(np.array(frames) @ dft.T)
    return np.log(mag @ reference_mel_weights(p) + p.log_offset)


def test_derived_settings_are_computed():
    assert (VGGISH.window_samples, VGGISH.hop_samples, VGGISH.fft_size, VGGISH.num_fft_bins) == (400, 160, 512, 257)
    assert VGGISH.patch_samples == 400 + 95 * 160
    assert VGGISH.patch_shape == (96, 64)
    assert VGGISH.patch_s == pytest.approx(0.96)
    other = FrontEndParams(sample_rate_hz=8000)
    assert (other.window_samples, other.hop_samples, other.fft_size) == (200, 80, 256)


def test_settings_round_trip_and_reject_unknown_keys():
    assert FrontEndParams.from_dict(VGGISH.to_dict()) == VGGISH
    with pytest.raises(ValueError, match="unknown"):
        FrontEndParams.from_dict({**VGGISH.to_dict(), "fmax": 1})


def test_mel_matrix_matches_definition():
    np.testing.assert_allclose(features.mel_matrix(VGGISH), reference_mel_weights(VGGISH), atol=1e-6)


def test_log_mel_matches_direct_dft():
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(SR // 2) * 0.1).astype(np.float32) + tone(330, 0.5)
    ours = features.log_mel(x)
    ref = reference_log_mel(x.astype(np.float64), VGGISH)
    assert ours.shape == ref.shape == (1 + (len(x) - 400) // 160, 64)
    np.testing.assert_allclose(ours, ref, atol=2e-4)


@pytest.mark.parametrize("f_hz", [150.0, 261.63, 440.0, 1000.0, 2500.0, 6000.0])
def test_sine_energy_lands_in_its_mel_band(f_hz):
    spec = features.log_mel(tone(f_hz, 0.5))
    centres = np.linspace(features.hz_to_mel(125.0), features.hz_to_mel(7500.0), 66)[1:-1]
    expected = int(np.argmin(np.abs(centres - features.hz_to_mel(f_hz))))
    strongest = np.argmax(spec.mean(axis=0))
    # The FFT bin grid is 31.25 Hz wide, so a low tone can peak one band over.
    assert abs(int(strongest) - expected) <= (1 if f_hz < 500 else 0)


def test_silence_is_log_offset():
    spec = features.log_mel(np.zeros(SR, dtype=np.float32))
    np.testing.assert_allclose(spec, np.log(VGGISH.log_offset), rtol=1e-6)


@pytest.mark.parametrize("block", [1, 37, 160, 800, 4096])
def test_streaming_at_16k_gives_identical_frames(block):
    x = np.random.default_rng(1).standard_normal(SR * 2).astype(np.float32) * 0.2
    stream = features.LogMelStream(SR)
    got = np.concatenate([stream.push(x[i : i + block]) for i in range(0, len(x), block)])
    np.testing.assert_array_equal(got, features.log_mel(x))
    np.testing.assert_array_equal(stream.patch, features.log_mel(x)[-96:])


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000, 96000, 192000])
def test_streaming_matches_whole_file_at_other_rates(rate):
    x = tone(523.25, 2.0, rate) + np.random.default_rng(2).standard_normal(2 * rate).astype(np.float32) * 0.01
    whole = features.log_mel_from_audio(x, rate)
    stream = features.LogMelStream(rate)
    block = rate // 20  # 50 ms hops, as the live worker uses
    got = np.concatenate([stream.push(x[i : i + block]) for i in range(0, len(x), block)])
    # The streaming resampler holds back its filter's last samples (soxr HQ: 20-70 ms
    # depending on the ratio) until more input arrives; the frames it has given must agree.
    assert len(whole) - 8 <= len(got) <= len(whole)
    np.testing.assert_allclose(got, whole[: len(got)], atol=1e-3)


def test_patch_is_padded_with_silence_before_first_frames():
    stream = features.LogMelStream(SR)
    stream.push(tone(440, 0.2))
    patch = stream.patch
    assert patch.shape == (96, 64)
    np.testing.assert_allclose(patch[0], np.log(VGGISH.log_offset))
    assert patch[-1].max() > 0


@pytest.mark.parametrize("rate", [7350, 11025, 44100, 88200, 192000])
def test_resampling_keeps_frequency(rate):
    x16 = features.resample(tone(1000.0, 1.0, rate), rate, SR)
    assert abs(len(x16) - SR) <= 1
    spectrum = np.abs(np.fft.rfft(x16 * np.hanning(len(x16))))
    assert np.argmax(spectrum) * SR / len(x16) == pytest.approx(1000.0, abs=2.0)


def test_to_mono_mixes_or_picks_a_channel():
    stereo = np.stack([np.ones(10), -np.ones(10) * 0.5], axis=1)
    np.testing.assert_allclose(features.to_mono(stereo), 0.25)
    np.testing.assert_allclose(features.to_mono(stereo, channel=1), -0.5)
    with pytest.raises(ValueError, match="channel 2"):
        features.to_mono(stereo, channel=2)


def test_patches_split_without_overlap_by_default():
    spec = np.arange(300 * 64, dtype=np.float32).reshape(300, 64)
    p = features.patches(spec)
    assert p.shape == (3, 96, 64)
    np.testing.assert_array_equal(p[1], spec[96:192])
    assert features.patches(spec, hop_frames=48).shape == (5, 96, 64)
    assert features.patches(spec[:50]).shape == (0, 96, 64)


def test_bad_rate_is_refused():
    with pytest.raises(ValueError, match="positive"):
        features.LogMelStream(0)


# The low spectrum: the second input of two-input models.

LOW = LOW_SPECTRUM


def reference_low_spectrum(x: np.ndarray) -> np.ndarray:
    """Each frame's DTFT at each point's exact frequency, summed directly, in the same 0..1 dB scale."""
    x = x[-LOW.samples :].astype(np.float64)
    n = np.arange(LOW.window_samples)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / LOW.window_samples)
    f_hz = 440.0 * 2.0 ** ((LOW.midi_low + np.arange(LOW.num_bins) / LOW.bins_per_semitone - 69) / 12)
    basis = np.exp(-2j * np.pi * np.outer(f_hz / SR, n))
    mags = np.stack([np.abs(basis @ (x[k * LOW.step_samples : k * LOW.step_samples + LOW.window_samples] * window))
                     for k in range(LOW.frames)])
    db = 20 * np.log10(mags + 1e-7)
    return (np.clip(db - db.max(), -LOW.floor_db, 0) / LOW.floor_db + 1).T


def test_low_spectrum_settings_are_derived():
    assert LOW.window_samples == 2048 and LOW.fft_size == 8192 and LOW.step_samples == 320
    assert LOW.shape == (248, 4) and LOW.samples == 2048 + 3 * 320
    assert LowSpectrumParams.from_dict(LOW.to_dict()) == LOW
    with pytest.raises(ValueError, match="unknown"):
        LowSpectrumParams.from_dict({**LOW.to_dict(), "hop": 1})


def test_low_spectrum_matches_direct_dtft_where_it_matters():
    rng = np.random.default_rng(3)
    t = np.arange(4000) / SR
    x = sum(rng.uniform(0.2, 1) * np.sin(2 * np.pi * k * 41.2 * t + rng.uniform(0, 6)) for k in range(1, 12))
    x = (x + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    ours, ref = features.low_spectrum(x), reference_low_spectrum(x)
    assert ours.shape == LOW.shape and ours.dtype == np.float32
    # Interpolating a 4x zero-padded FFT between bins 1.95 Hz apart, against the exact frequency: close at the
    # partials' peaks, and over their skirts (within 40 dB of the loudest) but for the sharp dips between them.
    error_db = np.abs(ours - ref) * LOW.floor_db
    peaks = (ref[1:-1] > ref[:-2]) & (ref[1:-1] >= ref[2:]) & (ref[1:-1] > 0.5)
    assert peaks.sum() >= 4 * 10
    assert np.median(error_db[1:-1][peaks]) < 0.3 and error_db[1:-1][peaks].max() < 2.0
    assert np.median(error_db[ref > 0.5]) < 0.3


@pytest.mark.parametrize("midi", [23, 33, 40, 47, 64, 81])
def test_a_sine_peaks_at_its_quarter_semitone_and_level_does_not_matter(midi):
    # Below E2 the window's main lobe (±15.6 Hz) spans semitones, and its mirror image at -f leans on the peak:
    # a lone fundamental is placed within half a semitone there; the harmonics above it place a note.
    tolerance = 0 if midi >= 40 else 2
    for offset in (0, 1, 2, 3):  # quarter semitones above the note
        f_hz = 440.0 * 2 ** ((midi + offset / 4 - 69) / 12)
        x = tone(f_hz, 0.3)
        spectrum = features.low_spectrum(x)
        assert np.all(np.abs(spectrum.argmax(axis=0) - ((midi - LOW.midi_low) * 4 + offset)) <= tolerance)
        np.testing.assert_allclose(features.low_spectrum(0.001 * x), spectrum, atol=1e-3)  # 0.08 dB


def test_low_spectrum_of_short_audio_is_preceded_by_silence():
    x = tone(110.0, 0.1)
    padded = np.concatenate([np.zeros(5000, np.float32), x])
    np.testing.assert_array_equal(features.low_spectrum(x), features.low_spectrum(padded))


@pytest.mark.parametrize("rate, block", [(SR, 160), (SR, 1234), (SR, 9000), (44100, 2205)])
def test_stream_gives_the_audio_up_to_the_newest_patch_end(rate, block):
    x = tone(220.0, 2.5, rate) + 0.1 * np.random.default_rng(1).standard_normal(int(2.5 * rate)).astype(np.float32)
    whole = features.resample(x, rate, SR)
    stream = features.LogMelStream(rate, keep_samples=LOW.samples)
    assert len(stream.patch_audio(LOW.samples)) == 0  # no frame yet
    checked = 0
    for start in range(0, len(x), block):
        stream.push(x[start : start + block])
        if stream.frames_done == 0:
            continue
        end = features.frame_end(stream.frames_done - 1)  # where the last frame ends
        got = stream.patch_audio(LOW.samples)
        if rate == SR:
            np.testing.assert_array_equal(got, whole[max(0, end - LOW.samples) : end])
        else:  # the streaming resampler matches the one-shot one to within its filter's error, away from the start
            assert len(got) == min(end, LOW.samples)
            if end > 4000:
                np.testing.assert_allclose(got, whole[end - LOW.samples : end], atol=2e-3)
        checked += 1
    assert checked >= len(x) // block - 3
    with pytest.raises(ValueError):
        stream.patch_audio(LOW.samples + 1)


def test_metadata_from_builds_with_a_periodicity_field_still_loads_unless_it_took_the_channels():
    """Models written from commit f7bec00 to issue 26 (fine-tuned ones too) say "periodicity_frames": 0; the channels
    themselves, an experiment, went with issue 26."""
    assert LowSpectrumParams.from_dict({**LOW_SPECTRUM.to_dict(), "periodicity_frames": 0}) == LOW_SPECTRUM
    assert LowSpectrumParams.from_dict(LOW_SPECTRUM.to_dict()) == LOW_SPECTRUM
    with pytest.raises(ValueError, match="periodicity channels"):
        LowSpectrumParams.from_dict({**LOW_SPECTRUM.to_dict(), "periodicity_frames": 4})
