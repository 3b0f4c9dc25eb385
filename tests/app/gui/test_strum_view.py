"""The strum view's rows: a reading, a silent string (greyed) and one that cannot be told apart ("?")."""

import pytest

pytest.importorskip("pytestqt")

from app.gui.strum_view import StrumView  # noqa: E402
from app.strum import StringReading  # noqa: E402


def test_rows_show_readings_silence_and_strings_not_told_apart(qtbot):
    view = StrumView()
    qtbot.addWidget(view)
    view.set_strings(["E2", "A2", "B3"])
    view.set_reading([StringReading("E2", 40, -3.04, 82.2, True), StringReading("A2", 45, None, None, False),
                      StringReading("B3", 59, None, None, False, resolved=False)])
    assert view.texts() == [("E2", "-3.0"), ("A2", "–"), ("B3", "?")]
    name, _, bar = view.rows[1]
    assert not name.isEnabled() and bar.cents is None  # silent: greyed, no mark
    assert view.rows[2][0].isEnabled() and "tune this string alone" in view.rows[2][1].toolTip()
    view.set_in_tune(0.5)
    assert all(bar.in_tune_cents == 0.5 for _, _, bar in view.rows)
    view.set_strings(["E2", "A2", "B3"])  # the same strings: the rows stay
    assert view.texts()[0] == ("E2", "-3.0")
    view.set_strings(["D2"])
    assert view.texts() == [("D2", "–")]
    view.set_strings(["E2", "A2"])
    view.set_reading([StringReading("E2", 40, 1.0, 82.5, True), StringReading("A2", 45, 2.0, 110.1, True)])
    view.set_reading(None)  # no reading: every row cleared
    assert view.texts() == [("E2", "–"), ("A2", "–")] and not any(name.isEnabled() for name, _, _ in view.rows)
