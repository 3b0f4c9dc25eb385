"""Onsets from the log-mel frames the front end computes anyway: where a new sound begins.

Two signs of one, either enough:
  - a spectral flux: the mean over mel bands of each band's rise above the larger of its two previous frames (log
    units). Taking the larger of two frames, not the last one alone, keeps a steady note's vibrato and a noise
    floor's frame-to-frame wobble low, while a new note's partials, which land in bands where the previous note
    had none, rise far above both;
  - a level rise: the energy over all bands of the newest `level_frames` frames `rise_db` above the quietest
    such energy in the `rise_window_s` before (a note entering loud noise, whose flux the noise spreads thin; a
    low note's single frames swing with its phase, three together do not).
A frame showing either is an onset unless one was found less than `refractory_s` before it; a level rise is no
new onset within `rise_refractory_s` of the last one (a slow attack rises for a while: one onset). The onset's time is the
end of the first frame that shows it: the new sound began within that frame (the resampler's filter lets a
sudden start ring a few milliseconds into the frame before).
"""

from __future__ import annotations

import collections
import dataclasses
import math

import numpy as np

from app import features
from app.params import VGGISH, FrontEndParams


@dataclasses.dataclass(frozen=True)
class OnsetParams:
    threshold: float = 0.20  # mean rise over the mel bands, natural-log units (0.2: about 1.7 dB)
    rise_db: float = 6.0
    level_frames: int = 3
    rise_window_s: float = 0.100
    refractory_s: float = 0.050  # no second onset within this time
    rise_refractory_s: float = 0.200


class OnsetDetector:
    """Feed it each new block of log-mel frames; it says when the newest onset among them was, in stream time.
    Not thread-safe: one owner calls it."""

    def __init__(self, front_end: FrontEndParams = VGGISH, params: OnsetParams = OnsetParams()):
        self.params = params
        self._front_end = front_end
        silence = np.full(front_end.num_mel_bands, np.log(front_end.log_offset), np.float32)
        self._previous = np.stack([silence, silence])  # the two frames before the next one
        window = max(1, int(round(params.rise_window_s / front_end.hop_s)))
        silent = float(self._magnitude(silence[None])[0])
        self._magnitudes = collections.deque([silent] * params.level_frames, maxlen=params.level_frames)
        # The levels (dB) of the frames before the next one, each over the level_frames frames up to it.
        self._levels_db = collections.deque([self._db(silent)] * window, maxlen=window)
        self._frames = 0  # frames seen
        self._last_onset_s = -math.inf
        self._last_rise_s = -math.inf  # the last onset a level rise showed
        self.last_flux = 0.0

    def _magnitude(self, frames: np.ndarray) -> np.ndarray:
        """(frames, mel_bands) log-mel -> (frames,) power summed over the mel bands (a tone's few loud bands
        count more than in a sum of magnitudes: a high note entering low-frequency noise rises more)."""
        return np.sum(np.square(np.maximum(np.exp(frames) - self._front_end.log_offset, 0.0)), axis=1)

    @staticmethod
    def _db(power: float) -> float:
        return 10.0 * math.log10(power + 1e-18)

    def _onset_time_s(self, k: int) -> float:
        """Stream time where a sound that made frame k rise began, roughly."""
        return features.frame_end(k, self._front_end) / self._front_end.sample_rate_hz

    def push(self, frames: np.ndarray) -> float | None:
        """(new_frames, mel_bands) log-mel -> the stream time of the first onset among them, or None."""
        if not len(frames):
            return None
        p = self.params
        run = np.concatenate([self._previous, frames])
        flux = np.mean(np.maximum(0.0, run[2:] - np.maximum(run[:-2], run[1:-1])), axis=1)
        found = None
        for f, magnitude in zip(flux.tolist(), self._magnitude(frames).tolist()):
            self._magnitudes.append(magnitude)
            level_db = self._db(sum(self._magnitudes) / len(self._magnitudes))
            t_s = self._onset_time_s(self._frames)
            rise = level_db - min(self._levels_db) >= p.rise_db and t_s - self._last_rise_s >= p.rise_refractory_s
            if (f >= p.threshold or rise) and t_s - self._last_onset_s >= p.refractory_s:
                self._last_onset_s = t_s
                if rise:
                    self._last_rise_s = t_s
                if found is None:
                    found = t_s
            self._levels_db.append(level_db)
            self._frames += 1
        self._previous = run[-2:]
        self.last_flux = float(flux[-1])
        return found
