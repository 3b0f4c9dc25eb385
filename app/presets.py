"""Instrument presets: the strings a tuner aims at, and transposing displays.

A preset's strings are MIDI notes at the reference A4. `nearest_string` picks the
string a measured pitch is closest to, within a semitone, and says how far off it
is in cents; the chromatic preset has no strings and follows the nearest note, as
every preset does for a pitch near none of its strings.
"""

from __future__ import annotations

import dataclasses

from app.notes import midi_from_name


STRING_REACH_CENTS = 100.0  # a string is named for pitches within a semitone of it


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    strings: tuple[int, ...]  # MIDI, lowest first; empty: chromatic

    def nearest_string(self, midi_exact: float) -> tuple[int, float] | None:
        """(string MIDI, cents from it) for a fractional MIDI pitch; None for chromatic, and for a pitch more than
        STRING_REACH_CENTS from every string (a B0 on a ukulele is no string of it: the nearest note is shown)."""
        if not self.strings:
            return None
        target = min(self.strings, key=lambda s: abs(midi_exact - s))
        cents = 100.0 * (midi_exact - target)
        return (target, cents) if abs(cents) <= STRING_REACH_CENTS else None


def _strings(names: str) -> tuple[int, ...]:
    return tuple(midi_from_name(n) for n in names.split())


PRESETS: tuple[Preset, ...] = (
    Preset("Chromatic", ()),
    Preset("Guitar: standard", _strings("E2 A2 D3 G3 B3 E4")),
    Preset("Guitar: drop D", _strings("D2 A2 D3 G3 B3 E4")),
    Preset("Guitar: DADGAD", _strings("D2 A2 D3 G3 A3 D4")),
    Preset("Bass: 4 strings", _strings("E1 A1 D2 G2")),
    Preset("Bass: 5 strings", _strings("B0 E1 A1 D2 G2")),
    Preset("Ukulele", _strings("G4 C4 E4 A4")),
    Preset("Violin", _strings("G3 D4 A4 E5")),
    Preset("Viola", _strings("C3 G3 D4 A4")),
    Preset("Cello", _strings("C2 G2 D3 A3")),
    Preset("Mandolin", _strings("G3 D4 A4 E5")),
)

# Written pitch = concert pitch + semitones.
TRANSPOSITIONS: dict[str, int] = {"Concert (C)": 0, "B♭ instrument": 2, "E♭ instrument": 9, "F instrument": 7}


def preset(name: str) -> Preset:
    for p in PRESETS:
        if p.name == name:
            return p
    raise KeyError(f"no preset {name!r}; presets: {', '.join(p.name for p in PRESETS)}")
