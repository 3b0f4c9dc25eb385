"""Training corpus: a bank of single notes, and labelled 0.96 s patches mixed from it.

`build_bank` renders FluidR3 programs over their ranges and synthesizes notes of
every timbre family; every note starts at sample 0 and is labelled by the MIDI
note rendered. `PatchMaker` then mixes patches on demand: the target note either
sustains through the patch or starts inside it after silence or after another
note, and the label is the note sounding at the *end* of the patch. A share of
patches is "no note": noise, hum, clicks, or a note that stopped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from app import features
from app.notes import MIDI_MAX, MIDI_MIN, label_index
from app.params import VGGISH, FrontEndParams
from model_build import synth
from model_build.config import FLUIDR3_SF2, PROGRAMS, VALIDATION_FAMILIES, VALIDATION_PROGRAMS, BuildConfig

log = logging.getLogger(__name__)

SR = VGGISH.sample_rate_hz


@dataclasses.dataclass
class NoteBank:
    """N notes of equal length. audio: (N, samples) float16 peak 1, note-on at 0."""

    audio: np.ndarray
    midi: np.ndarray  # (N,) int16
    note_off: np.ndarray  # (N,) int32 sample where the note is released
    source: np.ndarray  # (N,) str: "fluidr3:<program>" or "synth:<family>"
    validation: np.ndarray  # (N,) bool

    def save(self, path: Path) -> None:
        np.savez(path, audio=self.audio, midi=self.midi, note_off=self.note_off, source=self.source, validation=self.validation)

    @classmethod
    def load(cls, path: Path) -> "NoteBank":
        with np.load(path) as z:
            return cls(**{k: z[k] for k in ("audio", "midi", "note_off", "source", "validation")})

    def subset(self, mask: np.ndarray) -> "NoteBank":
        return NoteBank(*(getattr(self, f.name)[mask] for f in dataclasses.fields(self)))

    def summary(self) -> dict:
        sources, counts = np.unique(self.source, return_counts=True)
        return {
            "notes": int(len(self.midi)),
            "validation_notes": int(self.validation.sum()),
            "seconds_per_note": round(self.audio.shape[1] / SR, 3),
            "sources": {str(s): int(c) for s, c in zip(sources, counts)},
        }


def render_fluidr3(
    config: BuildConfig, sf2: Path = FLUIDR3_SF2, rate_hz: int = SR
) -> list[tuple[np.ndarray, int, int, str]]:
    """Render each program's notes, dry (no reverb or chorus send): [(audio, midi, note_off, source)]."""
    import fluidsynth  # only model_build needs it

    if not sf2.exists():
        raise FileNotFoundError(f"soundfont not found: {sf2} (Debian package fluid-soundfont-gm)")
    programs = [p for p in PROGRAMS if config.programs is None or p.number in config.programs]
    hold, total = int(config.note_hold_s * rate_hz), int(config.note_total_s * rate_hz)
    fs = fluidsynth.Synth(samplerate=float(rate_hz), gain=0.5)
    sfid = fs.sfload(str(sf2))
    jobs = [
        (p, m, v)
        for p in programs
        for m in range(max(p.midi_lo, MIDI_MIN), min(p.midi_hi, MIDI_MAX) + 1, config.note_stride)
        for v in config.velocities
    ]
    notes = []
    try:
        for program, midi, velocity in tqdm(jobs, desc="render FluidR3", unit="note", mininterval=2):
            fs.program_select(0, sfid, 0, program.number)
            fs.cc(0, 91, 0)
            fs.cc(0, 93, 0)
            fs.noteon(0, midi, velocity)
            on = fs.get_samples(hold)
            fs.noteoff(0, midi)
            off = fs.get_samples(total - hold)
            fs.all_sounds_off(0)
            fs.get_samples(rate_hz // 2)  # let voices and filters die before the next note
            audio = np.concatenate([on, off]).reshape(-1, 2).mean(axis=1) / 32768.0
            peak = np.abs(audio).max()
            if peak < 1e-3:
                log.debug("program %d has no sound at MIDI %d; skipped", program.number, midi)
                continue
            notes.append((audio / peak, midi, hold, f"fluidr3:{program.number}"))
    finally:
        fs.delete()
    return notes


def synthesize_notes(config: BuildConfig, rng: np.random.Generator) -> list[tuple[np.ndarray, int, int, str]]:
    """config.synth_notes_per_midi notes of every family at every class MIDI note."""
    total = int(config.note_total_s * SR)
    jobs = [
        (family, midi)
        for family in synth.FAMILIES
        for midi in range(MIDI_MIN, MIDI_MAX + 1, config.note_stride)
        for _ in range(config.synth_notes_per_midi)
    ]
    notes = []
    for family, midi in tqdm(jobs, desc="synthesize", unit="note", mininterval=2):
        audio, _ = synth.synthesize(rng, family, midi, config.note_total_s, SR)
        hold = int(rng.uniform(0.6, 0.9) * total)
        release = int(rng.uniform(0.05, 0.4) * SR)
        env = np.ones(total, dtype=np.float32)
        end = min(total, hold + release)
        env[hold:end] = np.linspace(1.0, 0.0, end - hold)
        env[end:] = 0.0
        notes.append((audio * env, midi, hold, f"synth:{family}"))
    return notes


def build_bank(config: BuildConfig) -> NoteBank:
    rng = np.random.default_rng(config.seed)
    notes = render_fluidr3(config) + synthesize_notes(config, rng)
    total = int(config.note_total_s * SR)
    audio = np.zeros((len(notes), total), dtype=np.float16)
    for i, (a, *_) in enumerate(notes):
        audio[i, : min(total, len(a))] = a[:total]
    source = np.array([n[3] for n in notes])
    return NoteBank(
        audio=audio,
        midi=np.array([n[1] for n in notes], dtype=np.int16),
        note_off=np.array([n[2] for n in notes], dtype=np.int32),
        source=source,
        validation=np.array([is_validation_source(s) for s in source]),
    )


def is_validation_source(source: str) -> bool:
    kind, _, name = source.partition(":")
    if kind == "fluidr3":
        return int(name) in VALIDATION_PROGRAMS
    return name in VALIDATION_FAMILIES


def _db(x: float) -> float:
    return 10.0 ** (x / 20.0)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def coloured_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power spectrum 1/f^exponent (0 white, 1 pink, 2 brown), unit RMS."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    spec *= f ** (-exponent / 2.0)
    out = np.fft.irfft(spec, n)
    return (out / rms(out)).astype(np.float32)


def hum(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mains hum at 50 or 60 Hz with random harmonics, unit RMS."""
    t = np.arange(n) / SR
    f = rng.choice([50.0, 60.0])
    out = sum(rng.uniform(0, 1) / k * np.sin(2 * np.pi * f * k * t + rng.uniform(0, 6.3)) for k in range(1, 8))
    return (out / rms(out)).astype(np.float32)


def clicks(rng: np.random.Generator, n: int) -> np.ndarray:
    """A few clicks and short bursts, peak 1."""
    out = np.zeros(n, dtype=np.float32)
    for _ in range(rng.integers(1, 6)):
        at = rng.integers(0, n - 200)
        length = int(rng.integers(1, 160))
        out[at : at + length] += rng.standard_normal(length).astype(np.float32) * np.exp(-np.arange(length) / max(1, length / 4))
    return out / max(1e-9, np.abs(out).max())


class PatchMaker:
    """Mixes labelled patches from a NoteBank: (patch_frames, mel_bands) log-mel and a class index."""

    NO_NOTE_SHARE = 0.12
    MIN_TAIL_S = 0.10  # the newest note sounds for at least this long at the patch's end
    FLUIDR3_SHARE = 0.6

    def __init__(self, bank: NoteBank, params: FrontEndParams = VGGISH):
        self.bank = bank
        self.params = params
        self.n = params.patch_samples
        self._by_midi: dict[tuple[str, int], np.ndarray] = {}
        kinds = np.array([s.split(":")[0] for s in bank.source])
        for kind in ("fluidr3", "synth"):
            for midi in range(MIDI_MIN, MIDI_MAX + 1):
                idx = np.flatnonzero((kinds == kind) & (bank.midi == midi))
                if len(idx):
                    self._by_midi[(kind, midi)] = idx
        self._midis = sorted({m for _, m in self._by_midi})

    def _pick_note(self, rng: np.random.Generator, midi: int) -> int:
        fluid, synth_ = self._by_midi.get(("fluidr3", midi)), self._by_midi.get(("synth", midi))
        pool = fluid if fluid is not None and (synth_ is None or rng.random() < self.FLUIDR3_SHARE) else synth_
        return int(rng.choice(pool))

    def _note(self, i: int) -> np.ndarray:
        return self.bank.audio[i].astype(np.float32)

    def _sustained(self, rng: np.random.Generator, i: int) -> np.ndarray:
        """A stretch of note i that ends before its release."""
        end = int(rng.integers(self.n, max(self.n + 1, self.bank.note_off[i])))
        return self._note(i)[end - self.n : end]

    def _background(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """What sounds before a note starts, at the same scale as a note (peak about 1)."""
        r = rng.random()
        if r < 0.45 or n == 0:
            return np.zeros(n, dtype=np.float32)
        other = int(rng.integers(len(self.bank.midi)))  # any note of this split
        seg = self._sustained(rng, other)[-n:] * _db(rng.uniform(-12, 6))
        fade = min(n, int(0.015 * SR))
        seg[n - fade :] *= np.linspace(1.0, 0.0, fade)
        return seg

    def make(self, rng: np.random.Generator, midi: int | None) -> tuple[np.ndarray, int]:
        """One patch whose label is `midi` (None: no note). Returns (log-mel patch, class index)."""
        n = self.n
        if midi is None:
            signal = self._no_note(rng)
        else:
            i = self._pick_note(rng, midi)
            if rng.random() < 0.5:
                signal = self._sustained(rng, i)
            else:
                onset = int(rng.integers(0, n - int(self.MIN_TAIL_S * SR)))
                signal = np.concatenate([self._background(rng, onset), self._note(i)[: n - onset]])
            signal = signal * _db(rng.uniform(-40, -1))
            # A noise floor below the note: room, preamp, fan.
            floor = coloured_noise(rng, n, rng.choice([0.0, 1.0, 2.0])) * rms(signal) * _db(-rng.uniform(25, 70))
            signal = signal + floor
        return features.log_mel(signal.astype(np.float32), self.params), label_index(midi)

    def _no_note(self, rng: np.random.Generator) -> np.ndarray:
        n = self.n
        kind = rng.choice(["silence", "noise", "hum", "clicks", "stopped"])
        level = _db(rng.uniform(-90, -15))
        noise = coloured_noise(rng, n, rng.choice([0.0, 1.0, 2.0])) * level
        if kind == "silence":
            return noise * _db(-30) if rng.random() < 0.8 else np.zeros(n, dtype=np.float32)
        if kind == "noise":
            return noise
        if kind == "hum":
            return hum(rng, n) * _db(rng.uniform(-60, -20)) + noise * _db(-20)
        if kind == "clicks":
            return clicks(rng, n) * _db(rng.uniform(-40, -3)) + noise * _db(-20)
        # A note that stopped (muted) at least 0.15 s before the patch ends.
        stop = int(rng.integers(int(0.2 * SR), n - int(0.15 * SR)))
        signal = self._background(rng, stop) * _db(rng.uniform(-40, -1))
        return np.concatenate([signal, np.zeros(n - stop, dtype=np.float32)]) + noise * _db(-20)

    def batch(self, rng: np.random.Generator, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(size, patch_frames, mel_bands) float32 and (size,) int32 labels, classes drawn evenly."""
        x = np.empty((size, *self.params.patch_shape), dtype=np.float32)
        y = np.empty(size, dtype=np.int32)
        for k in range(size):
            midi = None if rng.random() < self.NO_NOTE_SHARE else int(rng.choice(self._midis))
            x[k], y[k] = self.make(rng, midi)
        return x, y


def write_data(config: BuildConfig, data_dir: Path) -> dict:
    """Build the note bank and the fixed validation patches into data_dir; return the manifest."""
    data_dir.mkdir(parents=True, exist_ok=True)
    bank = build_bank(config)
    bank.save(data_dir / "bank.npz")
    val_maker = PatchMaker(bank.subset(bank.validation))
    rng = np.random.default_rng(config.seed + 1)
    xs, ys = [], []
    for start in tqdm(range(0, config.validation_patches, 256), desc="validation patches", unit="batch"):
        x, y = val_maker.batch(rng, min(256, config.validation_patches - start))
        xs.append(x.astype(np.float16))
        ys.append(y)
    np.savez(data_dir / "validation.npz", x=np.concatenate(xs), y=np.concatenate(ys))
    manifest = {
        "config": dataclasses.asdict(config),
        "bank": bank.summary(),
        "validation_programs": sorted(VALIDATION_PROGRAMS),
        "validation_families": sorted(VALIDATION_FAMILIES),
        "validation_patches": config.validation_patches,
        "front_end": VGGISH.to_dict(),
    }
    (data_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
