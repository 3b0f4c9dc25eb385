"""The note model's front ends: frozen settings objects, imported by the app and by model_build.

`VGGISH`: the log-mel patch of VGGish. `LOW_SPECTRUM`: the note model's second input (from model
version 4), a fine log-frequency spectrum of the patch's last 0.19 s below 1 kHz, where the log-mel
patch cannot tell a low note's harmonics apart.

Only the primary values are stored; everything derived from them (sample counts,
FFT size, patch length in samples) is a property, so no value is written twice.
The defaults are those of the AudioSet VGGish release.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Self


class _Settings:
    """What both settings objects share: a window of window_s at sample_rate_hz (fields of each), and their
    metadata form, the primary values as a dict and back."""

    _kind = "settings"  # in error messages

    @property
    def window_samples(self) -> int:
        return int(round(self.sample_rate_hz * self.window_s))

    def to_dict(self) -> dict:
        """The primary values, as written to a model's metadata file."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Self:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown {cls._kind} settings: {sorted(unknown)}")
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class FrontEndParams(_Settings):
    _kind = "front-end"

    # Audio.
    sample_rate_hz: int = 16000

    # STFT: periodic Hann window of window_s, hop of hop_s, FFT of the next power of two.
    window_s: float = 0.025
    hop_s: float = 0.010

    # Mel filterbank: HTK mel scale, triangles spaced evenly in mel.
    num_mel_bands: int = 64
    mel_min_hz: float = 125.0
    mel_max_hz: float = 7500.0

    # log(mel + log_offset) keeps silence finite.
    log_offset: float = 0.01

    # A patch is num_frames consecutive frames: the model's input.
    patch_frames: int = 96

    @property
    def hop_samples(self) -> int:
        return int(round(self.sample_rate_hz * self.hop_s))

    @property
    def fft_size(self) -> int:
        return 2 ** int(math.ceil(math.log2(self.window_samples)))

    @property
    def num_fft_bins(self) -> int:
        return self.fft_size // 2 + 1

    @property
    def patch_s(self) -> float:
        """Time spanned by the patch's frame hops (0.96 s by default)."""
        return self.patch_frames * self.hop_s

    @property
    def patch_samples(self) -> int:
        """Samples needed to compute one whole patch: 15600 at the defaults."""
        return self.window_samples + (self.patch_frames - 1) * self.hop_samples

    @property
    def patch_shape(self) -> tuple[int, int]:
        return (self.patch_frames, self.num_mel_bands)


VGGISH = FrontEndParams()


@dataclasses.dataclass(frozen=True)
class LowSpectrumParams(_Settings):
    """A fine spectrum of the low register: what VGGish's 25 ms window cannot resolve.

    A 25 ms window resolves harmonics only about 80 Hz apart, so in the log-mel patch a note
    below E2 shows its spectral envelope but not its harmonic spacing, and VGGish's bands start
    at 125 Hz, above such a note's fundamental. This input holds `frames` spectra, `frame_step_s`
    apart, of a `window_s` periodic Hann window (zero-padded `zero_pad` times), the last one
    ending where the log-mel patch ends. Each is read at `bins_per_semitone` points per equal-
    tempered semitone from MIDI `midi_low` (A0, 27.5 Hz) over `semitones` semitones (to 1 kHz),
    in dB below the input's loudest point, floored at -floor_db and scaled to 0..1.
    """

    _kind = "low-spectrum"

    sample_rate_hz: int = 16000
    window_s: float = 0.128
    zero_pad: int = 4
    frames: int = 4
    frame_step_s: float = 0.020
    midi_low: int = 21
    bins_per_semitone: int = 4
    semitones: int = 62
    floor_db: float = 80.0

    @classmethod
    def from_dict(cls, values: dict) -> Self:
        """Metadata written from commit f7bec00 to issue 26 also says "periodicity_frames": 0 (an input channel tried
        then, never shipped), a user's fine-tuned models included; a model that took such channels cannot be fed."""
        values = dict(values)
        if values.pop("periodicity_frames", 0):
            raise ValueError("periodicity channels (an experiment this version no longer computes)")
        return super().from_dict(values)

    @property
    def fft_size(self) -> int:
        return self.zero_pad * 2 ** int(math.ceil(math.log2(self.window_samples)))

    @property
    def step_samples(self) -> int:
        return int(round(self.sample_rate_hz * self.frame_step_s))

    @property
    def num_bins(self) -> int:
        return self.bins_per_semitone * self.semitones

    @property
    def samples(self) -> int:
        """16 kHz samples the input is computed from: 3008 at the defaults."""
        return self.window_samples + (self.frames - 1) * self.step_samples

    @property
    def shape(self) -> tuple[int, int]:
        """(points, frames)."""
        return (self.num_bins, self.frames)


LOW_SPECTRUM = LowSpectrumParams()
