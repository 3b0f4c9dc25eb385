"""Microphone capture: a sounddevice InputStream whose callback copies each block into a RingBuffer.

Threads: PortAudio's audio thread runs `_callback`; it only copies the block into
the ring and counts overflows: no DSP, no logging, no Qt, no allocation beyond
the copy. Everything else (the analysis worker, the GUI) reads the ring through
its own cursor. The stream stops with `close()`.
"""

from __future__ import annotations

import dataclasses

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


def _sd():
    import sounddevice  # PortAudio is loaded on first use, not when app is imported

    return sounddevice


def reset_portaudio() -> None:
    """Restart PortAudio so that it lists devices anew (it enumerates them only when it starts).
    Only call it with no stream open. A no-op if sounddevice was never loaded."""
    import sys

    sd = sys.modules.get("sounddevice")
    if sd is None:
        return
    try:
        sd._terminate()
        sd._initialize()
    except Exception:  # noqa: BLE001  PortAudio without any host API: the next open reports it
        pass


def input_devices() -> list[InputDevice]:
    """Input devices, the default first. An empty list if PortAudio finds none."""
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
    return sorted(found, key=lambda d: (not d.is_default, d.index))


def describe_devices(devices: list[InputDevice] | None = None) -> str:
    devices = input_devices() if devices is None else devices
    if not devices:
        return "no input devices found"
    return "; ".join(f"{d.index}: {d.name}{' (default)' if d.is_default else ''}" for d in devices)


def find_device(spec: str | int | None) -> InputDevice:
    """An input device by index, by a case-insensitive part of its name, or the default for None."""
    devices = input_devices()
    if not devices:
        raise DeviceError("no input devices found (is a microphone connected, or PulseAudio running?)")
    if spec is None or spec == "":
        return devices[0]
    text = str(spec).strip()
    if text.lstrip("-").isdigit():
        for d in devices:
            if d.index == int(text):
                return d
        raise DeviceError(f"no input device with index {text}; input devices: {describe_devices(devices)}")
    matches = [d for d in devices if text.lower() in d.name.lower()]
    exact = [d for d in matches if d.name.lower() == text.lower()]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0]
    if not matches:
        raise DeviceError(f"no input device matches {text!r}; input devices: {describe_devices(devices)}")
    raise DeviceError(f"{text!r} matches {len(matches)} input devices; be more precise: {describe_devices(matches)}")


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
            raise DeviceError(f"cannot open input device {self.device.index} ({self.device.name}) at {self.rate_hz:g} Hz: {e}") from None

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

    def __init__(self, frequency_hz: float | None = 440.0, rate_hz: float = 48000.0, block: int = 480, level: float = 0.3):
        import threading

        self.device = InputDevice(-1, f"synthesized tone ({frequency_hz or 0:g} Hz)", 1, rate_hz, False, "pitchrec")
        self.rate_hz = float(rate_hz)
        self.channels = 1
        self.ring = RingBuffer(int(RING_SECONDS * self.rate_hz), 1, self.rate_hz)
        self.frequency_hz = frequency_hz  # may be changed while running
        self.level = level
        self.overflows = 0
        self.blocks = 0
        self._block = block
        self._phase = 0.0
        self._rng = np.random.default_rng(0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tone-input", daemon=True)
        self._thread.start()

    def _next_block(self) -> np.ndarray:
        n, f = self._block, self.frequency_hz
        out = self._rng.standard_normal(n).astype(np.float32) * 1e-4
        if f:
            phase = self._phase + 2 * np.pi * f * np.arange(1, n + 1) / self.rate_hz
            for k, a in ((1, 1.0), (2, 0.5), (3, 0.3), (4, 0.15)):
                out += (self.level * a / 1.95 * np.sin(k * phase)).astype(np.float32)
            self._phase = float(phase[-1] % (2 * np.pi))
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
            return ToneInput(float(spec.removeprefix("tone:")))
        except ValueError:
            raise DeviceError(f"bad tone spec {spec!r}: expected tone:<Hz>, e.g. tone:440") from None
    return AudioInput(spec)
