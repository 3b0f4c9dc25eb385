"""LiveSession and its input supervisor: a device switch is transactional; settings restart analysis on the same
input; a lost input is reported and reopened; a PortAudio call that hangs is abandoned and never holds up the
caller. Inputs are synthesized tones; the supervisor's timings are shortened, and every wait is for a state, with
a generous bound, never for a duration."""

import dataclasses
import threading
import time

import pytest

from app.audio import DeviceError, ToneInput
from app.engine import Settings
from app.live import InputTiming, LiveSession
from app.model import NoteModel

FAST = InputTiming(call_s=0.5, stall_s=0.3, retry_s=0.2, open_grace_s=0.3, watch_s=0.02)


@pytest.fixture(scope="module")
def model():
    return NoteModel()


@pytest.fixture
def sessions(model):
    made = []

    def make(opener, **kwargs):
        kwargs.setdefault("timing", FAST)
        kwargs.setdefault("lister", lambda: [])
        kwargs.setdefault("resetter", lambda: None)
        session = LiveSession(model, opener=opener, **kwargs)
        made.append(session)
        return session

    yield make
    for session in made:
        session.close()


def until(condition, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the state never came"
        time.sleep(0.01)


def opener(spec):
    if spec == "broken":
        raise DeviceError("cannot open input device broken")
    return ToneInput(float(spec or 440.0))


def test_failed_switch_keeps_the_old_input_running(sessions):
    session = sessions(opener)
    session.open_input("440")
    first, worker = session.source, session.worker
    with pytest.raises(DeviceError):
        session.open_input("broken")
    assert session.source is first and session.worker is worker and first.active and worker.is_alive()
    session.open_input("220")
    assert session.source is not first and not worker.is_alive()
    until(lambda: not first.active)  # closed once the switch is reported
    assert session.input_state.status == "ok" and session.input_state.spec == "220"
    kinds = [e.kind for e in session.take_events()]
    assert kinds == ["opened", "failed", "opened"] and session.take_events() == []


def test_results_flow_and_settings_restart_the_worker(sessions):
    session = sessions(opener)
    session.open_input("440")
    version, result = session.results.get(0, timeout=3.0)
    assert result is not None
    _, result = session.results.get(version + 8, timeout=3.0)
    assert result.note == "A4"
    source, worker = session.source, session.worker
    session.apply(Settings(a4_hz=442.0))
    assert session.source is source and session.worker is not worker and not worker.is_alive()
    assert session.worker.analyzer.settings.a4_hz == 442.0
    session.close()
    assert session.source is None and not source.active


class DyingTone(ToneInput):
    """A tone input whose device 'disappears': it stops writing but still says it is active, as a PortAudio
    stream does when the sound server goes away."""

    active = True

    def die(self):
        self._stop.set()
        self._thread.join(1.0)


def test_lost_input_is_reported_and_reopened_when_the_device_returns(sessions):
    available = {"ok": True}
    opened, resets = [], []

    def flaky(spec):
        if not available["ok"]:
            raise DeviceError("no input devices found")
        opened.append(DyingTone(440.0))
        return opened[-1]

    session = sessions(flaky, resetter=lambda: resets.append(1))
    session.open_input(None)
    until(lambda: opened[0].ring.written > 0)
    available["ok"] = False
    opened[0].die()
    until(lambda: session.input_state.status == "lost")
    assert session.source is None and session.worker is None
    until(lambda: "no input devices" in session.input_state.error)  # retried: the device is still gone
    assert resets  # PortAudio re-initialised before each retry: it lists devices only when it starts
    available["ok"] = True
    until(lambda: session.input_state.status == "ok")
    assert len(opened) == 2 and session.source is opened[1] and session.worker.is_alive()
    _, result = session.results.get(session.results.get(timeout=0)[0], timeout=3.0)
    assert result is not None
    assert [e.kind for e in session.take_events()] == ["opened", "lost", "back"]


def test_a_window_started_without_any_input_connects_when_one_appears(sessions):
    available = {"ok": False}

    def server(spec):
        if not available["ok"]:
            raise DeviceError("no input devices found (is a microphone connected, or PulseAudio running?)")
        return ToneInput(440.0)

    session = sessions(server)
    session.request_input("my interface", fall_back_to_default=True)
    until(lambda: session.input_state.status == "waiting")
    assert "PulseAudio" in session.input_state.error and session.source is None
    available["ok"] = True
    until(lambda: session.input_state.status == "ok")
    assert session.input_state.spec == "my interface"  # the first candidate that opens: the one asked for


class Hang:
    """Calls that never return until released, as PortAudio's do when the sound server is stuck."""

    def __init__(self):
        self.release = threading.Event()
        self.entered = threading.Event()

    def __call__(self, *args):
        self.entered.set()
        self.release.wait()


def test_an_open_that_hangs_is_abandoned_and_the_running_input_stays(sessions):
    hang = Hang()

    def stuck_opener(spec):
        if spec == "stuck":
            hang()
            raise DeviceError("gone")
        return ToneInput(440.0)

    session = sessions(stuck_opener)
    session.open_input("440")
    running = session.source
    session.request_input("stuck")  # returns at once: the caller never waits on PortAudio
    assert hang.entered.wait(5.0) and not hang.release.is_set()
    until(lambda: any(e.kind == "failed" for e in session.take_events()))
    assert session.source is running and running.active and session.input_state.status == "ok"
    session.open_input("220")  # the supervisor goes on while the abandoned call is still stuck
    assert session.source is not running
    hang.release.set()


def test_a_close_that_hangs_is_abandoned_and_portaudio_is_not_reinitialised_while_it_is_stuck(sessions):
    hang, resets = Hang(), []

    class StuckClose(DyingTone):
        def close(self):
            hang()

    sources = []

    def open_stuck(spec):
        sources.append(StuckClose(440.0) if not sources else ToneInput(440.0))
        return sources[-1]

    session = sessions(open_stuck, resetter=lambda: resets.append(1))
    session.open_input(None)
    until(lambda: sources[0].ring.written > 0)
    sources[0].die()
    until(lambda: hang.entered.is_set())  # lost: its close hangs inside "PortAudio"
    until(lambda: len(sources) == 2 and session.source is sources[1] and session.input_state.status == "ok")
    assert resets == []  # re-initialising would wait on the stuck stream; reopening went ahead without it
    hang.release.set()
    session.close()  # and closing the session is bounded too
    assert not session._supervisor.is_alive()


def lost_while_the_server_hangs(sessions):
    """A session whose input "mic" was lost, and whose retries now hang in "PortAudio" until hang.release (then an open
    returns a tone, too late for the retry that asked): (session, hang, opener's calls, the lost input)."""
    hang, calls = Hang(), []

    def opener(spec):
        calls.append(spec)
        if len(calls) > 1:
            hang()
            return ToneInput(220.0)
        return DyingTone(440.0)

    session = sessions(opener)
    session.open_input("mic")
    first = session.source
    until(lambda: first.ring.written > 0)
    first.die()
    until(lambda: session.input_state.error == "the sound server has not answered an earlier open yet")
    return session, hang, calls, first


def test_retries_do_not_pile_up_opens_on_a_server_that_hangs(sessions):
    session, hang, calls, first = lost_while_the_server_hangs(sessions)
    retries = set()  # when the supervisor last retried
    until(lambda: retries.add(session._supervisor._last_retry) or len(retries) >= 5)  # five retries on
    assert len(calls) == 2  # still the one stuck open
    lost = [e for e in session.take_events() if e.kind == "lost"]
    assert lost[0].device == first.device and lost[0].spec == "mic"
    hang.release.set()  # the server answers again: the stuck open returns (and is closed), retries go on
    until(lambda: session.input_state.status == "ok")
    back = [e for e in session.take_events() if e.kind == "back"]
    assert back and back[0].device == session.source.device


def test_playback_goes_through_the_supervisor_and_a_failure_is_a_warning(sessions, tmp_path):
    import numpy as np
    import soundfile as sf

    played = []

    def player(audio, rate):
        played.append((audio.shape, rate, threading.current_thread().name))
        if rate == 8000:
            raise RuntimeError("Error opening output: Invalid sample rate")

    sf.write(tmp_path / "good.wav", np.zeros(4800, np.float32), 48000)
    sf.write(tmp_path / "slow.wav", np.zeros(800, np.float32), 8000)
    (tmp_path / "bad.wav").write_bytes(b"RIFF, but not a WAV")
    session = sessions(opener, player=player)
    for name in ("good.wav", "slow.wav", "bad.wav"):
        session.play(tmp_path / name)
    events = []
    until(lambda: events.extend(session.take_events()) or len([e for e in events if e.kind == "warning"]) == 2)
    assert played == [((4800, 1), 48000, "portaudio-play"), ((800, 1), 8000, "portaudio-play")]  # bounded calls
    warnings = [e.message for e in events if e.kind == "warning"]
    assert warnings[0] == "cannot play slow.wav: Error opening output: Invalid sample rate"
    assert warnings[1].startswith("cannot play bad.wav: ")  # unreadable: never reaches the player


def test_rescan_retries_at_once_even_while_an_open_is_stuck(sessions):
    session, hang, calls, _ = lost_while_the_server_hangs(sessions)
    stuck = len(calls)
    session.rescan()  # the user asks: tried although the retries wait
    until(lambda: len(calls) == stuck + 1)
    hang.release.set()


def test_the_input_asked_for_is_taken_back_when_it_returns_and_the_default_stands_in_meanwhile(sessions):
    present = {"my mic": False}
    looks = {"devices": "a"}

    def mics(spec):
        if spec is not None and not present.get(spec, False):
            raise DeviceError(f"no input device matches {spec!r}")
        return ToneInput(220.0 if spec is None else 440.0)

    session = sessions(mics, watcher=lambda: looks["devices"], timing=dataclasses.replace(FAST, devices_s=0.05))
    session.request_input("my mic", fall_back_to_default=True)
    # The supervisor publishes the new input's state just before it says what happened: wait for the event itself.
    events = []
    until(lambda: events.extend(session.take_events()) or events)
    assert session.input_state.status == "ok" and session.input_state.spec is None  # the default stands in ...
    assert [e.kind for e in events] == ["opened"] and "until my mic returns" in events[0].message  # ... and says so
    scans = session.input_state.scans
    present["my mic"], looks["devices"] = True, "a b"  # plugged in: the device list changes
    events.clear()
    until(lambda: events.extend(session.take_events()) or events)
    assert session.input_state.spec == "my mic"
    assert session.input_state.scans > scans and session.source.frequency_hz == 440.0
    assert [e.kind for e in events] == ["opened"] and "it is back" in events[0].message


def test_an_input_that_opens_after_it_was_abandoned_is_closed_and_an_odd_fault_is_a_reason(sessions):
    hang, late = Hang(), []

    def slow(spec):
        if spec == "slow":
            hang()
            late.append(ToneInput(440.0))
            return late[-1]
        if spec == "odd":
            raise OSError("PortAudio library not found")
        return ToneInput(220.0)

    session = sessions(slow)
    with pytest.raises(DeviceError, match="does not answer"):
        session.open_input("slow")
    hang.release.set()  # the open comes back after all: nobody holds that input, so it is closed
    until(lambda: late and not late[0].active)
    with pytest.raises(DeviceError, match="PortAudio library not found"):
        session.open_input("odd")
    session.open_input("220")  # the supervisor is still there
    assert session.input_state.status == "ok"


def test_a_sound_card_is_reopened_by_its_key_and_a_channel_it_lacks_is_mixed(sessions, model):
    from app.audio import InputDevice

    class Card(ToneInput):  # a mono sound card at index 3
        def __init__(self):
            super().__init__(440.0)
            self.device = InputDevice(3, "USB Mic", 1, 48000.0, False, "ALSA")

    asked = []
    session = sessions(lambda spec: asked.append(spec) or Card())
    session.apply(Settings(channel=1))  # the second channel of the last input: this one has only one
    session.open_input("3")
    assert session.input_state.spec == "ALSA: USB Mic"  # the index would point elsewhere after a rescan
    _, result = session.results.get(session.results.get(timeout=0)[0] + 5, timeout=5.0)
    assert result is not None and session.worker.is_alive()  # analysed, mixed to mono
    session.rescan()
    until(lambda: len(asked) == 2)
    assert asked == ["3", "ALSA: USB Mic"]
