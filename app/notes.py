"""Note names, MIDI numbers and frequencies, and the model's class list."""

from __future__ import annotations

import math

SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

# The notes Pitchrec names: A0 to C8, a piano's range.
NOTE_MIN = 21
NOTE_MAX = 108
# A build's classes: the same notes, plus "no note". A model built before version 10 has fewer (B0 to C7, its
# metadata says so); the waveform names the others (app.tracker).
MIDI_MIN = NOTE_MIN
MIDI_MAX = NOTE_MAX
NO_NOTE = "none"


def note_name(midi: int) -> str:
    """MIDI number to scientific pitch name with sharps: 69 -> 'A4'."""
    return f"{SHARP_NAMES[midi % 12]}{midi // 12 - 1}"


def midi_from_name(name: str) -> int:
    """'A4', 'C#3', 'Db3' or 'B0' to a MIDI number. Raises ValueError on anything else."""
    text = name.strip()
    if len(text) < 2 or text[0].upper() not in "CDEFGAB":
        raise ValueError(f"not a note name: {name!r} (expected e.g. 'A4', 'C#3', 'Bb1')")
    pitch_class = SHARP_NAMES.index(text[0].upper())
    rest = text[1:]
    if rest[:1] in ("#", "♯"):
        pitch_class, rest = pitch_class + 1, rest[1:]
    elif rest[:1] in ("b", "♭"):
        pitch_class, rest = pitch_class - 1, rest[1:]
    try:
        octave = int(rest)
    except ValueError:
        raise ValueError(f"not a note name: {name!r} (expected e.g. 'A4', 'C#3', 'Bb1')") from None
    return (octave + 1) * 12 + pitch_class


def midi_to_hz(midi: float, a4_hz: float = 440.0) -> float:
    return a4_hz * 2.0 ** ((midi - 69) / 12.0)


def hz_to_midi(f_hz: float, a4_hz: float = 440.0) -> float:
    return 69 + 12.0 * math.log2(f_hz / a4_hz)


def class_labels() -> list[str]:
    """The model's output labels in order: note names for MIDI_MIN..MIDI_MAX, then NO_NOTE."""
    return [note_name(m) for m in range(MIDI_MIN, MIDI_MAX + 1)] + [NO_NOTE]


def label_index(midi: int | None) -> int:
    """Class index of a MIDI note, or of "no note" for None."""
    if midi is None:
        return MIDI_MAX - MIDI_MIN + 1
    if not MIDI_MIN <= midi <= MIDI_MAX:
        raise ValueError(f"MIDI {midi} is outside the model's range {MIDI_MIN}..{MIDI_MAX}")
    return midi - MIDI_MIN


FLAT_NAMES = ("C", "D♭", "D", "E♭", "E", "F", "G♭", "G", "A♭", "A", "B♭", "B")


def rounded(value: float | None, digits: int) -> float | None:
    """value to `digits` decimals (None stays None), never -0.0: a reading of -0.04 cents is 0.0, shown "+0.0"."""
    return None if value is None else round(float(value), digits) + 0.0


def cents_text(cents: float) -> str:
    """Cents to a tenth, signed, as the displays show them: "+1.5", "-3.0", "+0.0" (never "-0.0")."""
    return f"{rounded(cents, 1):+.1f}"


def display_name(midi: int, flats: bool = False, transpose: int = 0) -> str:
    """Name for display: `transpose` semitones added (a B♭ instrument reads 2 above concert), sharps or flats."""
    m = midi + transpose
    names = FLAT_NAMES if flats else tuple(n.replace("#", "♯") for n in SHARP_NAMES)
    return f"{names[m % 12]}{m // 12 - 1}"
