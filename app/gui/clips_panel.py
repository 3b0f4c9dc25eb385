"""Recording labelled clips, and the list of clips: play back, relabel, delete.

The panel asks MainWindow to start and stop recording (`recordToggled`); the
writing itself is app.clips.ClipWriter on its own thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QInputDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import clips
from app.notes import NOTE_MAX, NOTE_MIN, midi_from_name, note_name

DETECTED = "detected"


def label_choices() -> list[str]:
    return [DETECTED] + [note_name(m) for m in range(NOTE_MIN, NOTE_MAX + 1)]  # A0 to C8


def parse_label(text: str) -> tuple[str, int | None]:
    """(label, midi): a note name gives its MIDI number; "detected" or free text gives None."""
    text = text.strip()
    try:
        return note_name(midi_from_name(text)), midi_from_name(text)
    except ValueError:
        return (text or DETECTED), None


class ClipsPanel(QWidget):
    recordToggled = Signal(bool)
    message = Signal(str)
    playRequested = Signal(object)  # the clip's WAV path

    def __init__(self, directory, parent=None):
        super().__init__(parent)
        self.directory = directory
        self.record = QPushButton("● Record")
        self.record.setCheckable(True)
        self.record.setObjectName("record")
        self.label = QComboBox()
        self.label.setEditable(True)
        self.label.addItems(label_choices())
        self.label.setToolTip("The note played (or 'detected' to take the note shown)")
        self.instrument = QLineEdit()
        self.instrument.setPlaceholderText("instrument tag, e.g. my-violin")
        self.list = QListWidget()
        self.play = QPushButton("Play")
        self.relabel = QPushButton("Relabel")
        self.remove = QPushButton("Delete")
        top = QHBoxLayout()
        top.addWidget(self.record)
        top.addWidget(self.label)
        top.addWidget(self.instrument)
        buttons = QHBoxLayout()
        for b in (self.play, self.relabel, self.remove):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        self.record.toggled.connect(self.recordToggled.emit)
        self.play.clicked.connect(self._play)
        self.relabel.clicked.connect(self._relabel)
        self.remove.clicked.connect(self._delete)
        self.refresh()

    def current_label(self) -> tuple[str, int | None]:
        return parse_label(self.label.currentText())

    def refresh(self) -> None:
        self.list.clear()
        try:
            found = clips.list_clips(self.directory) if self.directory.exists() else []
        except OSError as e:
            self.message.emit(f"cannot read the clip folder {self.directory}: {e}")
            found = []
        for c in found:
            meta = c.meta
            text = f"{meta.get('label', '?')}  {meta.get('instrument') or ''}  {meta.get('seconds', '?')} s  {meta.get('time', '')}"
            if meta.get("status") not in (None, "complete"):
                text += f"  [{meta.get('status')}]"
            item = QListWidgetItem(text)
            item.setData(Qt.UserRole, c)
            self.list.addItem(item)

    def _selected(self):
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.UserRole)

    def _play(self) -> None:
        """Asks for playback: the window hands it to the live session, whose input supervisor makes every
        PortAudio call."""
        clip = self._selected()
        if clip is not None:
            self.playRequested.emit(clip.wav)

    def _relabel(self) -> None:
        clip = self._selected()
        if clip is None:
            return
        choices = label_choices()
        current = str(clip.meta.get("label") or DETECTED)
        if current not in choices:
            choices.insert(0, current)
        text, ok = QInputDialog.getItem(self, "Relabel clip", "Label:", choices, choices.index(current), True)
        if ok:
            label, midi = parse_label(text)
            try:
                clips.relabel(clip, label, midi)
            except OSError as e:
                self.message.emit(f"cannot relabel {clip.wav.name}: {e}")
            self.refresh()

    def confirm_delete(self, clip) -> bool:
        answer = QMessageBox.question(self, "Delete clip", f"Delete {clip.wav.name} ({clip.meta.get('label', '?')})? "
                                      "It cannot be undone.", QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    def _delete(self) -> None:
        clip = self._selected()
        if clip is None or not self.confirm_delete(clip):
            return
        try:
            clips.delete(clip)
        except OSError as e:
            self.message.emit(f"cannot delete {clip.wav.name}: {e}")
        self.refresh()
