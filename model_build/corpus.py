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
from app.notes import MIDI_MAX, MIDI_MIN, class_labels, label_index, midi_to_hz
from app.params import LOW_SPECTRUM, VGGISH, FrontEndParams, LowSpectrumParams
from model_build import synth
from model_build.augment import Augmenter, _db, coloured_noise, hum, rms
from model_build.config import (PROGRAMS, SOUNDFONTS, SUB_OCTAVE_LIMIT_DB, VALIDATION_FAMILIES,
                                 VALIDATION_NO_NOTE_LOUDEST_DB, VALIDATION_PROGRAMS, BuildConfig)

__all__ = ["NoteBank", "PatchMaker", "build_bank", "coloured_noise", "drop_sub_octave_notes", "hum", "load_validation",
           "load_validation_cents", "load_validation_levels", "faded_notes", "count_patches", "model_inputs", "render_soundfont", "rms",
           "select_patches", "sub_octave_db", "write_data"]

log = logging.getLogger(__name__)

SR = VGGISH.sample_rate_hz
# A note is to be named while its newest hop sounds at this level or louder (RMS dBFS): 6 dB over the app's gate
# (app.engine.Settings.gate_dbfs), under which a tuner shows no note. Under it a note has faded: showing it or
# nothing are both right (a wrong note is not). bench_live's truth and bench_model's "faded" row use it.
AUDIBLE_DBFS = -54.0
HOP_S = 0.020  # the hop whose level the app's gate judges (app.engine.Settings.hop_s)


@dataclasses.dataclass
class NoteBank:
    """N notes of equal length. audio: (N, samples) float16 peak 1, note-on at 0."""

    audio: np.ndarray
    midi: np.ndarray  # (N,) int16
    note_off: np.ndarray  # (N,) int32 sample where the note is released
    source: np.ndarray  # (N,) str: "fluidr3:<program>" or "synth:<family>"
    validation: np.ndarray  # (N,) bool
    # (N,) float32: how far the note's f0 lies from its label's, in cents (a synthesized note's drawn detune); NaN where
    # not known (rendered notes)
    cents: np.ndarray

    def save(self, path: Path) -> None:
        np.savez(path, **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)})

    @classmethod
    def load(cls, path: Path) -> "NoteBank":
        with np.load(path) as z:
            _require_arrays(path, z, [f.name for f in dataclasses.fields(cls)])
            return cls(**{f.name: z[f.name] for f in dataclasses.fields(cls)})

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


def render_soundfont(
    config: BuildConfig, kind: str = "fluidr3", rate_hz: int = SR
) -> list[tuple[np.ndarray, int, int, str]]:
    """Render each program's notes from SOUNDFONTS[kind], dry (no reverb or chorus send).

    Returns [(audio, midi, note_off, source)] with source "<kind>:<program>".
    """
    import fluidsynth  # only model_build needs it

    sf2 = SOUNDFONTS[kind]
    if not sf2.exists():
        package = {"fluidr3": "fluid-soundfont-gm", "musescore": "musescore-general-soundfont"}[kind]
        raise FileNotFoundError(f"soundfont not found: {sf2} (Debian package {package})")
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
    if sfid < 0:
        fs.delete()
        raise FileNotFoundError(f"fluidsynth could not load {sf2}")
    try:
        for program, midi, velocity in tqdm(jobs, desc=f"render {kind}", unit="note", mininterval=2):
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
            notes.append((audio / peak, midi, hold, f"{kind}:{program.number}"))
    finally:
        fs.delete()
    return notes


def synthesize_notes(config: BuildConfig, rng: np.random.Generator,
                     cents: list | None = None) -> list[tuple[np.ndarray, int, int, str]]:
    """config.synth_notes_per_midi notes of every family at every class MIDI note; each note's detune from its MIDI
    note, in cents, is appended to `cents`."""
    total = int(config.note_total_s * SR)
    jobs = [
        (family, midi)
        for family in (config.synth_families or tuple(synth.FAMILIES))
        for midi in range(MIDI_MIN, MIDI_MAX + 1, config.note_stride)
        for _ in range(config.synth_notes_per_midi)
    ]
    notes = []
    for family, midi in tqdm(jobs, desc="synthesize", unit="note", mininterval=2):
        audio, f0_hz = synth.synthesize(rng, family, midi, config.note_total_s, SR)
        if cents is not None:
            cents.append(1200.0 * np.log2(f0_hz / midi_to_hz(midi)))
        hold = int(rng.uniform(0.6, 0.9) * total)
        release = int(rng.uniform(0.05, 0.4) * SR)
        env = np.ones(total, dtype=np.float32)
        end = min(total, hold + release)
        env[hold:end] = np.linspace(1.0, 0.0, end - hold)
        env[end:] = 0.0
        notes.append((audio * env, midi, hold, f"synth:{family}"))
    return notes


# How far from k f0 (or f0/2, f0/4) sub_octave_db looks for a partial: a piano's top octave is stretched 20-30 cents
# sharp of equal temperament, and a fixed few hertz around the nominal frequency misses such a partial at 3 kHz.
SUB_OCTAVE_SEARCH_CENTS = 40.0


def sub_octave_db(audio: np.ndarray, midi: int, rate_hz: int = SR) -> float:
    """The strongest partial at f0/2 or f0/4 against the strongest harmonic k f0 (k = 1..8), in dB, where f0 is
    the key's, over 1 s of the sustain; each partial is looked for within SUB_OCTAVE_SEARCH_CENTS (at least 3 Hz) of
    where it would be. Near 0 dB or above, the sound repeats an octave or two below its key."""
    x = audio[int(0.2 * rate_hz) : int(1.2 * rate_hz)].astype(np.float64)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    hz_per_bin = rate_hz / len(x)
    f0 = midi_to_hz(midi)
    reach = 2.0 ** (SUB_OCTAVE_SEARCH_CENTS / 1200.0) - 1.0

    def level(f: float) -> float:  # the peak near f
        i, width = int(round(f / hz_per_bin)), max(3, int(f * reach / hz_per_bin))
        return float(spec[max(1, i - width) : i + width + 1].max())

    harmonics = max(level(k * f0) for k in range(1, 9) if k * f0 < 0.95 * rate_hz / 2)
    subs = max((level(f0 / d) for d in (2, 4) if f0 / d >= 12.0), default=0.0)
    return 20.0 * float(np.log10(subs / max(harmonics, 1e-12) + 1e-12))


def drop_sub_octave_notes(notes: list, dropped: list | None = None) -> list:
    """The notes but training renders that sound below their key (config.SUB_OCTAVE_LIMIT_DB); each one dropped
    goes to `dropped` as (source, midi). Validation notes always stay: the split must not change."""
    kept = []
    for note in notes:
        audio, midi, _, source = note
        if not is_validation_source(source) and sub_octave_db(audio, midi) > SUB_OCTAVE_LIMIT_DB:
            if dropped is not None:
                dropped.append((source, int(midi)))
            continue
        kept.append(note)
    return kept


def build_bank(config: BuildConfig, dropped: list | None = None) -> NoteBank:
    """Render, synthesize and stack every note. Training renders that sound below their key are left out
    (config.drop_sub_octave_notes); each one left out is appended to `dropped` as (source, midi)."""
    rng = np.random.default_rng(config.seed)
    notes = [note for kind in config.soundfonts for note in render_soundfont(config, kind)]
    if config.drop_sub_octave_notes:
        before = len(notes)
        notes = drop_sub_octave_notes(notes, dropped)
        log.info("left out %d of %d rendered training notes that sound below their key", before - len(notes), before)
    cents = [np.nan] * len(notes)  # rendered notes: as tuned in the soundfont, not measured
    notes += synthesize_notes(config, rng, cents)
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
        cents=np.array(cents, dtype=np.float32),
    )


def is_validation_source(source: str) -> bool:
    kind, _, name = source.partition(":")
    if kind in SOUNDFONTS:
        return int(name) in VALIDATION_PROGRAMS
    return name in VALIDATION_FAMILIES


def clicks(rng: np.random.Generator, n: int) -> np.ndarray:
    """A few clicks and short bursts, peak 1."""
    out = np.zeros(n, dtype=np.float32)
    for _ in range(rng.integers(1, 6)):
        at = rng.integers(0, n - 200)
        length = int(rng.integers(1, 160))
        out[at : at + length] += rng.standard_normal(length).astype(np.float32) * np.exp(-np.arange(length) / max(1, length / 4))
    return out / max(1e-9, np.abs(out).max())


class PatchMaker:
    """Mixes labelled patches from a NoteBank: (patch_frames, mel_bands) log-mel and a class index.

    With an `Augmenter`, note patches may be pitch-shifted (label adjusted), get a
    quieter second note underneath, a room, a microphone, noise and clipping;
    no-note patches get the microphone only, since a room would leave a stopped
    note ringing into a patch labelled "no note".
    """

    NO_NOTE_SHARE = 0.12
    MIN_TAIL_S = 0.10  # the newest note sounds for at least this long at the patch's end
    SOUNDFONT_SHARE = 0.6  # of note patches, the share drawn from soundfont renders rather than the synthesizer

    LOW_REGISTER_TOP = 39  # D#2: notes up to here are the hardest in a log-mel patch, whose bands start at 125 Hz

    def __init__(self, bank: NoteBank, augmenter: Augmenter | None = None, params: FrontEndParams = VGGISH,
                 low_register_boost: float = 1.0, low: LowSpectrumParams | None = None, noise_onsets: bool = False,
                 no_note_loudest_db: float = VALIDATION_NO_NOTE_LOUDEST_DB, no_note_quietest_db: float = -90.0):
        """low: also give each patch's low spectrum (app.features.low_spectrum of the audio the patch ends with);
        batches are then {"log_mel": ..., "low_spectrum": ...}, the two-input model's input names.

        noise_onsets: no-note patches may also be noise, hum or clicks that start inside the patch after silence
        (training; False keeps the validation splits' draws).

        no_note_loudest_db, no_note_quietest_db: the loudest and quietest no-note noise, in dB of full scale RMS
        (the defaults: the validation splits'; training's are BuildConfig's). Either bound leaves the random draws
        as they were: only the levels move."""
        self.bank = bank
        self.noise_onsets = noise_onsets
        self.no_note_loudest_db = no_note_loudest_db
        self.no_note_quietest_db = no_note_quietest_db
        self.low = low
        self.augmenter = augmenter
        self.params = params
        self.n = params.patch_samples
        self._by_midi: dict[tuple[str, int], np.ndarray] = {}
        kinds = np.array(["synth" if s.startswith("synth:") else "soundfont" for s in bank.source])
        for kind in ("soundfont", "synth"):
            for midi in range(MIDI_MIN, MIDI_MAX + 1):
                idx = np.flatnonzero((kinds == kind) & (bank.midi == midi))
                if len(idx):
                    self._by_midi[(kind, midi)] = idx
        self._midis = sorted({m for _, m in self._by_midi})
        self._midi_set = set(self._midis)
        weights = np.array([low_register_boost if m <= self.LOW_REGISTER_TOP else 1.0 for m in self._midis])
        # None when even: rng.choice with p draws differently from without, and the validation split must not change.
        self._midi_p = None if low_register_boost == 1.0 else weights / weights.sum()

    def _pick_note(self, rng: np.random.Generator, midi: int) -> int:
        rendered, synth_ = self._by_midi.get(("soundfont", midi)), self._by_midi.get(("synth", midi))
        pool = rendered if rendered is not None and (synth_ is None or rng.random() < self.SOUNDFONT_SHARE) else synth_
        return int(rng.choice(pool))

    def _note(self, i: int, ratio: float = 1.0) -> tuple[np.ndarray, int]:
        """Note i raised in pitch by `ratio`, and its note-off sample."""
        audio = self.bank.audio[i].astype(np.float32)
        if ratio == 1.0:
            return audio, int(self.bank.note_off[i])
        return Augmenter.resample(audio, ratio), int(self.bank.note_off[i] / ratio)

    def _sustained(self, rng: np.random.Generator, i: int, ratio: float = 1.0) -> np.ndarray:
        """A stretch of note i that ends before its release."""
        audio, note_off = self._note(i, ratio)
        end = int(rng.integers(self.n, max(self.n + 1, min(note_off, len(audio)))))
        return audio[end - self.n : end]

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

    def make(self, rng: np.random.Generator, midi: int | None) -> tuple[np.ndarray, int, str]:
        """One patch whose label is `midi` (None: no note). Returns (log-mel patch, class index, source); with
        `low`, the patch is the pair (log-mel, low spectrum)."""
        patch, label, note, _ = self._make(rng, midi)
        return patch, label, "none" if note < 0 else str(self.bank.source[note])

    def _make(self, rng: np.random.Generator, midi: int | None) -> tuple[np.ndarray, int, int, float]:
        """As `make`, but with the bank index of the labelled note (-1 for no note) in place of its source, and the
        level of the note's last hop in dBFS (NaN for no note)."""
        aug = self.augmenter
        if midi is None:
            signal = self._no_note(rng)
            if aug is not None:
                signal = aug.microphone(rng, signal)
            return self._features(signal), label_index(None), -1, float("nan")
        n = self.n
        source_midi, ratio = midi, 1.0
        if aug is not None:
            source_midi, ratio = aug.pitch_shift(rng, midi, self._midis[0], self._midis[-1])
            if source_midi not in self._midi_set:
                source_midi, ratio = midi, 1.0
        i = self._pick_note(rng, source_midi)
        if aug is not None and not aug.p.synth_cents and self.bank.source[i].startswith("synth:"):
            ratio = aug.whole_semitones(ratio)
        if rng.random() < 0.5:
            signal = self._sustained(rng, i, ratio)
        else:
            onset = int(rng.integers(0, n - int(self.MIN_TAIL_S * SR)))
            note, _ = self._note(i, ratio)
            signal = np.concatenate([self._background(rng, onset), note[: n - onset]])
        if aug is not None and rng.random() < aug.p.second_note:
            other = self._sustained(rng, self._pick_note(rng, int(rng.choice([m for m in self._midis if m != midi] or [midi]))))
            signal = signal + other * (rms(signal) / rms(other) * _db(-rng.uniform(12, 30)))
        signal = signal * _db(rng.uniform(-40, -1))
        note_rms = rms(signal[-int(self.MIN_TAIL_S * SR) :])  # the newest note's level, for the SNR
        level_dbfs = 20 * np.log10(rms(signal[-int(HOP_S * SR) :]) + 1e-10)
        if aug is not None:
            signal = aug.microphone(rng, aug.room(rng, signal))
        # A noise floor below the note: room, preamp, fan.
        floor = coloured_noise(rng, n, rng.choice([0.0, 1.0, 2.0])) * rms(signal) * _db(-rng.uniform(25, 70))
        signal = signal + floor
        if aug is not None:
            signal = aug.clip(rng, aug.noise(rng, signal, note_rms))
        return self._features(signal), label_index(midi), i, level_dbfs

    def _features(self, signal: np.ndarray):
        """The log-mel patch of a patch's audio, or with `low` the pair (log-mel patch, low spectrum)."""
        signal = signal.astype(np.float32)
        mel = features.log_mel(signal, self.params)
        return mel if self.low is None else (mel, features.low_spectrum(signal, self.low))

    def _no_note(self, rng: np.random.Generator) -> np.ndarray:
        n = self.n
        kind = rng.choice(["silence", "noise", "hum", "clicks", "stopped", *(["onset"] if self.noise_onsets else [])])
        level = _db(rng.uniform(self.no_note_quietest_db, self.no_note_loudest_db))
        noise = coloured_noise(rng, n, rng.choice([0.0, 1.0, 2.0])) * level
        if kind == "onset":
            # Noise, hum or clicks starting 30 ms to a whole patch before its end, after digital silence or a faint
            # floor: a stream just opened, a fan switched on. Without these the model named low notes in the first
            # 100-250 ms of noise after silence (the low spectrum then sees a noise burst, not a steady noise).
            tail = int(np.exp(rng.uniform(np.log(0.03), np.log(n / SR))) * SR)
            sound = rng.choice(["noise", "hum", "clicks"], p=[0.6, 0.2, 0.2])
            after = {"noise": noise, "hum": hum(rng, n) * level + noise * _db(-20),
                     "clicks": clicks(rng, n) * level + noise * _db(-20)}[sound][-tail:]
            before = noise[: n - tail] * (0.0 if rng.random() < 0.5 else _db(-rng.uniform(30, 60)))
            return np.concatenate([before, after]).astype(np.float32)
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

    def batch(self, rng: np.random.Generator, size: int, with_sources: bool = False, with_notes: bool = False,
              with_levels: bool = False):
        """(size, patch_frames, mel_bands) float32 and (size,) int32 labels; classes drawn evenly, but for the
        low-register boost.

        With `with_sources`, also the (size,) source of each patch's labelled note ("none" for no note); with
        `with_notes`, then the (size,) bank index of that note (-1 for no note); with `with_levels`, then the
        (size,) level of that note's last hop in dBFS (NaN for no note).
        """
        x = np.empty((size, *self.params.patch_shape), dtype=np.float32)
        x_low = np.empty((size, *self.low.shape), dtype=np.float32) if self.low is not None else None
        y = np.empty(size, dtype=np.int32)
        notes = np.empty(size, dtype=np.int64)
        levels = np.empty(size, dtype=np.float32)
        for k in range(size):
            midi = None if rng.random() < self.NO_NOTE_SHARE else int(rng.choice(self._midis, p=self._midi_p))
            patch, y[k], notes[k], levels[k] = self._make(rng, midi)
            if x_low is None:
                x[k] = patch
            else:
                x[k], x_low[k] = patch
        if x_low is not None:
            x = {"log_mel": x, "low_spectrum": x_low}
        sources = np.where(notes < 0, "none", self.bank.source[np.maximum(notes, 0)])
        return (x, y, *((sources,) if with_sources else ()), *((notes,) if with_notes else ()),
                *((levels,) if with_levels else ()))


VALIDATION_SPLITS = {"validation": "clean", "validation-noisy": "in a room, noise at 10 dB SNR"}


def load_validation(data_dir: Path, split: str = "validation",
                    with_faded: bool = True) -> tuple[np.ndarray | dict, np.ndarray, np.ndarray]:
    """(x, y, source) of a validation split written by write_data. x is the float32 log-mel patches, or, where
    the split has them, {"log_mel": those, "low_spectrum": their low spectra}: `model_inputs` picks a model's.
    Without `with_faded`, the patches whose note has faded (faded_notes) are left out: what a build is scored on."""
    path = data_dir / f"{split}.npz"
    with np.load(path) as z:
        _require_arrays(path, z, ["x", "x_low", "y", "source", "labels", "level_dbfs"])
        if list(z["labels"]) != class_labels():  # y is class indices: another build's classes would misread them
            raise ValueError(f"{path} is labelled {z['labels'][0]} to {z['labels'][-2]}, not this build's "
                             f"{class_labels()[0]} to {class_labels()[-2]}; run `pitchrec-build data` again")
        keep = slice(None) if with_faded else ~faded_notes(z["y"], z["level_dbfs"])
        x = {"log_mel": z["x"][keep].astype(np.float32), "low_spectrum": z["x_low"][keep].astype(np.float32)}
        return x, z["y"][keep], z["source"][keep]


def load_validation_cents(data_dir: Path, split: str = "validation") -> np.ndarray:
    """(N,) each patch's note's detune from its label in cents, NaN for no note or a rendered note."""
    path = data_dir / f"{split}.npz"
    with np.load(path) as z:
        _require_arrays(path, z, ["cents"])
        return z["cents"]


def load_validation_levels(data_dir: Path, split: str = "validation") -> np.ndarray:
    """(N,) the level in dBFS of each patch's note's last hop (NaN for no note): under AUDIBLE_DBFS it has faded."""
    path = data_dir / f"{split}.npz"
    with np.load(path) as z:
        _require_arrays(path, z, ["level_dbfs"])
        return z["level_dbfs"]


def faded_notes(y: np.ndarray, level_dbfs: np.ndarray) -> np.ndarray:
    """Per patch: a note patch whose note has faded under AUDIBLE_DBFS by its end (named or not, both are right)."""
    return (np.asarray(y) != label_index(None)) & (np.nan_to_num(level_dbfs, nan=0.0) < AUDIBLE_DBFS)


def _require_arrays(path: Path, z, names: list[str]) -> None:
    missing = [n for n in names if n not in z.files]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)}: an older build wrote it; run `pitchrec-build data` again")


def model_inputs(x, low):
    """Patches as load_validation or PatchMaker.batch give them -> what a model takes.

    low: the settings of the model's low-spectrum input (`vggish.low_params`), or None for a one-input model.
    """
    if low is None:
        return x["log_mel"] if isinstance(x, dict) else x
    if not isinstance(x, dict):
        raise ValueError("this model also takes the low spectrum, and these patches lack it: rebuild them with "
                         "`pitchrec-build data`")
    if x["low_spectrum"].shape[1:] != low.shape:
        raise ValueError(f"this model takes a low spectrum of shape {low.shape}, and these patches have "
                         f"{x['low_spectrum'].shape[1:]}: rebuild them with `pitchrec-build data`")
    return x


def select_patches(x, idx):
    """Patches of either form (an array, or a dict of arrays by input name) at idx (indices or a slice)."""
    return {k: v[idx] for k, v in x.items()} if isinstance(x, dict) else x[idx]


def count_patches(x) -> int:
    return len(x["log_mel"]) if isinstance(x, dict) else len(x)


def _midis_by_source(notes: list[tuple[str, int]]) -> dict[str, list[int]]:
    """{source: sorted distinct MIDI notes} of (source, midi) pairs, sources in order."""
    by_source: dict[str, set[int]] = {}
    for source, midi in notes:
        by_source.setdefault(source, set()).add(midi)
    return {source: sorted(by_source[source]) for source in sorted(by_source)}


def write_data(config: BuildConfig, data_dir: Path) -> dict:
    """Build the note bank and the fixed validation patches into data_dir; return the manifest.

    Two validation splits from the held-out notes: `validation.npz` (clean) and
    `validation-noisy.npz` (every patch in a synthetic room, noise at 10 dB SNR;
    its rooms are drawn apart from training's).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    dropped: list[tuple[str, int]] = []
    bank = build_bank(config, dropped)
    bank.save(data_dir / "bank.npz")
    held_out = bank.subset(bank.validation)
    makers = {
        "validation": PatchMaker(held_out, low=LOW_SPECTRUM),
        "validation-noisy": PatchMaker(
            held_out, Augmenter.noisy_validation(np.random.default_rng(config.seed + 4), config.room_impulse_responses),
            low=LOW_SPECTRUM,
        ),
    }
    for k, (split, maker) in enumerate(makers.items()):
        rng = np.random.default_rng(config.seed + 1 + 2 * k)
        xs, lows, ys, ss, cs, levels = [], [], [], [], [], []
        for start in tqdm(range(0, config.validation_patches, 256), desc=f"{split} patches", unit="batch"):
            x, y, s, notes, level = maker.batch(rng, min(256, config.validation_patches - start), with_sources=True,
                                                with_notes=True, with_levels=True)
            levels.append(level)
            xs.append(x["log_mel"].astype(np.float16))
            lows.append(x["low_spectrum"].astype(np.float16))
            ys.append(y)
            ss.append(s)
            cs.append(np.where(notes < 0, np.nan, held_out.cents[np.maximum(notes, 0)]).astype(np.float32))
        # Both inputs, so one data build serves one- and two-input models (the low spectrum changes no draw).
        # cents: each patch's note's detune from its label (NaN: no note, or a rendered note; validation shifts no
        # pitch), for bench_model's table by detune. labels: the classes y indexes. level_dbfs: where the note has
        # faded (faded_notes).
        np.savez(data_dir / f"{split}.npz", x=np.concatenate(xs), x_low=np.concatenate(lows), y=np.concatenate(ys),
                 source=np.concatenate(ss), cents=np.concatenate(cs), labels=np.array(class_labels()),
                 level_dbfs=np.concatenate(levels))
    manifest = {
        "config": config.data_settings(),
        "bank": bank.summary(),
        "dropped_sub_octave_notes": _midis_by_source(dropped),
        "validation_programs": sorted(VALIDATION_PROGRAMS),
        "validation_families": sorted(VALIDATION_FAMILIES),
        "validation_patches": config.validation_patches,
        "validation_splits": VALIDATION_SPLITS,
        "front_end": VGGISH.to_dict(),
        "low_spectrum": LOW_SPECTRUM.to_dict(),
    }
    (data_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest
