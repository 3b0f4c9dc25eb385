"""The detected pitch over the last ~10 s, in semitones, with note names on the axis.

One time base: results carry their input's stream time, which runs on across a settings change (the analysis
restarts on the same ring) but starts again from zero on a new or reopened input. The view keeps a time of its own
that goes on from where it was: a jump back (another input) or forward (a gap) is re-based so that the trace goes
on at the right edge, after a gap of the wall-clock time that passed. The axis names notes as the note label does
(sharps or flats, transposed).
"""

from __future__ import annotations

import collections
import math
import time

import numpy as np
import pyqtgraph as pg

from app.notes import display_name, hz_to_midi

SECONDS = 10.0
JUMP_S = 0.5  # stream time that moves back, or forward by more than this, belongs to another stream


class PitchHistory(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent=parent)
        self.points: collections.deque = collections.deque()  # (view time s, midi float or nan)
        self.curve = self.plot([], [], pen=pg.mkPen((80, 220, 255), width=2), connect="finite")
        self.setMouseEnabled(False, False)
        self.setMenuEnabled(False)
        self.hideButtons()
        self.setXRange(-SECONDS, 0, padding=0)
        self.setLabel("bottom", "seconds")
        self.setYRange(40, 64)
        self.flats, self.transpose = False, 0
        self._offset = 0.0  # view time = stream time + offset
        self._last: tuple[float, float] | None = None  # (stream time, wall clock) of the newest point

    def set_naming(self, flats: bool, transpose: int) -> None:
        self.flats, self.transpose = flats, transpose

    def add(self, t_s: float, f0_hz: float | None, a4_hz: float = 440.0, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        if self._last is not None and not 0.0 <= t_s - self._last[0] <= JUMP_S:
            # Another stream (a new or reopened input): go on after the time that passed on the clock.
            view_last = self._last[0] + self._offset
            self._offset = view_last + max(0.0, now - self._last[1]) - t_s
        self._last = (t_s, now)
        t = t_s + self._offset
        self.points.append((t, math.nan if f0_hz is None else hz_to_midi(f0_hz, a4_hz)))
        while self.points and self.points[0][0] < t - SECONDS:
            self.points.popleft()

    def redraw(self, now: float | None = None) -> None:
        """The right edge is now: with no new results (the input lost, the analysis stalled) the trace scrolls on
        to the left and the time without them stays empty."""
        if not self.points:
            return
        now = time.monotonic() if now is None else now
        t = np.array([p[0] for p in self.points])
        m = np.array([p[1] for p in self.points])
        self.curve.setData(t - (t[-1] + max(0.0, now - self._last[1])), m)
        finite = m[np.isfinite(m)]
        if len(finite):
            lo, hi = math.floor(finite.min()) - 3, math.ceil(finite.max()) + 3
            if hi - lo < 12:
                mid = (lo + hi) / 2
                lo, hi = mid - 6, mid + 6
            self.setYRange(lo, hi, padding=0)
            step = 1 if hi - lo <= 14 else (2 if hi - lo <= 28 else 12)
            ticks = [(k, display_name(k, self.flats, self.transpose))
                     for k in range(int(math.ceil(lo)), int(hi) + 1) if k % step == 0]
            self.getAxis("left").setTicks([ticks])
