""""Retrain from my clips": runs `pitchrec-build finetune` in a subprocess (QProcess), with progress and cancel.

The window stays responsive: the training runs in its own process, and its log
lines drive the progress bar: a busy bar with the stage named while it reads the
clips and the base corpus and measures the model, then one step per epoch of the
schedule's phases. When it finishes, the figures before and after are shown as
percentages, with a warning when accuracy on the base validation set dropped, and
the new model lands in the user's model folder (MainWindow refreshes its model
list). Cancel says "cancelled". Without the `train` extra the action explains how
to install it.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys

from PySide6.QtCore import QProcess, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

EPOCH = re.compile(r"epoch (\d+) \(([^)]+)\)")
FIGURES = re.compile(r"(before|after): held-out clips (\S+), base validation (\S+)")
# What `pitchrec-build finetune` says before its first epoch, and what the panel makes of it.
STAGES = (("clips:", "reading your clips"), ("rendering a small replay corpus", "rendering a small base corpus"),
          ("before:", "measuring the model before training"))
INSTALL_HINT = "Retraining needs the training tools: pip install 'pitchrec[train]' (or run `make test`, which installs them)."


def training_available() -> bool:
    return importlib.util.find_spec("tensorflow") is not None and importlib.util.find_spec("model_build") is not None


def finetune_command(clips_dir, extra: list[str] | None = None) -> list[str]:
    exe = shutil.which("pitchrec-build")
    base = [exe] if exe else [sys.executable, "-m", "model_build.cli"]
    return base + ["finetune", "--clips", str(clips_dir), *(extra or [])]


class RetrainPanel(QWidget):
    finished = Signal(bool, str)  # ok, message
    total_epochs = 4  # the head's 2, then one per trunk block unfrozen (model_build.config: finetune_blocks 2)

    def __init__(self, clips_dir, parent=None, extra_args: list[str] | None = None):
        super().__init__(parent)
        self.clips_dir = clips_dir
        self.extra_args = extra_args or []
        self.start = QPushButton("Retrain from my clips")
        self.cancel = QPushButton("Cancel")
        self.cancel.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, self.total_epochs)
        self.progress.setValue(0)
        self.status = QLabel("" if training_available() else INSTALL_HINT)
        self.status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.start)
        row.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        self.process: QProcess | None = None
        self._log: list[str] = []
        self._figures: dict[str, tuple[float | None, float | None]] = {}  # before/after: (held-out clips, base)
        self._cancelled = False
        self.start.clicked.connect(self.run)
        self.cancel.clicked.connect(self.stop)

    def run(self) -> None:
        if not training_available():
            self.status.setText(INSTALL_HINT)
            self.finished.emit(False, INSTALL_HINT)
            return
        cmd = finetune_command(self.clips_dir, self.extra_args)
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.finished.connect(self._done)
        self._log, self._figures, self._cancelled = [], {}, False
        self.progress.setRange(0, 0)  # busy from the first second: preparing takes minutes
        self.status.setText("preparing: starting the training tools …")
        self.start.setEnabled(False)
        self.cancel.setEnabled(True)
        self.process.start(cmd[0], cmd[1:])

    def _read(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode(errors="replace")
        for line in text.splitlines():
            self._log.append(line)
            m = EPOCH.search(line)
            figures = FIGURES.search(line)
            if figures:
                self._figures[figures.group(1)] = (_fraction(figures.group(2)), _fraction(figures.group(3)))
            if m:
                self.progress.setRange(0, self.total_epochs)
                self.progress.setValue(min(self.total_epochs, int(m.group(1))))
                self.status.setText(f"training: epoch {m.group(1)} of {self.total_epochs} ({m.group(2)})")
            elif "after:" in line:
                self.status.setText("converting the model to int8 and measuring it …")
            elif any(key in line for key, _ in STAGES):
                self.status.setText(f"preparing: {next(text for key, text in STAGES if key in line)} …")
            elif "skipped " in line:  # a clip left out, and why
                self.status.setText(line.split(": ", 1)[-1][:160])

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.NotRunning

    def stop(self) -> None:
        if self.running:
            self._cancelled = True
            self.process.kill()
            self.status.setText("cancelled")

    def _done(self, code: int, status) -> None:
        ok = status == QProcess.NormalExit and code == 0 and not self._cancelled
        self.start.setEnabled(True)
        self.cancel.setEnabled(False)
        self.progress.setRange(0, self.total_epochs)
        self.progress.setValue(self.total_epochs if ok else 0)
        last = next((line for line in reversed(self._log) if line.strip()), "")
        if self._cancelled:
            message = "retraining cancelled: the current model stays"
        elif ok:
            message = "retrained: the new model is in the model list. " + self.summary()
        else:
            message = f"retraining failed: {last[-200:] or 'no output'}"
        self.status.setText(message)
        self.finished.emit(ok, message)

    def summary(self) -> str:
        """The figures before and after as percentages; a warning when base accuracy dropped."""
        before, after = self._figures.get("before", (None, None)), self._figures.get("after", (None, None))
        parts = []
        for what, b, a in (("your held-out clips", before[0], after[0]), ("other instruments", before[1], after[1])):
            if a is not None:
                parts.append(f"{what}: {_percent(b)} → {_percent(a)}")
        text = "; ".join(parts)
        if before[1] is not None and after[1] is not None and after[1] < before[1]:
            text += (f". ⚠ Accuracy on other instruments dropped by {100 * (before[1] - after[1]):.2f} points: "
                     "keep the shipped model for them, or record more varied clips.")
        return text


def _fraction(text: str) -> float | None:
    try:
        return float(text.rstrip(","))
    except ValueError:
        return None  # "None": no held-out clips


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.2f}%"
