"""Scrolling spectrogram, ~10 s, on a log-frequency axis from 25 Hz, with note names and a marker at the pitch.

This is a display of its own, not the model's patch: VGGish's log-mel bands start at 125 Hz, so a bass or low
guitar fundamental would never show there. `DisplaySpectrum` turns the input's audio at its own rate into a
column every COLUMN_S, read at half semitones from LOW_HZ to HIGH_HZ, in dB of a full-scale sine. Two
resolutions, as a low note needs a long window and a high one a short one:
  - below SPLIT_HZ, the audio resampled to LOW_RATE_HZ, a Hann window of LOW_WINDOW_S (B0 and its neighbours
    come apart);
  - above, the audio at its own rate, a Hann window of HIGH_WINDOW_S.
Both are zero-padded PAD times, so that a sine's peak lands on its row. The window reads the input's ring through
a cursor of its own (no PortAudio) and feeds it here on the GUI thread: two FFTs every 20 ms.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
import soxr

from app.notes import hz_to_midi

SECONDS = 10.0
COLUMN_S = 0.02
LOW_HZ, SPLIT_HZ, HIGH_HZ = 25.0, 250.0, 8000.0
LOW_RATE_HZ, LOW_WINDOW_S = 2000.0, 0.5
HIGH_WINDOW_S = 0.085
PAD = 4
ROWS_PER_SEMITONE = 2
FLOOR_DB, TOP_DB = -100.0, -10.0


def row_of_hz(f_hz: float) -> float:
    """Fractional row (0 = LOW_HZ) of a frequency."""
    return (hz_to_midi(f_hz) - hz_to_midi(LOW_HZ)) * ROWS_PER_SEMITONE


ROWS = int(math.floor(row_of_hz(HIGH_HZ))) + 1


class _Band:
    """Magnitudes in dB at given frequencies from the newest `window` samples at `rate_hz`."""

    def __init__(self, rate_hz: float, window_s: float, rows_hz: np.ndarray):
        self.size = 1 << int(math.ceil(math.log2(window_s * rate_hz)))
        self._window = np.hanning(self.size).astype(np.float32)
        self._scale = 2.0 / float(self._window.sum())  # a full-scale sine reads 0 dB
        per_hz = self.size * PAD / rate_hz
        self._bins = rows_hz * per_hz  # fractional bin of each row in the padded FFT
        # Where bins are finer than rows (high up), a row takes the loudest bin between its edges, half a row
        # either side, so that a sine between two rows' centres still shows at its level.
        half_row = 2.0 ** (1.0 / (24.0 * ROWS_PER_SEMITONE))
        self._edges = np.ceil(np.append(rows_hz / half_row, rows_hz[-1] * half_row) * per_hz).astype(int)
        self.recent = np.zeros(self.size, np.float32)

    def take(self, audio: np.ndarray) -> None:
        self.recent = np.concatenate([self.recent, audio])[-self.size :]

    def db(self) -> np.ndarray:
        magnitude = np.abs(np.fft.rfft(self.recent * self._window, self.size * PAD)) * self._scale
        at_rows = np.interp(self._bins, np.arange(len(magnitude)), magnitude)
        edges = np.minimum(self._edges, len(magnitude) - 1)
        loudest = np.maximum.reduceat(magnitude, edges)[:-1]  # an empty span gives its first bin: no harm
        return 20.0 * np.log10(np.maximum(np.maximum(at_rows, loudest), 1e-9))


class DisplaySpectrum:
    """Columns of a log-frequency spectrogram from mono audio at `rate_hz`, fed in blocks of any size."""

    def __init__(self, rate_hz: float):
        self.rate_hz = float(rate_hz)
        self.hop = max(1, int(round(COLUMN_S * self.rate_hz)))
        rows_hz = LOW_HZ * 2.0 ** (np.arange(ROWS) / (12.0 * ROWS_PER_SEMITONE))
        self._split = int(np.searchsorted(rows_hz, SPLIT_HZ))
        self._low = _Band(LOW_RATE_HZ, LOW_WINDOW_S, rows_hz[: self._split])
        self._high = _Band(self.rate_hz, HIGH_WINDOW_S, rows_hz[self._split :])
        self._resampler = soxr.ResampleStream(self.rate_hz, LOW_RATE_HZ, 1, dtype="float32", quality="LQ")
        self._pending = 0  # samples taken in since the last column

    def push(self, audio: np.ndarray) -> np.ndarray:
        """(samples,) mono -> (new columns, ROWS) in dB, oldest first."""
        out = []
        audio = np.asarray(audio, np.float32)
        while len(audio):
            take = min(len(audio), self.hop - self._pending)
            self._high.take(audio[:take])
            self._low.take(self._resampler.resample_chunk(audio[:take]))
            audio, self._pending = audio[take:], self._pending + take
            if self._pending == self.hop:
                self._pending = 0
                out.append(np.concatenate([self._low.db(), self._high.db()]))
        return np.array(out, np.float32).reshape(len(out), ROWS)


class SpectrogramView(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent=parent)
        self.frames = int(round(SECONDS / COLUMN_S))
        self.image = np.full((self.frames, ROWS), FLOOR_DB, np.float32)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setLookupTable(pg.colormap.get("inferno").getLookupTable(nPts=256))
        self.item.setLevels((FLOOR_DB, TOP_DB))
        self._rect = (-SECONDS, -0.5, SECONDS, ROWS)
        self.addItem(self.item)
        self.marker = pg.ScatterPlotItem(size=10, brush=pg.mkBrush(80, 220, 255), pen=pg.mkPen("w"))
        self.addItem(self.marker)
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setXRange(-SECONDS, 0, padding=0)
        self.setYRange(-0.5, ROWS - 0.5, padding=0)
        self.setLabel("bottom", "seconds")
        ticks = [(row_of_hz(440.0 * 2 ** ((m - 69) / 12)), f"A{m // 12 - 1}") for m in range(21, 120, 12)]
        self.getAxis("left").setTicks([[(r, name) for r, name in ticks if 0 <= r < ROWS]])
        self._spectrum: DisplaySpectrum | None = None
        self._idle_s = 0.0  # time without audio not yet shown as empty columns
        self._dirty = True

    def feed(self, audio: np.ndarray, rate_hz: float) -> None:
        """New mono audio from the input, oldest first; a new rate starts the display's analysis afresh."""
        if self._spectrum is None or self._spectrum.rate_hz != rate_hz:
            self._spectrum = DisplaySpectrum(rate_hz)
        self.add_columns(self._spectrum.push(audio))

    def add_columns(self, columns: np.ndarray) -> None:
        """Append columns (n, ROWS) in dB, newest last."""
        if not len(columns):
            return
        cols = np.asarray(columns, np.float32)[-self.frames :]
        n = len(cols)
        self.image[:-n] = self.image[n:]
        self.image[-n:] = cols
        self._dirty = True

    def pass_time(self, seconds: float) -> None:
        """No audio for `seconds` (the input lost): empty columns scroll in, as many as that time holds."""
        self._idle_s += seconds
        n = int(self._idle_s / COLUMN_S)
        if n:
            self._idle_s -= n * COLUMN_S
            self.add_columns(np.full((min(n, self.frames), ROWS), FLOOR_DB, np.float32))

    def set_pitch(self, f0_hz: float | None) -> None:
        if f0_hz is None or not LOW_HZ <= f0_hz <= HIGH_HZ:
            self.marker.setData([], [])
        else:
            self.marker.setData([-0.05], [row_of_hz(f0_hz)])

    def redraw(self) -> None:
        if self._dirty:
            # Row-major image: rows are y (frequency), columns are x (time).
            self.item.setImage(self.image.T, autoLevels=False)
            self.item.setRect(*self._rect)  # after setImage: the rect maps the image's pixels to seconds and rows
            self._dirty = False
