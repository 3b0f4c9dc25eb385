"""Instrument presets: the strings a tuner aims at, sweeteners (per-note offsets), and transposing displays.

A preset's strings are MIDI notes at the reference A4. `nearest_string` picks the
string a measured pitch is closest to, within a semitone, and says how far off it
is in cents; the chromatic preset has no strings and follows the nearest note, as
every preset does for a pitch near none of its strings.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from app.notes import NOTE_MAX, NOTE_MIN, midi_from_name, note_name
from app.tuning import MAX_FILE_BYTES


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
    """The preset of that name, in any case ("guitar: standard" from a command line too)."""
    wanted = name.strip().casefold()
    for p in PRESETS:
        if p.name.casefold() == wanted:
            return p
    raise KeyError(f"no preset {name!r}; presets: {', '.join(p.name for p in PRESETS)}")


# Sweeteners: cents added to single notes' targets (MIDI key: cents), as hardware strobe tuners offer them. Each is a
# documented rule of thumb, not a measurement of any one instrument; the window's editor makes a user's own.
MAX_SWEETENER_CENTS = 50.0


def _piano_stretch() -> dict[int, float]:
    """A Railsback-style stretch: 0 from C4 to C5, falling as a cube to -30 cents at A0 and rising to +30 at C8 (the
    octaves a piano's inharmonic strings are tuned to; each piano's own curve differs)."""
    out = {}
    for m in range(NOTE_MIN, NOTE_MAX + 1):
        if m < 60:
            out[m] = round(-30.0 * ((60 - m) / (60 - NOTE_MIN)) ** 3, 1)
        elif m > 72:
            out[m] = round(30.0 * ((m - 72) / (NOTE_MAX - 72)) ** 3, 1)
    return {m: c for m, c in out.items() if c}


SWEETENERS: dict[str, dict[int, float]] = {
    "None": {},
    # The open G-B third is 13.7 cents wider than pure in equal temperament: B a little flat sweetens the chords
    # built on it (E and G shapes), and the top E follows B by a smaller step so the B-E fourth stays near pure.
    "Guitar: sweetened": {midi_from_name("G3"): -1.0, midi_from_name("B3"): -3.0, midi_from_name("E4"): -1.5},
    "Piano: stretch": _piano_stretch(),
}


def valid_offset(cents) -> bool:
    """A sweetener's cents: a finite number within ±MAX_SWEETENER_CENTS."""
    return not isinstance(cents, bool) and isinstance(cents, (int, float)) and abs(cents) <= MAX_SWEETENER_CENTS


class SweetenerError(ValueError):
    """A sweetener file that cannot be used: one line naming the file."""


def save_sweetener(path: Path, name: str, offsets: dict[int, float]) -> None:
    """A small JSON file: {"name": ..., "offsets": {"B3": -3.0, ...}}."""
    data = {"name": name, "offsets": {note_name(m): round(float(c), 2) for m, c in sorted(offsets.items())}}
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_sweetener(path: Path) -> tuple[str, dict[int, float]]:
    """(name, offsets) from a file save_sweetener wrote. Raises SweetenerError naming the file and the fault."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SweetenerError(f"{path}: too large for a sweetener file")
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise SweetenerError(f"{path}: cannot read it ({err.strerror or err})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SweetenerError(f"{path}: not a sweetener file (not JSON: {err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("offsets"), dict):
        raise SweetenerError(f"{path}: not a sweetener file (no \"offsets\" object of note names and cents)")
    offsets = {}
    for name, cents in data["offsets"].items():
        try:
            midi = midi_from_name(str(name))
        except ValueError as err:
            raise SweetenerError(f"{path}: {err}") from None
        if not valid_offset(cents):
            raise SweetenerError(f"{path}: {name}: {cents!r} is not a number of cents from -50 to 50")
        offsets[midi] = float(cents)
    return str(data.get("name") or path.stem), offsets
