"""A live session: one input, one analysis worker, switchable without losing the running one.

The window (app.gui) and the terminal view hold a `LiveSession`. It owns the
input (`app.audio`: the sound card, or a synthesized tone) and the analysis worker
(`app.engine`), and publishes results on the worker's `Latest` channel.

- `open_input(spec)` is transactional: the new input is opened first; only if that
  works is the old one stopped. On failure the old input keeps running and the
  DeviceError propagates with its message.
- `apply(settings)` and `set_model(model)` restart the analysis on the same input.
- `recording_reader()` gives another cursor into the input's ring, for the clip writer.
- `check_input()` (call it a few times a second) notices an input that stopped
  sending audio (unplugged, sound server gone): it reports "lost" and tries to
  reopen the same device every RETRY_S until it comes back.
"""

from __future__ import annotations

import collections
import threading
import time

from app.audio import DeviceError, reset_portaudio
from app.audio import open_input as _open_input
from app.engine import Analyzer, AnalysisWorker, Latest, Settings
from app.model import NoteModel


STALL_S = 1.0  # no new audio for this long: the input is lost
RETRY_S = 2.0  # then try to reopen it this often
OPEN_GRACE_S = 2.0  # a just-opened input may take this long to deliver its first block (PulseAudio can)


class LiveSession:
    def __init__(self, model: NoteModel, settings: Settings = Settings(), opener=_open_input):
        self.model = model
        self.settings = settings
        self.results = Latest()
        # Every spectrogram column the worker computes, for a display that polls slower than it hops.
        self.columns: collections.deque = collections.deque(maxlen=4000)
        self.source = None
        self.worker: AnalysisWorker | None = None
        self.device_spec = None
        self._opener = opener
        self._lock = threading.Lock()
        self._progress = (0, time.monotonic())  # (samples written, when that count was first seen)
        self._last_retry = 0.0
        self.lost_since: float | None = None
        self.last_error = ""

    # -- input ---------------------------------------------------------------------------------
    def open_input(self, spec) -> None:
        """Switch to input `spec`; raises DeviceError and keeps the current input if it cannot open."""
        new = self._opener(spec)  # may raise: nothing has changed yet
        with self._lock:
            old_worker, old_source = self.worker, self.source
            self.source, self.device_spec = new, spec
            self.worker = self._start_worker()
        self._progress = (new.ring.written, time.monotonic() + OPEN_GRACE_S)
        self.lost_since = None
        if old_worker is not None:
            old_worker.stop()
        if old_source is not None:
            old_source.close()

    def check_input(self, now: float | None = None) -> str:
        """"ok", "lost" (no audio for STALL_S; reopening is tried every RETRY_S) or "none" (never opened)."""
        now = time.monotonic() if now is None else now
        if self.source is None and self.lost_since is None:
            return "none"
        if self.source is not None:
            written = self.source.ring.written
            if written != self._progress[0]:
                self._progress = (written, now)
                self.lost_since = None
                return "ok"
            if now - self._progress[1] < STALL_S and self.source.active:
                return "ok"
        if self.lost_since is None:
            self.lost_since = now
        if now - self._last_retry >= RETRY_S:
            self._last_retry = now
            self._reopen()
        return "ok" if self.lost_since is None else "lost"

    def _reopen(self) -> None:
        """Close the dead input, then open the same device again (re-scanning devices first)."""
        self.close()
        reset_portaudio()  # PortAudio lists devices only when it starts: a returning device needs a restart
        try:
            new = self._opener(self.device_spec)
        except DeviceError as e:
            self.last_error = str(e)
            return
        with self._lock:
            self.source = new
            self.worker = self._start_worker()
        self._progress = (new.ring.written, time.monotonic() + OPEN_GRACE_S)
        self.lost_since = None
        self.last_error = ""

    def _start_worker(self) -> AnalysisWorker:
        worker = AnalysisWorker(Analyzer(self.model, self.source.rate_hz, self.settings), self.source.ring, self.results,
                                on_result=self._keep_columns)
        worker.start()
        return worker

    def _restart_worker(self) -> None:
        with self._lock:
            old = self.worker
            self.worker = self._start_worker() if self.source is not None else None
        if old is not None:
            old.stop()

    def apply(self, settings: Settings) -> None:
        """New tuning settings (A4, gate, channel ...): analysis restarts on the same input."""
        if settings != self.settings:
            self.settings = settings
            self._restart_worker()

    def set_model(self, model: NoteModel) -> None:
        self.model = model
        self._restart_worker()

    def _keep_columns(self, result) -> None:
        if result.columns is not None and len(result.columns):
            self.columns.extend(result.columns)  # deque.extend is atomic under the GIL

    def take_columns(self):
        """The spectrogram columns computed since the last call, oldest first."""
        out = []
        while self.columns:
            out.append(self.columns.popleft())
        return out

    # -- state ---------------------------------------------------------------------------------
    @property
    def input_ok(self) -> bool:
        return self.source is not None and self.source.active

    @property
    def overflows(self) -> int:
        return 0 if self.source is None else self.source.overflows

    @property
    def lost_samples(self) -> int:
        return 0 if self.worker is None else self.worker.lost_samples

    def recording_reader(self):
        """A new cursor into the current input's ring, starting now."""
        return None if self.source is None else self.source.ring.reader()

    def close(self) -> None:
        with self._lock:
            worker, source = self.worker, self.source
            self.worker = self.source = None
        if worker is not None:
            worker.stop()
        if source is not None:
            source.close()
