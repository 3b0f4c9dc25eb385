"""The pitch history: one continuous trace across a settings change and a new input, and an axis named as the
note label is."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from app.gui.history import SECONDS, PitchHistory  # noqa: E402
from app.notes import midi_to_hz  # noqa: E402


def feed(history, t0_s, seconds, midi, now0):
    """Results every 20 ms from stream time t0_s, arriving on the clock from now0."""
    for k in range(int(round(seconds / 0.02))):
        history.add(t0_s + k * 0.02, midi_to_hz(midi), now=now0 + k * 0.02)


def test_a_new_input_goes_on_after_the_old_one_and_never_overlays_it(qtbot):
    history = PitchHistory()
    qtbot.addWidget(history)
    feed(history, 100.0, 3.0, 57, now0=1000.0)  # an input whose stream time is at 100 s
    feed(history, 0.0, 2.0, 64, now0=1003.5)  # a reopened input: its stream time starts again at 0, 0.5 s later
    t = np.array([p[0] for p in history.points])
    assert np.all(np.diff(t) > 0)  # one time base: no point before the last one
    gap = t[150] - t[149]  # where the new input begins
    assert gap == pytest.approx(0.52, abs=1e-6)  # the half second that passed on the clock, and one hop
    history.redraw(now=1005.48)  # drawn as the newest result arrives
    x, y = history.curve.getData()
    assert x[-1] == 0.0 and x[0] >= -SECONDS and np.all(y[-100:] == 64) and np.all(y[:150] == 57)


def test_a_settings_change_keeps_the_trace_continuous(qtbot):
    history = PitchHistory()
    qtbot.addWidget(history)
    feed(history, 5.0, 1.0, 57, now0=10.0)
    feed(history, 6.04, 1.0, 57, now0=11.04)  # the analysis restarted on the same ring: stream time runs on
    t = np.array([p[0] for p in history.points])
    assert t[-1] - t[0] == pytest.approx(2.02)


def test_with_no_new_results_the_trace_scrolls_on_and_leaves_the_time_empty(qtbot):
    history = PitchHistory()
    qtbot.addWidget(history)
    feed(history, 0.0, 2.0, 57, now0=100.0)  # the last result arrives at 101.98
    history.redraw(now=101.98)
    assert history.curve.getData()[0][-1] == 0.0
    history.redraw(now=104.98)  # three seconds on, nothing new (the input lost)
    x, _ = history.curve.getData()
    assert x[-1] == pytest.approx(-3.0) and x[0] == pytest.approx(-4.98)


def test_the_axis_names_notes_with_flats_and_transposition(qtbot):
    history = PitchHistory()
    qtbot.addWidget(history)
    history.set_naming(flats=True, transpose=2)  # a B-flat instrument reads a tone above concert
    feed(history, 0.0, 1.0, 58, now0=0.0)  # concert A#3 / Bb3
    history.redraw()
    names = dict(history.getAxis("left")._tickLevels[0])
    assert names[58] == "C4" and names[59] == "D♭4"
