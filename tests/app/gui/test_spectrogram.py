"""The display spectrogram: a log-frequency axis from 25 Hz, so a bass's fundamental shows; a column every 20 ms of
audio at any rate; a full-scale sine reads 0 dB."""

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from app.gui.spectrogram import COLUMN_S, FLOOR_DB, LOW_HZ, ROWS, DisplaySpectrum, SpectrogramView, row_of_hz  # noqa: E402


@pytest.mark.parametrize("rate", [44100, 48000])
@pytest.mark.parametrize("f_hz", [30.87, 41.2, 440.0, 3000.0])  # B0, E1 (a bass's lowest strings), A4, high
def test_a_sine_peaks_at_its_row_at_its_level(rate, f_hz):
    t = np.arange(rate) / rate
    spectrum = DisplaySpectrum(rate)
    columns = spectrum.push((0.5 * np.sin(2 * np.pi * f_hz * t)).astype(np.float32))
    assert len(columns) == int(1.0 / COLUMN_S) and columns.shape[1] == ROWS
    last = columns[-1]
    assert abs(int(np.argmax(last)) - row_of_hz(f_hz)) <= 1
    assert last.max() == pytest.approx(20 * np.log10(0.5), abs=1.5)


def test_blocks_of_any_size_give_the_same_columns():
    rate = 48000
    x = np.random.default_rng(0).standard_normal(rate // 2).astype(np.float32) * 0.1
    whole = DisplaySpectrum(rate).push(x)
    spectrum = DisplaySpectrum(rate)
    parts = np.concatenate([spectrum.push(x[i : i + 331]) for i in range(0, len(x), 331)])
    np.testing.assert_allclose(parts, whole, atol=1e-4)


def test_the_view_scrolls_and_marks_the_pitch(qtbot):
    view = SpectrogramView()
    qtbot.addWidget(view)
    rate = 48000
    t = np.arange(rate // 2) / rate
    view.feed((0.3 * np.sin(2 * np.pi * 55.0 * t)).astype(np.float32), rate)
    assert abs(int(np.argmax(view.image[-1])) - row_of_hz(55.0)) <= 1 and row_of_hz(LOW_HZ) == 0
    view.set_pitch(55.0)
    view.redraw()
    assert view.marker.data["y"][0] == pytest.approx(row_of_hz(55.0))


def test_time_without_audio_scrolls_in_empty(qtbot):
    view = SpectrogramView()
    qtbot.addWidget(view)
    rate = 48000
    t = np.arange(rate) / rate
    view.feed((0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), rate)
    assert view.image[-1].max() > -20
    for _ in range(10):
        view.pass_time(0.033)  # ten frames of the window with no audio: 0.33 s, 16 columns
    assert np.all(view.image[-16:] == FLOOR_DB) and view.image[-17].max() > -20
