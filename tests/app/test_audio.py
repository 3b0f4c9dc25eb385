"""Device lookup by index or name part, with errors that list the input devices; the callback only copies."""

import os

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
    monkeypatch.setattr(audio, "input_devices", lambda sources=True: list(DEVICES))
    monkeypatch.setattr(audio, "_pactl", lambda *args: None)  # no sound server to ask


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
    monkeypatch.setattr(audio, "input_devices", lambda sources=True: [])
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


PACTL_SOURCES = """[{"index": 0, "name": "vsink.monitor", "description": "Monitor of Null Output",
  "sample_specification": "s16le 2ch 44100Hz"},
 {"index": 1, "name": "alsa_input.usb-mic.mono", "description": "USB Mic", "sample_specification": "s16le 1ch 48000Hz"},
 {"index": 2, "name": "broken"}]"""


class PortAudio:  # what sounddevice reports: "pulse" at 0, "default" at 1 (the default), a USB card, an output
    PortAudioError = RuntimeError
    default = type("default", (), {"device": (1, 2)})

    @staticmethod
    def query_devices():
        return [dict(name=n, max_input_channels=c, default_samplerate=44100.0, hostapi=0)
                for n, c in (("pulse", 32), ("default", 32), ("hdmi", 0), ("USB Mic: Audio (hw:2,0)", 1))]

    @staticmethod
    def query_hostapis():
        return [dict(name="ALSA")]


@pytest.fixture
def server(monkeypatch):
    """PortAudio as above and a sound server with two sources; counts pactl's calls."""
    calls = []

    def pactl(*args):
        calls.append(args)
        return PACTL_SOURCES if "sources" in args else None

    monkeypatch.setattr(audio, "_sd", lambda: PortAudio)
    monkeypatch.setattr(audio, "_pactl", pactl)
    return calls


def test_sound_server_sources_are_devices_of_their_own_after_the_others(server):
    pulse = InputDevice(0, "pulse", 32, 44100.0, False, "ALSA")
    sources = audio.pulse_sources(pulse)
    assert [(d.name, d.source, d.channels, d.default_rate_hz, d.index) for d in sources] == [
        ("Monitor of Null Output", "vsink.monitor", 2, 44100.0, 0),
        ("USB Mic", "alsa_input.usb-mic.mono", 1, 48000.0, 0),
    ]  # one without a sample format is left out
    assert sources[0].key == "PulseAudio: vsink.monitor"
    listed = audio.input_devices()
    assert [d.key for d in listed] == ["ALSA: default", "ALSA: pulse", "ALSA: USB Mic: Audio (hw:2,0)",
                                       "PulseAudio: vsink.monitor", "PulseAudio: alsa_input.usb-mic.mono"]


def test_sources_are_looked_for_only_when_portaudio_devices_do_not_match(server):
    assert find_device(0).key == "ALSA: pulse"  # an index names PortAudio's device, not a source sharing it
    assert find_device("usb mic").key == "ALSA: USB Mic: Audio (hw:2,0)"  # the card, not its source as well
    assert find_device(None).key == "ALSA: default"
    assert server == []  # none of these asked the sound server
    assert find_device("PulseAudio: vsink.monitor").source == "vsink.monitor"
    assert find_device("usb-mic.mono").source == "alsa_input.usb-mic.mono"  # a part of the source's name
    assert find_device("null output").source == "vsink.monitor"  # or of its description
    with pytest.raises(DeviceError, match="PulseAudio: vsink.monitor: Monitor of Null Output"):
        find_device("nothing like it")


def test_a_sound_server_that_does_not_answer_is_named_as_the_reason(monkeypatch, caplog):
    def hangs(*args):
        raise audio.ServerHangs("the sound server does not answer (pactl timed out)")

    monkeypatch.setattr(audio, "_sd", lambda: PortAudio)
    monkeypatch.setattr(audio, "_pactl", hangs)
    with pytest.raises(DeviceError, match="does not answer"):
        find_device("PulseAudio: vsink.monitor")
    assert [d.key for d in audio.input_devices()][:2] == ["ALSA: default", "ALSA: pulse"]  # listed without them
    assert "not listed: the sound server does not answer" in caplog.text


def test_no_sources_without_a_sound_server(monkeypatch):
    monkeypatch.setattr(audio, "_pactl", lambda *args: None)
    assert audio.pulse_sources(DEVICES[1]) == []
    monkeypatch.setattr(audio, "_pactl", lambda *args: "not json")
    assert audio.pulse_sources(DEVICES[1]) == []


def test_every_open_names_its_source_and_a_late_one_cannot_undo_a_later_one(monkeypatch):
    monkeypatch.setattr(audio, "_USERS_PULSE_SOURCE", "the user's own")
    monkeypatch.setenv("PULSE_SOURCE", "the user's own")
    audio._name_pulse_source("second.monitor")  # a source: named for its open, and left so
    assert os.environ["PULSE_SOURCE"] == "second.monitor"
    audio._name_pulse_source("")  # any other device: back to the user's
    assert os.environ["PULSE_SOURCE"] == "the user's own"
    monkeypatch.setattr(audio, "_USERS_PULSE_SOURCE", None)
    audio._name_pulse_source("a.monitor")
    audio._name_pulse_source("")  # the user had none
    assert "PULSE_SOURCE" not in os.environ


def test_portaudio_lines_printed_by_c_code_go_to_the_log_and_others_to_the_terminal():
    import subprocess
    import sys

    script = """
import logging, os, threading
from app.audio import portaudio_output_to_the_log
portaudio_output_to_the_log()
logged = threading.Event()
class Seen(logging.Handler):
    def emit(self, record):
        print("logged:", record.getMessage(), flush=True)
        logged.set()
logging.getLogger("pitchrec.audio").addHandler(Seen())
logging.getLogger("pitchrec.audio").setLevel(logging.DEBUG)
os.write(2, b"a line of some other library\\n")  # as C code writes, past Python's sys.stderr
os.write(2, b"Expression 'r' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 3665\\n")
assert logged.wait(30)
import sys; print("python's own", file=sys.stderr)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "logged: PortAudio: Expression 'r' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 3665\n"
    assert done.stderr == "a line of some other library\npython's own\n"


def test_the_process_ends_while_c_code_floods_stderr_from_a_thread_of_its_own():
    """A PortAudio stream abandoned on a dead sound server prints its complaints in a loop from its own thread. At exit
    the pipe's reader stops: the printing thread then waited on the full pipe holding C's stderr lock, and the
    interpreter's last flush of stderr waited for the lock for ever (`pitchrec listen` after the server had gone and
    come back: 1 run in 5 on a loaded machine). Here one long fprintf stands for the loop."""
    import subprocess
    import sys

    script = """
import ctypes, threading, time
from app.audio import portaudio_output_to_the_log
portaudio_output_to_the_log()
libc = ctypes.CDLL(None)
line = b"Expression 'self->capture.ready || self->playback.ready' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 1\\n"
flood = line * 1_000_000
printing = threading.Event()
def flood_stderr():
    printing.set()  # the call below follows at once, and holds C's stderr lock until it returns
    libc.fputs(flood, ctypes.c_void_p.in_dll(libc, "stderr"))
threading.Thread(target=flood_stderr, daemon=True).start()
printing.wait(30)
time.sleep(0.05)
print("exiting", flush=True)
"""
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the process did not end")
    assert done.returncode == 0 and done.stdout == "exiting\n", done.stderr[-500:]
    assert "Expression" not in done.stderr  # PortAudio's lines never reach the terminal


def test_a_tone_spec_opens_a_tone_or_a_chord_and_a_bad_one_says_how_to_write_it():
    from app.audio import DeviceError, ToneInput, open_input

    for spec, tones in (("tone:440", 440.0), ("tone:82.41+110", (82.41, 110.0))):
        source = open_input(spec)
        try:
            assert isinstance(source, ToneInput) and source.frequency_hz == tones
            block = source._next_block()[:, 0]
            assert block.shape == (480,) and 0.05 < np.abs(block).max() < 0.5
        finally:
            source.close()
    for bad in ("tone:", "tone:abc", "tone:82+x", "tone:-5"):
        with pytest.raises(DeviceError, match="tone:82.41\\+110"):
            open_input(bad)
