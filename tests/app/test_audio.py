"""Device lookup by index or name part, with errors that list the input devices; the callback only copies."""

import numpy as np
import pytest

from app import audio
from app.audio import DeviceError, InputDevice, find_device

DEVICES = [
    InputDevice(3, "USB Audio Interface: Line In", 2, 48000.0, True, "ALSA"),
    InputDevice(0, "pulse", 32, 44100.0, False, "ALSA"),
    InputDevice(1, "default", 32, 44100.0, False, "ALSA"),
    InputDevice(5, "USB Audio Interface: Mic", 1, 48000.0, False, "ALSA"),
]


@pytest.fixture()
def devices(monkeypatch):
    monkeypatch.setattr(audio, "input_devices", lambda: list(DEVICES))


def test_default_by_none(devices):
    assert find_device(None).index == 3


def test_by_index_and_by_name_part(devices):
    assert find_device(0).name == "pulse"
    assert find_device("5").name.endswith("Mic")
    assert find_device("PULSE").index == 0
    assert find_device("mic").index == 5


def test_exact_name_wins_over_parts(devices):
    assert find_device("default").index == 1


def test_a_device_is_remembered_by_host_api_and_name_not_index(devices):
    mic = DEVICES[3]
    assert mic.key == "ALSA: USB Audio Interface: Mic" and find_device(mic.key) == mic


def test_unknown_device_lists_the_inputs(devices):
    with pytest.raises(DeviceError) as err:
        find_device("scarlett")
    message = str(err.value)
    assert "scarlett" in message and "3: USB Audio Interface: Line In (default)" in message and "0: pulse" in message


def test_unknown_index_lists_the_inputs(devices):
    with pytest.raises(DeviceError, match="no input device with index 9.*1: default"):
        find_device(9)


def test_ambiguous_name_asks_for_more(devices):
    with pytest.raises(DeviceError, match="matches 2 input devices"):
        find_device("usb audio")


def test_no_devices(monkeypatch):
    monkeypatch.setattr(audio, "input_devices", lambda: [])
    with pytest.raises(DeviceError, match="no input devices"):
        find_device(None)


def test_callback_copies_into_the_ring_and_counts_overflows():
    from app.ringbuffer import RingBuffer

    class Status:
        input_overflow = True

    source = audio.AudioInput.__new__(audio.AudioInput)  # the callback alone, without PortAudio
    source.ring = RingBuffer(100, 2, 48000.0)
    source.overflows = source.blocks = 0
    block = np.ones((10, 2), np.float32)
    source._callback(block, 10, None, Status())
    block[:] = 0  # PortAudio reuses its buffer: the ring must hold a copy
    assert source.overflows == 1 and source.blocks == 1
    assert source.ring.latest(10).audio.sum() == 20.0


def test_alsa_complaints_go_to_the_log_not_the_terminal(capfd, caplog):
    import ctypes
    import ctypes.util
    import logging

    library = ctypes.util.find_library("asound")
    if not library:
        pytest.skip("no ALSA library")
    audio._messages_to_the_log()
    pcm = ctypes.c_void_p()
    with caplog.at_level(logging.DEBUG, logger="pitchrec.audio"):
        assert ctypes.CDLL(library).snd_pcm_open(ctypes.byref(pcm), b"no-such-pcm", 1, 0) < 0
    assert "ALSA lib" not in capfd.readouterr().err
    assert any("Unknown PCM" in r.getMessage() for r in caplog.records)
