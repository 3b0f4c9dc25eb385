"""Strum tuning's view: a row per string with its name, its deviation to a tenth of a cent and a bar from -50 to
+50 cents, green inside the in-tune zone; a string that is not sounding is greyed, with no reading."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from app.gui.needle import IN_TUNE_CENTS
from app.notes import cents_text
from app.strum import StringReading


class CentsBar(QWidget):
    """A horizontal -50..+50 cents scale with the in-tune zone and a mark at the reading (none: no mark)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setMinimumSize(160, 22)
        self.in_tune_cents = IN_TUNE_CENTS
        self.cents: float | None = None

    def set_cents(self, cents: float | None) -> None:
        self.cents = None if cents is None else max(-50.0, min(50.0, float(cents)))
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        w, h = self.width(), self.height()
        x = lambda cents: 6 + (w - 12) * (cents + 50.0) / 100.0  # noqa: E731
        p.setPen(QPen(QColor(90, 90, 90), 3))
        p.drawLine(int(x(-50)), h // 2, int(x(50)), h // 2)
        p.setPen(QPen(QColor(40, 200, 90), 7))
        p.drawLine(int(x(-self.in_tune_cents)), h // 2, int(x(self.in_tune_cents)), h // 2)
        p.setPen(QPen(QColor(200, 200, 200), 1))
        for cents in (-50, -25, 0, 25, 50):
            p.drawLine(int(x(cents)), h // 2 - 6, int(x(cents)), h // 2 + 6)
        if self.cents is not None:
            in_tune = abs(self.cents) <= self.in_tune_cents
            p.setPen(Qt.NoPen)
            p.setBrush(QColor(40, 220, 90) if in_tune else QColor(255, 170, 40))
            p.drawRoundedRect(QRectF(x(self.cents) - 3, 2, 6, h - 4), 2, 2)
        p.end()


class StrumView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._grid = QGridLayout(self)
        self._grid.setColumnStretch(2, 1)
        self.rows: list[tuple[QLabel, QLabel, CentsBar]] = []
        self.in_tune_cents = IN_TUNE_CENTS

    def set_strings(self, names: list[str]) -> None:
        """One row per string, in the order given (the preset's, lowest first)."""
        if [name.text() for name, _, _ in self.rows] == names:
            return
        for row in self.rows:
            for widget in row:
                self._grid.removeWidget(widget)
                widget.deleteLater()
        self.rows = []
        for i, text in enumerate(names):
            name, cents, bar = QLabel(text), QLabel("–"), CentsBar()
            name.setFont(QFont("Sans", 18, QFont.Bold))
            cents.setFont(QFont("Sans", 14))
            cents.setMinimumWidth(90)
            cents.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
            bar.in_tune_cents = self.in_tune_cents
            for column, widget in enumerate((name, cents, bar)):
                self._grid.addWidget(widget, i, column)
            self.rows.append((name, cents, bar))

    def set_in_tune(self, cents: float) -> None:
        self.in_tune_cents = cents
        for _, _, bar in self.rows:
            bar.in_tune_cents = cents
            bar.update()

    def set_reading(self, strings: Sequence[StringReading] | None) -> None:
        """Each string's reading (app.strum), in the rows' order; None clears every row. A string not sounding is
        greyed, or shows "?" where it is not resolved: it may be sounding, but cannot be told from the other strings'
        partials."""
        for k, (name, text, bar) in enumerate(self.rows):
            reading = strings[k] if strings else None
            c = None if reading is None else reading.cents
            unsure = c is None and reading is not None and not reading.resolved
            name.setEnabled(c is not None or unsure)
            text.setEnabled(c is not None)
            text.setText("?" if unsure else "–" if c is None else cents_text(c))
            text.setToolTip("cannot be told from the other strings' partials here: tune this string alone"
                            if unsure else "")
            bar.set_cents(c)

    def texts(self) -> list[tuple[str, str]]:
        """(name, cents text) per row, for the window's state()."""
        return [(name.text(), cents.text()) for name, cents, _ in self.rows]
