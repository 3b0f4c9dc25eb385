"""Clip recording: names that cannot escape the folder, streamed WAV + sidecar, disk errors keep what was written."""

import json
import os

import numpy as np
import pytest
import soundfile as sf

from app import clips
from app.ringbuffer import RingBuffer

RATE = 48000


@pytest.mark.parametrize("label", ["../../etc/passwd", "a/b\\c", "..", "x" * 10_000, "C#4\x00\x07\n", "ä ö/ü 音",
                                   "CON", ".hidden", "\u202egnp.exe", ""])
def test_sanitized_names_stay_inside_the_folder(tmp_path, label):
    name = clips.sanitize(label)
    assert name and len(name) <= clips.MAX_NAME
    assert "/" not in name and "\\" not in name and ".." not in name and not name.startswith(".")
    assert all(ch.isprintable() for ch in name)
    path = (tmp_path / f"{name}.wav").resolve()
    assert path.parent == tmp_path.resolve()


def test_note_names_survive_sanitizing():
    assert clips.sanitize("C#4") == "C#4" and clips.sanitize("B♭3") == "B♭3"


def record(tmp_path, seconds=0.3, meta=None, block=4800):
    ring = RingBuffer(RATE * 2, 2, RATE)
    writer = clips.ClipWriter(ring.reader(), tmp_path / "clips", meta or {"label": "A4", "midi": 69, "instrument": "violin"},
                              poll_s=0.01)
    writer.start()
    t = np.arange(int(seconds * RATE)) / RATE
    audio = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)], axis=1).astype(np.float32) * 0.5
    for i in range(0, len(audio), block):
        ring.write(audio[i : i + block])
    return writer, audio


def test_clip_is_streamed_to_a_wav_with_a_sidecar(tmp_path):
    writer, audio = record(tmp_path)
    clip = writer.stop()
    back, rate = sf.read(clip.wav, dtype="float32")
    assert rate == RATE and back.shape == audio.shape
    np.testing.assert_array_equal(back, audio)
    meta = json.loads(clip.sidecar.read_text())
    assert meta["status"] == "complete" and meta["label"] == "A4" and meta["midi"] == 69 and meta["seconds"] == 0.3
    assert meta["sample_rate_hz"] == RATE and meta["channels"] == 2 and meta["instrument"] == "violin"
    assert [c.wav for c in clips.list_clips(tmp_path / "clips")] == [clip.wav]


def test_sidecar_exists_while_recording(tmp_path):
    writer, _ = record(tmp_path)
    meta = json.loads(writer.wav.with_suffix(".json").read_text())
    assert meta["status"] in ("recording", "complete")
    writer.stop()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder_is_reported_at_start(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    folder.chmod(0o500)
    ring = RingBuffer(RATE, 1, RATE)
    with pytest.raises(OSError):
        clips.ClipWriter(ring.reader(), folder, {"label": "A4"}).start()


def test_disk_error_mid_recording_keeps_what_was_written(tmp_path, monkeypatch):
    ring = RingBuffer(RATE * 2, 1, RATE)
    writer = clips.ClipWriter(ring.reader(), tmp_path / "clips", {"label": "E2"}, poll_s=0.01)
    writer.start()
    ring.write(np.full((4800, 1), 0.25, np.float32))
    import time

    deadline = time.monotonic() + 2
    while writer.frames < 4800 and time.monotonic() < deadline:
        time.sleep(0.01)
    real_write = writer._file.write

    def full_disk(data):
        raise OSError(28, "No space left on device")

    writer._file.write = full_disk
    ring.write(np.full((4800, 1), 0.5, np.float32))
    clip = writer.stop()
    writer._file.write = real_write
    assert writer.error and "No space left" in writer.error
    back, _ = sf.read(clip.wav, dtype="float32")
    assert len(back) == 4800 and np.allclose(back, 0.25)
    meta = json.loads(clip.sidecar.read_text())
    assert meta["status"] == "failed" and "No space left" in meta["error"] and meta["seconds"] == 0.1


def test_relabel_and_delete(tmp_path):
    writer, _ = record(tmp_path)
    clip = writer.stop()
    clips.relabel(clip, "G3", 55)
    assert json.loads(clip.sidecar.read_text())["label"] == "G3"
    clips.delete(clip)
    assert not clip.wav.exists() and not clip.sidecar.exists()


def test_a_wav_without_sidecar_is_listed_not_dropped(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    sf.write(folder / "orphan.wav", np.zeros(100, np.float32), RATE)
    (found,) = clips.list_clips(folder)
    assert found.meta["status"] == "no readable sidecar"


KILLED_WRITER = """
import os, signal, sys, time
import numpy as np
sys.path.insert(0, {root!r})
from app import clips
from app.ringbuffer import RingBuffer
ring = RingBuffer(48000 * 4, 1, 48000)
writer = clips.ClipWriter(ring.reader(), {folder!r}, {{"label": "A4", "midi": 69}}, poll_s=0.01)
writer.start()
for i in range(10):
    ring.write(np.full((4800, 1), 0.1 * (i + 1), np.float32))
    time.sleep(0.05)
while writer.frames < 48000:
    time.sleep(0.01)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_9_while_recording_leaves_a_readable_wav_that_the_next_start_lists(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    folder = tmp_path / "clips"
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER.format(root=root, folder=str(folder))], timeout=60)
    assert proc.returncode == -9
    (wav,) = folder.glob("*.wav")
    audio, rate = sf.read(wav, dtype="float32")
    assert rate == 48000 and len(audio) >= 48000  # every flushed block
    assert np.allclose(audio[:4800], 0.1) and np.allclose(audio[-4800:], 1.0)
    assert json.loads(wav.with_suffix(".json").read_text())["status"] == "recording"
    (repaired,) = clips.repair_interrupted(folder)
    meta = json.loads(wav.with_suffix(".json").read_text())
    assert repaired.wav == wav and meta["status"] == "interrupted" and meta["seconds"] == 1.0
    assert clips.repair_interrupted(folder) == []
