"""Reading audio files for the CLI: one clear error for anything that is not usable audio.

`read_blocks` streams a file in blocks, so memory stays bounded whatever the file's
length or what its header claims; `read_audio` reads a whole (short) file. Both check
the rate and channel count before reading, and every block for NaN or infinite samples.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile

MIN_RATE_HZ, MAX_RATE_HZ = 1000, 768000
MAX_CHANNELS = 64
MAX_WHOLE_FILE_SECONDS = 3600.0  # read_audio's limit; read_blocks has none


class AudioFileError(Exception):
    """A file that cannot be read as audio; the message is one line."""


_ERRORS = (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError, OSError, EOFError)


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def _open(path: Path) -> soundfile.SoundFile:
    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a directory, not an audio file")
    try:
        f = soundfile.SoundFile(str(path))
    except _ERRORS as e:
        raise AudioFileError(f"{path}: not readable audio ({_first_line(e)})") from None
    if not MIN_RATE_HZ <= f.samplerate <= MAX_RATE_HZ:
        f.close()
        raise AudioFileError(f"{path}: sample rate {f.samplerate} Hz is outside {MIN_RATE_HZ}..{MAX_RATE_HZ} Hz")
    if not 1 <= f.channels <= MAX_CHANNELS:
        f.close()
        raise AudioFileError(f"{path}: {f.channels} channels (1 to {MAX_CHANNELS} are supported)")
    return f


def read_blocks(path: Path | str, block_frames: int) -> tuple[int, int, Iterator[np.ndarray]]:
    """(rate, channels, blocks): each block (frames, channels) float32, at most block_frames long.

    Raises AudioFileError up front for an unreadable file, and while iterating for a
    block that cannot be decoded or holds NaN or infinite samples. A file with no
    samples raises on the first `next`.
    """
    path = Path(path)
    f = _open(path)

    def blocks() -> Iterator[np.ndarray]:
        done = 0
        try:
            while True:
                try:
                    block = f.read(block_frames, dtype="float32", always_2d=True)
                except _ERRORS as e:
                    raise AudioFileError(f"{path}: unreadable after {done / f.samplerate:.2f} s ({_first_line(e)})") from None
                if len(block) == 0:
                    break
                if not np.all(np.isfinite(block)):
                    raise AudioFileError(f"{path}: contains NaN or infinite samples (near {done / f.samplerate:.2f} s)")
                done += len(block)
                yield block
            if done == 0:
                raise AudioFileError(f"{path}: contains no samples")
        finally:
            f.close()

    return int(f.samplerate), int(f.channels), blocks()


def read_audio(path: Path | str) -> tuple[np.ndarray, int]:
    """A whole file -> ((samples,) or (samples, channels) float32, rate in Hz)."""
    rate, channels, blocks = read_blocks(path, 1 << 16)
    parts, frames = [], 0
    for block in blocks:
        frames += len(block)
        if frames > MAX_WHOLE_FILE_SECONDS * rate:
            blocks.close()
            raise AudioFileError(f"{path}: longer than {MAX_WHOLE_FILE_SECONDS / 60:g} minutes")
        parts.append(block)
    audio = np.concatenate(parts)
    return (audio[:, 0] if channels == 1 else audio), rate
