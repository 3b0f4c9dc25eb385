"""The main window: composes the views, runs the live session, persists settings.

Two timers, apart from the engine's thread: drawing at ~30 fps (spectrogram,
needle, history, level) and text at ~7 Hz (note name, cents, f0, confidence,
status). Both only read the session's latest result and input state; the GUI
never waits on audio or on PortAudio (the session's input supervisor opens,
closes and lists devices: app.live). A result older than STALE_S is not shown; with no audio, the spectrogram
and history scroll on, empty.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QtMsgType, QTimer, qInstallMessageHandler
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app import clips, features, pitch
from app.engine import Settings, SettingsError
from app.gui.clips_panel import DETECTED, ClipsPanel
from app.gui.history import PitchHistory
from app.gui.needle import CentsNeedle
from app.gui.retrain import RetrainPanel
from app.gui.settings_panel import SettingsPanel
from app.gui.spectrogram import SpectrogramView
from app.gui.strobe import StrobeView
from app.gui.strum_view import StrumView
from app.live import STALE_S, LiveSession, usable_channel
from app.model import DEFAULT_MODEL, ModelError, NoteModel
from app.notes import cents_text, display_name, hz_to_midi, note_name
from app.presets import preset
from app.tuning import EQUAL, TuningFileError

_NOT_ASKED = object()
DRAW_MS = 33
TEXT_MS = 150
STRUM_HOLD_S = 0.6  # switching by itself, the strings' rows stay this long after the last strum heard


def _scrolled(page: QWidget) -> QScrollArea:
    """A tab's page that scrolls rather than hold the window above 640 pixels high."""
    area = QScrollArea()
    area.setWidget(page)
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    return area


def user_models_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("pitchrec", appauthor=False)) / "models"


class MainWindow(QMainWindow):
    def __init__(self, session: LiveSession, qsettings: QSettings | None = None, clip_dir: Path | None = None,
                 device=None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Pitchrec")
        self.session = session
        self.qs = qsettings or QSettings("pitchrec", "pitchrec")
        self.clip_dir = clip_dir or clips.dataset_dir()
        self.writer: clips.ClipWriter | None = None
        self._recorded_notes: collections.Counter = collections.Counter()  # MIDI shown while recording -> hops
        self._version = 0
        self._last = None  # the newest result, while it is fresh
        self._asked_device = _NOT_ASKED  # the input the user chose last, saved once it opens
        self._scans_shown = -1  # the device scan the list shows
        self._channel_restored = False
        self._last_draw = self._heard_at = time.monotonic()  # the last frame drawn; the last audio the spectrogram had
        self._unheard = False  # the spectrogram is scrolling on without audio
        self.frames_drawn = 0

        # Views.
        self.note_label = QLabel("–")
        self.note_label.setObjectName("note")
        self.note_label.setAlignment(Qt.AlignCenter)
        self.note_label.setFont(QFont("Sans", 56, QFont.Bold))
        self.target_label = QLabel("")
        self.target_label.setObjectName("target")
        self.target_label.setAlignment(Qt.AlignCenter)
        self.cents_label = QLabel("")
        self.cents_label.setObjectName("cents")
        self.cents_label.setAlignment(Qt.AlignCenter)
        self.cents_label.setFont(QFont("Sans", 16))
        self.needle = CentsNeedle()
        self.strobe = StrobeView()
        self.strobe.hide()
        self.strum_view = StrumView()  # strum tuning's rows, in place of the note, needle and cents while shown
        self.strum_view.hide()
        self._strummed_at = -math.inf  # when a strum was last heard (monotonic s)
        self._tuning = EQUAL  # the tuning in use, built for the reference A4 (the needle's string targets read it)
        self.f0_label = QLabel("f0 –")
        self.f0_label.setObjectName("f0")
        self.confidence_label = QLabel("confidence –")
        self.level = QProgressBar()
        self.level.setRange(-80, 0)
        self.level.setFormat("%v dBFS")
        self.input_status = QLabel("")
        self.input_status.setObjectName("input_status")
        self.input_status.setWordWrap(True)  # a long message wraps; it never widens the panel
        self.input_status.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.spectrogram = SpectrogramView()
        self._spectrum_source = None  # the input the spectrogram's cursor reads
        self._spectrum_reader = None
        self.history = PitchHistory()
        self.settings_panel = SettingsPanel()
        try:
            repaired = clips.repair_interrupted(self.clip_dir) if self.clip_dir.exists() else []
        except OSError:
            repaired = []
        self.clips_panel = ClipsPanel(self.clip_dir)
        self.model_select = QComboBox()
        self.retrain = RetrainPanel(self.clip_dir)

        tuner = QWidget()
        grid = QGridLayout(tuner)
        grid.addWidget(self.note_label, 0, 0, 1, 2)
        grid.addWidget(self.target_label, 1, 0, 1, 2)
        grid.addWidget(self.needle, 2, 0, 1, 2)
        grid.addWidget(self.strobe, 2, 0, 1, 2)
        grid.addWidget(self.cents_label, 3, 0, 1, 2)
        grid.addWidget(self.strum_view, 0, 0, 4, 2)
        grid.addWidget(self.f0_label, 4, 0)
        grid.addWidget(self.confidence_label, 4, 1)
        grid.addWidget(QLabel("Input level"), 5, 0)
        grid.addWidget(self.level, 5, 1)
        grid.addWidget(self.input_status, 6, 0, 1, 2)
        tabs = QTabWidget()
        settings_page = QWidget()
        sl = QVBoxLayout(settings_page)
        sl.addWidget(self.settings_panel)
        sl.addWidget(QLabel("Model"))
        sl.addWidget(self.model_select)
        sl.addStretch(1)
        tabs.addTab(_scrolled(settings_page), "Settings")
        clips_page = QWidget()
        cl = QVBoxLayout(clips_page)
        cl.addWidget(self.clips_panel)
        cl.addWidget(self.retrain)
        tabs.addTab(_scrolled(clips_page), "Clips")
        left = QSplitter(Qt.Vertical)
        left.addWidget(tuner)
        left.addWidget(tabs)
        right = QSplitter(Qt.Vertical)
        right.addWidget(self.spectrogram)
        right.addWidget(self.history)
        main = QSplitter(Qt.Horizontal)
        main.addWidget(left)
        main.addWidget(right)
        main.setStretchFactor(1, 2)
        self.setCentralWidget(main)
        self.resize(1200, 760)

        self.settings_panel.message.connect(self.show_message)
        self.settings_panel.load(self.qs)
        saved_model = str(self.qs.value("model/path", ""))
        if saved_model and saved_model != str(session.model.path) and Path(saved_model).exists():
            try:
                session.set_model(NoteModel(saved_model))
            except ModelError as e:
                self.show_message(f"saved model not loaded, using {Path(session.model.path).name}: {e}")
        self._fill_models()
        self.settings_panel.changed.connect(self._apply_settings)
        self.settings_panel.deviceRequested.connect(self.switch_device)
        self.settings_panel.refresh.clicked.connect(self._rescan)
        self.clips_panel.recordToggled.connect(self._record)
        self.clips_panel.message.connect(self.show_message)
        self.clips_panel.playRequested.connect(self.session.play)
        self.model_select.activated.connect(lambda _: self._switch_model(self.model_select.currentData()))
        self.retrain.finished.connect(self._retrained)
        self._apply_settings()

        spec = device if device is not None else self.qs.value("input/device", None)
        self.session.request_input(spec, fall_back_to_default=True)

        if repaired:
            self.show_message(f"{len(repaired)} clip(s) were cut short when Pitchrec last stopped; kept and marked "
                              f"'interrupted' in the clip list: " + ", ".join(c.wav.name for c in repaired))
        QShortcut(QKeySequence("Ctrl+Q"), self, activated=self.close)
        self.draw_timer = QTimer(self, interval=DRAW_MS, timeout=self._draw)
        self.text_timer = QTimer(self, interval=TEXT_MS, timeout=self._text)
        self.draw_timer.start()
        self.text_timer.start()

    # -- input -----------------------------------------------------------------------------------
    def _fill_devices(self) -> None:
        state = self.session.input_state
        self._scans_shown = state.scans
        extra, current = [], None
        if state.device is not None:
            current = state.device.key
            if state.device.index < 0:  # not a sound card: a synthesized tone
                current = state.spec
                extra.append((state.device.name, current))
        self.settings_panel.set_devices(list(state.devices), current, extra)

    def _rescan(self) -> None:
        self.session.rescan()
        self.show_message("looking for input devices …")

    def switch_device(self, spec) -> None:
        """Ask for input `spec`; the status bar says when it is open, or why the running input stays."""
        self._asked_device = spec
        self.session.request_input(spec)

    def _input_events(self) -> None:
        """What the input supervisor reported since the last look."""
        for event in self.session.take_events():
            limit = (pitch.rate_limit_note(self.session.input_state.rate_hz, self.session.settings.a4_hz)
                     if event.kind in ("opened", "back") else None)
            self.show_message(event.message + (f"; {limit}" if limit else ""))
            if event.kind in ("opened", "back"):
                self.settings_panel.set_channels(self.session.input_state.channels)
                if not self._channel_restored:  # the saved channel, once the first input says how many it has
                    self.settings_panel.restore_channel()
                    self._channel_restored = True
                self._apply_settings()  # a channel the new input lacks is mixed to mono, in the list as in analysis
                self._fill_devices()
            if event.kind == "opened" and event.spec == self._asked_device and event.device is not None:
                # A sound card by host API and name, which stay; its index moves when the list changes.
                self.qs.setValue("input/device", event.device.key if event.device.index >= 0 else event.spec)
            if event.kind == "failed":
                self._fill_devices()  # the list goes back to the running input
        if self.session.input_state.scans != self._scans_shown:
            self._fill_devices()

    # -- settings and model ----------------------------------------------------------------------
    def _apply_settings(self) -> None:
        panel = self.settings_panel
        try:
            spec = panel.tuning_spec()
            tuning = spec.build(panel.a4.value())
            settings = Settings(a4_hz=panel.a4.value(), gate_dbfs=float(panel.gate.value()),
                                channel=panel.channel.currentData(), tuning=spec)
            if panel.strum_strings:
                try:
                    settings = dataclasses.replace(settings, strings=panel.strum_strings)
                except SettingsError as e:  # a string the tuning leaves without a key: strum tuning off, the rest on
                    self.show_message(f"strum tuning off: {e}")
        except (SettingsError, TuningFileError) as e:
            self.show_message(f"{e}; the settings in use stay")
            return
        self.session.apply(settings)
        self._tuning = tuning
        self.history.set_naming(panel.flats.isChecked(), panel.transpose_semitones)
        self.needle.damping_s = panel.damping_s
        self.needle.in_tune_cents = self.strobe.in_tune_cents = panel.in_tune.value()
        self.strum_view.set_strings([display_name(m, panel.flats.isChecked(), panel.transpose_semitones)
                                     for m in settings.strings])
        self.strum_view.set_in_tune(panel.in_tune.value())
        self._show_view()
        panel.save(self.qs)

    def _show_view(self) -> None:
        """Strum tuning's rows while a strum sounds (or pinned), else the note with the needle or the strobe."""
        panel = self.settings_panel
        strum = bool(self.session.settings.strings) and (
            panel.strum.currentData() == "strum" or time.monotonic() - self._strummed_at <= STRUM_HOLD_S)
        strobe = panel.view.currentData() == "strobe"
        for widget, shown in ((self.strum_view, strum), (self.note_label, not strum), (self.target_label, not strum),
                              (self.cents_label, not strum), (self.f0_label, not strum),
                              (self.confidence_label, not strum), (self.strobe, strobe and not strum),
                              (self.needle, not strobe and not strum)):
            if widget.isVisible() != shown:
                widget.setVisible(shown)

    def _fill_models(self) -> None:
        self.model_select.clear()
        self.model_select.addItem(f"shipped: {DEFAULT_MODEL.name}", str(DEFAULT_MODEL))
        folder = user_models_dir()
        for path in sorted(folder.glob("*.tflite")) if folder.exists() else []:
            self.model_select.addItem(f"mine: {path.stem}", str(path))
        i = self.model_select.findData(str(self.session.model.path))
        if i < 0:
            self.model_select.addItem(f"{Path(self.session.model.path).name}", str(self.session.model.path))
            i = self.model_select.count() - 1
        self.model_select.setCurrentIndex(i)

    def _switch_model(self, path: str) -> None:
        try:
            model = NoteModel(path)
        except ModelError as e:
            QMessageBox.warning(self, "Model not loaded", f"{e}\n\nThe current model stays in use.")
            self._fill_models()
            return
        self.session.set_model(model)
        self.qs.setValue("model/path", path)
        self.show_message(f"model: {Path(path).name}, version {model.version}")

    def _retrained(self, ok: bool, message: str) -> None:
        self.show_message(message)
        if ok:
            self._fill_models()

    # -- recording -------------------------------------------------------------------------------
    def _record(self, on: bool) -> None:
        if on:
            reader = self.session.recording_reader()
            if reader is None:
                self.show_message("no input to record from")
                self.clips_panel.record.setChecked(False)
                return
            label, midi = self.clips_panel.current_label()
            meta = {"label": label, "midi": midi, "instrument": self.clips_panel.instrument.text().strip() or None,
                    "device": self.session.input_state.device.name, "a4_hz": self.session.settings.a4_hz,
                    "model_version": self.session.model.version}
            self.writer = clips.ClipWriter(reader, self.clip_dir, meta)
            self._recorded_notes.clear()
            try:
                self.writer.start()
            except OSError as e:
                self.writer = None
                self.clips_panel.record.setChecked(False)
                self.show_message(f"cannot record into {self.clip_dir}: {e}")
                return
            self.clips_panel.record.setText("■ Stop")
            self.show_message(f"recording {self.writer.wav.name}")
        elif self.writer is not None:
            self.stop_recording()

    def stop_recording(self) -> clips.ClipInfo | None:
        writer, self.writer = self.writer, None
        if writer is None:
            return None
        if writer.meta.get("label") == DETECTED and self._recorded_notes:
            midi, _ = self._recorded_notes.most_common(1)[0]
            writer.meta["label"], writer.meta["midi"] = note_name(midi), midi
        clip = writer.stop()
        self.clips_panel.record.blockSignals(True)
        self.clips_panel.record.setChecked(False)
        self.clips_panel.record.blockSignals(False)
        self.clips_panel.record.setText("● Record")
        if writer.error:
            self.show_message(f"{writer.error}; the {writer.seconds:.1f} s recorded before it are kept in {clip.wav.name}")
        else:
            self.show_message(f"saved {clip.wav.name} ({writer.seconds:.1f} s, label {clip.meta.get('label')})")
        self.clips_panel.refresh()
        return clip

    # -- drawing ---------------------------------------------------------------------------------
    def _draw(self) -> None:
        now = time.monotonic()
        dt, self._last_draw = now - self._last_draw, now
        if self._feed_spectrogram():
            self._heard_at, self._unheard = now, False
        elif now - self._heard_at > STALE_S:  # no audio (the input lost): the spectrogram runs on, empty, from
            self.spectrogram.pass_time(dt if self._unheard else now - self._heard_at)  # when the audio stopped
            self._unheard = True
        version, result = self.session.results.get(self._version, timeout=0)
        if version != self._version and result is not None:
            self._version, self._last = version, result
            # While the strings' rows show, the single-note reading of a chord (its common period) is not drawn.
            f0 = None if self.strum_view.isVisible() else result.f0_hz
            self.history.add(result.t_s, f0, self.session.settings.a4_hz)
            self.spectrogram.set_pitch(f0)
            self.needle.set_cents(self._shown_cents(result))
            self.strobe.set_cents(self._shown_cents(result))
            self.level.setValue(int(max(-80, min(0, result.level_dbfs))))
            if result.strum is not None and result.strum.mode == "strum":
                self._strummed_at = now
            if self.writer is not None and result.note is not None:
                self._recorded_notes[result.midi] += 1
            if self.writer is not None and self.writer.error:
                self.stop_recording()
        if not self.session.fresh:
            self.spectrogram.set_pitch(None)
        self._show_view()
        if self.strobe.isVisible():
            self.strobe.tick(dt)
        else:
            self.needle.tick(dt)
        self.spectrogram.redraw()
        self.history.redraw(now)
        self.frames_drawn += 1

    def _feed_spectrogram(self) -> bool:
        """The display's own cursor into the input's ring: the audio since the last frame, at most a second of it
        (after a stall the display jumps to now), mixed as the analysis mixes it. Whether any came."""
        source = self.session.source
        if source is not self._spectrum_source:
            self._spectrum_source = source
            self._spectrum_reader = None if source is None else source.ring.reader()
        if self._spectrum_reader is None or not self._spectrum_reader.available():
            return False
        behind = self._spectrum_reader.available() - int(source.rate_hz)
        if behind > 0:
            self._spectrum_reader.read(behind)
        audio = features.to_mono(self._spectrum_reader.read().audio,
                                 usable_channel(self.session.settings.channel, source.channels))
        self.spectrogram.feed(audio, source.rate_hz)
        return True

    def _string(self, r) -> int | None:
        """The preset's string nearest the reading (None: chromatic, or no string near)."""
        if r.f0_hz is None:
            return None
        near = preset(self.settings_panel.preset.currentText()).nearest_string(hz_to_midi(r.f0_hz, self.session.settings.a4_hz))
        return None if near is None else near[0]

    def _shown_cents(self, r) -> float | None:
        """Cents on the needle and the strobe: from the preset's nearest string's target in the tuning, or from the
        note's (the analysis's own cents)."""
        string = self._string(r)
        if string is None or not self._tuning.keyed:
            return r.cents if r.f0_hz is not None else None
        try:
            return 1200.0 * math.log2(r.f0_hz / self._tuning.target_hz(string))
        except KeyError:  # a keyboard mapping that leaves the string's key unmapped
            return r.cents

    def _text(self) -> None:
        self._input_events()
        panel, state = self.settings_panel, self.session.input_state
        if not self.session.fresh:
            self._last = None
            self.needle.set_cents(None)
            self.strobe.set_cents(None)
            self.level.setValue(self.level.minimum())
        r = self._last
        self.level.setEnabled(r is not None)
        strum = None if r is None else r.strum  # the rows' text at the text's pace, as the note's
        self.strum_view.set_reading(None if strum is None else strum.strings)
        if state.status == "lost":
            why = f" ({state.error})" if state.error else ""
            self.input_status.setText(f"⚠ input lost: the device stopped sending audio; retrying{why}"[:160])
        elif state.status == "opening":
            self.input_status.setText("opening the input …")
        elif state.status == "waiting":
            why = f" ({state.error})" if state.error else ""
            self.input_status.setText(f"no input yet; retrying{why}"[:160])
        elif state.status == "none":
            self.input_status.setText("no input")
        elif self.session.overflows or self.session.lost_samples:
            self.input_status.setText(f"input overflows {self.session.overflows}, samples lost {self.session.lost_samples}")
        else:
            self.input_status.setText(f"{state.device.name} · {state.rate_hz:g} Hz")
        if self.writer is not None:
            self.input_status.setText(self.input_status.text() + f" · ● recording {self.writer.seconds:.1f} s")
        if r is None or r.note is None:
            self.note_label.setText("–")
            self.note_label.setEnabled(True)
            self.target_label.setText("")
            self.cents_label.setText("")
            self.f0_label.setText("f0 –")
            self.confidence_label.setText("confidence –")
            return
        self.note_label.setText(display_name(r.midi, panel.flats.isChecked(), panel.transpose_semitones))
        self.note_label.setEnabled(r.stable)  # greyed: shown from the waveform alone, the model not yet heard
        cents = self._shown_cents(r)
        string = self._string(r)
        spec = self.session.settings.tuning
        parts = ([f"string {display_name(string, panel.flats.isChecked(), panel.transpose_semitones)}"] if string is not None
                 else []) + ([f"degree {r.degree}"] if r.degree else []) + ([spec.label] if not spec.is_equal else [])
        self.target_label.setText(" · ".join(parts))
        self.cents_label.setText("" if cents is None else f"{cents_text(cents)} cents")
        self.f0_label.setText("f0 –" if r.f0_hz is None else f"f0 {r.f0_hz:.2f} Hz")
        self.confidence_label.setText(f"confidence {r.confidence:.2f}")

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 10000)

    def state(self) -> dict:
        """What the window shows, for tests and the end-to-end check (not read from pixels)."""
        return {"note": self.note_label.text(), "stable": self.note_label.isEnabled(), "cents": self.cents_label.text(),
                "f0": self.f0_label.text(), "target": self.target_label.text(),
                "view": "strum" if self.strum_view.isVisible() else "strobe" if self.strobe.isVisible() else "needle",
                "strings": self.strum_view.texts(), "strobe_cents": self.strobe.cents,
                "needle": self.needle.shown, "input": self.input_status.text(), "device": self.session.input_state.spec,
                "level_dbfs": None if self._last is None else round(self._last.level_dbfs, 1)}

    def keep_retraining(self) -> bool:
        """Asked when the window is closed during a retraining: True keeps the window open and the retraining
        running; False cancels the retraining and closes."""
        box = QMessageBox(QMessageBox.Question, "Retraining is running",
                          "A retraining is running. Closing the window cancels it.", parent=self)
        keep = box.addButton("Keep retraining", QMessageBox.RejectRole)
        box.addButton("Cancel it and close", QMessageBox.AcceptRole)
        box.setDefaultButton(keep)
        box.exec()
        return box.clickedButton() is keep

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.retrain.running:
            if self.keep_retraining():
                event.ignore()
                return
            self.retrain.stop()
        self.stop_recording()
        self.settings_panel.save(self.qs)
        self.qs.sync()
        self.session.close()
        super().closeEvent(event)


def _log_state(window: MainWindow, path: Path) -> None:
    """Append what the window shows to `path` as JSON Lines whenever it changes, and every 100 ms regardless: a line
    is also a heartbeat of the GUI thread (for end-to-end checks)."""
    import json

    f = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115  (closed with the window)
    last: dict = {}
    written = [0.0]

    def poll():
        state = {k: v for k, v in window.state().items() if k in ("note", "cents", "input", "level_dbfs")}
        now = time.monotonic()
        if state != last or now - written[0] >= 0.1:
            last.clear()
            last.update(state)
            written[0] = now
            f.write(json.dumps({"t": round(now, 3), **state}, ensure_ascii=False) + "\n")

    timer = QTimer(window, interval=TEXT_MS // 3, timeout=poll)
    timer.start()
    window.destroyed.connect(f.close)


log = logging.getLogger("pitchrec.gui")

# Qt's own messages, in the app's log. Its warnings are mostly about the platform ("This plugin does not support
# propagateSizeHints()"), not about anything a musician can act on: they show with pitchrec -v.
_QT_LEVELS = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.DEBUG,
              QtMsgType.QtWarningMsg: logging.INFO, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}


def _qt_message(kind, context, message) -> None:
    logging.getLogger("pitchrec.qt").log(_QT_LEVELS.get(kind, logging.WARNING), "%s", message)


def run(args) -> int:
    """`pitchrec gui`: the window; with --screenshot, save one after --seconds and quit."""
    import sys

    from PySide6.QtWidgets import QApplication

    qInstallMessageHandler(_qt_message)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Pitchrec")
    try:
        model = NoteModel(args.model)
    except ModelError as e:
        if app.platformName() != "offscreen":  # nobody could click a dialog without a screen
            QMessageBox.critical(None, "Pitchrec: model not loaded", f"{e}\n\nPitchrec cannot start without a note model.")
        raise  # and the CLI prints the one-line error
    window = MainWindow(LiveSession(model), device=args.device)
    window.show()
    if getattr(args, "state_log", None):
        _log_state(window, args.state_log)
    if args.seconds:
        def finish():
            if args.screenshot:
                window.grab().save(str(args.screenshot))
            log.info("after %g s the window shows %s", args.seconds, window.state())
            window.close()

        QTimer.singleShot(int(args.seconds * 1000), finish)
    return app.exec()
