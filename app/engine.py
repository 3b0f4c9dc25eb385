"""From audio to a tuner result, one hop at a time.

`Analyzer` is the whole analysis, synchronous and causal: give it each new block of device-rate audio (one
hop, 20 ms by default) and it returns a `Result` for the newest moment. Each hop it
  1. mixes the block to mono (or takes one channel) and keeps the recent audio;
  2. updates the 0.96 s log-mel patch incrementally (only the new frames), and looks for an onset (app.onset)
     in frames resampled with less delay;
  3. below the noise gate, shows no note and runs nothing more;
  4. runs the note model when the tracker needs a verdict (at onsets, to settle a doubt, at a slow heartbeat;
     not at every hop);
  5. hands the model's output, if any, and the waveform (app.pitch.Waveform) to the note tracker
     (app.tracker), the one place that decides the note shown: between verdicts the waveform carries the
     note and gives the cents.
`AnalysisWorker` drives an Analyzer from a ring buffer on its own thread, and `pitchrec analyze` drives one
from a file: the same code, with the same causality.

Threads (see app.audio for the callback): the worker thread reads the ring buffer through its own cursor,
analyses each hop and publishes on a `Latest` channel; readers (GUI, terminal) take the newest result and never
see a backlog. The worker stops when its stop Event is set; it waits on that Event between hops, never spinning.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time

import numpy as np

from app import features, pitch
from app.model import NoteModel
from app.notes import NO_NOTE, NOTE_MAX, NOTE_MIN, midi_from_name, note_name, rounded
from app.onset import OnsetDetector
from app.strum import StrumAnalyzer, StrumResult, check_strings, string_targets
from app.tracker import NoteTracker, State, TrackerParams
from app.tuning import TuningSpec

log = logging.getLogger(__name__)

A4_MIN_HZ, A4_MAX_HZ = 415.0, 466.0


def one_blas_thread() -> None:
    """Keep NumPy's linear algebra (OpenBLAS) to one thread, process-wide. The analysis's matrices are small (strum
    tuning fits a dozen sinusoids at a time; the mel filterbank), and on them OpenBLAS's other threads only spin:
    with two, strum tuning took twice the CPU in the same wall time. The app's entry point calls it, and so do the
    benchmarks that measure its CPU."""
    import threadpoolctl

    threadpoolctl.threadpool_limits(1, user_api="blas")


class SettingsError(ValueError):
    """A setting out of its range; the message names it and the range."""


# Semitones: with strings to tune, the lowest note named is a fourth under the lowest string. A string tuned down as
# far as drop C on the standard guitar's strings is still named; a strum's common period is not: it lies an octave or
# more under its lowest string (D1 for D2 and A2, A0 for E2 and A2, G1 for D3, G3 and B3, C1 for a cello's C2 and G2).
BELOW_LOWEST_STRING = 5


@dataclasses.dataclass(frozen=True)
class Settings:
    hop_s: float = 0.020
    a4_hz: float = 440.0
    gate_dbfs: float = -60.0  # below this level there is no note
    channel: int | None = None  # None: mix all channels to mono
    tracker: TrackerParams = TrackerParams()
    tuning: TuningSpec = TuningSpec()  # where each note's target is (the cents are measured from it)
    strings: tuple[int, ...] = ()  # strum tuning: the strings to read at once (MIDI, in display order); () off

    def __post_init__(self):
        if not A4_MIN_HZ <= self.a4_hz <= A4_MAX_HZ:
            raise SettingsError(f"reference A4 must be {A4_MIN_HZ:g} to {A4_MAX_HZ:g} Hz, got {self.a4_hz:g}")
        if not 0.005 <= self.hop_s <= 1.0:
            raise SettingsError(f"hop must be 5 to 1000 ms, got {self.hop_s * 1000:g} ms")
        if self.strings:  # strings strum tuning can read, each on a target of its own in the tuning
            try:
                self.string_targets()
            except ValueError as err:
                raise SettingsError(str(err)) from None

    def string_targets(self) -> tuple[float, ...]:
        """Where each of `strings` should sound (Hz) in the tuning at this A4; ValueError (one line) for strings
        strum tuning cannot read or tell apart there."""
        return string_targets(self.tuning.build(self.a4_hz), check_strings(self.strings), self.a4_hz)


# The engine before the fast path: the model at every 50 ms hop. Kept so that benchmarks compare the two on the
# same files in the same run.
EVERY_HOP = Settings(hop_s=0.050, tracker=TrackerParams(every_hop=True))


@dataclasses.dataclass(frozen=True)
class Result:
    t_s: float  # stream time just after the newest sample analysed
    note: str | None  # "A4", or None for no note
    midi: int | None
    cents: float | None  # from the note's target in the tuning (equal temperament: its pitch at the reference A4)
    f0_hz: float | None
    confidence: float  # 0..1, in what is reported: the note and its f0, or that there is no note
    level_dbfs: float
    model_note: str | None = None  # the model's own top class at its last verdict, before fusion (None below the gate)
    stable: bool = False  # a verdict bore the note out; False: shown from the waveform alone, awaiting one
    model_ran: bool = False  # the model ran this hop
    target_hz: float | None = None  # the note's (or degree's) target in the tuning
    degree: str | None = None  # in a scale that is not 12 keys a note: the degree nearest ("4/31 o4")
    strum: StrumResult | None = None  # with Settings.strings: every string's latest reading (app.strum)

    def to_json(self) -> dict:
        """The `pitchrec analyze --json` schema: these fields are a contract; add, don't rename."""
        return {
            "t_s": round(self.t_s, 4),
            "note": self.note,
            "midi": self.midi,
            "cents": rounded(self.cents, 2),
            "f0_hz": rounded(self.f0_hz, 3),
            "confidence": round(float(self.confidence), 3),
            "stable": self.stable if self.note is not None else None,
            "target_hz": rounded(self.target_hz, 3),
            "degree": self.degree,
        }


def level_dbfs(x: np.ndarray) -> float:
    rms = math.sqrt(float(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0
    return 20.0 * math.log10(rms) if rms > 1e-10 else -200.0


class Recent:
    """The newest `size` samples as one contiguous array (silence before the first), kept without shifting them
    all at every block."""

    def __init__(self, size: int):
        self.size = size
        self._buffer = np.zeros(2 * size, np.float32)
        self._end = size

    def push(self, x: np.ndarray) -> None:
        x = x[-self.size :]
        if self._end + len(x) > len(self._buffer):  # full: move the newest to the front, once per `size` samples
            keep = self.size - len(x)
            self._buffer[:keep] = self._buffer[self._end - keep : self._end]
            self._end = keep
        self._buffer[self._end : self._end + len(x)] = x
        self._end += len(x)

    @property
    def audio(self) -> np.ndarray:
        """(size,) float32, the newest last: a view, valid until the next push."""
        return self._buffer[self._end - self.size : self._end]


class Analyzer:
    """Causal analysis of one stream. Not thread-safe: one owner calls `process`."""

    def __init__(self, model: NoteModel, rate_hz: float, settings: Settings = Settings()):
        self.model = model
        self.rate_hz = float(rate_hz)
        self.settings = settings
        self._low = getattr(model, "low", None)  # the settings of the model's second input, if it takes one
        keep = self._low.samples if self._low is not None else 0
        self._stream = features.LogMelStream(rate_hz, model.params, keep_samples=keep)
        # Onsets are looked for in frames of their own, resampled with soxr's low-latency filter: the model's
        # filter holds back about 20 ms and hands frames out up to 30 ms at a time, so the tracker would hear of
        # a new note 30-50 ms after it began. At 16 kHz there is nothing to resample and the frames are shared.
        resampled = self.rate_hz != model.params.sample_rate_hz
        self._onset_stream = features.LogMelStream(rate_hz, model.params, quality="LQ") if resampled else None
        self._onsets = OnsetDetector(model.params)
        # Enough recent audio for the longest pitch window (the lowest note) and a hop's level.
        longest = pitch.window_samples(NOTE_MIN - 1, rate_hz, A4_MIN_HZ, pitch.WIDE_SEARCH_SEMITONES)
        self._history = Recent(max(longest, int(pitch.SPECTRUM_S * rate_hz)) + int(rate_hz * 0.1))
        self._samples = 0
        self._next_start_s: float | None = None  # where the next block should start in stream time, if stamped
        class_midi = [None if label == NO_NOTE else midi_from_name(label) for label in model.labels]
        # The notes named: A0 to C8, as far as the rate carries them (8 kHz: to G7).
        self.top_midi = min(NOTE_MAX, pitch.highest_midi(self.rate_hz, settings.a4_hz))
        heard_top = min(NOTE_MAX, pitch.highest_midi(self.rate_hz, settings.a4_hz, share=0.5))
        # With strings to tune, no note far under the lowest is named: a strum's common period is no string's note
        # (E2 A2 D3 G3 together repeat at A0's period, and the model names that A0 too).
        lowest = max(NOTE_MIN, min(settings.strings) - BELOW_LOWEST_STRING) if settings.strings else NOTE_MIN
        self.tracker = NoteTracker(class_midi, settings.a4_hz, settings.tracker, (lowest, self.top_midi), heard_top)
        self.tuning = settings.tuning.build(settings.a4_hz)
        self.strum = None
        if settings.strings:
            try:
                self.strum = StrumAnalyzer(settings.strings, rate_hz, settings.string_targets(),
                                           gate_dbfs=settings.gate_dbfs)
            except ValueError as err:  # a rate under 8 kHz: the note view goes on
                log.warning("strum tuning off: %s", err)

    @property
    def hop_samples(self) -> int:
        return max(1, int(round(self.settings.hop_s * self.rate_hz)))

    @property
    def model_calls(self) -> int:
        return self.tracker.verdicts

    def feed(self, audio: np.ndarray):
        """Results for a whole recording, fed in hop-sized blocks as a microphone would feed them
        (the last block may be shorter). The one replay loop: the CLI and the benchmarks use it."""
        hop = self.hop_samples
        for start in range(0, len(audio), hop):
            yield self.process(audio[start : start + hop])

    def process(self, block: np.ndarray, start_s: float | None = None) -> Result:
        """block: (samples,) or (samples, channels) float audio at rate_hz, the newest after all before.
        start_s: the stream time of its first sample (the ring buffer's stamp); without it, the samples analysed
        so far. A stamp later than the previous block's end means audio was skipped: the tracker starts afresh."""
        mono = features.to_mono(block, self.settings.channel)
        if start_s is not None and self._next_start_s is not None and start_s > self._next_start_s + 0.5 / self.rate_hz:
            self.tracker.silence()  # a gap: what was heard before it says nothing of what follows
            if self.strum is not None:
                self.strum = self.strum.fresh()
        frames = self._stream.push(mono)
        onset_s = self._onsets.push(frames if self._onset_stream is None else self._onset_stream.push(mono))
        self._history.push(mono)
        self._samples += len(mono)
        t_s = self._samples / self.rate_hz  # the analysis's own clock: onsets and verdicts are timed on it
        shown_t_s = t_s if start_s is None else start_s + len(mono) / self.rate_hz
        self._next_start_s = None if start_s is None else shown_t_s
        level = level_dbfs(self._history.audio[-self.hop_samples :])
        strum = None if self.strum is None else self.strum.push(mono)

        if level < self.settings.gate_dbfs:  # below the gate: surely no note, and no inference spent on it
            self.tracker.silence()
            return Result(shown_t_s, None, None, None, None, 1.0, level, None, strum=strum)
        if onset_s is not None or not self.tracker.gate_open:  # a new sound, or the gate opening on one
            self.tracker.onset(onset_s if onset_s is not None else t_s - len(mono) / self.rate_hz)
        probs = self._probabilities() if self.tracker.model_due(t_s) else None
        wave = pitch.Waveform(self._history.audio, self.rate_hz, self.settings.a4_hz)
        reading = self.tracker.step(t_s, wave, probs)
        model_note = None if reading.model_midi is None else note_name(reading.model_midi)
        target = None if reading.midi is None else self.tuning.measure(reading.midi, reading.f0_hz, reading.cents,
                                                                        self.settings.a4_hz)
        midi = target.midi if target is not None and self.tuning.keyed else reading.midi  # the tuning's nearest key
        note = None if midi is None else note_name(midi)
        return Result(shown_t_s, note, midi, None if target is None else target.cents, reading.f0_hz,
                      reading.confidence, level, model_note, reading.state is State.CONFIRMED, probs is not None,
                      None if target is None else target.target_hz,
                      None if target is None or self.tuning.keyed else target.name, strum)

    def _probabilities(self) -> np.ndarray:
        if self._low is None:
            return self.model.probabilities(self._stream.patch)
        spectrum = features.low_spectrum(self._stream.patch_audio(self._low.samples), self._low)
        return self.model.probabilities(self._stream.patch, spectrum)


class Latest:
    """A latest-value channel: `put` replaces the value; `get` returns the newest, never a backlog."""

    def __init__(self):
        self._cond = threading.Condition()
        self._value = None
        self._version = 0
        self.put_at = -math.inf  # time.monotonic() of the last put: how fresh the newest value is

    def put(self, value) -> None:
        with self._cond:
            self._value = value
            self._version += 1
            self.put_at = time.monotonic()
            self._cond.notify_all()

    def get(self, after_version: int = -1, timeout: float | None = None):
        """(version, value): the newest, waiting up to `timeout` for one newer than after_version."""
        with self._cond:
            self._cond.wait_for(lambda: self._version > after_version, timeout)
            return self._version, self._value


class AnalysisWorker(threading.Thread):
    """Runs an Analyzer on each hop of the newest audio from a ring buffer; publishes every result on `results`,
    stamped with the ring's stream time."""

    def __init__(self, analyzer: Analyzer, ring, results: Latest | None = None, on_result=None):
        super().__init__(name="analysis-worker", daemon=True)
        self.analyzer = analyzer
        self.reader = ring.reader()
        self.results = results or Latest()
        self.on_result = on_result  # called on this thread with every result; must be quick (e.g. a deque append)
        # NB: these counts are written by this thread only and read by others (a Python int store is atomic).
        self.lost_samples = 0  # overwritten in the ring before this worker read them
        self.skipped_samples = 0  # read but not analysed, to catch up after a stall
        self.hops = 0  # analysed, a result each
        self.start_cursor = self.reader.cursor
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
            t0 = time.thread_time()
            while (available := self.reader.available()) >= hop and not self._stop_event.is_set():
                if available > 4 * hop:  # behind (a stall, a slow hop): skip to the newest audio rather than fall behind
                    skipped = self.reader.read(available - 2 * hop)
                    self.skipped_samples += skipped.audio.shape[0]
                    self.lost_samples += skipped.lost
                window = self.reader.read(hop)
                self.lost_samples += window.lost
                result = self.analyzer.process(window.audio, window.t_s)
                self.hops += 1
                self.results.put(result)
                if self.on_result is not None:
                    self.on_result(result)
            self.cpu_s += time.thread_time() - t0
