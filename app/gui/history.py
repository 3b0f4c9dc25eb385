"""The detected pitch over the last ~10 s, in semitones, with note names on the axis."""

from __future__ import annotations

import collections
import math

import numpy as np
import pyqtgraph as pg

from app.notes import hz_to_midi, note_name

SECONDS = 10.0


class PitchHistory(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent=parent)
        self.points: collections.deque = collections.deque()  # (t_s, midi float or nan)
        self.curve = self.plot([], [], pen=pg.mkPen((80, 220, 255), width=2), connect="finite")
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setXRange(-SECONDS, 0, padding=0)
        self.setLabel("bottom", "seconds")
        self.setYRange(40, 64)

    def add(self, t_s: float, f0_hz: float | None, a4_hz: float = 440.0) -> None:
        self.points.append((t_s, math.nan if f0_hz is None else hz_to_midi(f0_hz, a4_hz)))
        while self.points and self.points[0][0] < t_s - SECONDS:
            self.points.popleft()

    def redraw(self) -> None:
        if not self.points:
            return
        t = np.array([p[0] for p in self.points])
        m = np.array([p[1] for p in self.points])
        self.curve.setData(t - t[-1], m)
        finite = m[np.isfinite(m)]
        if len(finite):
            lo, hi = math.floor(finite.min()) - 3, math.ceil(finite.max()) + 3
            if hi - lo < 12:
                mid = (lo + hi) / 2
                lo, hi = mid - 6, mid + 6
            self.setYRange(lo, hi, padding=0)
            step = 1 if hi - lo <= 14 else (2 if hi - lo <= 28 else 12)
            first = int(math.ceil(lo))
            self.getAxis("left").setTicks([[(k, note_name(k)) for k in range(first, int(hi) + 1) if k % step == 0 or step == 1]])
