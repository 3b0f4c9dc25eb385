"""Input and tuning settings: device, channel, reference A4, noise gate, preset, temperament or Scala scale and its
root, sweetener, transposition, names, and the display (needle or strobe, in-tune zone, damping).

The panel only edits values (reading the files a user picks: a Scala scale, a sweetener) and emits `changed`
(tuning), `deviceRequested` (input) or `message` (a file it refused); MainWindow applies them and persists them with
QSettings.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.engine import A4_MAX_HZ, A4_MIN_HZ
from app.notes import SHARP_NAMES, midi_from_name, note_name
from app.presets import (MAX_SWEETENER_CENTS, PRESETS, SWEETENERS, TRANSPOSITIONS, SweetenerError, load_sweetener,
                         preset, save_sweetener, valid_offset)
from app.tuning import TEMPERAMENTS, TuningFileError, TuningSpec, read_kbm, read_scl

SCALA = "scala"  # the temperament list's entry for a loaded Scala file
CUSTOM = "custom"  # the sweetener list's entry for the user's own offsets; the transposition list's for any interval


class SettingsPanel(QWidget):
    changed = Signal()
    deviceRequested = Signal(object)  # a device spec: index, name part, or "tone:<Hz>"
    message = Signal(str)  # a file refused, a file written

    def __init__(self, parent=None):
        super().__init__(parent)
        form = QFormLayout(self)
        self.device = QComboBox()
        self.device.setObjectName("device")
        self.device.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)  # long names are elided
        self.device.setMinimumContentsLength(14)
        self.refresh = QPushButton("Rescan")
        self.channel = QComboBox()
        self.channel.addItem("Mix to mono", None)
        self.a4 = QDoubleSpinBox()
        self.a4.setRange(A4_MIN_HZ, A4_MAX_HZ)
        self.a4.setDecimals(1)
        self.a4.setSuffix(" Hz")
        self.a4.setValue(440.0)
        self.gate = QSlider(Qt.Horizontal)
        self.gate.setRange(-90, -20)
        self.gate.setValue(-60)
        self.gate.setToolTip("Noise gate: input below this level (dBFS) shows no note")
        self.preset = QComboBox()
        for p in PRESETS:
            self.preset.addItem(p.name)
        self.temperament = QComboBox()
        self.temperament.setObjectName("temperament")
        for name, (what, _) in TEMPERAMENTS.items():
            self.temperament.addItem(name, name)
            self.temperament.setItemData(self.temperament.count() - 1, what, Qt.ToolTipRole)
        self.root = QComboBox()
        for name in SHARP_NAMES:
            self.root.addItem(name.replace("#", "♯"), name)
        self.root.setToolTip("The temperament's root keeps its equal-tempered pitch for the reference A4, so under a "
                             "temperament on C the A moves")
        self.scala_button = QPushButton("Scala file…")
        self.scala_button.setToolTip("Load a Scala .scl scale (and, if you pick one too, a .kbm keyboard mapping)")
        self._scala: tuple[object, object, str, str, str] | None = None  # (scale, mapping, name, scl path, kbm path)
        self.sweetener = QComboBox()
        self.sweetener.setObjectName("sweetener")
        for name in SWEETENERS:
            self.sweetener.addItem(name, name)
        self.sweetener.addItem("Custom", CUSTOM)
        self.sweetener.setToolTip("Cents added to single notes' targets (per string for an instrument)")
        self.custom_offsets: dict[int, float] = {}
        self.edit_sweetener = QPushButton("Edit…")
        self.import_sweetener = QPushButton("Import…")
        self.export_sweetener = QPushButton("Export…")
        self.transpose = QComboBox()
        for name, semitones in TRANSPOSITIONS.items():
            self.transpose.addItem(name, semitones)
        self.transpose.addItem("Custom", CUSTOM)
        self.transpose_custom = QSpinBox()
        self.transpose_custom.setRange(-36, 36)
        self.transpose_custom.setSuffix(" semitones")
        self.transpose_custom.setToolTip("Written pitch = concert pitch + this many semitones")
        self.transpose_custom.setEnabled(False)
        self.view = QComboBox()
        self.view.setObjectName("view")
        self.view.addItem("Needle", "needle")
        self.view.addItem("Strobe", "strobe")
        self.in_tune = QDoubleSpinBox()
        self.in_tune.setRange(0.5, 5.0)
        self.in_tune.setSingleStep(0.5)
        self.in_tune.setDecimals(1)
        self.in_tune.setPrefix("± ")
        self.in_tune.setSuffix(" cents")
        self.in_tune.setValue(2.0)
        self.strum = QComboBox()
        self.strum.setObjectName("strum")
        self.strum.addItem("Strum: switch by itself", "auto")
        self.strum.addItem("One string at a time", "single")
        self.strum.addItem("Strum: every string", "strum")
        self.strum.setToolTip("Strum all the open strings and read each one at once. By itself, the strings' rows "
                              "show while two or more sound and the single-note view while one does; or pin either")
        self.flats = QCheckBox("Flats (B♭) instead of sharps (A♯)")
        self.damping = QSlider(Qt.Horizontal)
        self.damping.setRange(0, 100)
        self.damping.setValue(12)
        self.damping.setToolTip("Needle damping, 0 to 1 s")
        form.addRow("Input", self.device)
        form.addRow("", self.refresh)
        form.addRow("Channel", self.channel)
        form.addRow("Reference A4", self.a4)
        form.addRow("Noise gate", self._with_value(self.gate, lambda v: f"{v} dBFS"))
        form.addRow("Instrument", self.preset)
        form.addRow("Strings", self.strum)
        form.addRow("Temperament", self._row(self.temperament, self.scala_button))
        form.addRow("Root", self.root)
        form.addRow("Sweetener", self._row(self.sweetener, self.edit_sweetener))
        form.addRow("", self._row(self.import_sweetener, self.export_sweetener))
        form.addRow("Display", self._row(self.transpose, self.transpose_custom))
        form.addRow("", self.flats)
        form.addRow("View", self._row(self.view, self.in_tune))
        form.addRow("Needle damping", self._with_value(self.damping, lambda v: f"{v / 100:.2f} s"))
        self.device.activated.connect(lambda _: self.deviceRequested.emit(self.device.currentData()))
        self.transpose.currentIndexChanged.connect(
            lambda _: self.transpose_custom.setEnabled(self.transpose.currentData() == CUSTOM))
        self.scala_button.clicked.connect(self._pick_scala)
        self.edit_sweetener.clicked.connect(self._edit_sweetener)
        self.import_sweetener.clicked.connect(self._pick_sweetener)
        self.export_sweetener.clicked.connect(self._save_sweetener)
        for signal in (self.channel.currentIndexChanged, self.a4.valueChanged, self.gate.valueChanged,
                       self.preset.currentIndexChanged, self.transpose.currentIndexChanged, self.flats.toggled,
                       self.damping.valueChanged, self.temperament.currentIndexChanged, self.root.currentIndexChanged,
                       self.sweetener.currentIndexChanged, self.transpose_custom.valueChanged,
                       self.view.currentIndexChanged, self.in_tune.valueChanged, self.strum.currentIndexChanged):
            signal.connect(lambda *_: self.changed.emit())
        self.preset.currentIndexChanged.connect(lambda _: self.strum.setEnabled(bool(self.strings)))
        self.strum.setEnabled(bool(self.strings))

    @staticmethod
    def _row(*widgets) -> QWidget:
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in widgets:
            layout.addWidget(w, 1 if w is widgets[0] else 0)
        return row

    @staticmethod
    def _with_value(slider: QSlider, text) -> QWidget:
        """The slider with its value beside it, as text(value)."""
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        label = QLabel(text(slider.value()))
        label.setMinimumWidth(label.fontMetrics().horizontalAdvance("-90 dBFS") + 4)
        slider.valueChanged.connect(lambda v: label.setText(text(v)))
        layout.addWidget(slider, 1)
        layout.addWidget(label)
        return row

    def set_devices(self, devices, current_spec, extra: list[tuple[str, object]] = ()) -> None:
        """Fill the device list (app.audio.InputDevice, default first) and select current_spec."""
        self.device.blockSignals(True)
        self.device.clear()
        for d in devices:
            self.device.addItem(f"{d.name}{'  (default)' if d.is_default else ''}", d.key)
        for text, spec in extra:
            self.device.addItem(text, spec)
        i = self.device.findData(current_spec)
        if i >= 0:
            self.device.setCurrentIndex(i)
        self.device.blockSignals(False)

    def set_channels(self, channels: int) -> None:
        current = self.channel.currentData()
        self.channel.blockSignals(True)
        self.channel.clear()
        self.channel.addItem("Mix to mono", None)
        for c in range(channels if channels > 1 else 0):
            self.channel.addItem(f"Channel {c + 1}", c)
        i = self.channel.findData(current)
        self.channel.setCurrentIndex(max(0, i))
        self.channel.blockSignals(False)

    def select_device(self, spec) -> None:
        i = self.device.findData(spec)
        if i >= 0:
            self.device.setCurrentIndex(i)

    # -- values --
    @property
    def damping_s(self) -> float:
        return self.damping.value() / 100.0

    @property
    def transpose_semitones(self) -> int:
        data = self.transpose.currentData()
        return self.transpose_custom.value() if data == CUSTOM else int(data)

    @property
    def offsets(self) -> dict[int, float]:
        """The sweetener's cents by MIDI key."""
        name = self.sweetener.currentData()
        return dict(self.custom_offsets) if name == CUSTOM else dict(SWEETENERS.get(name, {}))

    @property
    def strings(self) -> tuple[int, ...]:
        """The preset's strings (MIDI, lowest first); () for chromatic."""
        return preset(self.preset.currentText()).strings

    @property
    def strum_strings(self) -> tuple[int, ...]:
        """The strings strum tuning reads: the preset's, unless pinned to one string at a time."""
        return self.strings if self.strum.currentData() != "single" else ()

    def tuning_spec(self) -> TuningSpec:
        """The tuning the panel shows: a built-in temperament or the loaded Scala scale, on the root, sweetened."""
        offsets = tuple(sorted(self.offsets.items()))
        root = self.root.currentData()
        if self.temperament.currentData() == SCALA and self._scala is not None:
            scale, mapping, name, _, _ = self._scala
            return TuningSpec(root=root, scale=scale, mapping=mapping, scale_name=name, offsets=offsets)
        return TuningSpec(self.temperament.currentData() or "equal", root, offsets=offsets)

    # -- files the user picks --
    def load_scala(self, scl: Path, kbm: Path | None = None) -> None:
        """Use a Scala scale (and mapping). Raises TuningFileError, the tuning in use staying as it was."""
        scale, mapping = read_scl(Path(scl)), read_kbm(Path(kbm)) if kbm else None
        TuningSpec(scale=scale, mapping=mapping).build(self.a4.value())  # a mapping that plays no reference fails here
        self._scala = (scale, mapping, Path(scl).name, str(scl), str(kbm or ""))
        i = self.temperament.findData(SCALA)
        if i < 0:
            self.temperament.addItem("", SCALA)
            i = self.temperament.count() - 1
        self.temperament.setItemText(i, f"Scala: {Path(scl).name}")
        self.temperament.setItemData(i, scale.description or Path(scl).name, Qt.ToolTipRole)
        if self.temperament.currentIndex() == i:
            self.changed.emit()
        self.temperament.setCurrentIndex(i)

    def _pick_scala(self) -> None:
        scl, _ = QFileDialog.getOpenFileName(self, "Scala scale", "", "Scala scales (*.scl);;All files (*)")
        if not scl:
            return
        kbm, _ = QFileDialog.getOpenFileName(self, "Keyboard mapping (optional: Cancel for none)", str(Path(scl).parent),
                                             "Scala keyboard mappings (*.kbm)")
        try:
            self.load_scala(Path(scl), Path(kbm) if kbm else None)
        except TuningFileError as err:
            self.message.emit(f"{err}; the tuning in use stays")
            return
        self.message.emit(f"tuning: {self.tuning_spec().label}")

    def set_custom_offsets(self, offsets: dict[int, float]) -> None:
        self.custom_offsets = dict(offsets)
        i = self.sweetener.findData(CUSTOM)
        if self.sweetener.currentIndex() == i:
            self.changed.emit()
        self.sweetener.setCurrentIndex(i)

    def import_offsets(self, path: Path) -> None:
        """A sweetener file becomes the custom sweetener. Raises SweetenerError, the sweetener in use staying."""
        _, offsets = load_sweetener(path)
        self.set_custom_offsets(offsets)

    def _pick_sweetener(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a sweetener", "", "Sweeteners (*.json);;All files (*)")
        if not path:
            return
        try:
            self.import_offsets(Path(path))
        except SweetenerError as err:
            self.message.emit(f"{err}; the sweetener in use stays")

    def _save_sweetener(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the sweetener", f"{self.sweetener.currentText()}.json",
                                              "Sweeteners (*.json)")
        if not path:
            return
        try:
            save_sweetener(Path(path), self.sweetener.currentText(), self.offsets)
        except OSError as err:
            self.message.emit(f"{path}: not written ({err.strerror or err})")
            return
        self.message.emit(f"sweetener written to {path}")

    def _edit_sweetener(self) -> None:
        editor = SweetenerEditor(self.offsets, preset(self.preset.currentText()).strings, self)
        if editor.exec() == QDialog.Accepted:
            self.set_custom_offsets(editor.offsets())

    def save(self, qs) -> None:
        qs.setValue("tuning/a4_hz", self.a4.value())
        qs.setValue("tuning/gate_dbfs", self.gate.value())
        qs.setValue("tuning/preset", self.preset.currentText())
        qs.setValue("tuning/transpose", self.transpose.currentText())
        qs.setValue("tuning/flats", self.flats.isChecked())
        qs.setValue("tuning/damping", self.damping.value())
        qs.setValue("input/channel", -1 if self.channel.currentData() is None else self.channel.currentData())
        qs.setValue("tuning/temperament", self.temperament.currentData())
        qs.setValue("tuning/root", self.root.currentData())
        qs.setValue("tuning/scl", self._scala[3] if self._scala else "")
        qs.setValue("tuning/kbm", self._scala[4] if self._scala else "")
        qs.setValue("tuning/sweetener", self.sweetener.currentData())
        qs.setValue("tuning/custom_offsets", json.dumps({note_name(m): c for m, c in self.custom_offsets.items()}))
        qs.setValue("tuning/transpose_custom", self.transpose_custom.value())
        qs.setValue("display/view", self.view.currentData())
        qs.setValue("display/in_tune_cents", self.in_tune.value())
        qs.setValue("display/strum", self.strum.currentData())

    def load(self, qs) -> None:
        self.a4.setValue(float(qs.value("tuning/a4_hz", 440.0)))
        self.gate.setValue(int(qs.value("tuning/gate_dbfs", -60)))
        i = self.preset.findText(str(qs.value("tuning/preset", PRESETS[0].name)))
        self.preset.setCurrentIndex(max(0, i))
        i = self.transpose.findText(str(qs.value("tuning/transpose", "")))
        self.transpose.setCurrentIndex(max(0, i))
        self.flats.setChecked(str(qs.value("tuning/flats", "false")).lower() in ("true", "1"))
        self.damping.setValue(int(qs.value("tuning/damping", 12)))
        self._saved_channel = int(qs.value("input/channel", -1))
        self.transpose_custom.setValue(int(_number(qs.value("tuning/transpose_custom", 0), 0)))
        self.root.setCurrentIndex(max(0, self.root.findData(str(qs.value("tuning/root", "C")))))
        try:
            saved = json.loads(str(qs.value("tuning/custom_offsets", "{}")))
            self.custom_offsets = {midi_from_name(n): float(c) for n, c in saved.items() if valid_offset(c)}
        except (ValueError, TypeError, AttributeError):
            self.custom_offsets = {}
        self.sweetener.setCurrentIndex(max(0, self.sweetener.findData(str(qs.value("tuning/sweetener", "None")))))
        temperament = str(qs.value("tuning/temperament", "equal"))
        scl, kbm = str(qs.value("tuning/scl", "")), str(qs.value("tuning/kbm", ""))
        if scl:
            try:
                self.load_scala(Path(scl), Path(kbm) if kbm else None)
            except TuningFileError as err:
                if temperament == SCALA:  # the one in use: say so; a file merely remembered goes quietly
                    self.message.emit(f"{err}; equal temperament is in use")
        self.temperament.setCurrentIndex(max(0, self.temperament.findData(temperament)))
        self.view.setCurrentIndex(max(0, self.view.findData(str(qs.value("display/view", "needle")))))
        self.in_tune.setValue(_number(qs.value("display/in_tune_cents", 2.0), 2.0))
        self.strum.setCurrentIndex(max(0, self.strum.findData(str(qs.value("display/strum", "auto")))))

    def restore_channel(self) -> None:
        i = self.channel.findData(None if getattr(self, "_saved_channel", -1) < 0 else self._saved_channel)
        if i >= 0:
            self.channel.setCurrentIndex(i)


def _number(value, default: float) -> float:
    """A saved number, or `default` when the saved value is not one (a hand-edited or corrupt settings file)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


class SweetenerEditor(QDialog):
    """A table of notes and their cents: the instrument's strings first, then any note added."""

    def __init__(self, offsets: dict[int, float], strings: tuple[int, ...], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Sweetener: cents added to each note's target")
        notes = sorted(set(strings) | set(offsets))
        self.table = QTableWidget(len(notes), 2)
        self.table.setHorizontalHeaderLabels(["Note", "Cents"])
        for row, m in enumerate(notes):
            self.table.setItem(row, 0, QTableWidgetItem(note_name(m)))
            self.table.setItem(row, 1, QTableWidgetItem(f"{offsets.get(m, 0.0):+.1f}"))
        add = QPushButton("Add a note")
        add.clicked.connect(lambda: self.table.insertRow(self.table.rowCount()))
        self.error = QLabel("")
        self.error.setObjectName("error")
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(add)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def offsets(self) -> dict[int, float]:
        """The table's offsets; raises ValueError naming the row at fault."""
        out = {}
        for row in range(self.table.rowCount()):
            cells = [self.table.item(row, c) for c in (0, 1)]
            name, cents = (c.text().strip() if c is not None else "" for c in cells)
            if not name and not cents:
                continue
            try:
                m, value = midi_from_name(name), float(cents or 0)
            except ValueError:
                raise ValueError(f"row {row + 1}: {name!r} {cents!r} is not a note and a number of cents") from None
            if not valid_offset(value):
                raise ValueError(f"row {row + 1}: {value:g} cents is not a number from -{MAX_SWEETENER_CENTS:g} to "
                                 f"{MAX_SWEETENER_CENTS:g}")
            if value:
                out[m] = value
        return out

    def _accept(self) -> None:
        try:
            self.offsets()
        except ValueError as err:
            self.error.setText(str(err))
            return
        self.accept()
