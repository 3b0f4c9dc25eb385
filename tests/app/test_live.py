"""LiveSession: a device switch is transactional; settings restart analysis on the same input."""

import pytest

from app.audio import DeviceError, ToneInput
from app.engine import Settings
from app.live import LiveSession
from app.model import NoteModel


@pytest.fixture(scope="module")
def model():
    return NoteModel()


def opener(spec):
    if spec == "broken":
        raise DeviceError("cannot open input device broken")
    return ToneInput(float(spec))


def test_failed_switch_keeps_the_old_input_running(model):
    session = LiveSession(model, opener=opener)
    try:
        session.open_input("440")
        first, worker = session.source, session.worker
        with pytest.raises(DeviceError):
            session.open_input("broken")
        assert session.source is first and session.worker is worker and first.active and worker.is_alive()
        session.open_input("220")
        assert session.source is not first and not first.active and not worker.is_alive()
    finally:
        session.close()


def test_results_flow_and_settings_restart_the_worker(model):
    session = LiveSession(model, opener=opener)
    try:
        session.open_input("440")
        version, result = session.results.get(0, timeout=3.0)
        assert result is not None
        _, result = session.results.get(version + 8, timeout=3.0)
        assert result.note == "A4"
        assert session.take_columns()  # spectrogram columns were kept for the display
        source, worker = session.source, session.worker
        session.apply(Settings(a4_hz=442.0))
        assert session.source is source and session.worker is not worker and not worker.is_alive()
        assert session.worker.analyzer.settings.a4_hz == 442.0
    finally:
        session.close()
    assert session.source is None


class DyingTone(ToneInput):
    """A tone input whose device 'disappears': it stops writing but still says it is active, as a PortAudio
    stream does when the sound server goes away."""

    active = True

    def die(self):
        self._stop.set()
        self._thread.join(1.0)


def test_lost_input_is_reported_and_reopened_when_the_device_returns(model):
    available = {"ok": True}
    opened = []

    def flaky(spec):
        if not available["ok"]:
            raise DeviceError("no input devices found")
        src = DyingTone(440.0)
        opened.append(src)
        return src

    session = LiveSession(model, opener=flaky)
    try:
        session.open_input(None)
        import time

        while opened[0].ring.written == 0:
            time.sleep(0.005)
        t = time.monotonic()
        assert session.check_input(now=t) == "ok"
        opened[0].die()
        available["ok"] = False
        assert session.check_input(now=t + 0.5) == "ok"  # a short gap is not a loss yet
        assert session.check_input(now=t + 1.6) == "lost"  # retried once, the device is still gone
        assert session.source is None and "no input devices" in session.last_error
        assert session.check_input(now=t + 2.0) == "lost"  # no retry before RETRY_S
        available["ok"] = True
        assert session.check_input(now=t + 3.7) == "ok"  # retried: the device is back
        assert len(opened) == 2 and session.source is opened[1] and session.worker.is_alive()
        _, result = session.results.get(session.results.get(timeout=0)[0], timeout=3.0)
        assert result is not None
    finally:
        session.close()
