"""VGGish log-mel front end in NumPy: waveform -> frames -> |STFT| -> mel -> log -> patches.

The one implementation used by the live app and by model_build, so the two cannot
drift. Settings come from `app.params.FrontEndParams`. Whole-signal calls
(`log_mel`) and streaming calls (`LogMelStream`, one block at a time) give the
same frames.
"""

from __future__ import annotations

import functools

import numpy as np
import soxr

from app.params import VGGISH, FrontEndParams

_MEL_BREAK_HZ = 700.0
_MEL_HIGH_Q = 1127.0


def hz_to_mel(f_hz: np.ndarray | float) -> np.ndarray | float:
    """HTK mel scale."""
    return _MEL_HIGH_Q * np.log1p(np.asarray(f_hz, dtype=np.float64) / _MEL_BREAK_HZ)


def to_mono(audio: np.ndarray, channel: int | None = None) -> np.ndarray:
    """(samples,) or (samples, channels) -> (samples,) float32: one channel, or the mean of all."""
    audio = np.asarray(audio)
    if audio.ndim == 1:
        return audio.astype(np.float32, copy=False)
    if audio.ndim != 2 or audio.shape[1] == 0:
        raise ValueError(f"audio must be (samples,) or (samples, channels), got shape {audio.shape}")
    if channel is not None:
        if not 0 <= channel < audio.shape[1]:
            raise ValueError(f"channel {channel} does not exist; the audio has {audio.shape[1]}")
        return audio[:, channel].astype(np.float32)
    return audio.mean(axis=1, dtype=np.float32)


def resample(audio: np.ndarray, rate_hz: float, target_hz: float) -> np.ndarray:
    """Mono float audio from rate_hz to target_hz (soxr, high quality)."""
    if rate_hz <= 0:
        raise ValueError(f"sample rate must be positive, got {rate_hz}")
    audio = np.asarray(audio, dtype=np.float32)
    if rate_hz == target_hz:
        return audio
    return soxr.resample(audio, rate_hz, target_hz, quality="HQ").astype(np.float32, copy=False)


@functools.lru_cache(maxsize=8)
def periodic_hann(length: int) -> np.ndarray:
    """Hann window that is periodic in `length` (as in VGGish), not symmetric."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi / length * np.arange(length))).astype(np.float32)


def frame(signal: np.ndarray, window: int, hop: int) -> np.ndarray:
    """(samples,) -> (frames, window) view of every full window `hop` samples apart; no padding."""
    num_frames = 1 + (len(signal) - window) // hop if len(signal) >= window else 0
    if num_frames == 0:
        return np.zeros((0, window), dtype=signal.dtype)
    return np.lib.stride_tricks.as_strided(
        signal, shape=(num_frames, window), strides=(signal.strides[0] * hop, signal.strides[0]), writeable=False
    )


def stft_magnitude(frames: np.ndarray, params: FrontEndParams = VGGISH) -> np.ndarray:
    """(frames, window) -> (frames, fft_bins) float64 magnitude of the windowed frames' real FFT."""
    windowed = frames * periodic_hann(params.window_samples)
    return np.abs(np.fft.rfft(windowed, n=params.fft_size))


@functools.lru_cache(maxsize=8)
def mel_matrix(params: FrontEndParams = VGGISH) -> np.ndarray:
    """(fft_bins, mel_bands) weights: triangles evenly spaced on the HTK mel scale.

    Each triangle rises from its lower edge to its centre and falls to its upper
    edge, the edges being the neighbouring centres; the DC bin gets no weight.
    """
    bins_hz = np.linspace(0.0, params.sample_rate_hz / 2.0, params.num_fft_bins)
    bins_mel = hz_to_mel(bins_hz)
    edges_mel = np.linspace(hz_to_mel(params.mel_min_hz), hz_to_mel(params.mel_max_hz), params.num_mel_bands + 2)
    lower, centre, upper = edges_mel[:-2], edges_mel[1:-1], edges_mel[2:]
    rising = (bins_mel[:, None] - lower) / (centre - lower)
    falling = (upper - bins_mel[:, None]) / (upper - centre)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    return weights


def log_mel_frames(frames: np.ndarray, params: FrontEndParams = VGGISH) -> np.ndarray:
    """(frames, window) of 16 kHz samples -> (frames, mel_bands) float32 log-mel.

    Computed in float64 and rounded once, so a frame's value does not depend on how
    many frames BLAS multiplies at a time: streaming and whole-signal calls agree exactly.
    """
    mel = stft_magnitude(frames, params) @ mel_matrix(params)
    return np.log(mel + params.log_offset).astype(np.float32)


def log_mel(waveform: np.ndarray, params: FrontEndParams = VGGISH) -> np.ndarray:
    """(samples,) mono audio at params.sample_rate_hz -> (frames, mel_bands) log-mel."""
    signal = np.ascontiguousarray(waveform, dtype=np.float32)
    return log_mel_frames(frame(signal, params.window_samples, params.hop_samples), params)


def log_mel_from_audio(audio: np.ndarray, rate_hz: float, params: FrontEndParams = VGGISH) -> np.ndarray:
    """Mono or multichannel audio at any rate -> (frames, mel_bands) log-mel."""
    return log_mel(resample(to_mono(audio), rate_hz, params.sample_rate_hz), params)


def patches(log_mel_spec: np.ndarray, hop_frames: int | None = None, params: FrontEndParams = VGGISH) -> np.ndarray:
    """(frames, mel_bands) -> (patches, patch_frames, mel_bands), every hop_frames (default: no overlap)."""
    hop_frames = hop_frames or params.patch_frames
    n = 1 + (len(log_mel_spec) - params.patch_frames) // hop_frames if len(log_mel_spec) >= params.patch_frames else 0
    if n == 0:
        return np.zeros((0, *params.patch_shape), dtype=np.float32)
    starts = np.arange(n) * hop_frames
    return np.stack([log_mel_spec[s : s + params.patch_frames] for s in starts])


class LogMelStream:
    """Incremental log-mel: push blocks of audio at any rate, get only the new frames.

    Keeps the samples that the next frame still needs, and the newest patch. Frames
    are identical to `log_mel` over the concatenated 16 kHz signal; at other rates
    the streaming resampler matches the one-shot one to within its filter's error.
    Not thread-safe: one owner (the analysis worker, or a file replay) calls it.
    """

    def __init__(self, input_rate_hz: float, params: FrontEndParams = VGGISH):
        if input_rate_hz <= 0:
            raise ValueError(f"sample rate must be positive, got {input_rate_hz}")
        self.params = params
        self.input_rate_hz = float(input_rate_hz)
        self._resampler = (
            None
            if self.input_rate_hz == params.sample_rate_hz
            else soxr.ResampleStream(self.input_rate_hz, params.sample_rate_hz, 1, dtype="float32", quality="HQ")
        )
        self._pending = np.zeros(0, dtype=np.float32)  # 16 kHz samples not yet fully framed
        self._patch = np.full(params.patch_shape, np.log(params.log_offset), dtype=np.float32)
        self.frames_done = 0

    def push(self, block: np.ndarray) -> np.ndarray:
        """(samples,) mono block at input_rate_hz -> (new_frames, mel_bands) log-mel."""
        block = np.asarray(block, dtype=np.float32)
        if self._resampler is not None:
            block = self._resampler.resample_chunk(block)
        signal = np.concatenate([self._pending, block]) if len(self._pending) else block
        p = self.params
        new = log_mel(signal, p)
        consumed = len(new) * p.hop_samples
        self._pending = np.array(signal[consumed:], dtype=np.float32)
        if len(new):
            self.frames_done += len(new)
            keep = p.patch_frames - min(len(new), p.patch_frames)
            self._patch = np.concatenate([self._patch[len(self._patch) - keep :], new[-p.patch_frames :]])
        return new

    @property
    def patch(self) -> np.ndarray:
        """(patch_frames, mel_bands): the newest patch, padded with silence before the first frames."""
        return self._patch
