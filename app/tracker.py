"""The note on display: one tracker with named states decides it, from the model's verdicts and the waveform.

States (`State`):
  NONE         nothing is shown.
  PROVISIONAL  a note is shown that no verdict has borne out yet: one the waveform alone names right after an
               onset (a clear or steady period, not mains hum's, sounding partials of its own, with no octave,
               twelfth or fifth above or below it as likely), or one the waveform moved to (the pitch left the shown
               note's margin).
  CONFIRMED    a note a verdict bore out.

A *verdict* is the model's note fused with the waveform (`_verdict`): the waveform names the note within a few
semitones of the model's, sets an octave, twelfth or fifth mistake right (`app.pitch.octave_check`), and where
the model's region holds nothing periodic, the one clear period over the whole range may take its place.
Hysteresis (`_apply`): a new note must lead `switch_verdicts` verdicts in a row unless the model is sure of it at
once; "no note" must lead `release_verdicts` in a row before a note is let go. Right after an onset the model
often names no note yet (about 100 ms of a new note must be in its patch), so a provisional note the waveform
still carries clearly stands through "no note" for the onset window. A confirmed note the model names, with its
own partials sounding, is not moved up an octave by the waveform alone.

Between verdicts the waveform carries the note (`_fine`): each hop measures the shown note's f0 (the cents) and
moves the note when the pitch leaves its margin. For `onset_window_s` after an onset, until a verdict confirms a
note, each hop also reads the period of the audio since the onset (`_listen`): a clear one shows a provisional
note at once, and keeps the model asked while it names none. Below the noise gate nothing is shown and the model
does not run.

When the model runs (`model_due`), unless `every_hop`:
  - `confirm_s` after an onset (the model names a new note once about that much of it is in its patch), no later
    than the heartbeat;
  - `recheck_s` after the last verdict when a verdict named no note or another note than the shown one, when the
    waveform moved the note or is unclear under it, and after an onset while the model names no note and the
    audio since the onset has a clear period (without one: once more, 2 × recheck_s later);
  - when the octave or twelfth above the shown note repeats as well and the note's own partials are gone (looked
    for every `above_check_s` at most): the sound has moved up;
  - `heartbeat_s` after the last verdict while the gate is open (a held note is confirmed at that rate).

Every change of the shown note goes through `_show`. Not thread-safe: one owner (the Analyzer) calls it.
"""

from __future__ import annotations

import dataclasses
import enum
import math

import numpy as np

from app import pitch
from app.notes import NOTE_MAX, NOTE_MIN, hz_to_midi

EPS_S = 1e-6  # stream times are sums of hop lengths: compare with a little slack


class State(enum.Enum):
    NONE = "none"
    PROVISIONAL = "provisional"
    CONFIRMED = "confirmed"


@dataclasses.dataclass(frozen=True)
class TrackerParams:
    # Verdicts: hysteresis.
    switch_verdicts: int = 2  # a new note must lead this many verdicts in a row ...
    switch_prob: float = 0.85  # ... unless the model is this sure of it at once
    release_verdicts: int = 2  # "no note" must lead this many verdicts in a row before a confirmed note goes
    # The waveform (NSDF clarity, 0..1).
    reliable_clarity: float = 0.6  # below: not one periodic sound (a note change, noise): no cents, moves no note
    whole_range_clarity: float = 0.8  # a period found over the whole range overrules the model's region only if this clear
    margin_cents: float = 3.0  # the nearest note is named, with this much hysteresis at ±50 cents
    unheard_belief: float = 0.5  # the model's belief in a note it has not heard yet, for the confidence
    above_ratio: float = pitch.UP_RATIO  # a note an octave or twelfth above the shown one this nearly as periodic ...
    above_check_s: float = 0.100  # ... and the shown note's own partials gone (checked this often): the sound has
    # moved up (a note's period repeats under the note above it too), and the model is asked
    # When the model runs.
    every_hop: bool = False  # at every hop, as before the fast path (kept to compare the two on the same files)
    confirm_s: float = 0.090  # after an onset
    recheck_s: float = 0.040  # after a verdict that disagrees, a move by the waveform, or while the waveform is unclear
    heartbeat_s: float = 0.500  # while the gate is open
    # After an onset, until a verdict confirms a note: the audio since the onset.
    onset_window_s: float = 0.400  # read this long after an onset
    read_s: float = 0.100  # at most its newest this long (three periods of B0; two are read from 65 ms on)
    provisional_s: float = 0.200  # a provisional note may be shown this long after an onset ...
    provisional_clarity: float = 0.85  # ... if its period's NSDF peak reaches this, or if the hop before read the
    # same note with reliable_clarity and this one reaches steady_clarity with the NSDF an octave, twelfth or fifth
    # above it below steady_rival_clarity (a slow attack, a piano's beating unisons: the period firms up slowly);
    steady_clarity: float = 0.70
    steady_rival_clarity: float = 0.40
    provisional_rival_clarity: float = 0.80  # and the NSDF an octave, twelfth or fifth above it stays below this,
    provisional_best_margin: float = 0.03  # no longer period is more periodic by more than this,
    # and the note sounds partials of its own (app.pitch.sounds_its_own_partials: not an organ mixture's).
    # Mains hum is periodic too. Never shown before the model has spoken: a period of mains_hz or its 2nd to 4th
    # harmonic, within mains_tolerance; within mains_coarse_tolerance while the reading spans fewer than
    # mains_periods periods (a reading of two or three periods since an onset can be a few percent off); and
    # within mains_coarse_tolerance of mains_hz itself always (there a reading spans few periods for long).
    mains_hz: tuple[float, ...] = (50.0, 60.0)
    mains_tolerance: float = 0.005  # ±9 cents
    mains_coarse_tolerance: float = 0.04  # ±68 cents
    mains_periods: float = 4.0

    def __post_init__(self):
        if self.switch_verdicts < 1 or self.release_verdicts < 1:
            raise ValueError(f"switch_verdicts and release_verdicts must be at least 1, got {self.switch_verdicts}, "
                             f"{self.release_verdicts}")
        for name in ("confirm_s", "recheck_s", "heartbeat_s", "onset_window_s", "read_s", "provisional_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")


@dataclasses.dataclass(frozen=True)
class Verdict:
    """The model's note fused with the waveform at one hop."""

    midi: int | None  # the note (MIDI at the reference A4), or None for no note
    at_once: bool  # the model is sure and the waveform agrees: no second verdict needed to switch
    model_midi: int | None  # the model's own top class (MIDI at 440 Hz), before fusion
    probs: np.ndarray  # the model's output
    measured: dict  # MIDI -> pitch estimate made while fusing, reused for that note's cents this hop


@dataclasses.dataclass(frozen=True)
class Reading:
    """What the tracker shows after a hop."""

    midi: int | None
    cents: float | None
    f0_hz: float | None
    confidence: float
    state: State
    model_midi: int | None  # the model's top class at its last verdict


class NoteTracker:
    def __init__(self, class_midi: list[int | None], a4_hz: float = 440.0, params: TrackerParams = TrackerParams(),
                 notes: tuple[int, int] = (NOTE_MIN, NOTE_MAX), heard_top: int | None = None):
        """class_midi: the model's classes as MIDI notes at 440 Hz (None: no note). notes: the lowest and highest
        note it may show and search the waveform for, at a4_hz (the input's rate may carry fewer than the app
        names: pitch.highest_midi); a model's classes may cover fewer. heard_top: the highest note whose period
        the rate still holds, above the highest shown: a tone between is not shown at all, rather than an octave
        low (an A7 at 8 kHz, whose period also repeats at A6's)."""
        self.params = params
        self.a4_hz = a4_hz
        self._class_midi = class_midi
        self._class_of = {m: i for i, m in enumerate(class_midi) if m is not None}  # MIDI at 440 Hz -> class index
        self._none_class = class_midi.index(None) if None in class_midi else None
        self._lo, self._hi = notes
        self._heard_top = self._hi if heard_top is None else max(heard_top, self._hi)
        # The model knows 440 Hz tuning only; its class midi plus this offset is the nearest note at a4_hz.
        self._a4_offset = 12.0 * math.log2(440.0 / a4_hz)
        self.verdicts = 0  # model calls so far
        self.shown: int | None = None  # the note on display (MIDI at a4_hz); changed only by _show
        self.state = State.NONE
        self.silence()

    # -- the shown note: its one home ------------------------------------------------------------
    def _show(self, midi: int | None, state: State) -> None:
        """Every change of the shown note or its state goes through here."""
        if midi is None:
            state = State.NONE
        if midi != self.shown:
            self._in_margin = False
            self._above_checked_s = -math.inf
            self._candidate, self._candidate_count = None, 0
        self.shown, self.state = midi, state

    @property
    def stable(self) -> bool:
        return self.state is State.CONFIRMED

    def silence(self) -> None:
        """Below the gate: no note, and no verdict until the gate opens again."""
        self._show(None, State.NONE)
        self._in_margin = False  # the last f0 measured lay within the shown note's ±(50 + margin) cents
        self._above_checked_s = -math.inf  # when the shown note's own partials were last looked for
        self._carried = False  # the last hop measured the shown note's f0 with provisional_clarity
        self._candidate: int | None = None
        self._candidate_count = 0
        self._none_count = 0
        self._probs: np.ndarray | None = None  # the last verdict's probabilities
        self._probs_fresh = False  # ... given since the last onset
        self._model_midi: int | None = None
        self.gate_open = False  # a hop above the gate since the last silence()
        self._gate_opened_s = math.inf  # when it opened
        self._due_s = math.inf  # when the model is next wanted
        self._last_verdict_s = -math.inf
        self._onset_s: float | None = None  # the last onset, until a verdict confirms a note or onset_window_s passes
        self._heard = False  # the audio since that onset has had a clear period
        self._read_midi: int | None = None  # the note the last hop read since that onset with reliable_clarity

    # -- when the model runs ---------------------------------------------------------------------
    def _request(self, at_s: float) -> None:
        self._due_s = min(self._due_s, at_s)

    def _recheck(self) -> None:
        """A verdict as soon as the last one is recheck_s old (now, if it is already)."""
        self._request(self._last_verdict_s + self.params.recheck_s)

    def onset(self, t_s: float) -> None:
        """A new sound began at stream time t_s (a level rise, a spectral change, the gate opening)."""
        if not self.gate_open:
            self.gate_open, self._gate_opened_s = True, t_s
        if self.params.every_hop:
            return  # the model runs at every hop anyway
        self._onset_s = t_s
        self._heard = False
        self._read_midi = None
        self._probs_fresh = False  # no verdict has heard this sound yet
        self._none_count = 0  # what the model said before the onset was of another sound
        # Its confirmation replaces what was asked of the sound before, but comes no later than the heartbeat (onsets
        # that keep coming, a trill or babble, must not keep the model from running, from the gate's opening on).
        heartbeat_s = max(self._last_verdict_s, self._gate_opened_s) + self.params.heartbeat_s
        self._due_s = min(t_s + self.params.confirm_s, heartbeat_s)

    def model_due(self, t_s: float) -> bool:
        """Whether the hop ending at t_s needs a verdict (above the gate)."""
        return self.params.every_hop or t_s + EPS_S >= self._due_s

    # -- one hop -----------------------------------------------------------------------------------
    def step(self, t_s: float, wave: pitch.Waveform, probs: np.ndarray | None) -> Reading:
        """One hop above the gate, ending at stream time t_s; probs: the model's output if it ran this hop."""
        p = self.params
        if self._onset_s is not None and t_s - self._onset_s > p.onset_window_s + EPS_S:
            self._onset_s = None
        measured = {}
        if probs is not None:
            verdict = self._verdict(probs, wave)
            measured = verdict.measured
            self._apply(verdict, t_s)
        if self._onset_s is not None and not p.every_hop:
            self._listen(t_s, wave)
        return self._fine(t_s, wave, measured)

    def _verdict(self, probs: np.ndarray, wave: pitch.Waveform) -> Verdict:
        """The model's note, fused with the waveform."""
        p = self.params
        top = int(np.argmax(probs))
        model_midi = self._class_midi[top]
        prob = float(probs[top])
        if model_midi is None:
            return Verdict(None, False, None, probs, {})
        hint = int(round(model_midi + self._a4_offset))
        if not self._lo <= hint <= self._hi:  # the model's top or bottom class beyond the range at this A4 (466 Hz)
            return Verdict(None, False, model_midi, probs, {})
        at_once = prob >= p.switch_prob
        named = wave.near(hint, pitch.WIDE_SEARCH_SEMITONES)
        measured = {hint: named}
        checked = wave.octave_check(hint, self._lo, self._heard_top, named)
        if (checked > hint and hint == self.shown and self.state is State.CONFIRMED and not p.every_hop
                and named is not None and named.clarity >= pitch.OCTAVE_NAMED_BELOW
                and wave.sounds_its_own_partials(named.f0_hz)):
            # The model names the confirmed note and the waveform bears it out, its own partials sounding: a note
            # above repeating as well (weak odd harmonics, a bassoon's) is no reason to leave it. Between verdicts the
            # waveform holds the note, so one such move would stand for a heartbeat.
            checked = hint
        if checked > self._hi:  # above what the rate carries well: said when the input opened, never guessed
            return Verdict(None, False, model_midi, probs, measured)
        if checked != hint:
            # The model did not name this octave: never "at once". (Two notes a fifth apart, e.g. across a note
            # change, also repeat an octave below the lower one for a hop.)
            return Verdict(checked, False, model_midi, probs, measured)
        if named is None or named.clarity < p.reliable_clarity:
            # Nothing periodic where the model looked (a low note in loud low-frequency noise can fool it by many
            # semitones): if the sound has one clear period elsewhere, and that note sounds partials of its own (not
            # an organ mixture's), it is the verdict, never "at once". Noise and note changes have no such period,
            # and the model's note stands.
            whole = wave.strongest_period(self._lo, self._hi)
            if (whole is not None and whole.clarity >= p.whole_range_clarity
                    and wave.sounds_its_own_partials(whole.f0_hz)):
                # Searched over the range's notes ±half a semitone: a period refined past that edge is the edge's note
                # (a C8 played 50 cents sharp is C8, not a C#8 the app does not name).
                midi = min(max(int(round(hz_to_midi(whole.f0_hz, self.a4_hz))), self._lo), self._hi)
                return Verdict(midi, False, model_midi, probs, measured)
            if self.shown is None:
                # Out of no note, a note the waveform does not bear out must lead switch_verdicts in a row, however
                # sure the model is: one confident verdict in noise (a low note in pink noise's rumble) shows nothing.
                # Between notes the model's sure switch stands: there the window mixes two notes' waveforms.
                at_once = False
            return Verdict(hint, at_once, model_midi, probs, measured)
        # Within the model's region the waveform names the note: a bass note named a semitone or two off
        # (pitch.WIDE_SEARCH_SEMITONES) is set right here, before the hysteresis counts it.
        nearest = int(round(hz_to_midi(named.f0_hz, self.a4_hz)))
        if nearest != hint and self._lo <= nearest <= self._hi:
            hint = nearest
            measured[hint] = named
        return Verdict(hint, at_once, model_midi, probs, measured)

    def _apply(self, verdict: Verdict, t_s: float) -> None:
        """Hysteresis: a new note must lead switch_verdicts in a row (or be named at once); "no note" must lead
        release_verdicts; a neighbour named while f0 stays in the shown note's margin is ignored."""
        p = self.params
        self.verdicts += 1
        self._last_verdict_s = t_s
        self._probs, self._model_midi, self._probs_fresh = verdict.probs, verdict.model_midi, True
        self._due_s = t_s + p.heartbeat_s
        if self._onset_s is not None and self._onset_s + p.confirm_s > t_s + EPS_S:  # an onset's confirmation to come
            self._request(self._onset_s + p.confirm_s)
        if verdict.midi is None:
            self._none_count += 1
            self._candidate, self._candidate_count = None, 0
            # Right after an onset the model often names no note yet; a provisional note the waveform still carries
            # clearly stands through the onset window.
            held = self.state is State.PROVISIONAL and self._onset_s is not None and self._carried
            if self._none_count >= p.release_verdicts and not held:
                self._show(None, State.NONE)
            if self.shown is not None:
                self._recheck()
            elif self._onset_s is not None and self._heard:
                self._recheck()  # right after an onset the model may not hear the new note yet: ask again
            elif self._onset_s is not None and self._none_count < p.release_verdicts:
                self._request(t_s + 2 * p.recheck_s)  # nothing periodic: once more, a little later
            return
        self._none_count = 0
        same = verdict.midi == self.shown or (
            self.shown is not None and abs(verdict.midi - self.shown) == 1 and self._in_margin)
        # A confirmation settles an onset once the model can have heard the new sound.
        settled = self._onset_s is not None and t_s + EPS_S >= self._onset_s + p.confirm_s
        if same:
            self._candidate, self._candidate_count = None, 0
            self._show(self.shown, State.CONFIRMED)
            if settled:
                self._onset_s = None
            return
        self._candidate_count = self._candidate_count + 1 if verdict.midi == self._candidate else 1
        self._candidate = verdict.midi
        if self._candidate_count >= p.switch_verdicts or verdict.at_once:
            self._show(verdict.midi, State.CONFIRMED)
            if settled:
                self._onset_s = None
        else:
            self._recheck()

    def _listen(self, t_s: float, wave: pitch.Waveform) -> None:
        """After an onset: the period of the audio since it. A clear one keeps the model asked while it names no
        note; a clear and unambiguous one is shown at once, provisionally, until a verdict bears it out or sets it
        right. A less clear one is shown too once two hops in a row read the same note with nothing above it
        reaching steady_rival_clarity (a slow attack's period firms up over 100 ms or more). One "no note" verdict
        does not stop that (a low note needs more than confirm_s of itself in the model's patch); release_verdicts
        of them in a row do."""
        p = self.params
        since_s = min(t_s - self._onset_s, p.read_s)
        since = int(round(since_s * wave.rate_hz))
        reading = wave.period_since(since, self._lo, self._hi)
        last_read, self._read_midi = self._read_midi, None
        if reading is None:
            return
        midi = int(round(hz_to_midi(reading.f0_hz, self.a4_hz)))
        if reading.clarity >= p.reliable_clarity:
            self._heard, self._read_midi = True, midi
        rival = -1.0 if reading.rival_clarity is None else reading.rival_clarity
        steady = midi == last_read and reading.clarity >= p.steady_clarity and rival <= p.steady_rival_clarity
        if (t_s - self._onset_s > p.provisional_s + EPS_S or self._none_count >= p.release_verdicts
                or (reading.clarity < p.provisional_clarity and not steady)
                or rival > p.provisional_rival_clarity
                or reading.best_clarity - reading.clarity > p.provisional_best_margin):
            return
        if midi == self.shown or not self._lo <= midi <= self._hi:
            return
        if self._mains(reading.f0_hz, since_s * reading.f0_hz):
            return
        if wave.sounds_its_own_partials(reading.f0_hz, since):
            self._show(midi, State.PROVISIONAL)

    def _mains(self, f0_hz: float, periods: float) -> bool:
        """Whether a period read over this many periods may be mains hum's (see TrackerParams)."""
        p = self.params
        for k in (1, 2, 3, 4):
            tolerance = p.mains_coarse_tolerance if k == 1 or periods < p.mains_periods else p.mains_tolerance
            if any(abs(f0_hz / (hz * k) - 1.0) <= tolerance for hz in p.mains_hz):
                return True
        return False

    def _fine(self, t_s: float, wave: pitch.Waveform, measured: dict) -> Reading:
        """The shown note's f0 and cents; the waveform moves the note when the pitch leaves its margin."""
        p = self.params
        if self.shown is None:
            return Reading(None, None, None, self._none_confidence(), State.NONE, self._model_midi)
        est = measured[self.shown] if self.shown in measured else wave.near(self.shown)
        self._carried = est is not None and est.clarity >= p.provisional_clarity
        if est is None or est.clarity < p.reliable_clarity:
            # The note stands but no cents: e.g. the old note's tail and the new one's attack.
            if self._onset_s is None:  # after an onset, its confirmation is due anyway
                self._recheck()
            return Reading(self.shown, None, None, 0.0, self.state, self._model_midi)
        exact = hz_to_midi(est.f0_hz, self.a4_hz)
        above = est.above_clarity is not None and est.above_clarity >= p.above_ratio * est.clarity
        if above and t_s - self._above_checked_s >= p.above_check_s - EPS_S:
            self._above_checked_s = t_s
            if not wave.sounds_its_own_partials(est.f0_hz):
                self._recheck()
        if abs(exact - self.shown) * 100.0 > 50.0 + p.margin_cents:
            moved = int(round(exact))
            if not self._lo <= moved <= self._hi:
                # Nearer a note beyond the range (C8 more than the margin sharp): not named, and not guessed; the
                # model is asked again soon, in case the pitch comes back.
                self._show(None, State.NONE)
                self._recheck()
                return Reading(None, None, None, self._none_confidence(), State.NONE, self._model_midi)
            self._show(moved, State.PROVISIONAL)
            self._recheck()
        cents = 100.0 * (exact - self.shown)
        self._in_margin = abs(cents) <= 50.0 + p.margin_cents
        return Reading(self.shown, cents, est.f0_hz, self._confidence(exact, est.clarity), self.state, self._model_midi)

    def _confidence(self, exact_midi: float, clarity: float) -> float:
        """The model's belief in this pitch at its last verdict (its classes are at 440 Hz: the classes either
        side of the exact pitch, which for a note far out of tune include the neighbour it is nearer to), times
        periodicity now. Before any verdict on a new sound, the belief is taken as an even chance."""
        if self._probs is None or not self._probs_fresh:
            return float(np.clip(self.params.unheard_belief * clarity, 0.0, 1.0))
        model_midi = exact_midi - self._a4_offset
        near = sum(float(self._probs[self._class_of[m]]) for m in {math.floor(model_midi), math.ceil(model_midi)}
                   if m in self._class_of)
        return float(np.clip(near * clarity, 0.0, 1.0))

    def _none_confidence(self) -> float:
        """The model's belief in "no note" at its last verdict: its "none" class (not its top class, which may be a
        note the verdict set aside: beyond the range, or above what the rate carries)."""
        if self._probs is None:
            return 0.0
        return float(self._probs[self._none_class]) if self._none_class is not None else 0.0
