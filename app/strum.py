"""Strum tuning: every expected string's deviation at once, read from the partials that string sounds.

The preset (or the user's list) says which strings to expect, so each string is looked for only where its own
partials can lie: n f0 sqrt(1 + B n^2), n = 1, 2, ..., with f0 within SEARCH_CENTS of its target and B, the
string's inharmonicity, fitted per string. One Hann-windowed spectrum of the newest WINDOW_S at ANALYSIS_RATE_HZ
serves every string. Each hop, StringReader.read:

  1. Own partials: where no other expected string's partial can fall (every partial of the others counts, stretched
     by up to B_SHARE), the interpolated peak near where the partial should be, if it is a main lobe and stands
     SOUNDING_DB over the floor. A string that has partials of its own but sounds none of them is silent,
     whatever its shared partials hold: a muted E2 under a sounding B3, its third.
  2. With f0 known to a cent or so from those, the string's other partials are looked for within NEAR_CENTS of
     where its fit puts them, if no string not read yet can sound there; within a main lobe of another string's
     partial (but ESTABLISH_HZ or more from it), fitted jointly with it. More partials fit B, so that this string's
     partials under another string's are placed within a fraction of a hertz.
  3. Shared partials, for strings with too few of their own: the other strings' partials are placed where their
     fits put them, and this string's is the one frequency that, with them, best explains the complex spectrum
     there (least squares in the amplitudes, every candidate frequency scored at once). A string with no partial of
     its own (B3 and E4 over E2 in standard tuning: B3 = 3 x E2 within 2 cents, E4 = 4 x E2) comes last, and is
     read only once one of its partials stands ESTABLISH_HZ or more from every other string's; nearer than
     UNRESOLVED_HZ, a partial counts only if it is SHARE_EXCESS_DB louder than the others would make it there.
     This is what is done for strings an octave or a twelfth apart: while the upper string sits within a hertz or
     two of the lower one's partials, and their partials' inharmonicity does not set them apart, it cannot be told
     from the lower string's harmonics, and is not shown rather than shown as in tune. Beside one string sounding
     alone whose partials lie where its own do, it counts only if its loudest partial comes within LONE_SHARE_DB of
     that string's loudest: weaker, it is taken for an open string ringing in sympathy with the one plucked.
  4. f0 and B from a weighted fit of log(f_n / n) = log f0 + B n^2 / 2 over the partials found.

Every band a partial is looked for in (within SEARCH_CENTS or NEAR_CENTS of where it should be) reaches MARGIN_HZ
further, and a peak or joint fit beyond it is not taken. A string found with one partial alone, when it has
ONE_PARTIAL_OWN partials of its own or more (ONE_PARTIAL_OWN_SINCE_ONSET since an onset), is not shown: a plucked
string sounds several.

StrumAnalyzer streams audio at the device's rate, reads every hop, and gives each string's cents from its target in
the tuning, or None when it does not sound. After an onset (a level rise) it reads only the audio since the onset,
from SHORTEST_S on: a window that cuts a sound off spreads its partials, and shows strings that are not there
(meanwhile the strings keep their last reading, if it is at most HOLD_S old: a re-strum). Until
the onset has left the window by SETTLE_S, the strings with no partial of their own are read only from
NO_OWN_SHORTEST_S of audio on, from two partials or more, one standing ESTABLISH_SINCE_ONSET_BINS of the window's
bins from the others' (step 3's ESTABLISH_HZ is one bin of the whole window). Mode: "strum" when two or more strings
sound, "single" when one does, None when none (or the input is under the gate).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import soxr

from app.notes import midi_from_name, midi_to_hz, note_name, rounded

ANALYSIS_RATE_HZ = 16000
WINDOW_S = 0.40
HOP_S = 0.05
NFFT = 16384  # zero-padded: 0.98 Hz bins, for interpolation
MAX_PARTIAL_HZ = 5000.0
MAX_PARTIALS = 12
SEARCH_CENTS = 45.0  # a string is read within this much of its target
NEAR_CENTS = 8.0  # once a string's f0 is known, its further partials are looked for this near where it puts them
MARGIN_HZ = 1.0  # every band a partial is looked for in reaches this much further: a short window reads one to a bin
RESOLVE_HZ = 2.0 / WINDOW_S  # a Hann main lobe's half width: 5 Hz
SOUNDING_DB = 20.0  # a partial stands this far over the spectrum's floor ...
DYNAMIC_RANGE_DB = 50.0  # ... which lies at least this far under the loudest peak
MAIN_LOBE_DB = 8.0  # how far a peak's shape may fall 3/4 of a window bin either side and still be a main lobe
B_MAX = 2e-3  # a fitted inharmonicity above this is not believed (f0 from the partials' mean then)
B_SHARE = 2e-4  # how far other strings' partials may be stretched where a string looks for its own
# A string with fewer partials found is also read from its lowest JOINT_PARTIALS shared ones (step 3, which is also
# where a string found with one partial meets ONE_PARTIAL_OWN: at least 2, or it would skip step 3).
MIN_OWN_PARTIALS = 2
# A string read from one partial alone is not shown if it has this many partials of its own (where no other string's
# can fall) or more: a plucked string sounds several, and a lone peak there is a resonance or another sound ...
ONE_PARTIAL_OWN = 3
ONE_PARTIAL_OWN_SINCE_ONSET = 2  # ... and this many, read since an onset (the attack spreads a peak, and a lone one
# passes for a low string's partial)
JOINT_PARTIALS = 4
FINE_STEPS = 5  # the joint fit's fine grid: this many steps either side of its coarse best
JOINT_SHARE_DB = 6.0  # a joint fit's candidate this much weaker than the partials placed beside it is not there
CANCEL_DB = 1.0  # a joint fit's amplitude this far over the band's peak is one of a cancelling pair
ESTABLISH_HZ = 2.5  # a string with nothing of its own is read once a partial stands this far from the others' ...
# ... and, in a window since an onset (shorter, its sounds not yet steady), a main lobe's half width far: this many of
# its bins (rate / length), in a window of NO_OWN_SHORTEST_S or more
ESTABLISH_SINCE_ONSET_BINS = 2.0
NO_OWN_SHORTEST_S = 0.25
UNRESOLVED_HZ = 1.0  # ... and nearer than this, a partial is its only if SHARE_EXCESS_DB louder than theirs
SHARE_EXCESS_DB = 6.0
LONE_SHARE_DB = 10.0  # beside one string alone, a string with no partial of its own counts only this near its level
ONSET_RISE_DB = 6.0  # a block this much louder than the ONSET_REFERENCE_S before it is an onset ...
ONSET_REFERENCE_S = 0.1
SHORTEST_S = 0.2  # ... after which strings are read from the audio since it, once this much has come; until then
HOLD_S = 0.3  # the last reading stands, if no older than this (a re-strum would blank every row at its loudest)
SETTLE_S = 0.15
MIN_RATE_HZ = 8000.0
GATE_DBFS = -60.0  # under this level (the newest hop's RMS) no string sounds: the app's gate
STRING_MIN, STRING_MAX = 21, 96  # A0 to C7: strings with two partials under MAX_PARTIAL_HZ


def parse_strings(text: str) -> tuple[int, ...]:
    """'E2,A2,D3,G3,B3,E4' (commas or spaces) to MIDI notes, in that order. Raises ValueError with one line on an
    unknown name, an empty list or name ('E2,,A2'), a string out of range, or one given twice (a unison pair cannot be
    told apart)."""
    names = [n for n in text.replace(",", " ").split() if n]
    if not names:
        raise ValueError("no strings given: list them, e.g. --strings E2,A2,D3,G3,B3,E4")
    named = [bool(part.strip()) for part in text.split(",")]  # commas at either end are let pass
    if not all(named[named.index(True) : len(named) - named[::-1].index(True)]):
        raise ValueError(f"an empty string name between commas in {text!r}: is a string left out?")
    return check_strings(tuple(midi_from_name(n) for n in names))


def check_strings(strings: tuple[int, ...]) -> tuple[int, ...]:
    """The strings (MIDI), if strum tuning can read them; else ValueError with one line."""
    for midi in strings:
        if not STRING_MIN <= midi <= STRING_MAX:
            raise ValueError(f"string {note_name(midi)} is outside what strum tuning reads ({note_name(STRING_MIN)} "
                             f"to {note_name(STRING_MAX)})")
    twice = sorted({note_name(m) for m in strings if strings.count(m) > 1})
    if twice:
        raise ValueError(f"string {twice[0]} is given twice: strings in unison cannot be told apart")
    return tuple(strings)


def string_targets(tuning, strings, a4_hz: float) -> tuple[float, ...]:
    """Where each string should sound in `tuning` (an app.tuning.Tuning): its key's target, or for a scale of
    degrees the degree nearest its equal-tempered pitch. ValueError (one line) for a string whose key a keyboard
    mapping leaves out, or two strings that come out on one target."""
    targets = []
    for m in strings:
        try:
            targets.append(tuning.target_hz(m) if tuning.keyed else tuning.target(midi_to_hz(m, a4_hz)).target_hz)
        except KeyError:
            raise ValueError(f"string {note_name(m)} has no key in the tuning's keyboard mapping") from None
    for i, (m, f) in enumerate(zip(strings, targets)):
        for n, g in zip(strings[i + 1 :], targets[i + 1 :]):
            if abs(1200 * math.log2(f / g)) < 1.0:
                raise ValueError(f"strings {note_name(m)} and {note_name(n)} have one target in this tuning "
                                 f"({f:.2f} Hz): they cannot be told apart")
    return tuple(targets)


@dataclasses.dataclass(frozen=True)
class StringReading:
    target: str  # "E2"
    midi: int
    cents: float | None  # from the target; None when the string does not sound
    f0_hz: float | None
    sounding: bool
    # False: not read, but there is sound where it would be that the other strings' partials may explain (B3 and
    # E4 within a hertz or two of E2's): it may be sounding, and cannot be told apart; tune it alone
    resolved: bool = True

    def to_json(self) -> dict:
        return {"target": self.target, "midi": self.midi, "cents": rounded(self.cents, 1),
                "f0_hz": rounded(self.f0_hz, 2), "sounding": self.sounding, "resolved": self.resolved}


@dataclasses.dataclass(frozen=True)
class StrumResult:
    t_s: float
    mode: str | None  # "strum", "single" or None
    strings: tuple[StringReading, ...]
    held: bool = False  # the last reading, kept while a new sound is too short to read (HOLD_S)

    def to_json(self) -> dict:
        return {"t_s": round(self.t_s, 4), "mode": self.mode, "strings": [s.to_json() for s in self.strings],
                "held": self.held}


@dataclasses.dataclass
class _Partial:
    n: int
    hz: float
    level_db: float


def _dirichlet(theta: np.ndarray, n: int) -> np.ndarray:
    """sum_{k<n} exp(j theta k), the transform of n ones (n where theta is a multiple of 2 pi)."""
    den = 1.0 - np.exp(1j * theta)
    small = np.abs(den) < 1e-9
    return np.where(small, n, (1.0 - np.exp(1j * theta * n)) / np.where(small, 1.0, den))


@functools.lru_cache(maxsize=8)
def _hann(n: int) -> np.ndarray:
    return np.hanning(n)


KERNEL_BINS = 400  # the kernel table reaches this many bins either side (a joint fit's band is narrower)
KERNEL_STEPS = 64  # table points per bin: linear interpolation between them is exact to about 1e-4


@functools.lru_cache(maxsize=8)
def _kernel(n: int) -> np.ndarray:
    """The spectrum, at a bin d bins below it, of a unit complex sinusoid windowed by n points of Hann, for d from
    -KERNEL_BINS to +KERNEL_BINS in steps of 1/KERNEL_STEPS: the Hann window's closed form, half a rectangle's
    transform less a quarter of each of its two shifted copies."""
    d = np.arange(-KERNEL_BINS * KERNEL_STEPS, KERNEL_BINS * KERNEL_STEPS + 1) / KERNEL_STEPS
    theta = 2 * np.pi * d / NFFT
    alpha = 2 * np.pi / (n - 1)
    return 0.5 * _dirichlet(theta, n) - 0.25 * _dirichlet(theta + alpha, n) - 0.25 * _dirichlet(theta - alpha, n)


class _Spectrum:
    """The complex spectrum of one Hann-windowed window, and that window's transform for fitting sinusoids to it."""

    def __init__(self, x: np.ndarray, rate_hz: float):
        self.n = len(x)
        window = _hann(self.n)
        self.gain = float(np.sum(window))  # a unit sinusoid's peak in |X|
        self.rate_hz = rate_hz
        self.hz_per_bin = rate_hz / NFFT
        self.x = np.fft.rfft((x - x.mean()) * window, NFFT)
        self.mag_db = 20.0 * np.log10(np.abs(self.x) + 1e-12)
        # The floor: the spectrum's median, or DYNAMIC_RANGE_DB under its loudest peak if that is higher (a window's
        # leakage, the skirts of decaying partials and the sympathetic ringing in recorded samples lie down there).
        upto = self.mag_db[: int(MAX_PARTIAL_HZ / self.hz_per_bin)]
        self.floor_db = max(float(np.median(upto)), float(upto.max()) - DYNAMIC_RANGE_DB)

    def peak(self, lo_hz: float, hi_hz: float) -> tuple[float, float] | None:
        """(Hz, dB) of the highest point between lo_hz and hi_hz, interpolated on the log magnitude; None if it is not
        a local maximum (a neighbour's peak rising into the band), not a main lobe, or interpolated outside the
        band."""
        lo, hi = max(1, int(lo_hz / self.hz_per_bin)), min(len(self.mag_db) - 2, int(hi_hz / self.hz_per_bin) + 1)
        if hi <= lo:
            return None
        k = lo + int(np.argmax(self.mag_db[lo : hi + 1]))
        a, b, c = self.mag_db[k - 1 : k + 2]
        if not (b >= a and b >= c):
            return None
        d = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0
        # A sinusoid's peak is the window's main lobe, 4 window bins wide: 3/4 of a bin either side it is down only
        # ~3.5 dB. A side lobe of a louder peak nearby is a bin wide and has fallen far more there.
        side = round(0.75 * NFFT / self.n)
        if k - side < 0 or k + side >= len(self.mag_db) or (
                min(self.mag_db[k - side], self.mag_db[k + side]) < b - MAIN_LOBE_DB):
            return None
        hz = (k + d) * self.hz_per_bin
        if not lo_hz <= hz <= hi_hz:
            return None  # the band's edge bins are read whole, and a peak there may be interpolated past the band
        return hz, b - 0.25 * (a - c) * d

    def loudest(self, lo_hz: float, hi_hz: float) -> float:
        lo, hi = max(1, int(lo_hz / self.hz_per_bin)), int(hi_hz / self.hz_per_bin) + 1
        return float(self.mag_db[lo : hi + 1].max())

    def _responses(self, f_hz: np.ndarray, bins: np.ndarray) -> np.ndarray:
        """(bins, frequencies): the windowed spectrum of unit complex sinusoids at f_hz, at the given bins. It depends
        only on how many bins the frequency lies from the bin: read from _kernel's table, linearly interpolated."""
        table = _kernel(self.n)
        at = (np.asarray(f_hz)[None, :] * (NFFT / self.rate_hz) - bins[:, None] + KERNEL_BINS) * KERNEL_STEPS
        i = np.clip(at.astype(np.int64), 0, len(table) - 2)
        w = at - i
        return table[i] * (1.0 - w) + table[i + 1] * w

    def joint(self, lo_hz: float, hi_hz: float, known_hz: list[float]) -> tuple[float, float, float] | None:
        """(Hz, dB, Hz from the nearest known) of the one sinusoid between lo_hz and hi_hz that, with sinusoids at
        known_hz (amplitudes unknown), best explains the complex spectrum around it (least squares). With the known
        ones projected out, a candidate r explains |r^H P y|^2 / |P r|^2 of what is left, so every candidate is
        scored at once. None when it lies outside lo_hz..hi_hz or comes out more than JOINT_SHARE_DB under the
        strongest known one; 0 Hz from the nearest when it is one of a cancelling pair."""
        span = 0.5 * (hi_hz - lo_hz) + RESOLVE_HZ
        centre = 0.5 * (lo_hz + hi_hz)
        bins = np.arange(max(1, int((centre - span) / self.hz_per_bin)), int((centre + span) / self.hz_per_bin) + 2)
        y = self.x[bins]
        q = None
        if known_hz:
            q, _ = np.linalg.qr(self._responses(np.asarray(known_hz), bins))
            y = y - q @ (q.conj().T @ y)

        def best(grid: np.ndarray) -> tuple[int, np.ndarray]:
            r = self._responses(grid, bins)
            if q is not None:
                r = r - q @ (q.conj().T @ r)
            score = np.abs(r.conj().T @ y) ** 2 / (np.sum(np.abs(r) ** 2, axis=0) + 1e-30)
            return int(np.argmax(score)), score

        # Coarse, a fifth of a window bin apart (the score's peak is a main lobe 4 window bins wide), then fine
        # around the best, then a parabola through the fine grid's top three.
        coarse_step = 0.2 * self.rate_hz / self.n
        i, _ = best(np.arange(lo_hz, hi_hz + coarse_step, coarse_step))
        fine_step = coarse_step / FINE_STEPS
        grid = lo_hz + i * coarse_step + fine_step * np.arange(-FINE_STEPS, FINE_STEPS + 1)
        j, score = best(grid)
        d = 0.0
        if 0 < j < len(grid) - 1:
            a, b, c = score[j - 1 : j + 2]
            d = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0
        f = float(grid[j] + d * fine_step)
        if not lo_hz <= f <= hi_hz:
            return None  # the grids reach a coarse step under the band and up to two over it
        k = self._responses(np.asarray(known_hz), bins) if known_hz else None
        # All amplitudes at once, to weigh the candidate against the known ones: a string that does not sound still
        # takes what the others' slightly misplaced partials leave over, but much less than they hold.
        a = np.concatenate([self._responses(np.array([f]), bins), k], axis=1) if known_hz else self._responses(
            np.array([f]), bins)
        coef = np.abs(np.linalg.lstsq(a, self.x[bins], rcond=None)[0]) * self.gain
        ceiling = float(self.mag_db[bins].max())
        raw = 20.0 * math.log10(coef[0] + 1e-12)
        level = min(raw, ceiling)
        if len(coef) > 1 and level < min(20.0 * math.log10(coef[1:].max() + 1e-12), ceiling) - JOINT_SHARE_DB:
            return None
        # Two sinusoids nearer than the window resolves, fitted with large opposite amplitudes that cancel, are how
        # least squares explains one partial that is not quite a steady sinusoid (it decays, or sits a little off
        # where its string's fit puts it): the candidate's frequency then means nothing.
        apart = min((abs(f - g) for g in known_hz), default=math.inf) if raw <= ceiling + CANCEL_DB else 0.0
        return f, level, apart


def _band(f_hz: float, cents: float) -> tuple[float, float]:
    """Where a partial expected at f_hz is looked for: within `cents` of it, plus MARGIN_HZ either side. A peak or
    joint fit beyond is not taken."""
    ratio = 2 ** (cents / 1200)
    return f_hz / ratio - MARGIN_HZ, f_hz * ratio + MARGIN_HZ


def _level_at(partials: list[_Partial], n: int) -> float:
    """A string's level (dB) at partial n, from the partials found: a tilt in dB per octave of partial number fitted
    through them (one partial: flat)."""
    if len(partials) < 2:
        return partials[0].level_db
    x = np.log2([p.n for p in partials])
    tilt, offset = np.polyfit(x, [p.level_db for p in partials], 1)
    return float(offset + tilt * math.log2(n))


def _fit_f0(partials: list[_Partial]) -> tuple[float, float]:
    """(f0, B) from partials by weighted least squares on log(f_n / n) = log f0 + B n^2 / 2; B is 0 with fewer than
    three partials (or a fit outside 0..B_MAX)."""
    n = np.array([p.n for p in partials], dtype=np.float64)
    y = np.log(np.array([p.hz for p in partials]) / n)
    w = 10.0 ** (np.array([p.level_db for p in partials]) / 20.0)
    if len(partials) >= 3:
        a = np.stack([np.ones_like(n), 0.5 * n**2], axis=1) * w[:, None]
        (log_f0, b), *_ = np.linalg.lstsq(a, y * w, rcond=None)
        if 0.0 <= b <= B_MAX:
            return math.exp(log_f0), float(b)
    return math.exp(float(np.sum(w * y) / np.sum(w))), 0.0




class StringReader:
    """Reads expected strings from windows of audio at rate_hz. Which partials each string shares with another is
    worked out once, from the targets."""

    def __init__(self, targets_hz, rate_hz: float, top_hz: float | None = None):
        self.targets_hz = tuple(targets_hz)
        self.rate_hz = rate_hz
        self.top_hz = min(MAX_PARTIAL_HZ, 0.45 * rate_hz, top_hz or math.inf)
        self.reach = 2 ** (SEARCH_CENTS / 1200)
        # (n, f, shared): whether another string's partial can fall where this one is looked for. Every partial of
        # the others counts, not only the MAX_PARTIALS each string is read from, stretched by up to B_SHARE.
        reach = self.reach
        others = [[(n * g / reach, n * g * reach * math.sqrt(1 + B_SHARE * n * n))
                   for n in range(1, int(self.top_hz * reach / g) + 1)] for g in self.targets_hz]
        self.nominal = [[(n, f, any(lo - RESOLVE_HZ < f * reach and f / reach < hi + RESOLVE_HZ
                                    for j, ranges in enumerate(others) if j != i for lo, hi in ranges))
                         for n, f in self.partials(f0)] for i, f0 in enumerate(self.targets_hz)]
        self.own_count = [sum(not shared for _, _, shared in ps) for ps in self.nominal]
        self.owned = [count > 0 for count in self.own_count]

    def partials(self, f0: float, b: float = 0.0, most: int | None = MAX_PARTIALS) -> list[tuple[int, float]]:
        """(n, f_n) of the partials under top_hz: the first `most` (those a string is read from), or all of them."""
        count = most if most is not None else math.ceil(self.top_hz / f0)
        return [(n, n * f0 * math.sqrt(1 + b * n * n)) for n in range(1, count + 1) if n * f0 < self.top_hz]

    @staticmethod
    def _placement_error_hz(found: list[_Partial], f0: float, n: int) -> float:
        """How far partial n of a string may lie from where its fit puts it, if its inharmonicity is B_SHARE more
        than its measured partials showed: nothing within their range, growing as n^3 beyond it."""
        top = max(p.n for p in found)
        return 0.0 if n <= top else 0.5 * n * f0 * B_SHARE * (n * n - top * top)

    @staticmethod
    def _beside(placed: list[list[tuple[int, float]]], i: int, f_hz: float,
                span: float) -> list[tuple[int, int, float]]:
        """(string, n, Hz) of the other strings' placed partials within a main lobe of where string i's partial may
        lie (f_hz, within a factor span, and MARGIN_HZ further, as _band's search)."""
        return [(j, m, g) for j, ps in enumerate(placed) if j != i for m, g in ps
                if abs(g - f_hz) < 2 * RESOLVE_HZ + f_hz * (span - 1) + MARGIN_HZ]

    def _pending_may_sound(self, f_hz: float, i: int, pending: set[int]) -> bool:
        """Whether a partial of a string other than i that is not read, and may sound (it has no partial of its own
        to tell), may lie at f_hz."""
        return any(f / self.reach - RESOLVE_HZ < f_hz < f * self.reach + RESOLVE_HZ
                   for j in pending if j != i for _, f, _ in self.nominal[j])

    def read(self, x: np.ndarray, whole: bool = True) -> list[tuple[float | None, float, bool]]:
        """Each string's (f0, or None where it is not read; its strongest partial's level in dB over the spectrum's
        floor; whether, not read, it may be sounding but cannot be told from the others), from a window of audio at
        rate_hz. Not `whole` (read since an onset, until it has left the window by SETTLE_S): a string with no partial
        of its own is read only from a window of NO_OWN_SHORTEST_S or more, with a partial ESTABLISH_SINCE_ONSET_BINS
        of the window's bins from the others' and two partials found; one with partials of its own found with one
        partial needs only ONE_PARTIAL_OWN_SINCE_ONSET of its own to be left out."""
        spectrum = _Spectrum(np.asarray(x, dtype=np.float64), self.rate_hz)
        establish_hz = ESTABLISH_HZ if whole else ESTABLISH_SINCE_ONSET_BINS * self.rate_hz / len(x)
        found: list[list[_Partial]] = [[] for _ in self.targets_hz]
        for i, ps in enumerate(self.nominal):  # 1. each string's own partials
            for n, f, shared in ps:
                peak = None if shared else spectrum.peak(*_band(f, SEARCH_CENTS))
                if peak is not None and peak[1] - spectrum.floor_db >= SOUNDING_DB:
                    found[i].append(_Partial(n, *peak))
        fits = [_fit_f0(p) if p else None for p in found]
        # Strings not read yet that may sound: those with no partial of their own. One that has some and sounds none
        # is silent.
        pending = {i for i, owned in enumerate(self.owned) if not owned}
        # 2. Further partials near where each fit puts them: none where a string not yet read may sound, and none
        # nearer than ESTABLISH_HZ to another fitted string's partial.
        near = 2 ** (NEAR_CENTS / 1200)
        placed = [self.partials(*fit) if fit else [] for fit in fits]
        for i, fit in enumerate(fits):
            if fit is None:
                continue
            have = {p.n for p in found[i]}
            for n, g in placed[i]:
                if n in have or self._pending_may_sound(g, i, pending):
                    continue
                beside = [h for _, _, h in self._beside(placed, i, g, near)]
                if any(abs(h - g) < ESTABLISH_HZ for h in beside):
                    continue  # too near another string's partial to tell the two apart
                if any(abs(h - g) < 2 * RESOLVE_HZ for h in beside):
                    # Within a main lobe of another string's partial, a peak is pulled towards it: fitted beside it.
                    fitted = spectrum.joint(*_band(g, NEAR_CENTS), beside)
                    if fitted is None or fitted[2] < ESTABLISH_HZ:
                        continue
                    peak = fitted[:2]
                else:
                    peak = spectrum.peak(*_band(g, NEAR_CENTS))
                if peak is not None and peak[1] - spectrum.floor_db >= SOUNDING_DB:
                    found[i].append(_Partial(n, *peak))
            fits[i] = _fit_f0(found[i])
        # 3. Too few of its own: its lowest shared partials, the others' placed. Strings with no partial of their own
        # come last, with every other string placed; one with partials of its own that sounds none is silent.
        # Beside one string sounding alone (of those with partials of their own), such a string whose partials all lie
        # near the lone string's counts only within LONE_SHARE_DB of the lone string's loudest partial: much weaker,
        # it is taken for an open string ringing in sympathy with the one plucked (as a soundfont's samples and a real
        # guitar's open strings do), and a string plucked alone is not a strum.
        for i in sorted(range(len(self.nominal)), key=lambda i: not self.owned[i]):
            ps = self.nominal[i]
            wary = not (whole or self.owned[i])  # nothing of its own, and the window since an onset
            if len(found[i]) >= MIN_OWN_PARTIALS or (self.owned[i] and not found[i]) or (
                    wary and len(x) < NO_OWN_SHORTEST_S * self.rate_hz):
                continue
            own = {p.n for p in found[i]}
            estimate = fits[i][0] if fits[i] else self.targets_hz[i]
            others = [self.partials(*fit) if fit is not None and j != i else [] for j, fit in enumerate(fits)]
            for n, _, _ in ps[:JOINT_PARTIALS]:
                f = n * estimate
                if n in own or (not found[i] and self._pending_may_sound(f, i, pending)):
                    continue  # a string not read yet may sound there: nothing to tell this string by
                # The first partial found is looked for across the whole search; the next ones near where it puts them.
                cents = NEAR_CENTS if found[i] else SEARCH_CENTS
                band = _band(f, cents)
                near_known = self._beside(others, i, f, 2 ** (cents / 1200))
                known = [g for _, _, g in near_known]
                peak = spectrum.joint(*band, known) if known else spectrum.peak(*band)
                apart = math.inf
                if known and peak is not None:
                    *peak, apart = peak
                if peak is not None and not found[i] and any(
                        abs(peak[0] - g) < establish_hz + self._placement_error_hz(found[j], fits[j][0], m)
                        for j, m, g in near_known):
                    # Nothing of its own tells this string from its neighbours' partials yet: not this one either.
                    continue
                if peak is not None and apart < UNRESOLVED_HZ:
                    # Too near a neighbour's partial to tell apart: this string's only if the peak is louder than
                    # the neighbours' partials alone would make it, judged from the levels of their own partials
                    # (else it is theirs: this string muted, or ringing in sympathy).
                    expected = 10 * math.log10(sum(10 ** (_level_at(found[j], m) / 10) for j, m, _ in near_known))
                    if spectrum.loudest(*band) < expected + SHARE_EXCESS_DB:
                        continue
                if peak is not None and peak[1] - spectrum.floor_db >= SOUNDING_DB:
                    found[i].append(_Partial(n, *peak))
                    estimate = _fit_f0(found[i])[0]
            if not self.owned[i] and found[i]:
                # Those with partials of their own come first, so which of them sound is settled by now.
                sounding = [j for j, owned in enumerate(self.owned) if owned and fits[j] is not None]
                if len(sounding) == 1 and self._in_sympathy(found[i], found[sounding[0]], fits[sounding[0]]):
                    found[i] = []
            if len(found[i]) == 1 and (
                    wary or self.own_count[i] >= (ONE_PARTIAL_OWN if whole else ONE_PARTIAL_OWN_SINCE_ONSET)):
                found[i] = []  # one partial of several of its own, or of none since an onset: not this string
            fits[i] = _fit_f0(found[i]) if found[i] else None
            if fits[i] is not None:  # one not read may still sound: it was not told apart, not heard silent
                pending.discard(i)
        return [(None if fit is None else fit[0], max((p.level_db for p in ps), default=spectrum.floor_db)
                 - spectrum.floor_db, fit is None and self._heard_unread(spectrum, i))
                for i, (fit, ps) in enumerate(zip(fits, found))]

    def _in_sympathy(self, partials: list[_Partial], lone: list[_Partial], fit: tuple[float, float]) -> bool:
        """Whether a string with no partial of its own, its partials found, may be ringing in sympathy with the one
        string sounding alone (its partials found, and their fit): every partial near one of the lone string's, and
        the loudest more than LONE_SHARE_DB under the lone string's loudest."""
        placed = [g for _, g in self.partials(*fit, most=None)]  # every partial it may sound, not only those read
        return all(any(abs(g - p.hz) < g * (self.reach - 1) + RESOLVE_HZ for g in placed) for p in partials) and (
            max(p.level_db for p in partials) < max(p.level_db for p in lone) - LONE_SHARE_DB)

    def _heard_unread(self, spectrum: _Spectrum, i: int) -> bool:
        """Whether string i, with no partial of its own and not read, has sound where its fundamental would be: it
        may be sounding, but cannot be told from the other strings' partials there."""
        if self.owned[i]:
            return False
        f = self.targets_hz[i]
        return spectrum.loudest(f / self.reach, f * self.reach) - spectrum.floor_db >= SOUNDING_DB


class StrumAnalyzer:
    """Streams audio at a device's rate; every hop, each expected string's reading and the mode. Not thread-safe."""

    def __init__(self, strings, rate_hz: float, targets_hz=None, a4_hz: float = 440.0, hop_s: float = HOP_S,
                 gate_dbfs: float = GATE_DBFS):
        """strings: MIDI notes, in the order to report them (parse_strings); targets_hz: where each should sound in
        the tuning (default: equal temperament at a4_hz)."""
        self.strings = tuple(strings)
        if not self.strings:
            raise ValueError("no strings to tune")
        self.targets_hz = tuple(targets_hz) if targets_hz is not None else tuple(midi_to_hz(m, a4_hz) for m in strings)
        self.rate_hz = float(rate_hz)
        if not self.rate_hz >= MIN_RATE_HZ:
            raise ValueError(f"strum tuning needs audio at {MIN_RATE_HZ:g} Hz or more, got {self.rate_hz:g} Hz")
        self.hop_samples = max(1, round(hop_s * rate_hz))
        self.gate_dbfs = gate_dbfs
        self._resampler = soxr.ResampleStream(self.rate_hz, ANALYSIS_RATE_HZ, 1, dtype="float32")
        # A device rate under twice ANALYSIS_RATE_HZ's band carries partials only up to its own Nyquist share.
        self._reader = StringReader(self.targets_hz, ANALYSIS_RATE_HZ,
                                    top_hz=0.45 * min(self.rate_hz, ANALYSIS_RATE_HZ))
        self._audio = np.zeros(int(WINDOW_S * ANALYSIS_RATE_HZ), np.float32)
        self._newest = np.zeros(0, np.float32)  # the newest hop at rate_hz, for the gate
        self._samples = 0
        self._read_at = 0  # push: self._samples when the last reading was due
        self._since_onset = len(self._audio)  # samples at ANALYSIS_RATE_HZ since the last onset (a level rise)
        self._last: StrumResult | None = None
        self._read_s = -math.inf  # stream time of the last reading of a string sounding

    def fresh(self) -> StrumAnalyzer:
        """The same analyzer with nothing heard yet (after a gap in the audio)."""
        return StrumAnalyzer(self.strings, self.rate_hz, self.targets_hz, hop_s=self.hop_samples / self.rate_hz,
                             gate_dbfs=self.gate_dbfs)

    def feed(self, audio: np.ndarray):
        """Results for a recording fed hop by hop, as a microphone would feed it."""
        for start in range(0, len(audio), self.hop_samples):
            yield self.process(audio[start : start + self.hop_samples])

    def process(self, block: np.ndarray) -> StrumResult:
        """Take a block of mono audio at rate_hz (the newest after all before) and read the strings."""
        self._take(block)
        return self._read()

    def push(self, block: np.ndarray) -> StrumResult | None:
        """Take a block of any length (the live engine's 20 ms hops); read the strings once a hop_samples of audio
        has come since the last reading was due, else give the last reading again (None before the first)."""
        self._take(block)
        if self._samples - self._read_at >= self.hop_samples:
            due = self._read_at + self.hop_samples  # one reading per hop_samples on average, whatever the blocks
            result = self._read()
            self._read_at = max(due, self._samples - self.hop_samples)
            return result
        return self._last

    def _take(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float32)
        y = self._resampler.resample_chunk(block)
        if len(y):
            before = self._audio[-int(ONSET_REFERENCE_S * ANALYSIS_RATE_HZ) :]
            rise = np.mean(np.square(y, dtype=np.float64)) > 10 ** (ONSET_RISE_DB / 10) * (
                np.mean(np.square(before, dtype=np.float64)) + 1e-12)
            self._since_onset = len(y) if rise else self._since_onset + len(y)
            self._audio = np.concatenate([self._audio[len(y) :], y])[-len(self._audio) :]
        self._samples += len(block)
        self._newest = block[-self.hop_samples :] if len(block) >= self.hop_samples else np.concatenate(
            [self._newest, block])[-self.hop_samples :]

    def _read(self) -> StrumResult:
        newest = self._newest
        level = 10 * math.log10(float(np.mean(np.square(newest, dtype=np.float64))) + 1e-20) if len(newest) else -200.0
        readings = [(None, 0.0, False)] * len(self.strings)
        # A sound that began inside the window is read from its onset on (a window truncated by the onset spreads
        # every partial and shows strings that are not there), once SHORTEST_S of it has come; in whole hops of
        # audio, so that few window lengths occur.
        # Until the onset has left the window by SETTLE_S more, the strings with no partial of their own need more to
        # be read (StringReader.read's `whole`): a partial of their neighbour's still swelling or settling there is
        # hertz off where its fit puts it.
        since = self._since_onset
        if level >= self.gate_dbfs and since >= len(self._audio) + SETTLE_S * ANALYSIS_RATE_HZ:
            readings = self._reader.read(self._audio)
        elif level >= self.gate_dbfs and since >= SHORTEST_S * ANALYSIS_RATE_HZ:
            step = int(HOP_S * ANALYSIS_RATE_HZ)
            readings = self._reader.read(self._audio[-min(since // step * step, len(self._audio)) :], whole=False)
        elif level >= self.gate_dbfs and self._samples / self.rate_hz - self._read_s <= HOLD_S + 1e-9:
            # A new sound, too little of it to read yet, over strings that were sounding a moment ago (a re-strum,
            # a re-pluck): they keep their last reading until it can be read.
            self._last = dataclasses.replace(self._last, t_s=self._samples / self.rate_hz, held=True)
            return self._last
        strings = []
        for midi, target, (f0, _, unsure) in zip(self.strings, self.targets_hz, readings):
            cents = None if f0 is None else 1200.0 * math.log2(f0 / target)
            if cents is not None and abs(cents) > SEARCH_CENTS:  # a fit pulled past the search: not this string
                cents = None
            strings.append(StringReading(note_name(midi), midi, cents, None if cents is None else f0, cents is not None,
                                         resolved=not unsure))
        count = sum(s.sounding for s in strings)
        mode = "strum" if count >= 2 else "single" if count == 1 else None
        self._last = StrumResult(self._samples / self.rate_hz, mode, tuple(strings))
        if mode is not None:
            self._read_s = self._last.t_s
        return self._last
