"""A strobe view: bands of stripes that drift at a speed proportional to the deviation, still when in tune.

As on a hardware strobe tuner's disc, each band moves `cents x gain` stripes a second, to the right when sharp and
to the left when flat: the coarse band for the approach, the fine band, ten times faster, for the last tenth of a
cent (at 0.1 cent it drifts a stripe every 10 s, at 1 cent a stripe a second). With no reading the bands stop and
grey out. The bands move by each newest reading, undamped, as a strobe disc does.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter
from PySide6.QtWidgets import QWidget

# (label, stripes per second per cent of deviation)
BANDS = (("coarse", 0.1), ("fine", 1.0))
STRIPE_PX = 24


class StrobeView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(320, 170)
        self.in_tune_cents = 2.0
        self.cents: float | None = None  # the reading the bands move by
        self.phases = [0.0] * len(BANDS)  # each band's offset, in stripes (0 to 1)

    def set_cents(self, cents: float | None) -> None:
        self.cents = None if cents is None else float(cents)

    def tick(self, dt_s: float) -> None:
        """Move the bands by the reading over dt_s seconds (call at the drawing rate)."""
        if self.cents is not None:
            for i, (_, gain) in enumerate(BANDS):
                self.phases[i] = (self.phases[i] + gain * self.cents * dt_s) % 1.0
        self.update()

    @property
    def in_tune(self) -> bool:
        return self.cents is not None and abs(self.cents) <= self.in_tune_cents

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        w, h = self.width(), self.height()
        p.fillRect(0, 0, w, h, QColor(25, 25, 25))
        if self.cents is None:
            stripe = QColor(80, 80, 80)
        elif self.in_tune:
            stripe = QColor(40, 220, 90)
        else:
            stripe = QColor(255, 170, 40)
        band_h = (h - 30) / len(BANDS)
        p.setFont(QFont("Sans", 8))
        for i, (label, _) in enumerate(BANDS):
            top = 10 + i * band_h
            offset = self.phases[i] * 2 * STRIPE_PX
            x = offset - 2 * STRIPE_PX
            while x < w:
                p.fillRect(QRectF(x, top, STRIPE_PX, band_h - 8), stripe)
                x += 2 * STRIPE_PX
            p.fillRect(QRectF(0, top, 46, 14), QColor(25, 25, 25))  # the label on the background, not on a stripe
            p.setPen(QColor(200, 200, 200))
            p.drawText(QRectF(4, top, 42, 14), Qt.AlignLeft | Qt.AlignTop, label)
        p.setPen(QColor(200, 200, 200))
        text = "flat ◀   still: in tune   ▶ sharp"
        p.drawText(QRectF(0, h - 20, w, 18), Qt.AlignCenter, text)
        p.end()

