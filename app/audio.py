"""Microphone capture: a sounddevice InputStream whose callback copies each block into a RingBuffer.

Threads: PortAudio's audio thread runs `_callback`; it only copies the block into
the ring and counts overflows: no DSP, no logging, no Qt, no allocation beyond
the copy. Everything else (the analysis worker, the GUI) reads the ring through
its own cursor. The stream stops with `close()`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading

import numpy as np

from app.ringbuffer import RingBuffer

RING_SECONDS = 10.0


class DeviceError(Exception):
    """An input device that cannot be found or opened; the message lists the input devices."""


@dataclasses.dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_rate_hz: float
    is_default: bool
    hostapi: str
    source: str = ""  # a PulseAudio source ("vsink.monitor"), opened through ALSA's "pulse" device at `index`

    @property
    def key(self) -> str:
        """How the device is remembered: its host API and name ("ALSA: pulse", "PulseAudio: vsink.monitor"), not
        its index, which points elsewhere once the list changes. `find_device` takes it back."""
        return f"{self.hostapi}: {self.source or self.name}"


log = logging.getLogger("pitchrec.audio")
_C_HANDLERS: list = []  # the C callbacks below, kept alive as long as the libraries may call them


def _messages_to_the_log() -> None:
    """ALSA and JACK, which PortAudio loads, write their complaints straight to the terminal ("Unknown PCM dmix",
    "jack server is not running"). Hand them to the log instead, at debug level (pitchrec -v shows them).
    PortAudio's own lines ("Expression ... failed") have no such hook. Done once, before PortAudio starts; where a
    library is missing, nothing happens."""
    import ctypes
    import ctypes.util

    if _C_HANDLERS:
        return
    asound = ctypes.util.find_library("asound")
    if asound:
        # snd_lib_error_handler_t(file, line, function, err, fmt, ...): the format alone is logged (its arguments
        # are C varargs, out of reach here).
        handler_t = ctypes.CFUNCTYPE(None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                                     ctypes.c_char_p)

        def alsa(file, line, function, err, fmt):
            log.debug("ALSA %s: %s", (function or b"").decode(errors="replace"), (fmt or b"").decode(errors="replace"))

        _C_HANDLERS.append(handler_t(alsa))
        try:
            ctypes.CDLL(asound).snd_lib_error_set_handler(_C_HANDLERS[-1])
        except (OSError, AttributeError):
            pass
    jack = ctypes.util.find_library("jack")
    if jack:
        message_t = ctypes.CFUNCTYPE(None, ctypes.c_char_p)

        def jack_message(text):
            log.debug("JACK: %s", (text or b"").decode(errors="replace"))

        _C_HANDLERS.append(message_t(jack_message))
        try:
            library = ctypes.CDLL(jack)
            library.jack_set_error_function(_C_HANDLERS[-1])
            library.jack_set_info_function(_C_HANDLERS[-1])
        except (OSError, AttributeError):
            pass
    _C_HANDLERS.append(None)  # tried: once is enough


# PortAudio's own complaints ("Expression '...' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 3887"), and the
# ALSA and JACK ones that come before their handlers are set.
_PORTAUDIO_LINE = re.compile(r"^(Expression '.*' failed in '|PaAlsa|PaUnixThread|ALSA lib |Cannot connect to server|"
                             r"jack server is not running|JackShmReadWritePtr)")


def portaudio_output_to_the_log() -> None:
    """PortAudio writes its complaints with fprintf(stderr), and Debian's library exports no hook to take them. So
    for a process that is the app (not a test run, not a library's user), the file descriptor 2 that C code writes
    to becomes a pipe read by a thread of its own: PortAudio's lines go to the log at debug level (pitchrec -v
    shows them), every other line goes on to the terminal as it came. Python's sys.stderr writes to the terminal
    directly, and so do faulthandler's dumps. What C code writes just before the process aborts can be lost with the
    pipe; if the thread fails, C's stderr goes back to the terminal. Call it before logging is set up.

    C code never waits on the pipe: a write to it when full fails, and that line is lost (or joined to the next).
    At exit the pipe's reader stops with every other daemon thread, while a stream abandoned on a dead sound server
    may still print PortAudio's complaints in a loop from its own thread; waiting on a full pipe, that thread held
    C's stderr lock, and the interpreter's last flush of stderr waited for the lock for ever. A child process started
    later must be given a stderr of its own (as `_pactl` captures it): it would inherit a non-blocking one."""
    import faulthandler
    import io
    import sys

    if os.name != "posix":
        return
    terminal = os.dup(2)
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)  # for descriptor 2 too: a flag of the pipe's end, which dup2 shares
    os.dup2(write_end, 2)
    os.close(write_end)
    sys.stderr = io.TextIOWrapper(io.FileIO(terminal, "w", closefd=False), line_buffering=True,
                                  errors="backslashreplace")
    faulthandler.enable(sys.stderr)  # a crash's traceback straight to the terminal, not through the pipe

    def to_terminal(data: bytes) -> None:
        while data:
            try:
                data = data[os.write(terminal, data):]
            except InterruptedError:
                continue
            except OSError:  # a closed or full terminal: the line is dropped, the pipe keeps draining
                return

    def forward():
        try:
            with os.fdopen(read_end, "rb") as pipe:
                for line in pipe:
                    text = line.decode(errors="replace").rstrip("\n")
                    if _PORTAUDIO_LINE.match(text):
                        log.debug("PortAudio: %s", text)
                    else:
                        to_terminal(line)
        finally:
            os.dup2(terminal, 2)  # nobody reads the pipe any more: C's stderr is the terminal again

    threading.Thread(target=forward, name="portaudio-output", daemon=True).start()


def _sd():
    import atexit

    _messages_to_the_log()
    import sounddevice  # PortAudio is loaded on first use, not when app is imported

    # sounddevice stops its playback and terminates PortAudio at exit, which must happen (a clip still playing would
    # call into a Python being torn down: a segfault), but unbounded: with a stream stuck on a dead sound server
    # (one the input supervisor abandoned) the process would never exit. So it gets a second, then the exit goes on.
    handler = getattr(sounddevice, "_exit_handler", None)
    if handler is not None:
        atexit.unregister(handler)
        atexit.register(_bounded, handler, 1.0)
        sounddevice._exit_handler = None  # registered once
    return sounddevice


def _bounded(fn, seconds: float) -> None:
    thread = threading.Thread(target=fn, name="portaudio-exit", daemon=True)
    thread.start()
    thread.join(seconds)


def reset_portaudio() -> None:
    """Restart PortAudio so that it lists devices anew (it enumerates them only when it starts).
    Only call it with no stream open. A no-op if sounddevice was never loaded."""
    import sys

    sd = sys.modules.get("sounddevice")
    if sd is None:
        return
    try:
        sd.stop()  # a clip playing: sounddevice would later stop a stream that terminating PortAudio freed
        sd._terminate()
        sd._initialize()
    except Exception:  # noqa: BLE001  PortAudio without any host API: the next open reports it
        pass


class ServerHangs(DeviceError):
    """The sound server did not answer pactl within its bound."""


def _pactl(*args: str) -> str | None:
    """pactl's output, or None where there is no pactl or no server; ServerHangs if it does not answer in a
    second."""
    import shutil
    import subprocess

    if not shutil.which("pactl"):
        return None
    try:
        out = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=1.0)
    except subprocess.TimeoutExpired:
        raise ServerHangs("the sound server does not answer (pactl timed out)") from None
    except OSError:
        return None
    return out.stdout if out.returncode == 0 else None


def pulse_sources(pulse: InputDevice) -> list[InputDevice]:
    """The sound server's sources (microphones, line inputs, the monitors of outputs), each a device opened
    through ALSA's `pulse` device. Debian's PortAudio has no PulseAudio host API of its own, and "pulse" alone
    only reaches the server's default source. ServerHangs if the server does not answer."""
    import json

    text = _pactl("--format=json", "list", "sources")
    try:
        sources = json.loads(text) if text else []
    except ValueError:
        return []
    found = []
    for src in sources if isinstance(sources, list) else []:
        spec = re.search(r"(\d+)ch (\d+)Hz", str(src.get("sample_specification", "")))
        if not src.get("name") or spec is None:
            continue
        found.append(InputDevice(pulse.index, str(src.get("description") or src["name"]),
                                 min(int(spec[1]), pulse.channels), float(spec[2]), False, "PulseAudio",
                                 str(src["name"])))
    return found


def read_sound(path) -> tuple[np.ndarray, int]:
    """A sound file's samples (frames, channels) and rate."""
    import soundfile

    return soundfile.read(str(path), dtype="float32", always_2d=True)


def play_sound(audio: np.ndarray, rate: int) -> None:
    """Start playing on the default output; returns at once (PortAudio's thread plays it)."""
    _sd().play(audio, rate)


def input_devices(sources: bool = True) -> list[InputDevice]:
    """Input devices, the default first, then (sources=True) the sound server's sources, none where it does not
    answer. An empty list if PortAudio finds none."""
    sd = _sd()
    try:
        devices = sd.query_devices()
        hostapis = sd.query_hostapis()
        default_in = sd.default.device[0]
    except sd.PortAudioError:
        return []
    found = [
        InputDevice(i, d["name"], d["max_input_channels"], d["default_samplerate"], i == default_in, hostapis[d["hostapi"]]["name"])
        for i, d in enumerate(devices)
        if d["max_input_channels"] > 0
    ]
    pulse = [d for d in found if d.hostapi == "ALSA" and d.name == "pulse"]
    if sources and pulse:
        try:
            found += pulse_sources(pulse[0])
        except ServerHangs as e:
            log.warning("PulseAudio's sources are not listed: %s", e)
    return sorted(found, key=lambda d: (not d.is_default, bool(d.source), d.index))


def devices_fingerprint() -> str | None:
    """What input hardware and sound-server sources there are, read without PortAudio (which lists devices only
    when it starts): the ALSA cards, and PulseAudio's source names where pactl answers within a second. It changes
    when a device comes or goes, not when a stream starts or stops."""
    parts = []
    try:
        with open("/proc/asound/cards", encoding="utf-8", errors="replace") as f:
            parts.append(f.read())
    except OSError:
        pass
    try:
        sources = _pactl("list", "short", "sources")
    except ServerHangs:
        return None  # a slow or hung server: unknown, not a change
    if sources is not None:
        parts.append(" ".join(sorted(line.split("\t")[1] for line in sources.splitlines() if "\t" in line)))
    return "\n".join(parts)


def describe_devices(devices: list[InputDevice] | None = None) -> str:
    devices = input_devices() if devices is None else devices
    if not devices:
        return "no input devices found"
    return "; ".join(f"{d.key if d.source else d.index}: {d.name}{' (default)' if d.is_default else ''}" for d in devices)


def find_device(spec: str | int | None) -> InputDevice:
    """An input device by its key ("ALSA: pulse", "PulseAudio: vsink.monitor"), by index, by a case-insensitive part
    of its name, or the default for None. The sound server's sources are looked at (pactl) only when PortAudio's
    devices do not match: by key, by source name or by a part of their names."""
    devices = input_devices(sources=False)
    text = "" if spec is None else str(spec).strip()
    if devices and text and (text.startswith("PulseAudio: ") or not _matching(devices, text)):
        pulse = [d for d in devices if d.hostapi == "ALSA" and d.name == "pulse"]
        devices = devices + (pulse_sources(pulse[0]) if pulse else [])  # ServerHangs says why it cannot be had
    if not devices:
        raise DeviceError("no input devices found (is a microphone connected, or PulseAudio running?)")
    if not text:
        return devices[0]
    for d in devices:
        if d.key == text:
            return d
    if text.lstrip("-").isdigit():
        for d in devices:
            if d.index == int(text):
                return d
        raise DeviceError(f"no input device with index {text}; input devices: {describe_devices(devices)}")
    matches = _matching([d for d in devices if not d.source], text) or _matching(devices, text)
    exact = [d for d in matches if text.lower() in (d.name.lower(), d.source.lower())]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0]
    if not matches:
        raise DeviceError(f"no input device matches {text!r}; input devices: {describe_devices(devices)}")
    raise DeviceError(f"{text!r} matches {len(matches)} input devices; be more precise: {describe_devices(matches)}")


def _matching(devices: list[InputDevice], text: str) -> list[InputDevice]:
    """The devices whose name or source name holds `text`, case aside."""
    return [d for d in devices if text.lower() in d.name.lower() or text.lower() in d.source.lower()]


_USERS_PULSE_SOURCE = os.environ.get("PULSE_SOURCE")  # the one set before Pitchrec started, if any
_PULSE_SOURCE_LOCK = threading.Lock()


def _name_pulse_source(source: str) -> None:
    """Before any input opens: PULSE_SOURCE names the source a stream through ALSA's "pulse" (or "default") device
    connects to, since libpulse reads it when it connects, at the open. Set to the device's source, or back to
    what the user had, before every open, never restored after: an abandoned open that returns late cannot undo
    a later one's. It is changed only when it must, since setting the environment while other threads read it is
    not safe in C (a switch between sources is rare)."""
    wanted = source or _USERS_PULSE_SOURCE
    with _PULSE_SOURCE_LOCK:
        if os.environ.get("PULSE_SOURCE") == wanted:
            return
        if wanted is None:
            os.environ.pop("PULSE_SOURCE", None)
        else:
            os.environ["PULSE_SOURCE"] = wanted


class AudioInput:
    """An open input stream feeding `ring`. Opening failures raise DeviceError and leave nothing open."""

    def __init__(self, device: str | int | None = None, rate_hz: float | None = None, blocksize: int = 0):
        sd = _sd()
        self.device = find_device(device)
        self.rate_hz = float(rate_hz or self.device.default_rate_hz)
        self.channels = self.device.channels if self.device.channels <= 2 else 2
        self.ring = RingBuffer(int(RING_SECONDS * self.rate_hz), self.channels, self.rate_hz)
        self.overflows = 0  # NB: written by the audio thread, read by others
        self.blocks = 0
        try:
            _name_pulse_source(self.device.source)
            self._stream = sd.InputStream(
                device=self.device.index,
                channels=self.channels,
                samplerate=self.rate_hz,
                dtype="float32",
                blocksize=blocksize,
                callback=self._callback,
            )
            self._stream.start()
        except (sd.PortAudioError, ValueError) as e:
            raise DeviceError(f"cannot open input {self.device.key} at {self.rate_hz:g} Hz: {e}") from None

    def _callback(self, indata: np.ndarray, frames: int, time_info, status) -> None:
        """Runs on PortAudio's audio thread: copy into the ring, count overflows, nothing else."""
        if status.input_overflow:
            self.overflows += 1
        self.ring.write(indata)
        self.blocks += 1

    @property
    def active(self) -> bool:
        return bool(self._stream.active)

    def close(self) -> None:
        try:
            self._stream.stop()
            self._stream.close()
        except Exception:  # already gone with its device  # noqa: BLE001
            pass


class ToneInput:
    """A stand-in for AudioInput that plays a synthesized tone into its ring in real time.

    For demos and tests without a sound card (`pitchrec gui --device tone:440`): a
    harmonic tone at `frequency_hz` (None: silence) with a little noise, written by
    its own thread in blocks, paced by the clock as a sound card would be.
    """

    def __init__(self, frequency_hz=440.0, rate_hz: float = 48000.0, block: int = 480, level: float = 0.3):
        """frequency_hz: one frequency, several (a chord: each string of a strum, as tone:82.41+110), or None."""
        shown = "+".join(f"{f:g}" for f in np.atleast_1d(frequency_hz or 0))
        self.device = InputDevice(-1, f"synthesized tone ({shown} Hz)", 1, rate_hz, False, "pitchrec")
        self.rate_hz = float(rate_hz)
        self.channels = 1
        self.ring = RingBuffer(int(RING_SECONDS * self.rate_hz), 1, self.rate_hz)
        self.frequency_hz = frequency_hz  # may be changed while running
        self.level = level
        self.overflows = 0
        self.blocks = 0
        self._block = block
        self._phases: dict[int, float] = {}  # per tone of a chord
        self._rng = np.random.default_rng(0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tone-input", daemon=True)
        self._thread.start()

    def _next_block(self) -> np.ndarray:
        n = self._block
        tones = [f for f in np.atleast_1d(self.frequency_hz or 0.0) if f]
        out = self._rng.standard_normal(n).astype(np.float32) * 1e-4
        for i, f in enumerate(tones):
            phase = self._phases.get(i, 0.0) + 2 * np.pi * f * np.arange(1, n + 1) / self.rate_hz
            for k, a in ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.15)):
                out += (self.level / len(tones) * a / 1.95 * np.sin(k * phase)).astype(np.float32)
            self._phases[i] = float(phase[-1] % (2 * np.pi))
        return out[:, None]

    def _run(self) -> None:
        import time

        start, sent = time.monotonic(), 0
        while not self._stop.is_set():
            due = start + (sent + self._block) / self.rate_hz
            if self._stop.wait(max(0.0, due - time.monotonic())):
                break
            self.ring.write(self._next_block())
            sent += self._block
            self.blocks += 1

    @property
    def active(self) -> bool:
        return self._thread.is_alive()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(1.0)


def open_input(spec: str | int | None) -> "AudioInput | ToneInput":
    """An input by device spec; "tone:<Hz>" opens a synthesized tone instead of a device."""
    if isinstance(spec, str) and spec.startswith("tone:"):
        try:
            tones = [float(f) for f in spec.removeprefix("tone:").split("+")]
            if not all(0 <= f < 20000 for f in tones):
                raise ValueError
        except ValueError:
            raise DeviceError(f"bad tone spec {spec!r}: expected tone:<Hz>, e.g. tone:440, or a chord, "
                              f"tone:82.41+110") from None
        return ToneInput(tones[0] if len(tones) == 1 else tuple(tones))
    return AudioInput(spec)
