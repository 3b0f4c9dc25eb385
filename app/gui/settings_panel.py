"""Input and tuning settings: device, channel, reference A4, noise gate, preset, transposition, names.

The panel only edits values and emits `changed` (tuning) or `deviceRequested`
(input); MainWindow applies them and persists them with QSettings.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QWidget,
)
from PySide6.QtCore import Qt

from app.engine import A4_MAX_HZ, A4_MIN_HZ
from app.presets import PRESETS, TRANSPOSITIONS


class SettingsPanel(QWidget):
    changed = Signal()
    deviceRequested = Signal(object)  # a device spec: index, name part, or "tone:<Hz>"

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
        self.transpose = QComboBox()
        for name, semitones in TRANSPOSITIONS.items():
            self.transpose.addItem(name, semitones)
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
        form.addRow("Display", self.transpose)
        form.addRow("", self.flats)
        form.addRow("Needle damping", self._with_value(self.damping, lambda v: f"{v / 100:.2f} s"))
        self.device.activated.connect(lambda _: self.deviceRequested.emit(self.device.currentData()))
        for signal in (self.channel.currentIndexChanged, self.a4.valueChanged, self.gate.valueChanged,
                       self.preset.currentIndexChanged, self.transpose.currentIndexChanged, self.flats.toggled,
                       self.damping.valueChanged):
            signal.connect(lambda *_: self.changed.emit())

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
        return int(self.transpose.currentData())

    def save(self, qs) -> None:
        qs.setValue("tuning/a4_hz", self.a4.value())
        qs.setValue("tuning/gate_dbfs", self.gate.value())
        qs.setValue("tuning/preset", self.preset.currentText())
        qs.setValue("tuning/transpose", self.transpose.currentText())
        qs.setValue("tuning/flats", self.flats.isChecked())
        qs.setValue("tuning/damping", self.damping.value())
        qs.setValue("input/channel", -1 if self.channel.currentData() is None else self.channel.currentData())

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

    def restore_channel(self) -> None:
        i = self.channel.findData(None if getattr(self, "_saved_channel", -1) < 0 else self._saved_channel)
        if i >= 0:
            self.channel.setCurrentIndex(i)
