"""The strobe view's bands: speed proportional to the deviation, still in tune, readable to 0.1 cent."""

import pytest

pytest.importorskip("pytestqt")

from app.gui.strobe import BANDS, StrobeView  # noqa: E402


def test_the_bands_move_by_cents_times_their_gain_and_stand_still_in_tune(qtbot):
    view = StrobeView()
    qtbot.addWidget(view)
    assert [gain for _, gain in BANDS] == [0.1, 1.0]
    view.set_cents(0.1)  # a tenth of a cent sharp: the fine band drifts a stripe in 10 s, to the right
    for _ in range(20):
        view.tick(0.05)
    assert view.phases == pytest.approx([0.01, 0.1])
    view.set_cents(-2.0)  # flat: to the left, twenty times as fast
    view.tick(0.1)
    assert view.phases == pytest.approx([(0.01 - 0.02) % 1.0, (0.1 - 0.2) % 1.0])
    still = list(view.phases)
    view.set_cents(0.0)
    view.tick(1.0)
    assert view.phases == still
    view.set_cents(None)  # no reading: the bands stop
    view.tick(1.0)
    assert view.phases == still and not view.in_tune


def test_the_in_tune_zone_is_settable(qtbot):
    view = StrobeView()
    qtbot.addWidget(view)
    view.set_cents(1.0)
    assert view.in_tune
    view.in_tune_cents = 0.5
    assert not view.in_tune
    view.resize(400, 200)
    view.grab()  # paints in every state without error
    view.set_cents(None)
    view.grab()
