"""Reading audio files for the CLI: one clear error for anything that is not usable audio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

MIN_RATE_HZ, MAX_RATE_HZ = 1000, 768000


class AudioFileError(Exception):
    """A file that cannot be read as audio; the message is one line."""


def read_audio(path: Path | str) -> tuple[np.ndarray, int]:
    """Any WAV/FLAC/OGG soundfile reads -> ((samples,) or (samples, channels) float32, rate in Hz)."""
    path = Path(path)
    if not path.exists():
        raise AudioFileError(f"{path}: no such file")
    if path.is_dir():
        raise AudioFileError(f"{path}: is a directory, not an audio file")
    try:
        audio, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError, ValueError, OSError) as e:
        raise AudioFileError(f"{path}: not readable audio ({str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__})") from None
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        raise AudioFileError(f"{path}: sample rate {rate} Hz is outside {MIN_RATE_HZ}..{MAX_RATE_HZ} Hz")
    if audio.shape[0] == 0:
        raise AudioFileError(f"{path}: contains no samples")
    if not np.all(np.isfinite(audio)):
        raise AudioFileError(f"{path}: contains NaN or infinite samples")
    return (audio[:, 0] if audio.shape[1] == 1 else audio), int(rate)
