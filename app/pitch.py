"""Fine pitch: McLeod's normalized square difference function (MPM), searched only near a hinted note.

The model names the note; this module measures its f0 at the device's own rate, to
a fraction of a cent, by finding the NSDF peak whose lag lies within a few semitones
of the hinted note's period and refining it by parabolic interpolation. Because the
search never leaves that range, it cannot make octave errors. The live engine searches
the model's note WIDE_SEARCH_SEMITONES either side, so in the bass, where the model is
often a semitone or two off, the waveform picks the note.

`octave_check` looks elsewhere, at chosen places: a fifth, an octave, an octave and a fifth
and two octaves below the note the model names (periods 3/2, 2, 3 and 4 times the named
one). A sound that repeats there but not every named period (strong even harmonics
over a weak fundamental; or a low string whose second and third harmonics the model took
for the fundamental and fifth of the note a fifth up) has its pitch there, and the model,
which sees only the log-mel bands above 125 Hz, tends to name the note of its strongest
harmonics. A sound that repeats every period also repeats every 2, 3 and 4, so the check
takes a lower note only when the named period is clearly not periodic, the lower one
clearly is, and the lower note sounds a partial of its own that a mixture stop on the
named note would not (an organ's 5 1/3' rank makes the sound repeat an octave below the
key while its pitch stays the key). It never moves a periodic note to a period 3/2 its
own, which such a sound does not repeat at.

`strongest_period` looks over the whole range (McLeod's rule, coarse): the engine asks it
only when the model's region holds nothing periodic.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import soxr

from app.notes import NOTE_MAX, NOTE_MIN, hz_to_midi, midi_to_hz, note_name

SEARCH_SEMITONES = 1.25  # the true f0 lies within ±0.65 semitone of the shown note; a neighbour hint must still find it
# The model's note is a region: in the bass, where its log-mel bands cannot resolve the harmonics, it names a note
# one to three semitones off about one time in five (B0-D#2, held-out validation). The note it names is measured
# this far either side, so there the waveform, not the model, picks the note. A tone's NSDF is highest at its own
# period, where every partial is in phase, so while the range holds that period its highest peak is the tone's;
# lags 2, 3/2, 1/2 ... times the named period lie outside it and are left to octave_check.
WIDE_SEARCH_SEMITONES = 3.6
MIN_WINDOW_S = 0.040
MIN_PERIODS = 4
MIN_LAG_SAMPLES = 64  # parabolic interpolation is exact to ~0.01 sample only on well-sampled peaks
MIN_COARSE_LAG_SAMPLES = 16  # enough to name a note (to a few cents)


CARRIED_SHARE = 0.4  # of the sample rate: the highest fundamental measured (0.8 of Nyquist, below anti-alias filters)


def highest_midi(rate_hz: float, a4_hz: float = 440.0, share: float = CARRIED_SHARE) -> int:
    """The highest note whose fundamental audio at rate_hz carries well enough to measure (8 kHz: G7, not C8); with
    share=0.5, the highest below Nyquist at all."""
    return int(math.floor(hz_to_midi(share * rate_hz, a4_hz)))


def rate_limit_note(rate_hz: float, a4_hz: float = 440.0) -> str | None:
    """What to tell the user when an input's rate cannot carry the top of the app's range, or None."""
    top = highest_midi(rate_hz, a4_hz)
    if top >= NOTE_MAX:
        return None
    return (f"at {rate_hz:g} Hz notes above {note_name(top)} cannot be measured: choose a rate of "
            f"{math.ceil(midi_to_hz(NOTE_MAX, a4_hz) / CARRIED_SHARE / 1000):g} kHz or more for the top of a piano")


@dataclasses.dataclass(frozen=True)
class PitchEstimate:
    f0_hz: float
    clarity: float  # NSDF peak height, 0..1: 1 is a perfectly periodic signal
    above_clarity: float | None = None  # the NSDF near half and a third of the period (an octave, a twelfth above)


def window_samples(midi_hint: int, rate_hz: float, a4_hz: float = 440.0,
                   search_semitones: float = SEARCH_SEMITONES) -> int:
    """Analysis length for a note: MIN_PERIODS periods of the lowest searched f0, at least MIN_WINDOW_S,
    plus the longest searched lag."""
    return _window_for(midi_to_hz(midi_hint - search_semitones, a4_hz), rate_hz)


def _window_for(f_lo_hz: float, rate_hz: float) -> int:
    max_lag = rate_hz / f_lo_hz
    return int(math.ceil(max(MIN_WINDOW_S * rate_hz, MIN_PERIODS * max_lag) + max_lag + 2))


def _nsdf_between(x: np.ndarray, rate_hz: float, f_lo: float, f_hi: float, min_lag_samples: int, quality: str):
    """_nsdf_of the newest window for f0s f_lo..f_hi (window_samples' length)."""
    return _nsdf_of(np.asarray(x)[-_window_for(f_lo, rate_hz):], rate_hz, f_lo, f_hi, min_lag_samples, quality)


def _nsdf_of(x: np.ndarray, rate_hz: float, f_lo: float, f_hi: float, min_lag_samples: int, quality: str):
    """(curve, rate, lag_lo, lag_hi) of all of x for f0s f_lo..f_hi, upsampled so the shortest period is at least
    min_lag_samples long; None if x is too short for the longest."""
    x = np.asarray(x, dtype=np.float64)
    factor = int(math.ceil(min_lag_samples * f_hi / rate_hz))
    if factor > 1:
        # High notes have periods of few samples: measure them on an upsampled copy.
        x = soxr.resample(x, rate_hz, rate_hz * factor, quality=quality)
        rate_hz = rate_hz * factor
    lag_lo, lag_hi = max(2, int(math.floor(rate_hz / f_hi))), int(math.ceil(rate_hz / f_lo))
    if len(x) < lag_hi + 3:
        return None
    return nsdf(x - x.mean(), lag_hi + 1), rate_hz, lag_lo, lag_hi


def _parabolic(curve: np.ndarray, i: int) -> tuple[float, float]:
    """(shift of the peak from lag i, its interpolated height) by a parabola through lags i-1, i, i+1."""
    a, b, c = curve[i - 1], curve[i], curve[i + 1]
    denom = a - 2.0 * b + c
    shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
    return shift, b - 0.25 * (a - c) * shift


def nsdf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """(..., samples) -> (..., max_lag + 1) normalized square difference n(τ) = 2 r(τ) / m(τ), in [-1, 1], of each
    row (one FFT for all of them)."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    size = 1 << int(math.ceil(math.log2(2 * n)))
    spectrum = np.fft.rfft(x, size)
    r = np.fft.irfft(spectrum * np.conj(spectrum), size)[..., : max_lag + 1]
    sq = x * x
    cumulative = np.concatenate([np.zeros((*x.shape[:-1], 1)), np.cumsum(sq, axis=-1)], axis=-1)
    lags = np.arange(max_lag + 1)
    # m(τ) = Σ_{j<n-τ} x_j² + x_{j+τ}²
    m = cumulative[..., n - lags] + (cumulative[..., n : n + 1] - cumulative[..., lags])
    return np.where(m > 1e-12, 2.0 * r / np.maximum(m, 1e-12), 0.0)


def estimate(x: np.ndarray, rate_hz: float, midi_hint: int, a4_hz: float = 440.0,
             search_semitones: float = SEARCH_SEMITONES) -> PitchEstimate | None:
    """f0 of the newest audio within `search_semitones` of `midi_hint`, or None if no NSDF peak lies in that range.

    x: (samples,) mono at rate_hz, the newest last; only the last `window_samples` are used.
    """
    f_lo = midi_to_hz(midi_hint - search_semitones, a4_hz)
    f_hi = midi_to_hz(midi_hint + search_semitones, a4_hz)
    measured = _nsdf_between(x, rate_hz, f_lo, f_hi, MIN_LAG_SAMPLES, "VHQ")
    if measured is None:
        return None
    curve, rate_hz, lag_lo, lag_hi = measured
    segment = curve[lag_lo : lag_hi + 1]
    i = lag_lo + int(np.argmax(segment))
    # Only a true local maximum counts: a maximum on the range's edge is the slope of a peak outside it.
    if not (curve[i] >= curve[i - 1] and curve[i] >= curve[i + 1]) or i in (lag_lo, lag_hi):
        return None
    shift, peak = _parabolic(curve, i)
    return PitchEstimate(f0_hz=rate_hz / (i + shift), clarity=float(np.clip(peak, 0.0, 1.0)),
                         above_clarity=_near_lags(curve, i + shift, (1 / 2, 1 / 3)))


def _near_lags(curve: np.ndarray, lag: float, ratios) -> float | None:
    """The highest NSDF within ±2% of lag × each ratio at least two samples long; None if there is none."""
    values = [float(curve[int(math.floor(lag * r * 0.98)) : int(math.ceil(lag * r * 1.02)) + 1].max())
              for r in ratios if lag * r >= 2]
    return max(values, default=None)


OCTAVE_NAMED_BELOW = 0.85  # the named note's period must be this poorly periodic ...
OCTAVE_LOWER_ABOVE = 0.90  # ... and a lower octave's this well, and
OCTAVE_MARGIN = 0.10  # at least this much better


DOWN_INTERVALS = (7, 12, 19, 24)  # periods of 3/2, 2, 3, 4 times the named one, the shortest first
UP_INTERVALS = (24, 19, 12)  # periods of 1/4, 1/3, 1/2 of the named one, the shortest first
# McLeod's rule: the shortest period whose peak reaches this share of the named one's. Low harp, double-bass and
# guitar strings with weak odd harmonics reach 0.95-0.97 at half their period: 0.95 moved them an octave up.
UP_RATIO = 0.98


_MEASURE = object()


def octave_check(x: np.ndarray, rate_hz: float, midi_hint: int, a4_hz: float = 440.0, lowest_midi: int = NOTE_MIN,
                 highest_midi: int = NOTE_MAX, named=_MEASURE) -> int:
    """midi_hint, or the note whose period the sound really has: a fifth, one octave, an octave and a fifth or two
    octaves below the named note when the sound repeats there but not at the named period (the shortest such
    period wins unless a longer one is clearly more periodic); or a half, a third or a quarter of the named period
    when the sound repeats there as well as at the named one (a named sub-harmonic).

    named: estimate(x, rate_hz, midi_hint, a4_hz) if the caller has it already (None counts: no peak found)."""
    if named is _MEASURE:
        named = estimate(x, rate_hz, midi_hint, a4_hz)
    named_clarity = 0.0 if named is None else named.clarity
    if named_clarity >= OCTAVE_NAMED_BELOW:
        for up in UP_INTERVALS:
            if midi_hint + up > highest_midi:
                continue
            higher = estimate(x, rate_hz, midi_hint + up, a4_hz)
            if higher is not None and higher.clarity >= max(OCTAVE_LOWER_ABOVE, UP_RATIO * named_clarity):
                return midi_hint + up
        return midi_hint
    best, best_clarity = midi_hint, named_clarity + OCTAVE_MARGIN
    for down in DOWN_INTERVALS:
        if midi_hint - down < lowest_midi:
            break
        lower = estimate(x, rate_hz, midi_hint - down, a4_hz)
        if (lower is not None and lower.clarity >= max(OCTAVE_LOWER_ABOVE, best_clarity)
                and sounds_its_own_partials(x, rate_hz, lower.f0_hz)):
            best, best_clarity = midi_hint - down, lower.clarity + OCTAVE_MARGIN
    return best


OWN_PARTIALS = (1, 5, 7)  # harmonics of a lower note that no rank of an organ mixture on the named note sounds
OWN_PARTIAL_DB = -30.0  # ... one of them must reach this level against the strongest harmonic of the lower note
SPECTRUM_S = 0.25
SHORT_SPECTRUM_PERIODS = 8  # fewer periods than this in x: harmonic_levels_db's untapered spectrum over whole periods
PARTIAL_PROMINENCE_DB = 12.0


def harmonic_levels_db(x: np.ndarray, rate_hz: float, f0_hz: float, harmonics: int = 8) -> np.ndarray:
    """(harmonics,) level of the spectral peak at k f0 (k = 1..harmonics), in dB against the strongest of them.
    A peak that does not stand PARTIAL_PROMINENCE_DB above the median of its own stretch of spectrum
    ((k ± 1/2) f0: noise, say, at a low f0) counts as absent: -120 dB, as does one above 0.45 of the rate.

    With SHORT_SPECTRUM_PERIODS periods of f0 or more in x, the spectrum is a Hann-windowed one of its newest
    SPECTRUM_S (at least that many periods), peaks looked for within ±3% of k f0. A shorter x (the audio since an
    onset, three periods of a low note) cannot resolve harmonics through a taper: its spectrum is then taken over
    its newest whole periods with no window, where a periodic sound's k-th harmonic falls exactly on bin k × periods
    and the bins beside it hold only what is not periodic. Fewer than two periods: every harmonic counts as absent."""
    periods = len(x) * f0_hz / rate_hz
    if periods >= SHORT_SPECTRUM_PERIODS:
        n = min(len(x), max(int(SPECTRUM_S * rate_hz), int(SHORT_SPECTRUM_PERIODS * rate_hz / f0_hz)))
        seg = np.asarray(x[-n:], dtype=np.float64)
        spec = np.abs(np.fft.rfft((seg - seg.mean()) * np.hanning(n), 4 * n))
        hz_per_bin = rate_hz / (4 * n)

        def peak_and_stretch(k: int) -> tuple[np.ndarray, np.ndarray]:
            f = k * f0_hz
            return (spec[int(0.97 * f / hz_per_bin) : int(1.03 * f / hz_per_bin) + 2],
                    spec[int((f - 0.5 * f0_hz) / hz_per_bin) : int((f + 0.5 * f0_hz) / hz_per_bin) + 1])
    elif periods >= 2.0:
        m = int(periods)
        seg = np.asarray(x[-int(round(m * rate_hz / f0_hz)) :], dtype=np.float64)
        spec = np.abs(np.fft.rfft(seg - seg.mean()))

        def peak_and_stretch(k: int) -> tuple[np.ndarray, np.ndarray]:
            return spec[k * m : k * m + 1], spec[k * m - m // 2 : k * m + m // 2 + 1]
    else:
        return np.full(harmonics, -120.0)
    peaks = np.full(harmonics, 1e-12)
    present = np.zeros(harmonics, dtype=bool)
    for k in range(1, harmonics + 1):
        if k * f0_hz < 0.45 * rate_hz:
            peak, stretch = peak_and_stretch(k)
            peaks[k - 1] = max(1e-12, float(peak.max()))
            present[k - 1] = peaks[k - 1] >= float(np.median(stretch)) * 10.0 ** (PARTIAL_PROMINENCE_DB / 20.0)
    levels = 20.0 * np.log10(peaks / peaks.max())
    return np.where(present, levels, -120.0)


def sounds_its_own_partials(x: np.ndarray, rate_hz: float, f0_hz: float) -> bool:
    """Whether a note whose period the sound repeats at sounds its fundamental, 5th or 7th harmonic. An organ's
    mixture on the named note (a 5 1/3' rank, a fifth above the named note's sub-octave) makes the sound repeat an
    octave below the named note with partials only at 2, 3, 4, 6, 8 times that lower note's f0: its pitch is still
    the named note. A note that truly sounds lower has at least one of the others."""
    levels = harmonic_levels_db(x, rate_hz, f0_hz)
    return bool(max(levels[k - 1] for k in OWN_PARTIALS) >= OWN_PARTIAL_DB)


def _key_peak(seg: np.ndarray, key_ratio: float) -> tuple[int, float] | None:
    """McLeod's rule on a stretch of NSDF: (index of the first positive local maximum reaching key_ratio of the
    highest one, that highest value), or None if the stretch has no positive local maximum."""
    peaks = np.flatnonzero((seg[1:-1] > seg[:-2]) & (seg[1:-1] >= seg[2:]) & (seg[1:-1] > 0)) + 1
    if not len(peaks):
        return None
    best = float(seg[peaks].max())
    return int(peaks[np.argmax(seg[peaks] >= key_ratio * best)]), best


def strongest_period(x: np.ndarray, rate_hz: float, lowest_midi: int, highest_midi: int, a4_hz: float = 440.0,
                     key_ratio: float = 0.9) -> PitchEstimate | None:
    """McLeod's whole-range pick: of the NSDF's local maxima between the periods of highest_midi and lowest_midi,
    the shortest lag whose peak reaches key_ratio of the highest, refined by parabolic interpolation on a copy
    upsampled only as far as naming a note needs: not for cents (estimate() near that note gives those)."""
    f_lo, f_hi = midi_to_hz(lowest_midi - 0.5, a4_hz), midi_to_hz(highest_midi + 0.5, a4_hz)
    measured = _nsdf_between(x, rate_hz, f_lo, f_hi, MIN_COARSE_LAG_SAMPLES, "HQ")
    if measured is None:
        return None
    curve, rate_hz, lag_lo, lag_hi = measured
    picked = _key_peak(curve[lag_lo : lag_hi + 1], key_ratio)
    if picked is None:
        return None
    i = lag_lo + picked[0]
    shift, _ = _parabolic(curve, i)
    return PitchEstimate(f0_hz=rate_hz / (i + shift), clarity=float(np.clip(curve[i], 0.0, 1.0)))


@dataclasses.dataclass(frozen=True)
class PeriodReading:
    """What the NSDF of a short window says about its period (`period_reading`)."""

    f0_hz: float
    clarity: float  # NSDF at the chosen period
    best_clarity: float  # the highest NSDF peak in the searched range (a longer period may be more periodic)
    rival_clarity: float | None  # the highest NSDF near 1/2, 1/3 and 2/3 of the period (an octave, twelfth or fifth
    # above), within the searched range; None if none is


RIVAL_RATIOS = (1 / 2, 1 / 3, 2 / 3)  # periods of the notes an octave, a twelfth and a fifth above


READING_PERIODS = 2.0  # period_reading's window holds at least this many of the longest period it reads


def period_reading(x: np.ndarray, rate_hz: float, f_lo_hz: float, f_hi_hz: float,
                   key_ratio: float = 0.9) -> PeriodReading | None:
    """McLeod's pick over a short window (the audio since an onset): of the NSDF's peaks after its first zero
    crossing with lags between 1/f_hi and 1/f_lo (at most 1/READING_PERIODS of the window: at least one whole
    period compared with the next), the shortest reaching key_ratio of the highest. None if the window is too short
    or has no such peak.

    x: (samples,) mono at rate_hz, all of it used. The f0 is coarse (a few cents): estimate() near its note gives
    the cents."""
    f_lo_hz = max(f_lo_hz, READING_PERIODS * rate_hz / max(len(x), 1))
    if f_lo_hz >= f_hi_hz:
        return None
    measured = _nsdf_of(x, rate_hz, f_lo_hz, f_hi_hz, MIN_COARSE_LAG_SAMPLES, "HQ")
    if measured is None:
        return None
    curve, rate_hz, lag_lo, lag_hi = measured
    crossed = np.flatnonzero(curve <= 0.0)
    if not len(crossed):
        return None
    start = max(lag_lo, int(crossed[0]))
    picked = _key_peak(curve[start : lag_hi + 1], key_ratio)
    if picked is None:
        return None
    i, best = start + picked[0], picked[1]
    shift, height = _parabolic(curve, i)
    lag = i + shift
    # Only rivals within the searched range count: above it there is no note to confuse this one with.
    rival = _near_lags(curve, lag, [r for r in RIVAL_RATIOS if rate_hz / (lag * r) <= f_hi_hz])
    return PeriodReading(f0_hz=rate_hz / lag, clarity=float(np.clip(height, 0.0, 1.0)), best_clarity=best,
                         rival_clarity=rival)


class Waveform:
    """The newest audio of one hop and the pitch measurements made on it: the note tracker asks, the measuring
    happens here, and each estimate near a note is made once a hop.

    audio: (samples,) mono at rate_hz, the newest last, long enough for the lowest note's window."""

    def __init__(self, audio: np.ndarray, rate_hz: float, a4_hz: float = 440.0):
        self.audio = audio
        self.rate_hz = rate_hz
        self.a4_hz = a4_hz
        self._near: dict[tuple[int, float], PitchEstimate | None] = {}

    def near(self, midi: int, semitones: float = SEARCH_SEMITONES) -> PitchEstimate | None:
        """estimate() within `semitones` of `midi`."""
        key = (midi, semitones)
        if key not in self._near:
            self._near[key] = estimate(self.audio, self.rate_hz, midi, self.a4_hz, semitones)
        return self._near[key]

    def octave_check(self, midi: int, lowest_midi: int, highest_midi: int, named) -> int:
        return octave_check(self.audio, self.rate_hz, midi, self.a4_hz, lowest_midi, highest_midi, named=named)

    def strongest_period(self, lowest_midi: int, highest_midi: int) -> PitchEstimate | None:
        return strongest_period(self.audio, self.rate_hz, lowest_midi, highest_midi, self.a4_hz)

    def sounds_its_own_partials(self, f0_hz: float, samples: int | None = None) -> bool:
        """sounds_its_own_partials() over the newest `samples` (default: as much as it reads)."""
        return sounds_its_own_partials(self.audio if samples is None else self.audio[-samples:], self.rate_hz, f0_hz)

    def period_since(self, samples: int, lowest_midi: int, highest_midi: int) -> PeriodReading | None:
        """period_reading() of the newest `samples` (the audio since an onset) for notes lowest_midi..highest_midi."""
        return period_reading(self.audio[-samples:] if samples > 0 else self.audio[:0], self.rate_hz,
                              midi_to_hz(lowest_midi - 0.5, self.a4_hz), midi_to_hz(highest_midi + 0.5, self.a4_hz))
