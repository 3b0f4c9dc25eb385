"""The window, offscreen, on a synthesized-tone input: it names the note, moves the needle,
draws the spectrogram, keeps its input when a switch fails, records clips and keeps its settings."""

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings  # noqa: E402

from app.audio import DeviceError  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from app.live import LiveSession  # noqa: E402
from app.model import NoteModel  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return NoteModel()


@pytest.fixture
def make_window(qtbot, tmp_path, model):
    made = []

    def make(device="tone:440", ini="settings.ini"):
        qs = QSettings(str(tmp_path / ini), QSettings.IniFormat)
        window = MainWindow(LiveSession(model), qsettings=qs, clip_dir=tmp_path / "clips", device=device)
        qtbot.addWidget(window)
        window.show()
        made.append(window)
        return window

    yield make
    for w in made:
        w.close()


def wait_for_note(qtbot, window, name, timeout=5000):
    qtbot.waitUntil(lambda: window.state()["note"] == name, timeout=timeout)


def test_window_names_a_tone_and_moves_needle_and_spectrogram(qtbot, make_window):
    window = make_window("tone:440")
    blank = window.spectrogram.image.copy()
    wait_for_note(qtbot, window, "A4")
    qtbot.waitUntil(lambda: window.needle.shown is not None and abs(window.needle.shown) < 2.0, timeout=3000)
    assert "440.0" in window.state()["f0"]
    assert not np.array_equal(window.spectrogram.image, blank)
    # The row of 440 Hz is the brightest of the newest column.
    from app.gui.spectrogram import row_of_hz

    newest = window.spectrogram.image[-1]
    assert abs(int(np.argmax(newest)) - round(row_of_hz(440.0))) <= 1

    # The tone moves: the note follows, and a detuned tone moves the needle off centre.
    window.session.source.frequency_hz = 220.0 * 2 ** (20 / 1200)
    wait_for_note(qtbot, window, "A3")
    qtbot.waitUntil(lambda: window.needle.shown is not None and 15 < window.needle.shown < 25, timeout=3000)
    assert "+20" in window.state()["cents"] or "+19" in window.state()["cents"]


def test_flats_and_transposition_change_the_name_shown(qtbot, make_window):
    window = make_window("tone:466.16")  # A#4 / Bb4
    wait_for_note(qtbot, window, "A♯4")
    window.settings_panel.flats.setChecked(True)
    wait_for_note(qtbot, window, "B♭4")
    window.settings_panel.transpose.setCurrentIndex(window.settings_panel.transpose.findText("B♭ instrument"))
    wait_for_note(qtbot, window, "C5")  # a B-flat instrument reads a tone above concert


def test_preset_needle_measures_from_the_nearest_string(qtbot, make_window):
    window = make_window("tone:107")  # 47.6 cents below A2 (110 Hz): nearest note A2 at -47.6, or G#2 at +52
    window.settings_panel.preset.setCurrentIndex(window.settings_panel.preset.findText("Guitar: standard"))
    qtbot.waitUntil(lambda: window.state()["cents"] != "", timeout=5000)
    qtbot.waitUntil(lambda: "string A2" in window.target_label.text(), timeout=3000)
    qtbot.waitUntil(lambda: window.needle.shown is not None and -50 <= window.needle.shown < -40, timeout=3000)


def test_switch_to_a_failing_device_keeps_the_running_input(qtbot, make_window):
    window = make_window("tone:440")
    wait_for_note(qtbot, window, "A4")
    source = window.session.source
    window.switch_device("no-such-device-anywhere-42")
    qtbot.waitUntil(lambda: "kept the current input" in window.statusBar().currentMessage(), timeout=5000)
    assert window.session.source is source and source.active
    wait_for_note(qtbot, window, "A4")
    window.switch_device("tone:220")
    wait_for_note(qtbot, window, "A3")
    assert not source.active and window.qs.value("input/device") == "tone:220"


def test_recording_writes_a_wav_and_a_sidecar(qtbot, make_window, tmp_path):
    import soundfile as sf

    window = make_window("tone:440")
    wait_for_note(qtbot, window, "A4")
    window.clips_panel.label.setCurrentText("detected")
    window.clips_panel.instrument.setText("../../etc/passwd")
    window.clips_panel.record.setChecked(True)
    qtbot.wait(600)
    window.clips_panel.record.setChecked(False)
    wavs = list((tmp_path / "clips").glob("*.wav"))
    assert len(wavs) == 1 and wavs[0].parent == tmp_path / "clips"
    audio, rate = sf.read(wavs[0])
    assert rate == 48000 and 0.3 * rate < len(audio) < 2 * rate
    meta = json.loads(wavs[0].with_suffix(".json").read_text())
    assert meta["label"] == "A4" and meta["midi"] == 69 and meta["status"] == "complete"
    assert meta["instrument"] == "../../etc/passwd"  # kept as data; only the file name is sanitized
    for key in ("device", "sample_rate_hz", "a4_hz", "model_version", "time", "seconds"):
        assert key in meta
    assert window.clips_panel.list.count() == 1


def test_settings_persist_between_runs(qtbot, make_window):
    window = make_window("tone:440")
    panel = window.settings_panel
    panel.a4.setValue(442.0)
    panel.preset.setCurrentIndex(panel.preset.findText("Violin"))
    panel.flats.setChecked(True)
    panel.gate.setValue(-50)
    window.close()
    again = make_window("tone:440")
    p2 = again.settings_panel
    assert p2.a4.value() == 442.0 and p2.preset.currentText() == "Violin" and p2.flats.isChecked() and p2.gate.value() == -50
    assert again.session.settings.a4_hz == 442.0


def test_the_tuning_settings_persist_between_runs(qtbot, make_window, tmp_path):
    scl = tmp_path / "31.scl"
    scl.write_text("31 equal\n31\n" + "".join(f"{1200 * k / 31:.5f}\n" for k in range(1, 32)))
    window = make_window("tone:440")
    panel = window.settings_panel
    panel.load_scala(scl)
    panel.root.setCurrentIndex(panel.root.findData("D"))
    panel.set_custom_offsets({45: 1.5})
    panel.view.setCurrentIndex(panel.view.findData("strobe"))
    panel.in_tune.setValue(0.5)
    panel.transpose.setCurrentIndex(panel.transpose.findData("custom"))
    panel.transpose_custom.setValue(-5)
    window.close()
    p2 = make_window("tone:440").settings_panel
    assert p2.temperament.currentText() == "Scala: 31.scl" and p2.root.currentData() == "D"
    assert p2.sweetener.currentData() == "custom" and p2.offsets == {45: 1.5}
    assert p2.view.currentData() == "strobe" and p2.in_tune.value() == 0.5 and p2.transpose_semitones == -5
    assert p2.tuning_spec().label == "31.scl on D"  # a 31-note scale names degrees: no per-key sweetener


def test_temperament_and_root_change_the_cents_shown(qtbot, make_window):
    """A4 at 440 Hz: in tune in equal temperament, 10.3 cents sharp of quarter-comma meantone on C (whose A is
    narrow of 440), in tune again in meantone on A (the root keeps its equal-tempered pitch)."""
    window = make_window("tone:440")
    panel = window.settings_panel
    wait_for_note(qtbot, window, "A4")
    qtbot.waitUntil(lambda: window.state()["cents"] in ("+0.0 cents", "-0.0 cents"), timeout=3000)
    panel.temperament.setCurrentIndex(panel.temperament.findData("meantone"))
    qtbot.waitUntil(lambda: window.state()["cents"] == "+10.3 cents", timeout=3000)
    assert window.state()["target"] == "meantone on C"
    qtbot.waitUntil(lambda: window.needle.shown is not None and abs(window.needle.shown - 10.3) < 0.2, timeout=3000)
    panel.root.setCurrentIndex(panel.root.findData("A"))
    qtbot.waitUntil(lambda: window.state()["cents"] in ("+0.0 cents", "-0.0 cents"), timeout=3000)


def test_a_sweetened_string_reads_from_its_offset_target(qtbot, make_window):
    """B3 at its equal-tempered pitch, guitar preset sweetened (B3 3 cents flat): it reads 3 cents sharp."""
    from app.notes import midi_to_hz

    window = make_window(f"tone:{midi_to_hz(59):.4f}")
    panel = window.settings_panel
    panel.preset.setCurrentIndex(panel.preset.findText("Guitar: standard"))
    wait_for_note(qtbot, window, "B3")
    panel.sweetener.setCurrentIndex(panel.sweetener.findData("Guitar: sweetened"))
    qtbot.waitUntil(lambda: window.state()["cents"] == "+3.0 cents", timeout=3000)
    qtbot.waitUntil(lambda: window.needle.shown is not None and abs(window.needle.shown - 3.0) < 0.1, timeout=3000)
    assert window.state()["target"] == "string B3 · equal, sweetened"


def test_a_string_whose_key_a_mapping_leaves_out_reads_from_its_note(qtbot, make_window, tmp_path):
    """A 12-key mapping with A (the guitar's A2 string among them) unmapped: the needle falls back to the note's own
    reading instead of failing every frame."""
    scl, kbm = tmp_path / "12.scl", tmp_path / "no-a.kbm"
    scl.write_text("12-et\n12\n" + "".join(f"{100.0 * k:.1f}\n" for k in range(1, 13)))
    kbm.write_text("12\n0\n127\n60\n60\n261.6256\n12\n0\n1\n2\n3\n4\n5\n6\n7\n8\nx\n10\n11\n")
    window = make_window("tone:110")
    panel = window.settings_panel
    panel.preset.setCurrentIndex(panel.preset.findText("Guitar: standard"))
    panel.load_scala(scl, kbm)
    qtbot.waitUntil(lambda: "string A2" in window.state()["target"], timeout=5000)
    assert window._shown_cents(window._last) is not None


def test_a_bad_scala_file_says_so_and_the_tuning_stays(qtbot, make_window, tmp_path):
    from app.tuning import TuningFileError

    window = make_window("tone:440")
    panel = window.settings_panel
    panel.temperament.setCurrentIndex(panel.temperament.findData("vallotti"))
    bad = tmp_path / "bad.scl"
    bad.write_text("bad\n2\n0/1\n2/1\n")
    with pytest.raises(TuningFileError, match="bad.scl: line 3: the ratio 0/1 is not positive"):
        panel.load_scala(bad)
    assert panel.temperament.currentData() == "vallotti" and window.session.settings.tuning.temperament == "vallotti"
    # Through the file dialog the same refusal reaches the status bar.
    from PySide6.QtWidgets import QFileDialog

    answers = iter([(str(bad), ""), ("", "")])
    QFileDialog.getOpenFileName = staticmethod(lambda *a, **k: next(answers))
    try:
        panel.scala_button.click()
    finally:
        del QFileDialog.getOpenFileName
    assert "bad.scl: line 3" in window.statusBar().currentMessage()
    assert window.session.settings.tuning.temperament == "vallotti"


def test_the_strobe_view_drifts_with_the_deviation_and_stands_still_in_tune(qtbot, make_window):
    window = make_window("tone:440")
    panel = window.settings_panel
    panel.view.setCurrentIndex(panel.view.findData("strobe"))
    assert window.state()["view"] == "strobe" and window.strobe.isVisible() and not window.needle.isVisible()
    wait_for_note(qtbot, window, "A4")
    qtbot.waitUntil(lambda: window.state()["strobe_cents"] is not None, timeout=3000)
    still = list(window.strobe.phases)
    qtbot.wait(300)
    assert window.strobe.phases == pytest.approx(still, abs=0.01)  # in tune to within a hundredth of a stripe
    window.session.source.frequency_hz = 440.0 * 2 ** (4 / 1200)  # 4 cents sharp
    qtbot.waitUntil(lambda: (window.state()["strobe_cents"] or 0) > 3.5, timeout=3000)
    before = list(window.strobe.phases)
    qtbot.waitUntil(lambda: window.strobe.phases[0] != before[0], timeout=3000)
    assert (window.strobe.phases[0] - before[0]) % 1.0 < 0.5  # sharp: to the right (the rates: test_strobe.py)


def test_a_custom_transposition_and_the_in_tune_zone(qtbot, make_window):
    window = make_window("tone:440")
    panel = window.settings_panel
    wait_for_note(qtbot, window, "A4")
    assert not panel.transpose_custom.isEnabled()
    panel.transpose.setCurrentIndex(panel.transpose.findData("custom"))
    assert panel.transpose_custom.isEnabled()
    panel.transpose_custom.setValue(-3)
    wait_for_note(qtbot, window, "F♯4")
    panel.in_tune.setValue(0.5)
    assert window.needle.in_tune_cents == window.strobe.in_tune_cents == 0.5


def test_sweeteners_are_edited_imported_and_refused_in_one_line(qtbot, make_window, tmp_path):
    from app.gui.settings_panel import SweetenerEditor
    from app.presets import SweetenerError, save_sweetener

    window = make_window("tone:440")
    panel = window.settings_panel
    editor = SweetenerEditor({59: -3.0}, (40, 45, 50, 55, 59, 64), panel)
    qtbot.addWidget(editor)
    assert editor.table.rowCount() == 6 and editor.offsets() == {59: -3.0}
    editor.table.item(0, 1).setText("+1.5")
    assert editor.offsets() == {40: 1.5, 59: -3.0}
    editor.table.item(1, 1).setText("sharp")
    with pytest.raises(ValueError, match="row 2: 'A2' 'sharp' is not a note and a number of cents"):
        editor.offsets()
    editor._accept()
    assert "row 2" in editor.findChild(type(editor.error), "error").text() and editor.result() == 0

    good = tmp_path / "mine.json"
    save_sweetener(good, "mine", {69: 2.0})
    panel.import_offsets(good)
    assert panel.sweetener.currentData() == "custom" and window.session.settings.tuning.offsets == ((69, 2.0),)
    bad = tmp_path / "bad.json"
    bad.write_text('{"offsets": {"A4": 99}}')
    with pytest.raises(SweetenerError, match="bad.json: A4: 99 is not a number of cents"):
        panel.import_offsets(bad)
    assert window.session.settings.tuning.offsets == ((69, 2.0),)


def test_window_without_any_input_still_opens(qtbot, make_window, monkeypatch):
    def no_devices(spec):
        raise DeviceError("no input devices found")

    monkeypatch.setattr("app.live._open_input", no_devices)
    monkeypatch.setattr("app.live.input_devices", lambda: [])
    window = make_window(device=None)
    qtbot.waitUntil(lambda: window.input_status.text() == "no input yet; retrying (no input devices found)",
                    timeout=5000)
    assert window.session.source is None and window.state()["note"] == "–"


def test_qsettings_keeps_none_alive(tmp_path):
    """PySide6 6.12.0's QSettings.setValue dropped a reference to None on every call, so the
    interpreter crashed at exit once settings had been saved a few thousand times. Guard the pin."""
    import sys

    qs = QSettings(str(tmp_path / "refs.ini"), QSettings.IniFormat)
    before = sys.getrefcount(None)
    for _ in range(200):
        qs.setValue("k", 1.0)
    assert sys.getrefcount(None) >= before - 20


def test_retrain_runs_finetune_in_a_subprocess_and_reports(qtbot, make_window, monkeypatch):
    import sys

    from app.gui import retrain

    window = make_window("tone:440")
    # A stand-in for `pitchrec-build finetune`: prints the log lines the real one prints, then succeeds.
    script = ("import sys, time\n"
              "print('model_build.finetune: 5 clips: 4 for training (40 patches), 1 held out (10 patches); 0 skipped',"
              " flush=True)\ntime.sleep(0.3)\n"
              "print('model_build.finetune: before: held-out clips 0.5, base validation 0.9773333333333334', flush=True)\n"
              "for i in range(1, 5): print(f'x model_build.train: epoch {i} (head): ...', flush=True)\n"
              "print('model_build.finetune: after: held-out clips 0.75, base validation 0.9726666666666667')\n"
              "print('wrote /tmp/x.tflite')")
    monkeypatch.setattr(retrain, "training_available", lambda: True)
    monkeypatch.setattr(retrain, "finetune_command", lambda clips, extra=None: [sys.executable, "-c", script])
    with qtbot.waitSignal(window.retrain.finished, timeout=10000) as done:
        window.retrain.start.click()
        assert window.retrain.progress.maximum() == 0  # busy from the first second, before any epoch
        qtbot.waitUntil(lambda: "reading your clips" in window.retrain.status.text(), timeout=5000)
    assert done.args[0] is True and window.retrain.progress.value() == window.retrain.total_epochs
    message = window.statusBar().currentMessage()
    assert "retrained" in message and "your held-out clips: 50.00% → 75.00%" in message
    assert "other instruments: 97.73% → 97.27%" in message and "⚠" in message and "0.47 points" in message


def test_retrain_can_be_cancelled_and_explains_a_missing_extra(qtbot, make_window, monkeypatch):
    import sys

    from app.gui import retrain

    window = make_window("tone:440")
    monkeypatch.setattr(retrain, "training_available", lambda: True)
    monkeypatch.setattr(retrain, "finetune_command", lambda clips, extra=None: [sys.executable, "-c", "import time; time.sleep(30)"])
    with qtbot.waitSignal(window.retrain.finished, timeout=10000) as done:
        window.retrain.start.click()
        qtbot.waitUntil(lambda: window.retrain.cancel.isEnabled(), timeout=3000)
        window.retrain.cancel.click()
    assert done.args[0] is False and done.args[1] == "retraining cancelled: the current model stays"
    monkeypatch.setattr(retrain, "training_available", lambda: False)
    with qtbot.waitSignal(window.retrain.finished, timeout=3000) as done:
        window.retrain.start.click()
    assert done.args[0] is False and "pitchrec[train]" in done.args[1]


def test_model_selector_switches_without_restart_and_rejects_a_corrupt_model(qtbot, make_window, monkeypatch, tmp_path):
    import shutil

    from app.gui import main_window as mw
    from app.model import DEFAULT_MODEL

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(DEFAULT_MODEL, models / "mine.tflite")
    shutil.copy(DEFAULT_MODEL.with_suffix(".json"), models / "mine.json")
    (models / "broken.tflite").write_bytes(b"not a model")
    monkeypatch.setattr(mw, "user_models_dir", lambda: models)
    warnings = []
    monkeypatch.setattr(mw.QMessageBox, "warning", lambda *a, **k: warnings.append(a[2]))
    window = make_window("tone:440")
    window._fill_models()
    assert window.model_select.findData(str(models / "mine.tflite")) >= 0
    window._switch_model(str(models / "mine.tflite"))
    assert str(window.session.model.path) == str(models / "mine.tflite")
    wait_for_note(qtbot, window, "A4")
    window._switch_model(str(models / "broken.tflite"))
    assert warnings and str(window.session.model.path) == str(models / "mine.tflite")


@pytest.mark.parametrize("content", [b"", b"TFL3" + bytes(100), b"not a model at all"])
def test_gui_with_a_corrupt_model_exits_with_one_line(tmp_path, content):
    import os
    import subprocess
    import sys

    bad = tmp_path / "bad.tflite"
    bad.write_bytes(content)
    (tmp_path / "bad.json").write_text("{}")
    proc = subprocess.run([sys.executable, "-m", "app.cli", "--model", str(bad), "gui", "--device", "tone:440", "--seconds", "1"],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pitchrec: ") and "Traceback" not in proc.stderr


def test_qt_and_the_window_speak_through_the_log_and_only_with_verbose(tmp_path):
    import os
    import subprocess
    import sys

    def gui(*flags):
        return subprocess.run([sys.executable, "-m", "app.cli", *flags, "gui", "--device", "tone:440", "--seconds", "1"],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path,
                              env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})

    quiet = gui()
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    verbose = gui("-v")
    assert verbose.returncode == 0 and verbose.stdout == ""
    assert "pitchrec.gui: after 1 s the window shows {'note': 'A4'" in verbose.stderr
    assert all(line.startswith("pitchrec") for line in verbose.stderr.splitlines() if line.strip()), verbose.stderr


def test_recording_into_an_unwritable_folder_says_so_and_keeps_running(qtbot, tmp_path, model):
    from pathlib import Path

    qs = QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat)
    window = MainWindow(LiveSession(model), qsettings=qs, clip_dir=Path("/proc/pitchrec-no-such-dir/clips"), device="tone:440")
    qtbot.addWidget(window)
    window.show()
    wait_for_note(qtbot, window, "A4")
    window.clips_panel.record.setChecked(True)
    assert window.writer is None and not window.clips_panel.record.isChecked()
    assert "cannot record into" in window.statusBar().currentMessage()
    wait_for_note(qtbot, window, "A4")
    window.close()


def test_disk_full_while_recording_stops_with_a_message_and_keeps_the_clip(qtbot, make_window, tmp_path):
    import soundfile as sf

    window = make_window("tone:440")
    wait_for_note(qtbot, window, "A4")
    window.clips_panel.record.setChecked(True)
    qtbot.waitUntil(lambda: window.writer is not None and window.writer.frames > 4800, timeout=3000)
    writer = window.writer

    def full(data):
        raise OSError(28, "No space left on device")

    writer._file.write = full
    qtbot.waitUntil(lambda: window.writer is None, timeout=3000)
    assert "No space left" in window.statusBar().currentMessage() and "kept" in window.statusBar().currentMessage()
    audio, _ = sf.read(writer.wav)
    assert len(audio) == writer.frames > 0
    assert json.loads(writer.wav.with_suffix(".json").read_text())["status"] == "failed"


def test_a_stalled_analysis_blanks_the_reading(qtbot, make_window):
    window = make_window("tone:440")
    wait_for_note(qtbot, window, "A4")
    window.session.worker.stop()  # no fresh result from now on, as when the worker or the input stalls
    qtbot.waitUntil(lambda: window.state()["note"] == "–" and window.state()["needle"] is None, timeout=3000)
    state = window.state()
    assert state["cents"] == "" and state["level_dbfs"] is None
    assert not window.level.isEnabled() and window.confidence_label.text() == "confidence –"


def test_a_lost_input_blanks_the_reading_and_scrolls_the_plots_on_empty(qtbot, model, tmp_path, monkeypatch):
    from app.audio import ToneInput
    from app.gui.spectrogram import FLOOR_DB

    opened = []

    def once(spec):  # the tone opens, then never again: lost for good
        if opened:
            raise DeviceError("gone")
        opened.append(ToneInput(440.0))
        return opened[-1]

    monkeypatch.setattr("app.live._open_input", once)
    window = MainWindow(LiveSession(model), qsettings=QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat),
                        clip_dir=tmp_path / "clips", device="tone:440")
    qtbot.addWidget(window)
    window.show()
    wait_for_note(qtbot, window, "A4")
    opened[0].close()  # the device stops sending audio
    qtbot.waitUntil(lambda: "input lost" in window.state()["input"], timeout=5000)
    qtbot.waitUntil(lambda: window.history.curve.getData()[0][-1] < -0.5, timeout=3000)  # no new point at the edge
    assert window.state()["note"] == "–" and window.state()["needle"] is None
    assert np.all(window.spectrogram.image[-10:] == FLOOR_DB)  # the newest columns: nothing heard
    assert window.spectrogram.marker.data.size == 0  # and no pitch marker on them
    window.close()


def test_the_window_answers_while_the_sound_server_hangs(qtbot, make_window, monkeypatch):
    import threading

    from app.audio import open_input

    release = threading.Event()

    def hanging(spec):
        if spec == "stuck":
            release.wait()  # PortAudio waiting on a sound server that died
        return open_input(spec)

    monkeypatch.setattr("app.live._open_input", hanging)
    window = make_window("tone:440")
    wait_for_note(qtbot, window, "A4")
    window.switch_device("stuck")
    drawn = window.frames_drawn
    qtbot.waitUntil(lambda: window.frames_drawn > drawn + 10, timeout=3000)  # the GUI thread goes on drawing
    assert window.state()["note"] == "A4"
    qtbot.waitUntil(lambda: "does not answer" in window.statusBar().currentMessage(), timeout=5000)
    window.switch_device("tone:220")  # the supervisor went on without the stuck call
    wait_for_note(qtbot, window, "A3")
    release.set()


def test_closing_the_window_during_a_retraining_asks_first(qtbot, make_window, monkeypatch):
    import sys

    from app.gui import retrain

    window = make_window("tone:440")
    monkeypatch.setattr(retrain, "training_available", lambda: True)
    monkeypatch.setattr(retrain, "finetune_command", lambda clips, extra=None: [sys.executable, "-c", "import time; time.sleep(30)"])
    window.retrain.start.click()
    qtbot.waitUntil(lambda: window.retrain.running, timeout=3000)
    monkeypatch.setattr(window, "keep_retraining", lambda: True)
    window.close()
    assert window.isVisible() and window.retrain.running  # kept: the window stays open
    monkeypatch.setattr(window, "keep_retraining", lambda: False)
    with qtbot.waitSignal(window.retrain.finished, timeout=10000) as done:
        window.close()
    assert not window.isVisible() and "cancelled" in done.args[1]


def test_at_1024x640_nothing_overlaps(qtbot, make_window):
    from PySide6.QtCore import QRect

    window = make_window("tone:440")
    window.resize(1024, 640)
    wait_for_note(qtbot, window, "A4")
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 640, timeout=3000)
    parts = {name: getattr(window, name) for name in ("note_label", "target_label", "needle", "cents_label", "f0_label",
                                                        "confidence_label", "level", "input_status", "spectrogram",
                                                        "history")}

    def rect(widget):
        return QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())

    boxes = {name: rect(w) for name, w in parts.items() if w.isVisible()}
    assert len(boxes) == len(parts)
    for a in boxes:
        assert window.rect().contains(boxes[a]), (a, boxes[a])
        for b in boxes:
            assert a >= b or not boxes[a].intersects(boxes[b]), (a, b, boxes[a], boxes[b])


def test_a_strum_shows_a_row_per_string_and_one_string_the_note(qtbot, make_window):
    """Three guitar strings sounding together (E2 3 cents flat): the strings' rows replace the note by themselves;
    one string alone brings the note back; pinned, the rows stay."""
    from app.notes import midi_to_hz

    e2, a2, d3 = midi_to_hz(40) * 2 ** (-3 / 1200), midi_to_hz(45), midi_to_hz(50) * 2 ** (6 / 1200)
    window = make_window(f"tone:{e2:.4f}+{a2:.4f}+{d3:.4f}")
    panel = window.settings_panel
    assert not panel.strum.isEnabled()  # chromatic: no strings
    panel.preset.setCurrentIndex(panel.preset.findText("Guitar: standard"))
    assert panel.strum.isEnabled() and window.session.settings.strings == (40, 45, 50, 55, 59, 64)
    qtbot.waitUntil(lambda: window.state()["view"] == "strum", timeout=8000)
    assert window.strum_view.isVisible() and not window.note_label.isVisible() and not window.needle.isVisible()
    qtbot.waitUntil(lambda: [t for _, t in window.state()["strings"]][:3] == ["-3.0", "+0.0", "+6.0"], timeout=8000)
    names = [n for n, _ in window.state()["strings"]]
    assert names == ["E2", "A2", "D3", "G3", "B3", "E4"] and window.state()["strings"][3][1] == "–"
    assert not window.strum_view.rows[3][0].isEnabled()  # G3 is not sounding: greyed

    window.session.source.frequency_hz = a2  # one string alone: the single-note view returns
    qtbot.waitUntil(lambda: window.state()["view"] == "needle", timeout=8000)
    wait_for_note(qtbot, window, "A2")
    panel.strum.setCurrentIndex(panel.strum.findData("strum"))  # pinned
    qtbot.waitUntil(lambda: window.state()["view"] == "strum", timeout=8000)
    qtbot.waitUntil(lambda: [t for _, t in window.state()["strings"]][:2] == ["–", "+0.0"], timeout=8000)
    panel.strum.setCurrentIndex(panel.strum.findData("single"))  # pinned to one string: no strum reading at all
    assert window.session.settings.strings == () and window.state()["view"] == "needle"


def test_the_strum_setting_is_kept(qtbot, make_window):
    window = make_window("tone:440", ini="strum.ini")
    panel = window.settings_panel
    panel.preset.setCurrentIndex(panel.preset.findText("Bass: 4 strings"))
    panel.strum.setCurrentIndex(panel.strum.findData("strum"))
    window.close()
    again = make_window("tone:440", ini="strum.ini")
    assert again.settings_panel.strum.currentData() == "strum" and again.session.settings.strings == (28, 33, 38, 43)


def test_strings_the_tuning_cannot_place_turn_strum_tuning_off_and_say_so(qtbot, make_window, tmp_path):
    scl, kbm = tmp_path / "12.scl", tmp_path / "from48.kbm"
    scl.write_text("12-et\n12\n" + "".join(f"{100.0 * k:.1f}\n" for k in range(1, 13)))
    kbm.write_text("12\n48\n127\n60\n69\n440.0\n12\n" + "".join(f"{k}\n" for k in range(12)))  # keys from C3 up
    window = make_window("tone:440")
    panel = window.settings_panel
    panel.preset.setCurrentIndex(panel.preset.findText("Guitar: standard"))
    assert window.session.settings.strings == (40, 45, 50, 55, 59, 64)
    panel.load_scala(scl, kbm)
    assert window.session.settings.strings == () and window.session.settings.tuning.scale_name
    assert "strum tuning off: string E2 has no key" in window.statusBar().currentMessage()
