"""The note model's front ends in NumPy: VGGish's log-mel (waveform -> frames -> |STFT| -> mel -> log ->
patches), and the fine low-register spectrum (`low_spectrum`) that models from version 4 also take.

The one implementation used by the live app and by model_build, so the two cannot
drift. Settings come from `app.params`. Whole-signal calls (`log_mel`) and streaming
calls (`LogMelStream`, one block at a time) give the same frames.
"""

from __future__ import annotations

import functools

import numpy as np
import soxr

from app.notes import midi_to_hz
from app.params import LOW_SPECTRUM, VGGISH, FrontEndParams, LowSpectrumParams

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


def frame_end(frame: int, params: FrontEndParams = VGGISH) -> int:
    """Where log-mel frame `frame` (0-based) of a signal ends, in samples: so the audio up to where a patch ending with
    that frame ends, which its low spectrum is computed from (as in training)."""
    return frame * params.hop_samples + params.window_samples


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


def _points_hz(params: LowSpectrumParams) -> np.ndarray:
    """The frequency of each log-frequency point: bins_per_semitone a semitone from MIDI midi_low (A4 = 440 Hz)."""
    return midi_to_hz(params.midi_low + np.arange(params.num_bins) / params.bins_per_semitone)


@functools.lru_cache(maxsize=4)
def _low_spectrum_taps(params: LowSpectrumParams) -> tuple[np.ndarray, np.ndarray]:
    """FFT bin below each log-frequency point, and the linear-interpolation weight of the bin above it."""
    position = _points_hz(params) * params.fft_size / params.sample_rate_hz
    below = np.floor(position).astype(np.int64)
    return below, (position - below).astype(np.float32)


def low_spectrum(signal: np.ndarray, params: LowSpectrumParams = LOW_SPECTRUM) -> np.ndarray:
    """The last params.samples of 16 kHz mono audio -> (num_bins, frames) float32 in 0..1 (see LowSpectrumParams).

    Shorter audio is taken as preceded by silence. Level does not matter: the loudest point is 1.
    """
    signal = np.asarray(signal, dtype=np.float32)[-params.samples :]
    if len(signal) < params.samples:
        signal = np.concatenate([np.zeros(params.samples - len(signal), np.float32), signal])
    raw = frame(signal, params.window_samples, params.step_samples)
    magnitude = np.abs(np.fft.rfft(raw * periodic_hann(params.window_samples), n=params.fft_size))
    below, weight = _low_spectrum_taps(params)
    points = magnitude[:, below] * (1.0 - weight) + magnitude[:, below + 1] * weight
    db = 20.0 * np.log10(points + 1e-7)
    db -= db.max()
    return (np.clip(db, -params.floor_db, 0.0) / params.floor_db + 1.0).astype(np.float32).T


class LogMelStream:
    """Incremental log-mel: push blocks of audio at any rate, get only the new frames.

    Keeps the samples that the next frame still needs, and the newest patch. Frames
    are identical to `log_mel` over the concatenated 16 kHz signal; at other rates
    the streaming resampler matches the one-shot one to within its filter's error.
    Not thread-safe: one owner (the analysis worker, or a file replay) calls it.
    """

    def __init__(self, input_rate_hz: float, params: FrontEndParams = VGGISH, keep_samples: int = 0,
                 quality: str = "HQ"):
        """keep_samples: how many 16 kHz samples up to the newest patch's end `patch_audio` can give.
        quality: soxr's resampling filter (other rates than 16 kHz). "HQ" is the model's. It holds back about
        20 ms of output and hands it out up to 30 ms at a time; "LQ" holds back 2-20 ms, at less attenuation of
        what it folds down from above 8 kHz."""
        if input_rate_hz <= 0:
            raise ValueError(f"sample rate must be positive, got {input_rate_hz}")
        self.params = params
        self.input_rate_hz = float(input_rate_hz)
        self._resampler = (
            None
            if self.input_rate_hz == params.sample_rate_hz
            else soxr.ResampleStream(self.input_rate_hz, params.sample_rate_hz, 1, dtype="float32", quality=quality)
        )
        self._pending = np.zeros(0, dtype=np.float32)  # 16 kHz samples not yet fully framed
        self._patch = np.full(params.patch_shape, np.log(params.log_offset), dtype=np.float32)
        self.frames_done = 0
        self._keep = keep_samples
        self._recent = np.zeros(0, dtype=np.float32)  # the newest 16 kHz samples, the pending ones included
        self._samples_in = 0  # 16 kHz samples pushed so far

    def push(self, block: np.ndarray) -> np.ndarray:
        """(samples,) mono block at input_rate_hz -> (new_frames, mel_bands) log-mel."""
        block = np.asarray(block, dtype=np.float32)
        if self._resampler is not None:
            block = self._resampler.resample_chunk(block)
        signal = np.concatenate([self._pending, block]) if len(self._pending) else block
        self._samples_in += len(block)
        p = self.params
        new = log_mel(signal, p)
        consumed = len(new) * p.hop_samples
        self._pending = np.array(signal[consumed:], dtype=np.float32)
        if self._keep:
            self._recent = np.concatenate([self._recent, block])[-(self._keep + p.patch_samples) :]
        if len(new):
            self.frames_done += len(new)
            keep = p.patch_frames - min(len(new), p.patch_frames)
            self._patch = np.concatenate([self._patch[len(self._patch) - keep :], new[-p.patch_frames :]])
        return new

    @property
    def patch(self) -> np.ndarray:
        """(patch_frames, mel_bands): the newest patch, padded with silence before the first frames."""
        return self._patch

    def patch_audio(self, n: int) -> np.ndarray:
        """The n 16 kHz samples that end where the newest patch's last frame ends (n <= keep_samples); fewer
        before the stream has that many. The low spectrum of these matches the patch as in training."""
        if n > self._keep:
            raise ValueError(f"the stream keeps {self._keep} samples, not {n}")
        if self.frames_done == 0:
            return np.zeros(0, dtype=np.float32)
        end = len(self._recent) - (self._samples_in - frame_end(self.frames_done - 1, self.params))
        return self._recent[max(0, end - n) : end]
