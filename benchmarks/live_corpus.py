"""The live benchmark's corpus, generated from held-out sources with fixed seeds, at a device rate.

Only sources the model never trained on: the validation FluidR3 programs and the
validation synthesizer families (model_build.config). Clips:
  - sustained: single notes over each source's range;
  - detuned: copies of sustained notes resampled by 2^(c/1200), so the offset c is exact;
  - noisy: copies at 20 and 10 dB SNR (pink noise);
  - sequence: runs of notes with known onsets, after silence or legato;
  - silence / noise: digital silence, noise floors, hum, loud noise.

Truth: every note has the note a tuner must name, from its onset for as long as it sounds over AUDIBLE_DBFS,
and, where it is exactly known, its f0:
the MIDI note rendered or drawn, or for a detuned copy of a synthesized note the note
nearest its exact f0 (`detuned`). For
synthesized notes (made without vibrato) the f0 is exact at every instant. FluidR3's samples sit up to ±15 cents from their
nominal pitch (measured), so their absolute cents are unknown; their detuned copies
are scored by the offset between copy and original, which is exact.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import soxr

from app.notes import MIDI_MAX, MIDI_MIN, hz_to_midi
from model_build import synth
from model_build.augment import frame_dbfs
from model_build.config import VALIDATION_FAMILIES, VALIDATION_PROGRAMS, BuildConfig
from model_build.corpus import AUDIBLE_DBFS, coloured_noise, hum, render_soundfont, rms

RATE_HZ = 48000
# A note is to be named from its onset until its level (50 ms RMS) last reaches AUDIBLE_DBFS: 6 dB over the app's
# gate, under which a tuner shows no note. A piano's top notes fade under it within a second of a 1.5 s clip; a
# sustained note lasts to the clip's end.
DETUNE_CENTS = (-30.0, -12.0, 7.0, 26.0)
SNRS_DB = (20.0, 10.0)


@dataclasses.dataclass
class Note:
    onset_s: float
    offset_s: float
    midi: int  # the note a tuner must name (nearest at A4 = 440 Hz)
    f0_hz: float | None  # exact f0 where known


@dataclasses.dataclass
class Clip:
    name: str
    kind: str  # sustained | detuned | noisy | sequence | silence
    audio: np.ndarray  # (samples,) float32 at RATE_HZ
    notes: list[Note]
    base: str | None = None  # detuned and noisy copies: the clip they were made from
    detune_cents: float = 0.0
    source: str = ""  # the instrument or family ("fluidr3:41"); by default the name's first part

    def __post_init__(self):
        self.source = self.source or self.name.split("/")[0]

    @property
    def seconds(self) -> float:
        return len(self.audio) / RATE_HZ


def detuned(note: Note, cents: float) -> Note:
    """The note a copy resampled by `cents` sounds: its times shortened, its f0 moved. Where the f0 is exactly known,
    the note is the one nearest it: a synthesized note drawn 40 cents sharp and raised 26 more is the next note up,
    34 cents flat, and a tuner must show that. (FluidR3's samples sit within ±15 cents and copies move at most 30,
    so their note stays.)"""
    factor = 2.0 ** (cents / 1200.0)
    f0 = None if note.f0_hz is None else note.f0_hz * factor
    midi = note.midi if f0 is None else int(round(hz_to_midi(f0)))
    return Note(note.onset_s / factor, note.offset_s / factor, midi, f0)


def audible_end(audio: np.ndarray, onset_s: float) -> float:
    """Seconds at which `audio` is last at AUDIBLE_DBFS or louder (in 50 ms windows), and never before onset_s."""
    w = int(0.05 * RATE_HZ)
    loud = np.flatnonzero(frame_dbfs(audio, w) >= AUDIBLE_DBFS)
    return max(onset_s, (loud[-1] + 1) * w / RATE_HZ if len(loud) else onset_s)


def _fluidr3_notes(stride: int) -> list[tuple[np.ndarray, int, str]]:
    config = BuildConfig(velocities=(90,), note_stride=stride, programs=tuple(sorted(VALIDATION_PROGRAMS)),
                         note_hold_s=1.5, note_total_s=1.5)
    return [(audio.astype(np.float32), midi, src) for audio, midi, _, src in render_soundfont(config, "fluidr3", rate_hz=RATE_HZ)]


def _synth_notes(rng, step: int) -> list[tuple[np.ndarray, int, str, float]]:
    out = []
    for family in sorted(VALIDATION_FAMILIES):
        for midi in range(MIDI_MIN, MIDI_MAX + 1, step):
            audio, f0 = synth.synthesize(rng, family, midi, 1.5, RATE_HZ, vibrato=False)  # f0 exact at every instant
            out.append((audio, midi, f"synth:{family}", f0))
    return out


def build(seed: int = 2026, stride: int = 5, sequences: int = 48) -> list[Clip]:
    """The whole corpus: about 11 minutes of audio at the default stride and sequences."""
    rng = np.random.default_rng(seed)
    lead = np.zeros(int(0.3 * RATE_HZ), np.float32)  # silence before each note: a real onset
    clips: list[Clip] = []

    def add_note(audio, midi, src, f0, i):
        audio = np.concatenate([lead, audio * 0.5])
        onset = len(lead) / RATE_HZ
        clips.append(Clip(f"{src}/{midi}/{i}", "sustained", audio, [Note(onset, audible_end(audio, onset), midi, f0)]))

    for i, (audio, midi, src) in enumerate(_fluidr3_notes(stride)):
        add_note(audio, midi, src, None, i)
    for i, (audio, midi, src, f0) in enumerate(_synth_notes(rng, max(1, stride - 1))):
        add_note(audio, midi, src, f0, i)

    originals = list(clips)
    for k, clip in enumerate(originals[::3]):
        c = DETUNE_CENTS[k % len(DETUNE_CENTS)]
        # Read at rate*factor and written at rate: pitch rises by c cents, time shrinks by factor.
        audio = soxr.resample(clip.audio, RATE_HZ * 2.0 ** (c / 1200.0), RATE_HZ).astype(np.float32)
        clips.append(Clip(f"{clip.name}/detune{c:+g}", "detuned", audio, [detuned(clip.notes[0], c)], base=clip.name,
                          detune_cents=c))
    for k, clip in enumerate(originals[1::3]):
        snr = SNRS_DB[k % len(SNRS_DB)]
        start = int(clip.notes[0].onset_s * RATE_HZ)
        noise = coloured_noise(rng, len(clip.audio), 1.0) * rms(clip.audio[start:]) * 10 ** (-snr / 20)
        clips.append(Clip(f"{clip.name}/snr{snr:g}", "noisy", clip.audio + noise, list(clip.notes), base=clip.name))

    clips += _sequences(rng, originals, sequences)
    clips += _no_note_clips(rng)
    return clips


def _sequences(rng, originals: list[Clip], count: int, length: int = 6) -> list[Clip]:
    """Runs of notes from one source each, 0.5-1.0 s long, after a gap or legato (cut at the next onset); the
    sources take turns."""
    by_source: dict[str, list[Clip]] = {}
    for c in originals:
        by_source.setdefault(c.source, []).append(c)
    sources = sorted(by_source)
    clips = []
    for s in range(count):
        source = sources[s % len(sources)]
        pool = by_source[source]
        parts, notes, t = [np.zeros(int(0.5 * RATE_HZ), np.float32)], [], 0.5
        for _ in range(length):
            clip = pool[int(rng.integers(len(pool)))]
            n = clip.notes[0]
            start = int(n.onset_s * RATE_HZ)
            dur = float(rng.uniform(0.5, 1.0))
            body = clip.audio[start : start + int(dur * RATE_HZ)].copy()
            fade = int(0.005 * RATE_HZ)
            body[-fade:] *= np.linspace(1, 0, fade)
            gap = float(rng.choice([0.0, 0.0, 0.15]))
            notes.append(Note(t, t + min(len(body) / RATE_HZ, n.offset_s - n.onset_s), n.midi, n.f0_hz))
            parts += [body, np.zeros(int(gap * RATE_HZ), np.float32)]
            t += len(body) / RATE_HZ + int(gap * RATE_HZ) / RATE_HZ
        clips.append(Clip(f"sequence/{s}", "sequence", np.concatenate(parts), notes, source=source))
    return clips


def _no_note_clips(rng, seconds: float = 8.0) -> list[Clip]:
    n = int(seconds * RATE_HZ)
    db = lambda x: 10 ** (x / 20)  # noqa: E731
    return [
        Clip("silence/digital", "silence", np.zeros(n, np.float32), []),
        Clip("silence/floor-70dB", "silence", coloured_noise(rng, n, 1.0) * db(-70), []),
        Clip("noise/white-40dB", "noise", coloured_noise(rng, n, 0.0) * db(-40), []),
        Clip("noise/pink-25dB", "noise", coloured_noise(rng, n, 1.0) * db(-25), []),
        Clip("noise/brown-30dB", "noise", coloured_noise(rng, n, 2.0) * db(-30), []),
        Clip("noise/hum-35dB", "noise", hum(rng, n, RATE_HZ) * db(-35) + coloured_noise(rng, n, 1.0) * db(-60), []),
    ]
