"""The VGGish front end's settings: one frozen object, imported by the app and by model_build.

Only the primary values are stored; everything derived from them (sample counts,
FFT size, patch length in samples) is a property, so no value is written twice.
The defaults are those of the AudioSet VGGish release.
"""

from __future__ import annotations

import dataclasses
import math


@dataclasses.dataclass(frozen=True)
class FrontEndParams:
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
    def window_samples(self) -> int:
        return int(round(self.sample_rate_hz * self.window_s))

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

    def to_dict(self) -> dict:
        """The primary values, as written to a model's metadata file."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "FrontEndParams":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - names
        if unknown:
            raise ValueError(f"unknown front-end settings: {sorted(unknown)}")
        return cls(**values)


VGGISH = FrontEndParams()
