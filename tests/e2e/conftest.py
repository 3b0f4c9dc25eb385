import pytest

from . import Pulse


@pytest.fixture
def pulse(tmp_path):
    """A private PulseAudio server, started; stopped after the test."""
    p = Pulse(tmp_path / "xdg")
    p.start()
    yield p
    p.stop()
