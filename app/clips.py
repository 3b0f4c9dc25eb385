"""Labelled clips for retraining: a WAV at the device rate plus a JSON sidecar, in the user's dataset folder.

`ClipWriter` streams a recording to disk on its own thread, block by block from a
ring reader, flushing each block, so a crash loses at most the last block. The
sidecar is written when recording starts ("recording") and rewritten when it
stops ("complete", or "failed" with the reason). A disk error (full, read-only)
stops the writer; what was written stays a valid WAV and the sidecar says why.

Labels and tags become file names only through `sanitize`, so no label can
leave the dataset folder.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import re
import threading
import unicodedata
from pathlib import Path

MAX_NAME = 60
_UNSAFE = re.compile(r"[^\w\-+#♯♭]+")
_SFC_SET_UPDATE_HEADER_AUTO = 0x1061  # libsndfile: rewrite the header's sizes after every write


def dataset_dir() -> Path:
    """The user's clip folder (created on demand), e.g. ~/.local/share/pitchrec/clips."""
    import platformdirs

    return Path(platformdirs.user_data_dir("pitchrec", appauthor=False)) / "clips"


def sanitize(text: str, fallback: str = "clip") -> str:
    """A label or tag as a safe file-name part: no separators, no dots, no control characters, ≤ MAX_NAME chars."""
    text = unicodedata.normalize("NFKC", str(text))
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C")
    text = _UNSAFE.sub("_", text).strip("_")
    return text[:MAX_NAME] or fallback


@dataclasses.dataclass
class ClipInfo:
    wav: Path
    meta: dict

    @property
    def sidecar(self) -> Path:
        return self.wav.with_suffix(".json")

    @property
    def label(self) -> str:
        return str(self.meta.get("label", "?"))


def list_clips(directory: Path) -> list[ClipInfo]:
    """Clips in `directory`, newest first. A WAV whose sidecar is missing or unreadable is listed as such."""
    clips = []
    for wav in sorted(Path(directory).glob("*.wav")):
        try:
            meta = json.loads(wav.with_suffix(".json").read_text())
        except (OSError, ValueError):
            meta = {"label": "?", "status": "no readable sidecar"}
        clips.append(ClipInfo(wav, meta))
    return sorted(clips, key=lambda c: str(c.meta.get("time", "")), reverse=True)


def repair_interrupted(directory: Path) -> list[ClipInfo]:
    """Clips whose sidecar still says "recording" (the app was killed): mark them "interrupted" with the
    length their WAV reads back to, and return them. A WAV that no longer reads is marked so, not deleted."""
    import soundfile as sf

    repaired = []
    for clip in list_clips(directory):
        if clip.meta.get("status") != "recording":
            continue
        try:
            info = sf.info(str(clip.wav))
            clip.meta.update(status="interrupted", seconds=round(info.frames / info.samplerate, 3))
        except Exception as e:  # noqa: BLE001
            clip.meta.update(status="interrupted", error=f"WAV unreadable: {e}")
        _write_json(clip.sidecar, clip.meta)
        repaired.append(clip)
    return repaired


def relabel(clip: ClipInfo, label: str, midi: int | None) -> None:
    clip.meta.update(label=label, midi=midi)
    _write_json(clip.sidecar, clip.meta)


def delete(clip: ClipInfo) -> None:
    clip.wav.unlink(missing_ok=True)
    clip.sidecar.unlink(missing_ok=True)


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)


class ClipWriter(threading.Thread):
    """Streams audio from `reader` (a RingReader) to `<directory>/<time>_<label>.wav` until stop()."""

    def __init__(self, reader, directory: Path, meta: dict, poll_s: float = 0.05):
        super().__init__(name="clip-writer", daemon=True)
        self.reader = reader
        self.directory = Path(directory)
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
        name = f"{stamp}_{sanitize(meta.get('label', 'clip'))}"
        if meta.get("instrument"):
            name += f"_{sanitize(meta['instrument'])}"
        self.wav = self.directory / f"{name}.wav"
        self.meta = {**meta, "time": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                     "sample_rate_hz": reader.ring.rate_hz, "channels": reader.ring.channels, "status": "recording"}
        self.frames = 0
        self.error: str | None = None
        self._poll_s = poll_s
        self._stop_event = threading.Event()
        self._file = None

    def start(self) -> None:
        """Open the files on the caller's thread, so an unwritable folder is reported at once (OSError)."""
        import soundfile as sf

        self.directory.mkdir(parents=True, exist_ok=True)
        self._file = sf.SoundFile(self.wav, "w", samplerate=int(round(self.reader.ring.rate_hz)),
                                  channels=self.reader.ring.channels, subtype="FLOAT", format="WAV")
        # Keep the WAV header's sizes current after every block, so a killed process leaves a WAV
        # that reads back up to its last flushed block.
        sf._snd.sf_command(self._file._file, _SFC_SET_UPDATE_HEADER_AUTO, sf._ffi.NULL, sf._snd.SF_TRUE)
        try:
            _write_json(self.wav.with_suffix(".json"), self.meta)
        except OSError:
            self._file.close()
            self.wav.unlink(missing_ok=True)
            raise
        super().start()

    def stop(self, timeout: float = 2.0) -> ClipInfo:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)
        return ClipInfo(self.wav, self.meta)

    @property
    def seconds(self) -> float:
        return self.frames / self.reader.ring.rate_hz

    def run(self) -> None:
        try:
            while True:
                stopping = self._stop_event.wait(self._poll_s)
                window = self.reader.read()
                if len(window.audio):
                    self._file.write(window.audio)
                    self._file.flush()
                    self.frames += len(window.audio)
                if window.lost:
                    self.meta["lost_samples"] = self.meta.get("lost_samples", 0) + int(window.lost)
                if stopping:
                    break
            status = "complete"
        except Exception as e:  # noqa: BLE001  disk full, read-only, device gone: keep what was written
            self.error = f"recording stopped: {e}"
            status = "failed"
        finally:
            try:
                self._file.close()
            except Exception as e:  # noqa: BLE001
                self.error = self.error or f"recording stopped: {e}"
                status = "failed"
        self.meta.update(status=status, seconds=round(self.seconds, 3), **({"error": self.error} if self.error else {}))
        try:
            _write_json(self.wav.with_suffix(".json"), self.meta)
        except OSError as e:
            self.error = self.error or f"could not update the clip's sidecar: {e}"
