"""From audio to a tuner result, one hop at a time.

`Analyzer` is the whole analysis, synchronous and causal: give it each new block
of device-rate audio (one hop, 50 ms by default) and it returns a `Result` for the
newest moment. It
  1. mixes the block to mono (or takes one channel) and keeps the recent audio;
  2. updates the 0.96 s log-mel patch incrementally (only the new frames);
  3. runs the note model on the patch;
  4. measures f0 near the model's note (app.pitch) and fuses the two: the waveform
     names the note within a few semitones of the model's, sets octave mistakes right, and
     overrules a note it does not bear out when it has one clear period elsewhere; then a
     noise gate, hysteresis against flicker, cents against the reference A4.
`AnalysisWorker` drives an Analyzer from a ring buffer on its own thread, and
`pitchrec analyze` drives one from a file: the same code, with the same causality.

Threads (see app.audio for the callback): the worker thread reads the ring buffer
through its own cursor and publishes on a `Latest` channel; readers (GUI, terminal)
take the newest result and never see a backlog. The worker stops when its stop
Event is set; it waits on that Event between hops, never spinning.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time

import numpy as np

from app import features, pitch
from app.model import NoteModel
from app.notes import MIDI_MAX, MIDI_MIN, NO_NOTE, hz_to_midi, midi_from_name, note_name

A4_MIN_HZ, A4_MAX_HZ = 415.0, 466.0
# Below this NSDF clarity the window is not one periodic sound (a note change, a noise burst): its f0 is not
# trusted to move the note or to give cents. A harmonic note at 5 dB SNR still reaches about 0.75.
RELIABLE_CLARITY = 0.6
# A period found over the whole range replaces a note the waveform does not bear out only if at least this clear.
WHOLE_RANGE_CLARITY = 0.8


class SettingsError(ValueError):
    """A setting out of its range; the message names it and the range."""


@dataclasses.dataclass(frozen=True)
class Settings:
    hop_s: float = 0.050
    a4_hz: float = 440.0
    gate_dbfs: float = -60.0  # below this level there is no note
    channel: int | None = None  # None: mix all channels to mono
    switch_hops: int = 2  # a new note must lead this many hops in a row ...
    switch_prob: float = 0.85  # ... unless the model is this sure of it at once
    release_hops: int = 2  # "no note" must hold this long before a note is let go
    cents_margin: float = 3.0  # the nearest note is named, with this much hysteresis at ±50 cents against flicker

    def __post_init__(self):
        if not A4_MIN_HZ <= self.a4_hz <= A4_MAX_HZ:
            raise SettingsError(f"reference A4 must be {A4_MIN_HZ:g} to {A4_MAX_HZ:g} Hz, got {self.a4_hz:g}")
        if not 0.005 <= self.hop_s <= 1.0:
            raise SettingsError(f"hop must be 5 to 1000 ms, got {self.hop_s * 1000:g} ms")


@dataclasses.dataclass(frozen=True)
class Result:
    t_s: float  # stream time of the newest sample analysed
    note: str | None  # "A4", or None for no note
    midi: int | None
    cents: float | None  # from the note at the reference A4, -50..+50 (a little beyond inside the hysteresis)
    f0_hz: float | None
    confidence: float  # 0..1, in what is reported: the note and its f0, or that there is no note
    level_dbfs: float
    model_note: str | None = None  # the model's own top class this hop, before fusion (None below the gate)
    columns: np.ndarray | None = None  # (new_frames, mel_bands) log-mel computed this hop, for display

    def to_json(self) -> dict:
        """The `pitchrec analyze --json` schema: these fields are a contract; add, don't rename."""
        r = lambda v, n: None if v is None else round(float(v), n) + 0.0  # noqa: E731  (+ 0.0: no "-0.0")
        return {
            "t_s": round(self.t_s, 4),
            "note": self.note,
            "midi": self.midi,
            "cents": r(self.cents, 2),
            "f0_hz": r(self.f0_hz, 3),
            "confidence": round(float(self.confidence), 3),
        }


def level_dbfs(x: np.ndarray) -> float:
    rms = math.sqrt(float(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
    return 20.0 * math.log10(rms) if rms > 1e-10 else -200.0


class Analyzer:
    """Causal analysis of one stream. Not thread-safe: one owner calls `process`."""

    def __init__(self, model: NoteModel, rate_hz: float, settings: Settings = Settings()):
        self.model = model
        self.rate_hz = float(rate_hz)
        self.settings = settings
        self._low = getattr(model, "low", None)  # the settings of the model's second input, if it takes one
        keep = self._low.samples if self._low is not None else 0
        self._stream = features.LogMelStream(rate_hz, model.params, keep_samples=keep)
        # Enough recent audio for the longest pitch window (the lowest note) and a hop's level.
        longest = pitch.window_samples(MIDI_MIN - 1, rate_hz, A4_MIN_HZ, pitch.WIDE_SEARCH_SEMITONES)
        self._history = np.zeros(max(longest, int(pitch.SPECTRUM_S * rate_hz)) + int(rate_hz * 0.1), np.float32)
        self._samples = 0
        # The model knows 440 Hz tuning only; its class midi plus this offset is the nearest note at a4_hz.
        self._a4_offset = 12.0 * math.log2(440.0 / settings.a4_hz)
        self._class_midi = [None if label == NO_NOTE else midi_from_name(label) for label in model.labels]
        self.reset_note()

    @property
    def hop_samples(self) -> int:
        return max(1, int(round(self.settings.hop_s * self.rate_hz)))

    def reset_note(self) -> None:
        self._shown: int | None = None  # the note on display, MIDI at a4_hz
        self._in_margin = False  # the last f0 measured lay within the shown note's ±(50 + margin) cents
        self._candidate: int | None = None
        self._candidate_hops = 0
        self._none_hops = 0

    def feed(self, audio: np.ndarray):
        """Results for a whole recording, fed in hop-sized blocks as a microphone would feed them
        (the last block may be shorter). The one replay loop: the CLI and the benchmarks use it."""
        hop = self.hop_samples
        for start in range(0, len(audio), hop):
            yield self.process(audio[start : start + hop])

    def process(self, block: np.ndarray) -> Result:
        """block: (samples,) or (samples, channels) float audio at rate_hz, the newest after all before."""
        mono = features.to_mono(block, self.settings.channel)
        columns = self._stream.push(mono)
        n = min(len(mono), len(self._history))
        if n:
            self._history = np.roll(self._history, -n)
            self._history[-n:] = mono[-n:]
        self._samples += len(mono)
        t_s = self._samples / self.rate_hz
        level = level_dbfs(self._history[-self.hop_samples :])

        if level < self.settings.gate_dbfs:  # below the gate: surely no note, and no inference spent on it
            self.reset_note()
            return Result(t_s, None, None, None, None, 1.0, level, None, columns)
        if self._low is None:
            probs = self.model.probabilities(self._stream.patch)
        else:
            spectrum = features.low_spectrum(self._stream.patch_audio(self._low.samples), self._low)
            probs = self.model.probabilities(self._stream.patch, spectrum)
        top = int(np.argmax(probs))
        model_midi = self._class_midi[top]
        model_note = None if model_midi is None else note_name(model_midi)
        hint = None if model_midi is None else int(round(model_midi + self._a4_offset))
        prob = float(probs[top])
        measured = {}  # MIDI -> f0 estimate on this hop's audio, so no note is measured twice
        if hint is not None:
            named = pitch.estimate(self._history, self.rate_hz, hint, self.settings.a4_hz, pitch.WIDE_SEARCH_SEMITONES)
            measured[hint] = named
            checked = pitch.octave_check(self._history, self.rate_hz, hint, self.settings.a4_hz, MIDI_MIN, MIDI_MAX,
                                         named=named)
            if checked != hint:
                # The model did not name this octave: it must lead switch_hops in a row, never "at once". (Two notes
                # a fifth apart, e.g. across a note change, also repeat an octave below the lower one for a hop.)
                hint, prob = checked, 0.0
            elif named is None or named.clarity < RELIABLE_CLARITY:
                # Nothing periodic where the model looked (a low note in loud low-frequency noise can fool it by
                # many semitones): if the sound has one clear period elsewhere, and that note sounds partials of
                # its own (not an organ mixture's), it is the candidate; like an octave move it must hold
                # switch_hops in a row. Noise and note changes have no such period, and the model's note stands.
                whole = pitch.strongest_period(self._history, self.rate_hz, MIDI_MIN, MIDI_MAX, self.settings.a4_hz)
                if (whole is not None and whole.clarity >= WHOLE_RANGE_CLARITY
                        and pitch.sounds_its_own_partials(self._history, self.rate_hz, whole.f0_hz)):
                    hint, prob = int(round(hz_to_midi(whole.f0_hz, self.settings.a4_hz))), 0.0
                elif self._shown is None:
                    # Out of no note, a note the waveform does not bear out must lead switch_hops in a row, however
                    # sure the model is: one confident hop in noise (a low note in pink noise's rumble) shows nothing.
                    # Between notes the model's sure switch stands: there the window mixes two notes' waveforms.
                    prob = 0.0
            else:
                # Within the model's region the waveform names the note: a bass note named a semitone or two off
                # (pitch.WIDE_SEARCH_SEMITONES) is set right here, before the hysteresis counts it.
                nearest = int(round(hz_to_midi(named.f0_hz, self.settings.a4_hz)))
                if nearest != hint and MIDI_MIN <= nearest <= MIDI_MAX:
                    hint = nearest
                    measured[hint] = named
        self._update_note(hint, prob)
        if self._shown is None:
            return Result(t_s, None, None, None, None, float(probs[top]), level, model_note, columns)
        return self._fine(t_s, level, probs, model_note, columns, measured)

    def _update_note(self, hint: int | None, prob: float) -> None:
        """Hysteresis: a new note must lead switch_hops in a row (or be named with switch_prob);
        "no note" must hold release_hops; a neighbour named while f0 stays in the shown note's margin is ignored."""
        s = self.settings
        if hint is None:
            self._none_hops += 1
            self._candidate, self._candidate_hops = None, 0
            if self._none_hops >= s.release_hops:
                self._shown = None
            return
        self._none_hops = 0
        same = hint == self._shown or (self._shown is not None and abs(hint - self._shown) == 1 and self._in_margin)
        if same:
            self._candidate, self._candidate_hops = None, 0
            return
        self._candidate_hops = self._candidate_hops + 1 if hint == self._candidate else 1
        self._candidate = hint
        if self._candidate_hops >= s.switch_hops or prob >= s.switch_prob:
            self._shown, self._in_margin = hint, False
            self._candidate, self._candidate_hops = None, 0

    def _fine(self, t_s, level, probs, model_note, columns, measured: dict) -> Result:
        s = self.settings
        if self._shown in measured:
            est = measured[self._shown]
        else:
            est = pitch.estimate(self._history, self.rate_hz, self._shown, a4_hz=s.a4_hz)
        if est is None or est.clarity < RELIABLE_CLARITY:
            # The note stands (the model named it) but no cents: e.g. the old note's tail and the new one's attack.
            return Result(t_s, note_name(self._shown), self._shown, None, None, 0.0, level, model_note, columns)
        exact = hz_to_midi(est.f0_hz, s.a4_hz)
        if abs(exact - self._shown) * 100.0 > 50.0 + s.cents_margin:
            self._shown = int(round(exact))
        midi = self._shown
        cents = 100.0 * (exact - midi)
        self._in_margin = abs(cents) <= 50.0 + s.cents_margin
        # The model's belief in this pitch (its classes are at 440 Hz: the classes either side of the exact
        # pitch, which for a note far out of tune include the neighbour it is nearer to), times periodicity.
        model_midi = exact - self._a4_offset
        near = sum(float(probs[m - MIDI_MIN]) for m in {math.floor(model_midi), math.ceil(model_midi)} if MIDI_MIN <= m <= MIDI_MAX)
        confidence = float(np.clip(near * est.clarity, 0.0, 1.0))
        return Result(t_s, note_name(midi), midi, cents, est.f0_hz, confidence, level, model_note, columns)


class Latest:
    """A latest-value channel: `put` replaces the value; `get` returns the newest, never a backlog."""

    def __init__(self):
        self._cond = threading.Condition()
        self._value = None
        self._version = 0

    def put(self, value) -> None:
        with self._cond:
            self._value = value
            self._version += 1
            self._cond.notify_all()

    def get(self, after_version: int = -1, timeout: float | None = None):
        """(version, value): the newest, waiting up to `timeout` for one newer than after_version."""
        with self._cond:
            self._cond.wait_for(lambda: self._version > after_version, timeout)
            return self._version, self._value


class AnalysisWorker(threading.Thread):
    """Runs an Analyzer on the newest audio from a ring buffer every hop; publishes on `results`."""

    def __init__(self, analyzer: Analyzer, ring, results: Latest | None = None, on_result=None):
        super().__init__(name="analysis-worker", daemon=True)
        self.analyzer = analyzer
        self.reader = ring.reader()
        self.results = results or Latest()
        self.on_result = on_result  # called on this thread with every result; must be quick (e.g. a deque append)
        self.lost_samples = 0  # overwritten in the ring before this worker read them
        self.skipped_samples = 0  # read but not analysed, to catch up after a stall
        self.cpu_s = 0.0
        self._stop_event = threading.Event()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout)

    def run(self) -> None:
        hop = self.analyzer.hop_samples
        # Wake four times a hop to look for a whole hop of new audio; the wait ends at once on stop().
        while not self._stop_event.wait(self.analyzer.settings.hop_s / 4):
            available = self.reader.available()
            if available < hop:
                continue
            t0 = time.thread_time()
            if available > 4 * hop:  # after a stall, skip to the newest audio rather than fall behind
                self.skipped_samples += self.reader.read(available - 2 * hop).audio.shape[0]
            window = self.reader.read(hop * (self.reader.available() // hop))
            self.lost_samples += window.lost
            result = self.analyzer.process(window.audio)
            self.results.put(result)
            if self.on_result is not None:
                self.on_result(result)
            self.cpu_s += time.thread_time() - t0
