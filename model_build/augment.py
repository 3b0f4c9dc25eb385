"""Augmentation of training patches: rooms, microphones, noise, level, a second note.

`Augmenter` works on 16 kHz audio around a labelled note and never changes what
the label means:

- `pitch_shift` resamples a note by a few cents or by a semitone plus a few cents,
  and returns the label that goes with the new pitch;
- `room` convolves with a synthetic room impulse response (pyroomacoustics
  shoebox rooms, RT60 0.15-1.0 s, drawn once per Augmenter);
- `microphone` colours with a random 7-band EQ and band-limits (audiomentations);
- `noise` adds white, pink, brown or babble-like noise at 0-40 dB SNR, or mains hum;
- `clip` overdrives the input.

Each step has its probability; `Augmenter.noisy_validation()` is the fixed setting
for the "reverb and 10 dB SNR" validation split. audiomentations draws from
Python's and NumPy's global generators, so `seed_globals` seeds both from the
caller's generator to keep a batch reproducible.
"""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import soxr

from app.params import VGGISH

SR = VGGISH.sample_rate_hz
IR_MAX_S = 0.8


def _db(x: float) -> float:
    return 10.0 ** (x / 20.0)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def frame_dbfs(x: np.ndarray, frame: int = 800) -> np.ndarray:
    """The level of each whole `frame` samples of x in dBFS (RMS; 800 samples: 50 ms at 16 kHz)."""
    n = max(1, len(x) // frame)
    power = np.mean(np.square(x[: n * frame].reshape(n, frame), dtype=np.float64), axis=1)
    return 20 * np.log10(np.sqrt(power + 1e-20))


def coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power spectrum 1/f^exponent (0 white, 1 pink, 2 brown), unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    spec *= f ** (-exponent / 2.0)
    out = np.fft.irfft(spec, n)
    return (out / rms(out)).astype(np.float32)


def babble(rng: np.random.Generator, n: int) -> np.ndarray:
    """Speech-like noise: pink noise in the voice band (150-4000 Hz), amplitude-modulated at syllable rate. Unit RMS."""
    spec = np.fft.rfft(coloured_noise(rng, n, 1.0))
    f = np.fft.rfftfreq(n, 1.0 / SR)
    spec[(f < 150) | (f > 4000)] = 0.0
    out = np.fft.irfft(spec, n)
    # Several talkers: a sum of slow random envelopes, each a few Hz wide.
    env = np.zeros(n)
    t = np.arange(n) / SR
    for _ in range(rng.integers(2, 6)):
        env += 1.0 + np.sin(2 * np.pi * rng.uniform(2.5, 7.0) * t + rng.uniform(0, 6.3))
    out *= env
    return (out / rms(out)).astype(np.float32)


def hum(rng: np.random.Generator, n: int, rate_hz: float = SR) -> np.ndarray:
    """Mains hum at 50 or 60 Hz with random harmonics, unit RMS, n samples at rate_hz."""
    t = np.arange(n) / rate_hz
    f = rng.choice([50.0, 60.0])
    out = sum(rng.uniform(0, 1) / k * np.sin(2 * np.pi * f * k * t + rng.uniform(0, 6.3)) for k in range(1, 8))
    return (out / rms(out)).astype(np.float32)


def room_impulse_responses(rng: np.random.Generator, count: int) -> list[np.ndarray]:
    """`count` shoebox-room impulse responses at 16 kHz, peak 1, at most IR_MAX_S long."""
    import pyroomacoustics as pra

    irs = []
    while len(irs) < count:
        dims = rng.uniform([3.0, 3.0, 2.4], [14.0, 11.0, 5.0])
        rt60 = rng.uniform(0.15, 1.0)
        try:
            absorption, max_order = pra.inverse_sabine(rt60, dims)
        except ValueError:  # a room too small for this reverberation time
            continue
        room = pra.ShoeBox(dims, fs=SR, materials=pra.Material(absorption), max_order=min(max_order, 40))
        source, mic = rng.uniform(0.5, dims - 0.5), rng.uniform(0.5, dims - 0.5)
        room.add_source(source)
        room.add_microphone(mic)
        room.compute_rir()
        ir = np.asarray(room.rir[0][0], dtype=np.float64)
        ir = ir[int(np.argmax(np.abs(ir))) :][: int(IR_MAX_S * SR)]  # direct sound at sample 0
        irs.append((ir / np.abs(ir).max()).astype(np.float32))
    return irs


def seed_globals(rng: np.random.Generator) -> None:
    """Seed the global generators that audiomentations draws from."""
    seed = int(rng.integers(2**31))
    random.seed(seed)
    np.random.seed(seed)


@dataclasses.dataclass(frozen=True)
class Probabilities:
    pitch_shift: float = 0.35
    semitone_shift: float = 0.3  # of pitch shifts, the share that move by a semitone (label moves too)
    shift_cents: float = 20.0  # ... and every pitch shift moves by up to this many cents more (training: BuildConfig's)
    synth_cents: bool = True  # False (training): synthesized notes, already detuned up to ±49 cents, move by semitones only
    second_note: float = 0.15
    room: float = 0.4
    microphone: float = 0.5
    noise: float = 0.5
    snr_db: tuple[float, float] = (0.0, 40.0)
    clip: float = 0.08


def training_probabilities(config) -> Probabilities:
    """The step probabilities a build's training draws with (a BuildConfig's room_p, noise_p, snr_db and pitch shift
    cents)."""
    return dataclasses.replace(Probabilities(), room=config.room_p, noise=config.noise_p, snr_db=tuple(config.snr_db),
                               shift_cents=config.shift_cents, synth_cents=config.shift_synth_cents)


class Augmenter:
    def __init__(self, rng: np.random.Generator, room_count: int, p: Probabilities = Probabilities()):
        import audiomentations as am  # model_build only

        self.p = p
        self.irs = room_impulse_responses(rng, room_count) if room_count else []
        self._eq = am.SevenBandParametricEQ(min_gain_db=-9.0, max_gain_db=9.0, p=1.0)
        self._highpass = am.HighPassFilter(min_cutoff_freq=30.0, max_cutoff_freq=200.0, p=1.0)
        self._lowpass = am.LowPassFilter(min_cutoff_freq=2500.0, max_cutoff_freq=7500.0, p=1.0)
        self._clip = am.ClippingDistortion(min_percentile_threshold=2, max_percentile_threshold=25, p=1.0)

    @classmethod
    def noisy_validation(cls, rng: np.random.Generator, room_count: int) -> "Augmenter":
        """Every patch in a room, with noise at 10 dB SNR; nothing else."""
        fixed = Probabilities(pitch_shift=0.0, second_note=0.0, room=1.0, microphone=0.0, noise=1.0, snr_db=(10.0, 10.0), clip=0.0)
        return cls(rng, room_count, fixed)

    def pitch_shift(self, rng: np.random.Generator, midi: int, midi_lo: int, midi_hi: int) -> tuple[int, float]:
        """(source MIDI note, resampling ratio) that give a note labelled `midi`.

        A shift of a semitone plus up to ±shift_cents takes the neighbour's
        recording; a shift of up to ±shift_cents keeps the note. Either way the new pitch stays
        within the label's half-semitone, given soundfont samples within ±15 cents (measured:
        10th-90th percentile -5 to +9). Synthesized notes are detuned up to ±49 cents already, so
        the cents would carry some past it: `whole_semitones` takes them off where synth_cents is False.
        """
        if rng.random() >= self.p.pitch_shift:
            return midi, 1.0
        step = 0
        if rng.random() < self.p.semitone_shift:
            step = int(rng.choice([-1, 1]))
            if not midi_lo <= midi - step <= midi_hi:
                step = 0
        cents = 100.0 * step + rng.uniform(-self.p.shift_cents, self.p.shift_cents)
        return midi - step, 2.0 ** (cents / 1200.0)

    @staticmethod
    def whole_semitones(ratio: float) -> float:
        """A pitch shift's ratio without its cents: the nearest whole number of semitones."""
        return 2.0 ** (round(12.0 * np.log2(ratio)) / 12.0)

    @staticmethod
    def resample(audio: np.ndarray, ratio: float) -> np.ndarray:
        """Raise the pitch of `audio` by `ratio` (and shorten it by as much)."""
        if ratio == 1.0:
            return audio
        return soxr.resample(audio, SR * ratio, SR, quality="MQ").astype(np.float32)

    def room(self, rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
        if not self.irs or rng.random() >= self.p.room:
            return x
        from scipy.signal import fftconvolve

        ir = self.irs[int(rng.integers(len(self.irs)))]
        wet = fftconvolve(x, ir)[: len(x)]
        return (wet * (rms(x) / rms(wet))).astype(np.float32)

    def microphone(self, rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
        if rng.random() >= self.p.microphone:
            return x
        seed_globals(rng)
        x = self._eq(x, sample_rate=SR)
        if rng.random() < 0.5:
            x = self._highpass(x, sample_rate=SR)
        if rng.random() < 0.5:
            x = self._lowpass(x, sample_rate=SR)
        return x.astype(np.float32)

    def noise(self, rng: np.random.Generator, x: np.ndarray, signal_rms: float) -> np.ndarray:
        """Add noise `snr_db` below `signal_rms` (the note's level, not the patch's)."""
        if rng.random() >= self.p.noise:
            return x
        kind = rng.choice(["white", "pink", "brown", "babble", "hum"])
        n = len(x)
        if kind == "babble":
            noise = babble(rng, n)
        elif kind == "hum":
            noise = hum(rng, n)
        else:
            noise = coloured_noise(rng, n, {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind])
        snr = rng.uniform(*self.p.snr_db)
        return (x + noise * signal_rms * _db(-snr)).astype(np.float32)

    def clip(self, rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
        if rng.random() >= self.p.clip:
            return x
        seed_globals(rng)
        return self._clip(x, sample_rate=SR).astype(np.float32)
