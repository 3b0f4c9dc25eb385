"""Scrolling log-mel spectrogram, ~10 s, with a note axis and a marker at the detected pitch."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from app.features import hz_to_mel
from app.notes import midi_to_hz
from app.params import VGGISH, FrontEndParams

SECONDS = 10.0


def band_of_hz(f_hz: float, params: FrontEndParams = VGGISH) -> float:
    """Fractional mel-band index (0 = lowest band's centre) of a frequency."""
    lo, hi = hz_to_mel(params.mel_min_hz), hz_to_mel(params.mel_max_hz)
    step = (hi - lo) / (params.num_mel_bands + 1)
    return float((hz_to_mel(f_hz) - lo) / step - 1.0)


class SpectrogramView(pg.PlotWidget):
    def __init__(self, params: FrontEndParams = VGGISH, parent=None):
        super().__init__(parent=parent)
        self.params = params
        self.frames = int(round(SECONDS / params.hop_s))
        self.image = np.full((self.frames, params.num_mel_bands), np.log(params.log_offset), np.float32)
        self.item = pg.ImageItem(axisOrder="row-major")
        self.item.setLookupTable(pg.colormap.get("inferno").getLookupTable(nPts=256))
        self.item.setLevels((np.log(params.log_offset), 4.0))
        self._rect = (-SECONDS, -0.5, SECONDS, params.num_mel_bands)
        self.addItem(self.item)
        self.marker = pg.ScatterPlotItem(size=10, brush=pg.mkBrush(80, 220, 255), pen=pg.mkPen("w"))
        self.addItem(self.marker)
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setXRange(-SECONDS, 0, padding=0)
        self.setYRange(-0.5, params.num_mel_bands - 0.5, padding=0)
        self.setLabel("bottom", "seconds")
        ticks = [(band_of_hz(midi_to_hz(m), params), f"{'C' if m % 12 == 0 else 'A'}{m // 12 - 1}")
                 for m in range(24, 108) if m % 12 in (0, 9) and params.mel_min_hz < midi_to_hz(m) < params.mel_max_hz]
        self.getAxis("left").setTicks([ticks])
        self._dirty = True

    def add_columns(self, columns) -> None:
        """Append log-mel frames (n, mel_bands), newest last."""
        if not len(columns):
            return
        cols = np.asarray(columns, np.float32)[-self.frames :]
        n = len(cols)
        self.image[:-n] = self.image[n:]
        self.image[-n:] = cols
        self._dirty = True

    def set_pitch(self, f0_hz: float | None) -> None:
        if f0_hz is None or not self.params.mel_min_hz <= f0_hz <= self.params.mel_max_hz:
            self.marker.setData([], [])
        else:
            self.marker.setData([-0.05], [band_of_hz(f0_hz, self.params)])

    def redraw(self) -> None:
        if self._dirty:
            # Row-major image: rows are y (mel bands), columns are x (time).
            self.item.setImage(self.image.T, autoLevels=False)
            self.item.setRect(*self._rect)  # after setImage: the rect maps the image's pixels to seconds and bands
            self._dirty = False
