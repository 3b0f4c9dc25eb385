"""A live session: one input, one analysis worker, and one thread that owns the input device.

The window (app.gui) and the terminal view hold a `LiveSession`. It owns the input (`app.audio`: the sound card,
or a synthesized tone) and the analysis worker (`app.engine`), and publishes results on the worker's `Latest`
channel.

Threads:
  - The input supervisor, one per session, makes every call that can reach PortAudio: listing devices, opening,
    closing, re-initialising, and playing a clip back (PortAudio must not be re-initialised while another thread
    opens a stream). Each call runs on a thread of its own and is waited for at most
    `InputTiming.call_s`. A call that has not returned by then (PortAudio waiting on a sound server that died)
    is abandoned: its stream is dropped, never joined, and the supervisor goes on. While such a call is still
    stuck, PortAudio is not re-initialised (that would wait on the same stream), but opening is still tried; only
    the automatic retries wait while an earlier open is the call stuck (else each would leave one more behind).
  - The supervisor also watches the input. With no new audio for `stall_s` the input is lost: the analysis stops,
    the state says "lost", and the same device is reopened every `retry_s` until it comes back.
  - The analysis worker (app.engine.AnalysisWorker) reads the input's ring and publishes results.
  - The GUI or terminal thread only asks (`request_input`, `rescan`) and reads (`input_state`, `take_events`,
    `results`). It never waits on PortAudio. `open_input` waits for the answer, bounded, for the terminal.

- Opening is transactional: the new input is opened first; only if that works is the old one stopped. On failure
  the old input keeps running and the failure is reported.
- `apply(settings)` and `set_model(model)` restart the analysis on the same input.
- `recording_reader()` gives another cursor into the input's ring, for the clip writer.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import queue
import threading
import time

from app.audio import (DeviceError, InputDevice, devices_fingerprint, input_devices, play_sound, read_sound,
                       reset_portaudio)
from app.audio import open_input as _open_input
from app.engine import AnalysisWorker, Analyzer, Latest, Settings
from app.model import NoteModel

log = logging.getLogger("pitchrec.live")


STALE_S = 0.5  # no fresh result for this long (analysis stalled, input lost): the views blank the reading


def usable_channel(channel: int | None, channels: int) -> int | None:
    """The channel to take from an input with `channels` channels: the one asked for, or None (all mixed to mono)
    when the input lacks it."""
    return channel if channel is not None and channel < channels else None


@dataclasses.dataclass(frozen=True)
class InputTiming:
    call_s: float = 2.0  # a PortAudio call not back by then is abandoned
    stall_s: float = 1.0  # no new audio for this long: the input is lost
    retry_s: float = 2.0  # then it is reopened this often
    open_grace_s: float = 2.0  # a just-opened input may take this long to deliver its first block (PulseAudio can)
    watch_s: float = 0.1  # the supervisor looks at the input this often
    devices_s: float = 2.0  # and for devices come or gone this often (app.audio.devices_fingerprint)


@dataclasses.dataclass(frozen=True)
class InputState:
    """What the input is doing, as the supervisor last saw it. Replaced whole, never changed in place."""

    status: str = "none"  # "opening" | "ok" | "lost" (reopening it) | "waiting" (none opened yet; retrying) |
    # "none" (nothing open, nothing being retried)
    device: InputDevice | None = None  # the open input, or the one lost
    rate_hz: float = 0.0
    channels: int = 0
    spec: object = None  # what was asked for: an index, a name, "tone:<Hz>", or None for the default
    error: str = ""  # why the last open or reopen failed
    devices: tuple[InputDevice, ...] = ()  # the input devices at the last scan
    scans: int = 0  # how many scans have been made (the list changes only with a new scan)


@dataclasses.dataclass(frozen=True)
class InputEvent:
    """Something the user should hear of: "opened" (a requested input), "failed" (a request; the current input
    stays), "lost", "back" (a lost input reopened), "warning"."""

    kind: str
    message: str
    spec: object = None  # the input asked for, or lost and being retried
    device: InputDevice | None = None  # the input opened ("opened", "back") or lost ("lost")


class Stuck(Exception):
    """A PortAudio call that did not return in time; it was abandoned."""


class _Reply:
    """The answer to one open request, for a caller that waits for it."""

    def __init__(self):
        self.done = threading.Event()
        self.error: str | None = None


class LiveSession:
    def __init__(self, model: NoteModel, settings: Settings = Settings(), opener=None,
                 timing: InputTiming = InputTiming(), lister=None, resetter=None, watcher=None, player=None):
        """opener(spec) -> an input, lister() -> input devices, resetter(): re-initialise PortAudio, watcher() -> a
        string that changes when devices come or go, player(audio, rate): start playing; by default app.audio's."""
        self.model = model
        self.settings = settings
        self.timing = timing
        self.results = Latest()
        self.source = None  # the open input; replaced only by the supervisor
        self.worker: AnalysisWorker | None = None
        self._lock = threading.Lock()  # source and worker change together
        self._state = InputState()
        self._events: collections.deque = collections.deque(maxlen=50)  # InputEvents, oldest first
        self._supervisor = _Supervisor(self, opener or _open_input, lister or input_devices,
                                       resetter or reset_portaudio, watcher or devices_fingerprint,
                                       player or play_sound)
        self._supervisor.start()

    # -- asking (any thread; none of these waits on PortAudio) -------------------------------------
    def request_input(self, spec, fall_back_to_default: bool = False) -> None:
        """Switch to input `spec` when the supervisor has opened it; on failure the current input stays. The outcome
        arrives in `take_events()` and `input_state`."""
        self._supervisor.ask(("open", spec, fall_back_to_default, None))

    def rescan(self) -> None:
        """List the devices anew. PortAudio lists them only when it starts, so it is re-initialised: the input is
        closed and reopened around that (a short gap in the audio)."""
        self._supervisor.ask(("rescan",))

    def play(self, path) -> None:
        """Play a sound file (a recorded clip) on the default output; a failure arrives as a "warning" event."""
        self._supervisor.ask(("play", path))

    def open_input(self, spec, wait_s: float | None = None) -> None:
        """Switch to `spec` and wait for the outcome (at most about two PortAudio calls); raises DeviceError and
        keeps the current input if it cannot open. For the terminal and scripts; the window uses request_input."""
        reply = _Reply()
        self._supervisor.ask(("open", spec, False, reply))
        if not reply.done.wait(wait_s if wait_s is not None else 3 * self.timing.call_s + 1.0):
            raise DeviceError(f"opening {spec!r} did not finish: the sound server does not answer")
        if reply.error is not None:
            raise DeviceError(reply.error)

    # -- reading (any thread) ----------------------------------------------------------------------
    @property
    def input_state(self) -> InputState:
        return self._state

    def take_events(self) -> list[InputEvent]:
        """What happened to the input since the last call, oldest first."""
        out = []
        while self._events:
            out.append(self._events.popleft())
        return out

    @property
    def fresh(self) -> bool:
        """Whether the newest result is recent enough to show (the analysis may have stalled, the input gone)."""
        return time.monotonic() - self.results.put_at <= STALE_S

    @property
    def overflows(self) -> int:
        source = self.source
        return 0 if source is None else source.overflows

    @property
    def lost_samples(self) -> int:
        worker = self.worker
        return 0 if worker is None else worker.lost_samples

    def recording_reader(self):
        """A new cursor into the current input's ring, starting now."""
        source = self.source
        return None if source is None else source.ring.reader()

    # -- analysis (any thread; no PortAudio) -------------------------------------------------------
    def _start_worker(self) -> AnalysisWorker:
        channel = usable_channel(self.settings.channel, self.source.channels)
        settings = dataclasses.replace(self.settings, channel=channel)
        worker = AnalysisWorker(Analyzer(self.model, self.source.rate_hz, settings), self.source.ring, self.results)
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

    def close(self, wait_s: float | None = None) -> None:
        """Stop the analysis, then the supervisor, which closes the input (bounded: a stuck close is abandoned)."""
        with self._lock:
            worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop()
        self._supervisor.ask(("stop",))
        if threading.current_thread() is not self._supervisor:
            self._supervisor.join(wait_s if wait_s is not None else self.timing.call_s + 0.5)


class _Supervisor(threading.Thread):
    """The one owner of PortAudio calls for a session (see the module's docstring)."""

    def __init__(self, session: LiveSession, opener, lister, resetter, watcher, player):
        super().__init__(name="input-supervisor", daemon=True)
        self.s = session
        self.timing = session.timing
        self._opener, self._lister, self._resetter, self._watcher = opener, lister, resetter, watcher
        self._player = player
        self._fingerprint: str | None = None  # the devices at the last look
        self._devices_looked = time.monotonic()
        self._preferred = None  # the input asked for, while the default stands in for it
        self._requests: queue.Queue = queue.Queue()
        self._stuck: list[tuple[str, threading.Thread]] = []  # abandoned calls (what, thread), possibly still running
        self._progress = (0, 0.0)  # (samples written, when that count was first seen)
        self._retry: list = []  # the inputs to try, in order, every retry_s while none is open (lost, or never opened)
        self._last_retry = -float("inf")

    def ask(self, request) -> None:
        self._requests.put(request)

    # -- bounded calls -----------------------------------------------------------------------------
    def _call(self, what: str, fn, *args):
        """fn(*args) on a thread of its own: its result or its exception; Stuck if it is not back in time (the thread
        is left running, and dropped)."""
        box: dict = {}
        done, lock = threading.Event(), threading.Lock()  # lock: the call's end and its abandonment, one at a time

        def run():
            try:
                value = fn(*args)
            except BaseException as e:  # noqa: BLE001  handed to the caller below
                box["error"] = e
                value = None
            with lock:
                box["value"] = value
                done.set()
                late = box.get("abandoned", False)
            if late and hasattr(value, "close"):
                value.close()  # an input opened too late for anyone to use: not left running

        thread = threading.Thread(target=run, name=f"portaudio-{what}", daemon=True)
        thread.start()
        done.wait(self.timing.call_s)
        with lock:
            if not done.is_set():
                box["abandoned"] = True
                self._stuck.append((what, thread))
                raise Stuck(f"{what} did not return within {self.timing.call_s:g} s: the sound server does not answer")
        if "error" in box:
            raise box["error"]
        return box["value"]

    @property
    def wedged(self) -> bool:
        """A call abandoned earlier is still stuck inside PortAudio."""
        self._stuck = [(what, t) for what, t in self._stuck if t.is_alive()]
        return bool(self._stuck)

    @property
    def open_stuck(self) -> bool:
        """An open abandoned earlier is still stuck: the sound server still hangs."""
        return self.wedged and any(what == "open" for what, _ in self._stuck)

    # -- state -------------------------------------------------------------------------------------
    def _publish(self, **changes) -> None:
        self.s._state = dataclasses.replace(self.s._state, **changes)

    def _say(self, kind: str, message: str, spec=None, device: InputDevice | None = None) -> None:
        self.s._events.append(InputEvent(kind, message, spec, device))

    def _publish_source(self, source, spec) -> None:
        if spec is not None and source.device.index >= 0:
            spec = source.device.key  # reopened by host API and name: an index points elsewhere after a rescan
        self._publish(status="ok", device=source.device, rate_hz=source.rate_hz, channels=source.channels, spec=spec,
                      error="")

    # -- the loop ----------------------------------------------------------------------------------
    def run(self) -> None:
        self._scan()
        while True:
            try:
                request = self._requests.get(timeout=self.timing.watch_s)
            except queue.Empty:
                request = None
            try:
                if request is None:
                    self._watch()
                    self._watch_devices()
                elif request[0] == "stop":
                    self._drop_source()
                    return
                elif request[0] == "open":
                    self._open(*request[1:])
                elif request[0] == "rescan":
                    self._rescan()
                elif request[0] == "play":
                    self._play(request[1])
            except Exception as e:  # noqa: BLE001  a fault must not end the one thread that owns the input
                log.exception("input supervisor")
                self._say("warning", f"input supervisor: {e}")
                if request is not None and request[0] == "open" and request[3] is not None:
                    request[3].error = str(e)
                    request[3].done.set()

    def _play(self, path) -> None:
        try:
            audio, rate = read_sound(path)  # not PortAudio: read before the bounded call, which only starts playing
            self._call("play", self._player, audio, rate)
        except Exception as e:  # noqa: BLE001  no output device, an unreadable file, a server that hangs
            self._say("warning", f"cannot play {getattr(path, 'name', path)}: {e}")

    def _look(self) -> str | None:
        """The devices' fingerprint now, or None if it cannot be had."""
        try:
            return self._call("look for devices", self._watcher)
        except Exception:  # noqa: BLE001  stuck or failing: look again later
            return None

    def _scan(self) -> None:
        """List the devices (as PortAudio last started), and remember what there was to list."""
        self._fingerprint = self._look() or self._fingerprint
        try:
            devices = tuple(self._call("list devices", self._lister))
        except Stuck as e:
            self._say("warning", str(e))
            return
        except Exception as e:  # noqa: BLE001  PortAudio without a host API: no devices
            self._say("warning", f"cannot list input devices: {e}")
            devices = ()
        self._publish(devices=devices, scans=self.s._state.scans + 1)

    def _try_open(self, spec):
        """A new input for `spec`, or raise DeviceError (Stuck included) with the reason."""
        try:
            return self._call("open", self._opener, spec)
        except Stuck as e:
            raise DeviceError(str(e)) from None
        except DeviceError:
            raise
        except Exception as e:  # noqa: BLE001  PortAudio missing, an odd driver error: a reason, not a dead thread
            raise DeviceError(f"cannot open input {spec!r}: {e}") from None

    def _open(self, spec, fall_back_to_default: bool, reply: _Reply | None) -> None:
        candidates = [spec] + ([None] if fall_back_to_default and spec not in (None, "") else [])
        self._preferred = None
        if self.s._state.status == "none":
            self._publish(status="opening", spec=spec)
        errors = []
        for candidate in candidates:
            try:
                new = self._try_open(candidate)
            except DeviceError as e:
                errors.append(str(e))
                continue
            old = self._install(new, candidate)
            if errors:  # the default stands in: the one asked for is taken back when it returns
                self._preferred = spec
            self._say("opened", f"input: {new.device.name} at {new.rate_hz:g} Hz"
                      + (f" (the default, until {spec} returns: {errors[0]})" if errors else ""), candidate, new.device)
            if reply is not None:
                reply.done.set()
            self._close(old)
            return
        error = "; ".join(errors)
        if self.s.source is None and fall_back_to_default:  # the window's first input: keep trying
            self._retry, self._last_retry = candidates, time.monotonic()
            self._publish(status="waiting", spec=spec, error=error)
        elif self.s._state.status == "opening":
            self._publish(status="none", error=error)
        self._say("failed", f"kept the current input: {error}" if self.s.source is not None else error, spec)
        if reply is not None:
            reply.error = error
            reply.done.set()

    def _install(self, new, spec):
        """Analysis moves to the new input. Returns the old input, for the caller to close once it has said what
        happened (a close can take up to a PortAudio call's bound)."""
        s = self.s
        with s._lock:
            old_worker, old_source = s.worker, s.source
            s.source = new
            s.worker = s._start_worker()
        self._progress = (new.ring.written, time.monotonic() + self.timing.open_grace_s)
        self._retry = []
        self._publish_source(new, spec)
        if old_worker is not None:
            old_worker.stop()
        return old_source

    def _close(self, source) -> None:
        if source is None:
            return
        try:
            self._call("close", source.close)
        except Exception:  # noqa: BLE001  stuck or already gone with its device: dropped either way
            pass

    def _drop_source(self) -> None:
        s = self.s
        with s._lock:
            worker, source = s.worker, s.source
            s.worker = s.source = None
        if worker is not None:
            worker.stop()
        if source is not None:
            self._close(source)

    def _rescan(self) -> None:
        if self._retry:  # reopening re-initialises and lists anyway
            self._last_retry = time.monotonic()
            self._reopen(asked=True)
            return
        spec, reopen = self.s._state.spec, self.s.source is not None
        if not self.wedged:
            self._drop_source()
        if not self.wedged:  # the close may just have got stuck: then re-initialising would wait on it
            try:
                self._call("re-initialise", self._resetter)
            except Exception as e:  # noqa: BLE001  stuck, or no host API: reported by the next open
                self._say("warning", f"re-initialising PortAudio: {e}")
        self._scan()
        if reopen and self.s.source is None:
            try:
                self._install(self._try_open(spec), spec)  # nothing was open: nothing to close
            except DeviceError as e:
                self._retry, self._last_retry = [spec], time.monotonic()
                self._publish(status="lost", error=str(e))
                self._say("lost", f"input lost: {e}", spec, self.s._state.device)

    def _watch_devices(self) -> None:
        """Devices came or went: list them anew (PortAudio re-initialised around the input), and take back the
        input asked for if it is there again."""
        now = time.monotonic()
        if now - self._devices_looked < self.timing.devices_s or self.wedged:
            return
        self._devices_looked = now
        fingerprint = self._look()
        if fingerprint is None or fingerprint == self._fingerprint:
            return
        if self._fingerprint is None:  # the first we could read: what there is, not a change
            self._fingerprint = fingerprint
            return
        self._rescan()  # and _scan remembers the new fingerprint
        preferred = self._preferred
        if preferred is not None and self.s.source is not None:
            try:
                new = self._try_open(preferred)
            except DeviceError:
                return  # still gone
            old = self._install(new, preferred)
            self._preferred = None
            self._say("opened", f"input: {new.device.name} at {new.rate_hz:g} Hz (it is back)", preferred, new.device)
            self._close(old)

    def _watch(self) -> None:
        now = time.monotonic()
        source = self.s.source
        if source is not None:
            written = source.ring.written
            if written != self._progress[0]:
                self._progress = (written, now)
                return
            if now - self._progress[1] < self.timing.stall_s:
                return
            self._retry = [self.s._state.spec]
            self._drop_source()
            self._publish(status="lost", error="")
            self._say("lost", f"input lost: {source.device.name} stopped sending audio; retrying",
                      self.s._state.spec, source.device)
            self._last_retry = -float("inf")
        if self._retry and now - self._last_retry >= self.timing.retry_s:
            self._last_retry = now
            self._reopen()

    def _reopen(self, asked: bool = False) -> None:
        """The input to retry: PortAudio re-initialised first (a returning device or sound server needs it), then
        each candidate opened in turn. A retry of its own waits while an earlier open is still stuck (the server has
        not answered it yet); one the user asked for (Rescan) goes ahead."""
        if self.open_stuck and not asked:
            self._publish(error="the sound server has not answered an earlier open yet")
            return
        if not self.wedged:
            try:
                self._call("re-initialise", self._resetter)
            except Exception:  # noqa: BLE001  stuck, or no host API: the open below says why
                pass
            self._scan()
        errors = []
        for spec in self._retry:
            try:
                new = self._try_open(spec)
            except DeviceError as e:
                errors.append(str(e))
                continue
            kind = "back" if self.s._state.status == "lost" else "opened"
            preferred = self._retry[0] if spec != self._retry[0] else None  # the default stands in for it
            self._install(new, spec)  # retried because none was open: nothing to close
            self._preferred = preferred
            self._say(kind, f"input {'back' if kind == 'back' else 'open'}: {new.device.name} at {new.rate_hz:g} Hz",
                      spec, new.device)
            return
        self._publish(error="; ".join(errors))
