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
