""""Retrain from my clips": runs `pitchrec-build finetune` in a subprocess (QProcess), with progress and cancel.

The window stays responsive: the training runs in its own process, and its log
lines drive the progress bar (one step per epoch of the schedule's phases). When
it finishes the new model lands in the user's model folder and MainWindow
refreshes its model list. Without the `train` extra the action explains how to
install it.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys

from PySide6.QtCore import QProcess, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

EPOCH = re.compile(r"epoch (\d+) \(([^)]+)\)")
INSTALL_HINT = "Retraining needs the training tools: pip install 'pitchrec[train]' (or run `make test`, which installs them)."


def training_available() -> bool:
    return importlib.util.find_spec("tensorflow") is not None and importlib.util.find_spec("model_build") is not None


def finetune_command(clips_dir, extra: list[str] | None = None) -> list[str]:
    exe = shutil.which("pitchrec-build")
    base = [exe] if exe else [sys.executable, "-m", "model_build.cli"]
    return base + ["finetune", "--clips", str(clips_dir), *(extra or [])]


class RetrainPanel(QWidget):
    finished = Signal(bool, str)  # ok, message
    total_epochs = 6  # head 2 + one per trunk block (model_build.config defaults)

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
        self._log = []
        self.progress.setValue(0)
        self.status.setText("preparing: reading clips and the base corpus …")
        self.start.setEnabled(False)
        self.cancel.setEnabled(True)
        self.process.start(cmd[0], cmd[1:])

    def _read(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode(errors="replace")
        for line in text.splitlines():
            self._log.append(line)
            m = EPOCH.search(line)
            if m:
                self.progress.setValue(min(self.total_epochs, int(m.group(1))))
                self.status.setText(f"training: epoch {m.group(1)}, phase {m.group(2)}")
            elif "skipped" in line or "before:" in line or "after:" in line or "wrote" in line:
                self.status.setText(line.split(": ", 1)[-1][:160])

    def stop(self) -> None:
        if self.process is not None and self.process.state() != QProcess.NotRunning:
            self.process.kill()
            self.status.setText("cancelled")

    def _done(self, code: int, status) -> None:
        ok = status == QProcess.NormalExit and code == 0
        self.start.setEnabled(True)
        self.cancel.setEnabled(False)
        if ok:
            self.progress.setValue(self.total_epochs)
        last = next((line for line in reversed(self._log) if line.strip()), "")
        message = "retrained: the new model is in the model list" if ok else f"retraining stopped: {last[-200:] or 'cancelled'}"
        self.status.setText(message)
        self.finished.emit(ok, message)
