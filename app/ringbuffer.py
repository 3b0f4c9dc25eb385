"""A ring buffer of audio with one writer and any number of readers, each with its own cursor.

The writer (the audio callback) only copies a block in and then advances the
count of samples written. Readers never block the writer: each keeps its own
cursor, and a reader that falls more than the capacity behind is told how many
samples it lost. Every window a reader takes is stamped with stream time: the
index of its first sample divided by the rate.

NB: `written` is advanced only after the copy, and a Python int store is atomic
under the GIL, so a reader that sees a count sees its samples. A reader checks
after copying that the writer has not lapped the span it copied.
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Window:
    audio: np.ndarray  # (samples, channels) float32, a copy
    start: int  # stream index of the first sample
    rate_hz: float
    lost: int = 0  # samples overwritten before this reader got to them

    @property
    def t_s(self) -> float:
        """Stream time of the first sample."""
        return self.start / self.rate_hz

    @property
    def end_t_s(self) -> float:
        """Stream time just after the last sample."""
        return (self.start + len(self.audio)) / self.rate_hz


class RingBuffer:
    def __init__(self, capacity: int, channels: int, rate_hz: float):
        if capacity <= 0 or channels <= 0 or rate_hz <= 0:
            raise ValueError(f"capacity, channels and rate must be positive, got {capacity}, {channels}, {rate_hz}")
        self.capacity = int(capacity)
        self.channels = int(channels)
        self.rate_hz = float(rate_hz)
        self._data = np.zeros((self.capacity, self.channels), dtype=np.float32)
        self.written = 0  # NB: read by other threads; advanced only by write()

    def write(self, block: np.ndarray) -> None:
        """Copy (frames, channels) in. Called by the one writer only; no allocation."""
        n = len(block)
        if n > self.capacity:  # keep the newest samples; the ones before are lost to every reader
            self.written += n - self.capacity
            block = block[n - self.capacity :]
            n = self.capacity
        at = self.written % self.capacity
        first = min(n, self.capacity - at)
        self._data[at : at + first] = block[:first]
        if first < n:
            self._data[: n - first] = block[first:]
        self.written += n

    def _copy(self, start: int, n: int) -> np.ndarray:
        at = start % self.capacity
        first = min(n, self.capacity - at)
        if first == n:
            return self._data[at : at + n].copy()
        return np.concatenate([self._data[at:], self._data[: n - first]])

    def latest(self, n: int) -> Window:
        """The newest n samples (fewer if fewer were ever written)."""
        end = self.written
        n = min(n, end, self.capacity)
        audio = self._copy(end - n, n)
        lost = min(n, max(0, self.written - self.capacity - (end - n)))
        if lost:  # lapped during the copy: drop the overwritten head
            audio, n = audio[lost:], n - lost
        return Window(audio, end - n, self.rate_hz)

    def reader(self, from_now: bool = True) -> "RingReader":
        return RingReader(self, self.written if from_now else 0)


class RingReader:
    """One reader's cursor into a RingBuffer."""

    def __init__(self, ring: RingBuffer, cursor: int):
        self.ring = ring
        self.cursor = cursor

    def available(self) -> int:
        return self.ring.written - self.cursor

    def read(self, max_samples: int | None = None) -> Window:
        """Everything written since the last read (at most max_samples, oldest first)."""
        end = self.ring.written
        lost = max(0, end - self.ring.capacity - self.cursor)
        start = self.cursor + lost
        n = end - start if max_samples is None else min(end - start, max_samples)
        audio = self.ring._copy(start, n)
        # Lapped during the copy: drop the overwritten head. Samples overwritten beyond the span
        # copied are not counted here; the next read finds them lost from its own cursor.
        lapped = min(n, max(0, self.ring.written - self.ring.capacity - start))
        if lapped:
            audio, start, n, lost = audio[lapped:], start + lapped, n - lapped, lost + lapped
        self.cursor = start + n
        return Window(audio, start, self.ring.rate_hz, lost)
