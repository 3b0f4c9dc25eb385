"""A cents needle: -50..+50, an in-tune zone (±2 cents unless set) in its own colour, and damping."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QWidget

IN_TUNE_CENTS = 2.0


class CentsNeedle(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(320, 170)
        self.damping_s = 0.12  # time constant of the needle's approach to a new reading
        self.in_tune_cents = IN_TUNE_CENTS  # the in-tune zone's half width (the settings offer 0.5 to 5)
        self.target: float | None = None
        self.shown: float | None = None

    def set_cents(self, cents: float | None) -> None:
        self.target = None if cents is None else max(-50.0, min(50.0, float(cents)))

    def tick(self, dt_s: float) -> None:
        """Move toward the target (call at the drawing rate); no reading lets the needle drop out."""
        if self.target is None:
            self.shown = None
        elif self.shown is None or self.damping_s <= 0:
            self.shown = self.target
        else:
            self.shown += (self.target - self.shown) * (1.0 - math.exp(-dt_s / self.damping_s))
        self.update()

    @property
    def in_tune(self) -> bool:
        return self.shown is not None and abs(self.shown) <= self.in_tune_cents

    def _angle(self, cents: float) -> float:
        return math.radians(90.0 - cents / 50.0 * 60.0)  # ±50 cents -> ±60 degrees from vertical

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        w, h = self.width(), self.height()
        r = min(w / 2.0 - 30, h - 40)  # room above and beside the arc for the labels, outside it
        c = QPointF(w / 2.0, h - 12)
        arc = QRectF(c.x() - r, c.y() - r, 2 * r, 2 * r)
        p.setPen(QPen(QColor(90, 90, 90), 6))
        p.drawArc(arc, 30 * 16, 120 * 16)
        zone = self.in_tune_cents / 50.0 * 60.0
        p.setPen(QPen(QColor(40, 200, 90), 10))
        p.drawArc(arc, int((90 - zone) * 16), int(2 * zone * 16))
        p.setPen(QPen(QColor(200, 200, 200), 2))
        p.setFont(QFont("Sans", 8))
        for cents in range(-50, 51, 10):
            a = self._angle(cents)
            outer = QPointF(c.x() + r * math.cos(a), c.y() - r * math.sin(a))
            inner = QPointF(c.x() + (r - 12) * math.cos(a), c.y() - (r - 12) * math.sin(a))
            p.drawLine(inner, outer)
            if cents % 25 == 0 or cents in (-50, 50):  # outside the arc: the needle never covers them
                label = QRectF(c.x() + (r + 16) * math.cos(a) - 16, c.y() - (r + 16) * math.sin(a) - 8, 32, 16)
                p.drawText(label, Qt.AlignCenter, f"{cents:+d}" if cents else "0")
        if self.shown is not None:
            a = self._angle(self.shown)
            colour = QColor(40, 220, 90) if self.in_tune else QColor(255, 170, 40)
            p.setPen(QPen(colour, 4, Qt.SolidLine, Qt.RoundCap))
            p.drawLine(c, QPointF(c.x() + (r - 4) * math.cos(a), c.y() - (r - 4) * math.sin(a)))
        p.setBrush(QColor(220, 220, 220))
        p.setPen(Qt.NoPen)
        p.drawEllipse(c, 6, 6)
        p.end()
