"""Harmonic-tone synthesizer for training data.

Each note is a sum of partials with a random spectral tilt (or, in some families, a
pipe-organ registration or any subset of the harmonics), optionally a weak or
missing fundamental, odd-only partials, formant peaks, inharmonicity
(f_k = k f0 sqrt(1 + B k^2)), an attack/decay envelope (in "pipes", one per
harmonic, the fundamental last) and vibrato. The true f0
is detuned at random within the family's range (at most ±49 cents), so the
label is always the nearest note: the MIDI number drawn.

Timbres come in named families. Whole families are held out for validation
(see model_build.config), so the model is scored on timbres it never heard.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from app.notes import midi_to_hz


@dataclasses.dataclass(frozen=True)
class Family:
    """Ranges from which one note's timbre is drawn; (lo, hi) tuples are uniform ranges."""

    tilt_db_per_octave: tuple[float, float]
    attack_ms: tuple[float, float]
    decay_t60_s: tuple[float, float] | None  # None: sustained
    vibrato_cents: tuple[float, float] = (0.0, 0.0)
    inharmonicity: tuple[float, float] = (0.0, 0.0)
    odd_only_p: float = 0.0
    weak_fundamental_p: float = 0.15
    formants_p: float = 0.0
    partial_jitter_db: float = 4.0
    fixed_partials: tuple[int, ...] | None = None  # organ-like registration
    even_heavy_p: float = 0.0  # chance the odd partials above the fundamental are weakened: a "hollow", octave-like tone
    ranks: tuple[int, ...] | None = None  # pipe-organ ranks: the 8' rank (1) and some of these harmonic ranks above it
    sparse_density: tuple[float, float] | None = None  # each harmonic sounds with a probability drawn from this range
    speech_s: tuple[float, float] | None = None  # a pipe's speech: harmonic k starts s/k after note-on, full by 2s/k


FAMILIES: dict[str, Family] = {
    "saw": Family(tilt_db_per_octave=(-7, -3), attack_ms=(3, 40), decay_t60_s=None, vibrato_cents=(0, 8)),
    "square": Family(tilt_db_per_octave=(-8, -4), attack_ms=(3, 40), decay_t60_s=None, odd_only_p=0.9),
    "pluck": Family(tilt_db_per_octave=(-10, -4), attack_ms=(1, 6), decay_t60_s=(0.8, 4.0), inharmonicity=(0, 4e-4)),
    "bowed": Family(tilt_db_per_octave=(-8, -4), attack_ms=(40, 160), decay_t60_s=None, vibrato_cents=(5, 25)),
    "pure": Family(tilt_db_per_octave=(-24, -12), attack_ms=(5, 80), decay_t60_s=None, vibrato_cents=(0, 10), weak_fundamental_p=0.0),
    "piano": Family(tilt_db_per_octave=(-12, -6), attack_ms=(1, 4), decay_t60_s=(1.0, 6.0), inharmonicity=(1e-5, 5e-4)),
    "reed": Family(tilt_db_per_octave=(-6, -2), attack_ms=(15, 60), decay_t60_s=None, formants_p=0.7, odd_only_p=0.3),
    # Held out for validation by default.
    "formant": Family(tilt_db_per_octave=(-5, -1), attack_ms=(10, 80), decay_t60_s=None, vibrato_cents=(0, 20), formants_p=1.0),
    "organ": Family(tilt_db_per_octave=(-3, 0), attack_ms=(5, 30), decay_t60_s=None, fixed_partials=(1, 2, 3, 4, 6, 8, 10, 12, 16)),
    # Corpus v3. Families are only ever appended: notes are drawn family by family from one generator, so an
    # insertion would change every later family's notes, the held-out ones (and so the validation split) included.
    # Even partials loud, odd ones and the fundamental weaker: the period is still f0, though the sound leans
    # towards the octave above. Organs, some synth pads and open pipes sound like this; without it in training,
    # a model names such tones an octave (or two) up.
    "hollow": Family(tilt_db_per_octave=(-6, 0), attack_ms=(5, 60), decay_t60_s=None, vibrato_cents=(0, 6),
                     weak_fundamental_p=0.0, even_heavy_p=1.0),
    # Corpus v5. A pipe organ's registration: the 8' rank (the key's harmonic series) and a random choice of ranks
    # sounding harmonics of it (4', 2 2/3', 2', 1 3/5', 1 1/3', 1', mixtures up to 1/2'), each rank a harmonic series
    # of its own with its own level (the 8' as much as 20 dB under the others) and tilt, from a flute's to a
    # string's. Sums over shared harmonics make a spectrum whose period is the key's while its loudest partials
    # are the ranks'. Training only: the held-out "organ" family is a flat-levelled fixed registration.
    "ranks": Family(tilt_db_per_octave=(-18, -3), attack_ms=(10, 60), decay_t60_s=None, weak_fundamental_p=0.0,
                    partial_jitter_db=2.0, ranks=(2, 3, 4, 5, 6, 8, 10, 12, 16)),
    # Corpus v5. Random harmonic spectra in the full sense: any subset of the harmonics, each at any level within
    # 24 dB, the fundamental always among them but as weak as the rest may be. Every other family's spectrum is a
    # smooth tilt; without this one the model named flat, gappy spectra by a loud upper partial (version 4
    # named 30-70% of the held-out "organ" family's notes one to four octaves up). Training only; no fixed
    # registration, so the held-out family is a neighbour of it, not part of it.
    "sparse": Family(tilt_db_per_octave=(-3, 0), attack_ms=(5, 60), decay_t60_s=None, vibrato_cents=(0, 6),
                     weak_fundamental_p=0.0, sparse_density=(0.25, 0.9)),
    # Corpus v8. "ranks" as a large pipe speaks: its high harmonics first, the fundamental last (harmonic k starts
    # s/k after note-on and is full by 2s/k, s up to 0.3 s). The held-out church organ's low notes do this: 100 ms
    # in, partials 4 and 8 sound and the fundamental is still 35 dB down, and version 7 named them one or two
    # octaves up until about 0.3 s. Labelled by the key: the weak low partials already set the period.
    "pipes": Family(tilt_db_per_octave=(-18, -3), attack_ms=(10, 40), decay_t60_s=None, weak_fundamental_p=0.0,
                    partial_jitter_db=2.0, ranks=(2, 3, 4, 5, 6, 8, 10, 12, 16), speech_s=(0.03, 0.3)),
}  # appended, never inserted: a new family leaves the earlier families' notes, and the validation split, as they were

MAX_PARTIALS = 80


def _partial_levels(rng: np.random.Generator, fam: Family, n: int) -> np.ndarray:
    k = np.arange(1, n + 1)
    tilt = rng.uniform(*fam.tilt_db_per_octave)
    level_db = tilt * np.log2(k) + rng.normal(0.0, fam.partial_jitter_db, n)
    if fam.ranks is not None:  # drawn only for such families: others keep their notes
        power = np.zeros(n)
        for rank in (1, *(r for r in fam.ranks if rng.random() < 0.4)):
            rank_db = rng.uniform(-20, 0) + rng.uniform(*fam.tilt_db_per_octave) * np.log2(k[rank - 1 :: rank] / rank)
            power[rank - 1 :: rank] += 10.0 ** (rank_db / 10.0)
        level_db = 10.0 * np.log10(power) + rng.normal(0.0, fam.partial_jitter_db, n)  # rank 1 sounds every harmonic
    if fam.sparse_density is not None:  # drawn only for such families: others keep their notes
        sounding = rng.random(n) < rng.uniform(*fam.sparse_density)
        sounding[0] = True
        level_db = np.where(sounding, tilt * np.log2(k) + rng.uniform(-24, 0, n), -120.0)
    if fam.fixed_partials is not None:
        stops = np.isin(k, fam.fixed_partials) & (rng.random(n) < 0.7)
        stops[0] = True
        level_db = np.where(stops, rng.uniform(-18, 0, n), -120.0)
    if rng.random() < fam.odd_only_p:
        level_db[1::2] -= rng.uniform(20, 40)
    if rng.random() < fam.weak_fundamental_p:
        level_db[0] -= rng.uniform(15, 60)
    if fam.even_heavy_p and rng.random() < fam.even_heavy_p:  # drawn only for such families: others keep their notes
        level_db[2::2] -= rng.uniform(6, 24)  # partials 3, 5, 7, ...
        level_db[0] -= rng.uniform(0, 15)  # the fundamental weaker, never gone: it still sets the period
    return level_db


def synthesize(
    rng: np.random.Generator, family: str, midi: int, duration_s: float, rate_hz: int = 16000, vibrato: bool = True
) -> tuple[np.ndarray, float]:
    """One note of `family` at `midi`, detuned at random by up to ±49 cents.

    Returns (samples,) float32 peak-normalised to 1 with the note-on at sample 0,
    and the f0 in Hz actually used: the exact f0 throughout when vibrato is False,
    the centre of the vibrato otherwise.
    """
    fam = FAMILIES[family]
    f0 = midi_to_hz(midi + rng.uniform(-0.49, 0.49))
    n = int(min(MAX_PARTIALS, (rate_hz / 2 * 0.95) // f0))
    n = max(n, 1)
    k = np.arange(1, n + 1)
    b = rng.uniform(*fam.inharmonicity)
    freqs = k * f0 * np.sqrt(1.0 + b * k**2)
    level_db = _partial_levels(rng, fam, n)
    if rng.random() < fam.formants_p:
        for _ in range(rng.integers(2, 4)):
            centre = np.log2(rng.uniform(300, 4000))
            width = rng.uniform(0.2, 0.6)
            level_db = level_db + rng.uniform(6, 20) * np.exp(-0.5 * ((np.log2(freqs) - centre) / width) ** 2)
    keep = freqs < rate_hz / 2 * 0.95
    freqs, level_db = freqs[keep], level_db[keep]
    amps = 10.0 ** (level_db / 20.0)

    t = np.arange(int(duration_s * rate_hz)) / rate_hz
    vib_cents = rng.uniform(*fam.vibrato_cents)  # drawn either way, so vibrato=False keeps the rng in step
    if vib_cents > 0 and vibrato:
        rate = rng.uniform(4.0, 7.0)
        # Vibrato as a phase modulation whose frequency deviation is vib_cents.
        depth = 2.0 ** (vib_cents / 1200.0) - 1.0
        onset = np.clip(t / rng.uniform(0.1, 0.4), 0, 1)
        vib_phase = depth * onset * np.sin(2 * np.pi * rate * t) / (2 * np.pi * rate)
    else:
        vib_phase = np.zeros_like(t)

    attack = np.clip(t / (rng.uniform(*fam.attack_ms) / 1000.0), 0.0, 1.0)
    out = np.zeros_like(t)
    phases = rng.uniform(0, 2 * np.pi, len(freqs))
    if fam.decay_t60_s is None:
        env = attack * (1.0 + 0.05 * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t))
        speech = rng.uniform(*fam.speech_s) if fam.speech_s else 0.0  # drawn only for such families
        for k, (f, a, ph) in enumerate(zip(freqs, amps, phases), start=1):
            speaks = np.clip(t / (speech / k) - 1.0, 0.0, 1.0) if speech else 1.0
            out += a * speaks * np.sin(2 * np.pi * f * (t + vib_phase) + ph)
        out *= env
    else:
        t60 = rng.uniform(*fam.decay_t60_s)
        for i, (f, a, ph) in enumerate(zip(freqs, amps, phases)):
            # Higher partials die away faster, as on a string.
            t60_k = t60 / (1.0 + 0.15 * i)
            out += a * np.exp(-6.9 * t / t60_k) * np.sin(2 * np.pi * f * (t + vib_phase) + ph)
        out *= attack
    peak = np.max(np.abs(out))
    return (out / peak if peak > 0 else out).astype(np.float32), float(f0)
