"""The window on a real PulseAudio server (issue 25). Changing a setting mid-note (A4 here; every setting restarts
the analysis the same way) leaves one continuous history trace, not a second one drawn over the first. A sink
loaded after launch appears in the device list by itself, and the window listens to it when chosen. The window runs
in this process, offscreen, so its history and lists can be read directly. And a process that ends while a clip
plays back ends cleanly."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from app import audio  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from app.live import LiveSession  # noqa: E402
from app.model import NoteModel  # noqa: E402
from app.notes import hz_to_midi  # noqa: E402

from .test_server_cycles import tone_wav  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not (shutil.which("pulseaudio") and shutil.which("paplay")),
                                                  reason="pulseaudio and paplay not installed")]


@pytest.fixture
def on_pulse(pulse, monkeypatch):
    """PortAudio in this process, started anew against the test's server."""
    for name in ("XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH"):
        monkeypatch.setenv(name, pulse.env[name])
    audio.reset_portaudio()
    yield pulse
    audio.reset_portaudio()


def make_window(qtbot, tmp_path, device="pulse") -> MainWindow:
    qs = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    window = MainWindow(LiveSession(NoteModel()), qsettings=qs, clip_dir=tmp_path / "clips", device=device)
    qtbot.addWidget(window)
    window.show()
    return window


def listed(window: MainWindow) -> list[str]:
    combo = window.settings_panel.device
    return [combo.itemText(i) for i in range(combo.count())]


def test_a_sink_loaded_after_launch_is_listed_and_can_be_listened_to(qtbot, on_pulse, tmp_path):
    window = make_window(qtbot, tmp_path)
    try:
        qtbot.waitUntil(lambda: "Monitor of Null Output" in listed(window), timeout=10000)
        assert not any("Second" in text for text in listed(window))
        subprocess.run(["pactl", "load-module", "module-null-sink", "sink_name=second",
                        "sink_properties=device.description=Second"], env=on_pulse.env, check=True,
                       capture_output=True)
        qtbot.waitUntil(lambda: "Monitor of Second" in listed(window), timeout=10000)  # nobody pressed Rescan

        combo = window.settings_panel.device
        combo.setCurrentIndex(listed(window).index("Monitor of Second"))
        combo.activated.emit(combo.currentIndex())  # as a click on it does
        qtbot.waitUntil(lambda: window.session.input_state.spec == "PulseAudio: second.monitor", timeout=10000)
        player = subprocess.Popen(["paplay", "--device=second", str(tone_wav(tmp_path / "a3.wav", 6.0, 220.0))],
                                  env=on_pulse.env)
        try:
            qtbot.waitUntil(lambda: window.state()["note"] == "A3", timeout=10000)  # played into Second alone
        finally:
            player.kill()
            player.wait()
        assert window.qs.value("input/device") == "PulseAudio: second.monitor"  # remembered for the next run
    finally:
        window.close()


def test_a_settings_change_mid_note_leaves_one_continuous_trace(qtbot, on_pulse, tmp_path):
    player = on_pulse.play(tone_wav(tmp_path / "a4.wav", seconds=10.0))
    window = make_window(qtbot, tmp_path)
    try:
        qtbot.waitUntil(lambda: window.state()["note"] == "A4", timeout=15000)
        qtbot.waitUntil(lambda: len(window.history.points) >= 60, timeout=15000)  # a second and more of the note
        changed_at = window.history.points[-1][0]
        window.settings_panel.a4.setValue(442)  # as the user would, in the panel
        qtbot.waitUntil(lambda: window.session.settings.a4_hz == 442, timeout=2000)
        qtbot.waitUntil(lambda: window.history.points[-1][0] > changed_at + 1.5, timeout=15000)
        points = np.array(window.history.points)
    finally:
        window.close()
        player.kill()
        player.wait()
    t, midi = points.T
    assert np.all(np.diff(t) > 0)  # no point drawn back over earlier ones
    around = (t > changed_at - 1.0) & (t < changed_at + 1.0)
    assert np.diff(t[around]).max() < 0.15  # and no gap where the analysis restarted
    before, after = midi[around & (t < changed_at)], midi[around & (t > changed_at + 0.5)]
    assert np.nanmedian(before) == pytest.approx(hz_to_midi(440.0, 440.0), abs=0.02)
    assert np.nanmedian(after) == pytest.approx(hz_to_midi(440.0, 442.0), abs=0.02)  # the same note, now read
    # against A4 = 442 Hz
    held = midi[around]
    assert np.isnan(held).mean() < 0.1, "the note dropped out around the change"


def test_a_process_that_exits_while_a_clip_plays_exits_cleanly(on_pulse, tmp_path):
    wav = tone_wav(tmp_path / "clip.wav", seconds=5.0)
    script = ("import sounddevice as sd, time\n"
              "from app.audio import play_sound, read_sound\n"
              f"play_sound(*read_sound({str(wav)!r}))\n"
              "while sd.get_stream().time == 0 or not sd.get_stream().active: time.sleep(0.01)\n")  # playing: exit
    done = subprocess.run([sys.executable, "-c", script], env={**on_pulse.env, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr  # not a segfault from the playback calling into a Python torn down
