"""Where each note should sound: the tuning a reading's cents are measured from.

A `Tuning` gives each note its target frequency for the reference A4:
  - equal temperament (the default);
  - a built-in temperament (TEMPERAMENTS) on any root key;
  - a Scala scale (`.scl`), its 1/1 on the root key, optionally placed by a keyboard mapping (`.kbm`).

The convention is that of hardware strobe tuners' offset tables. A temperament is a set of offsets from equal
temperament with the root at 0. The root keeps its equal-tempered pitch for the reference A4, so under a temperament
rooted on C the A itself moves: in quarter-comma meantone on C, A4 is 10.3 cents under 440 Hz.

A 12-note tuning names the keys (E4); its target for a key is that key's tempered pitch. A scale of another size
names its degrees, as `4/31` in an octave numbered like the root key's (degree 0 of octave 4 is the root key in
octave 4). Per-note offsets ("sweeteners", a preset's per-string cents) move single keys further.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction
from pathlib import Path

import numpy as np

from app.notes import SHARP_NAMES, midi_from_name, midi_to_hz, note_name

# A .scl or .kbm file larger than this is not a tuning file (the Scala archive's largest are tens of kB).
MAX_FILE_BYTES = 1_000_000
MAX_DEGREES = 4096
MAX_TARGETS = 100_000  # an unmapped scale's degrees from 8 Hz to 13 kHz: a period of a few cents would make millions
# A keyed tuning names the key whose target is nearest, once it is nearer than the tracker's key by more than this:
# twice the tracker's hysteresis at the half-semitone (app.tracker.TrackerParams.margin_cents), so in equal
# temperament the tracker's own choice always stands.
SWITCH_CENTS = 6.0
# Keys (and scale degrees) a tuning lays out: MIDI 0 to 127, 8.2 Hz to 12.5 kHz at A4 = 440 Hz.
KEYS = range(128)

CENTS_3_2 = 1200 * math.log2(3 / 2)
PYTHAGOREAN_COMMA = 1200 * math.log2(3**12 / 2**19)
SYNTACTIC_COMMA = 1200 * math.log2(81 / 80)
SCHISMA = PYTHAGOREAN_COMMA - SYNTACTIC_COMMA

FIFTHS = ("C", "G", "D", "A", "E", "B", "F#", "C#", "G#", "D#", "A#", "F")  # the circle, from C


def _from_fifths(start: str, fifths: list[float]) -> tuple[float, ...]:
    """Offsets from equal temperament, C at 0, of a 12-note chain of 11 fifths of the given sizes (cents) from
    `start` upwards around the circle (the twelfth fifth, back to `start`, takes what is left: a wolf, or not)."""
    i = FIFTHS.index(start)
    cents = {start: 0.0}
    pitch = 0.0
    for k, size in enumerate(fifths):
        pitch += size
        cents[FIFTHS[(i + k + 1) % 12]] = pitch % 1200
    c = cents["C"]
    pitch_class = {name: SHARP_NAMES.index(name) for name in FIFTHS}
    out = [0.0] * 12
    for name, value in cents.items():
        above_c = (value - c) % 1200
        offset = above_c - 100 * pitch_class[name]
        out[pitch_class[name]] = offset - 1200 * round(offset / 1200)
    return tuple(out)


def _from_ratios(ratios: list[Fraction]) -> tuple[float, ...]:
    return tuple(1200 * math.log2(r) - 100 * k for k, r in enumerate(ratios))


PURE = CENTS_3_2
QUARTER_COMMA = PURE - SYNTACTIC_COMMA / 4
SIXTH_PYTHAGOREAN = PURE - PYTHAGOREAN_COMMA / 6
QUARTER_PYTHAGOREAN = PURE - PYTHAGOREAN_COMMA / 4

# name: (what it is, offsets from equal temperament in cents for C, C#, ... B on a root of C). Each is built from
# its definition (a chain of fifths, or ratios); tests/app/test_tuning.py checks them against published tables.
TEMPERAMENTS: dict[str, tuple[str, tuple[float, ...]]] = {
    "equal": ("equal temperament", (0.0,) * 12),
    "just": ("5-limit just intonation: 1/1 16/15 9/8 6/5 5/4 4/3 45/32 3/2 8/5 5/3 9/5 15/8",
             _from_ratios([Fraction(*r) for r in ((1, 1), (16, 15), (9, 8), (6, 5), (5, 4), (4, 3), (45, 32), (3, 2),
                                                  (8, 5), (5, 3), (9, 5), (15, 8))])),
    "pythagorean": ("Pythagorean: pure fifths from E♭ to G♯, the wolf between G♯ and E♭",
                    _from_fifths("D#", [PURE] * 11)),
    "meantone": ("quarter-comma meantone: fifths a quarter syntonic comma narrow from E♭ to G♯ (pure major thirds)",
                 _from_fifths("D#", [QUARTER_COMMA] * 11)),
    "werckmeister3": ("Werckmeister III: C-G-D-A and B-F♯ a quarter Pythagorean comma narrow, the rest pure",
                      _from_fifths("C", [QUARTER_PYTHAGOREAN] * 3 + [PURE, PURE, QUARTER_PYTHAGOREAN] + [PURE] * 5)),
    "kirnberger3": ("Kirnberger III: C-G-D-A-E a quarter syntonic comma narrow, F♯-C♯ a schisma narrow, the rest pure",
                    _from_fifths("C", [QUARTER_COMMA] * 4 + [PURE, PURE, PURE - SCHISMA] + [PURE] * 4)),
    "vallotti": ("Vallotti: F-C-G-D-A-E-B a sixth of a Pythagorean comma narrow, the rest pure",
                 _from_fifths("F", [SIXTH_PYTHAGOREAN] * 6 + [PURE] * 5)),
    "young2": ("Young II: C-G-D-A-E-B-F♯ a sixth of a Pythagorean comma narrow, the rest pure",
               _from_fifths("C", [SIXTH_PYTHAGOREAN] * 6 + [PURE] * 5)),
}


class TuningFileError(ValueError):
    """A .scl or .kbm file that cannot be used; the message is one line naming the file (and the line)."""


@dataclasses.dataclass(frozen=True)
class Scale:
    """A Scala scale: its description and the pitch of each degree above the 1/1 in cents, the last being the
    period (usually 1200, the octave)."""

    description: str
    cents: tuple[float, ...]

    @property
    def size(self) -> int:
        return len(self.cents)

    @property
    def period(self) -> float:
        return self.cents[-1]

    @property
    def degrees(self) -> tuple[float, ...]:
        """Each degree's pitch above the 1/1 within one period, degree 0 first."""
        return (0.0, *self.cents[:-1])

    @property
    def is_octave_12(self) -> bool:
        """Twelve notes to an octave: it plays the keys, as a temperament does."""
        return self.size == 12 and abs(self.period - 1200.0) < 1e-9


def _pitch(text: str) -> float:
    """A Scala pitch line's value in cents: a number with a period is cents; otherwise a ratio `a/b` or an integer
    `a` (a/1). Anything after the value is a comment. Raises ValueError with the reason."""
    words = text.split()
    if not words:
        raise ValueError("an empty pitch line")
    value = words[0]
    if "." in value:
        try:
            cents = float(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a number of cents") from None
        if not math.isfinite(cents):
            raise ValueError(f"{value!r} is not a finite number of cents")
        return cents
    num, _, den = value.partition("/")
    try:
        ratio = Fraction(int(num), int(den) if den else 1)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"{value!r} is neither cents (with a period) nor a ratio like 5/4") from None
    if ratio <= 0:
        raise ValueError(f"the ratio {value} is not positive")
    return 1200 * (math.log2(ratio.numerator) - math.log2(ratio.denominator))  # exact for integers of any size


def _read_text(path: Path) -> list[str]:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise TuningFileError(f"{path}: {size / 1e6:.1f} MB is too large for a tuning file")
        data = path.read_bytes()
    except OSError as err:
        raise TuningFileError(f"{path}: cannot read it ({err.strerror or err})") from None
    if b"\x00" in data:
        raise TuningFileError(f"{path}: not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # the Scala archive's descriptions are often Latin-1
    return text.splitlines()


def _content(lines: list[str]) -> list[tuple[int, str]]:
    """(line number, text) of the lines that are not comments ("!" first)."""
    return [(n, line) for n, line in enumerate(lines, 1) if not line.startswith("!")]


def read_scl(path: Path) -> Scale:
    """A Scala scale file (huygens-fokker.org/scala/scl_format.html): a description line, the number of notes, then
    that many pitches (cents or ratios), the last one the period; "!" starts a comment line. Raises TuningFileError."""
    content = _content(_read_text(path))
    if not content:
        raise TuningFileError(f"{path}: empty: a .scl file starts with a description line")
    description = content[0][1].strip()
    if len(content) < 2:
        raise TuningFileError(f"{path}: no note count after the description (line {content[0][0]})")
    n_line, count_text = content[1]
    try:
        count = int(count_text.split()[0])
    except (ValueError, IndexError):
        raise TuningFileError(f"{path}: line {n_line}: {count_text.strip()!r} is not a note count") from None
    if not 1 <= count <= MAX_DEGREES:
        raise TuningFileError(f"{path}: line {n_line}: a scale has 1 to {MAX_DEGREES} notes, not {count}")
    pitch_lines = content[2:]
    if len(pitch_lines) < count:
        raise TuningFileError(f"{path}: {count} notes announced on line {n_line}, {len(pitch_lines)} given")
    cents = []
    for n, text in pitch_lines[:count]:
        try:
            cents.append(_pitch(text))
        except ValueError as err:
            raise TuningFileError(f"{path}: line {n}: {err}") from None
        if abs(cents[-1]) > 1e6:
            raise TuningFileError(f"{path}: line {n}: {cents[-1]:.3g} cents is beyond any audible interval")
    if cents[-1] < 1.0:
        raise TuningFileError(f"{path}: line {pitch_lines[count - 1][0]}: the period (the last pitch) must be at "
                              "least a cent above the 1/1")
    extra = [n for n, text in pitch_lines[count:] if text.strip()]
    if extra:
        raise TuningFileError(f"{path}: line {extra[0]}: more pitches than the {count} announced on line {n_line}")
    return Scale(description, tuple(cents))


@dataclasses.dataclass(frozen=True)
class KeyboardMapping:
    """A Scala keyboard mapping (huygens-fokker.org/scala/help.htm#mappings), the parts a tuner uses: the key where
    degree 0 sits (`middle_key`), a reference key and its frequency, and which degree each key of a repeating
    pattern plays (None: unmapped; an empty pattern maps every key to the next degree)."""

    middle_key: int
    reference_key: int
    reference_hz: float
    octave_degree: int
    pattern: tuple[int | None, ...]
    first_key: int = 0  # keys outside first_key..last_key have no target
    last_key: int = 127


def read_kbm(path: Path) -> KeyboardMapping:
    """A .kbm file: size of the pattern, first and last key to retune, middle key, reference key, its frequency,
    the degree that is the formal octave, then the pattern's degrees (x for none). Raises TuningFileError."""
    content = [(n, t.split()[0]) for n, t in _content(_read_text(path)) if t.strip()]
    names = ("pattern size", "first key", "last key", "middle key", "reference key", "reference frequency",
             "formal octave degree")
    if len(content) < len(names):
        raise TuningFileError(f"{path}: a .kbm file has {len(names)} header values ({', '.join(names)}); "
                              f"{len(content)} found")
    values = []
    for (n, text), name in zip(content, names):
        try:
            values.append(float(text) if name == "reference frequency" else int(text))
        except ValueError:
            raise TuningFileError(f"{path}: line {n}: {text!r} is not a {name}") from None
    size, first, last, middle, reference, hz, octave = values
    if not 0 <= size <= MAX_DEGREES:
        raise TuningFileError(f"{path}: line {content[0][0]}: a pattern has 0 to {MAX_DEGREES} keys, not {size}")
    for n, name, key in ((content[1][0], "first key", first), (content[2][0], "last key", last),
                         (content[3][0], "middle key", middle), (content[4][0], "reference key", reference)):
        if not 0 <= key <= 127:
            raise TuningFileError(f"{path}: line {n}: the {name} is a MIDI key, 0 to 127, not {key}")
    if not 1.0 <= hz <= 20000.0:
        raise TuningFileError(f"{path}: line {content[5][0]}: a reference frequency of {hz:g} Hz is not audible")
    pattern: list[int | None] = []
    for n, text in content[len(names) : len(names) + size]:
        if text.lower() == "x":
            pattern.append(None)
            continue
        try:
            pattern.append(int(text))
        except ValueError:
            raise TuningFileError(f"{path}: line {n}: {text!r} is neither a scale degree nor x") from None
    if len(pattern) < size:
        raise TuningFileError(f"{path}: {size} keys announced, {len(pattern)} mapped")
    return KeyboardMapping(middle, reference, hz, octave, tuple(pattern), first, last)


@dataclasses.dataclass(frozen=True)
class Target:
    """Where a measured pitch should be: the name of its note (a key, or a scale degree), that note's MIDI key
    where the tuning has keys, its target frequency, and the pitch's distance from it."""

    name: str
    midi: int | None
    target_hz: float
    cents: float | None  # None: a note without a measured pitch


class Tuning:
    """Target frequencies for the notes of one tuning at one reference A4. Build with `Tuning.temperament` or
    `Tuning.scala`; `target` measures a pitch against it."""

    def __init__(self, name: str, hz: np.ndarray, names: list[str], midis: list[int | None], keyed: bool):
        if len(hz) == 0:
            raise TuningFileError(f"{name}: no note of it lies in the audible range")
        order = np.argsort(hz)
        self.name = name
        self._hz = np.asarray(hz, dtype=np.float64)[order]
        self._log = np.log2(self._hz)
        self._names = [names[i] for i in order]
        self._midis = [midis[i] for i in order]
        self.keyed = keyed  # one target per MIDI key, named by the key: the named note chooses the target
        self._by_midi = {m: i for i, m in enumerate(self._midis) if m is not None}

    @classmethod
    def temperament(cls, name: str = "equal", root: str = "C", a4_hz: float = 440.0,
                    offsets: dict[int, float] | None = None) -> Tuning:
        """A built-in temperament (a key of TEMPERAMENTS) on a root pitch class ("C", "F#", "Bb"), with per-key
        offsets in cents (MIDI key: cents) added. Raises ValueError for an unknown name or root."""
        check_temperament(name)
        root_pc = root_pitch_class(root)
        table = TEMPERAMENTS[name][1]
        label = name if name == "equal" else f"{name} on {note_name(root_pc)[:-2]}"
        return cls._keys(label, [table[(m - root_pc) % 12] for m in KEYS], a4_hz, offsets or {})

    @classmethod
    def _keys(cls, name: str, cents: list[float], a4_hz: float, offsets: dict[int, float]) -> Tuning:
        """A tuning of every MIDI key, each `cents[key] + offsets[key]` from its equal-tempered pitch."""
        hz = np.array([midi_to_hz(m, a4_hz) * 2 ** ((c + offsets.get(m, 0.0)) / 1200) for m, c in zip(KEYS, cents)])
        return cls(name, hz, [note_name(m) for m in KEYS], list(KEYS), keyed=True)

    @classmethod
    def scala(cls, scale: Scale, root: str = "C", a4_hz: float = 440.0, mapping: KeyboardMapping | None = None,
              offsets: dict[int, float] | None = None, name: str = "scala") -> Tuning:
        """A Scala scale. Without a mapping, its 1/1 sits on the root pitch class at its equal-tempered pitch in
        octave 4; a 12-note scale with an octave period then plays the keys from the root up (named as keys, with
        `offsets` per key), any other one names degrees (and takes no offsets). A mapping places degree 0 on its
        middle key and its reference key at its frequency, and maps keys to degrees: the targets no longer depend on
        the reference A4 (the tracker still names notes by it; `measure` then moves to the nearest mapped key)."""
        if mapping is not None:
            return cls._mapped(scale, mapping, offsets or {}, name)
        root_midi = 60 + root_pitch_class(root)
        root_hz = midi_to_hz(root_midi, a4_hz)
        if scale.is_octave_12:
            return cls._keys(name, [scale.degrees[(m - root_midi) % 12] - 100 * ((m - root_midi) % 12) for m in KEYS],
                             a4_hz, offsets or {})
        return cls(name, *_degrees(scale, root_hz, 4), keyed=False)

    @classmethod
    def _mapped(cls, scale: Scale, mapping: KeyboardMapping, offsets: dict[int, float], name: str) -> Tuning:
        degrees = scale.degrees

        def pitch_of(degree: int) -> float:
            """Cents of a degree (of any size: past the scale's end, in the periods above) over degree 0."""
            periods, degree = divmod(degree, scale.size)
            return periods * scale.period + degrees[degree]

        def position(key: int) -> float | None:
            """Cents of `key` above degree 0 on the middle key, None if unmapped."""
            if not mapping.first_key <= key <= mapping.last_key:
                return None
            steps = key - mapping.middle_key
            if not mapping.pattern:
                return pitch_of(steps)
            repeats, index = divmod(steps, len(mapping.pattern))
            degree = mapping.pattern[index]
            return None if degree is None else repeats * repeat + pitch_of(degree)

        # Each repeat of the pattern moves up by its formal octave degree's pitch (0: the scale's period).
        repeat = pitch_of(mapping.octave_degree) if mapping.octave_degree > 0 else scale.period

        reference = position(mapping.reference_key)
        if reference is None:
            raise TuningFileError(f"{name}: the mapping's reference key {mapping.reference_key} plays no degree")
        keys = [k for k in KEYS if position(k) is not None]
        hz = np.array([mapping.reference_hz * 2 ** ((position(k) - reference + offsets.get(k, 0.0)) / 1200)
                       for k in keys])
        keyed = mapping_is_keyed(scale, mapping)
        names = [note_name(k) for k in keys] if keyed else [_degree_name(position(k), scale) for k in keys]
        return cls(name, hz, names, list(keys), keyed=keyed)

    def target(self, f0_hz: float, midi: int | None = None) -> Target:
        """The target a pitch f0_hz is measured from: for a keyed tuning given the named note's `midi`, that key's;
        otherwise the nearest target (in cents)."""
        i = self._by_midi.get(midi) if self.keyed and midi is not None else None
        if i is None:
            i = self._nearest(math.log2(f0_hz))
        hz = float(self._hz[i])
        return Target(self._names[i], self._midis[i], hz, 1200.0 * math.log2(f0_hz / hz))

    def target_hz(self, midi: int) -> float:
        """A keyed tuning's target for a MIDI key (KeyError: none)."""
        return float(self._hz[self._by_midi[midi]])

    def measure(self, midi: int, f0_hz: float | None, cents: float | None, a4_hz: float) -> Target | None:
        """The reading of a note the tracker names `midi` (at f0_hz, `cents` from its equal-tempered pitch at a4_hz,
        either None when unmeasured) in this tuning.

        A keyed tuning measures from the named key's target, unless the target nearest the pitch is nearer by more
        than SWITCH_CENTS (twice the tracker's hysteresis at the half-semitone, so that in equal temperament the
        tracker's note and cents stand exactly as they were; a keyboard mapping's reference far from A4 moves
        every key). A scale of degrees names the degree nearest f0
        (None without an f0)."""
        i = self._by_midi.get(midi) if self.keyed else None
        if i is None:
            return None if f0_hz is None else self.target(f0_hz)
        def offset(k: int) -> float:  # key k's target from its equal-tempered pitch, in cents
            return 1200.0 * math.log2(self._hz[k] / midi_to_hz(self._midis[k], a4_hz))

        if cents is not None:
            x = math.log2(midi_to_hz(midi, a4_hz)) + cents / 1200.0  # the pitch measured
            j = self._nearest(x)
            if (j != i and (offset(i) or offset(j))  # equal-tempered keys: the tracker's choice stands
                    and 1200.0 * (abs(x - self._log[i]) - abs(x - self._log[j])) > SWITCH_CENTS):
                i = j
        key = self._midis[i]
        return Target(self._names[i], key, float(self._hz[i]),
                      None if cents is None else cents - 100.0 * (key - midi) - offset(i))

    def _nearest(self, log2_hz: float) -> int:
        j = int(np.searchsorted(self._log, log2_hz))
        return min((k for k in (j - 1, j) if 0 <= k < len(self._hz)), key=lambda k: abs(self._log[k] - log2_hz))


@dataclasses.dataclass(frozen=True)
class TuningSpec:
    """What the user chose, without the reference A4 (the settings have that): a built-in temperament and its root,
    or a Scala scale (and mapping), and per-key offsets (MIDI key, cents). `build` makes the Tuning."""

    temperament: str = "equal"
    root: str = "C"
    scale: Scale | None = None
    mapping: KeyboardMapping | None = None
    scale_name: str = ""
    offsets: tuple[tuple[int, float], ...] = ()

    def __post_init__(self):
        check_temperament(self.temperament)
        root_pitch_class(self.root)

    @property
    def keyed(self) -> bool:
        """Whether it tunes keys (so a sweetener's per-key offsets apply), rather than naming a scale's degrees."""
        if self.scale is None:
            return True
        return mapping_is_keyed(self.scale, self.mapping) if self.mapping is not None else self.scale.is_octave_12

    @property
    def sweetened(self) -> bool:
        return self.keyed and any(c for _, c in self.offsets)

    @property
    def is_equal(self) -> bool:
        return self.scale is None and self.temperament == "equal" and not self.sweetened

    @property
    def label(self) -> str:
        """For display: "equal", "meantone on D", "31-edo.scl on C", "equal, sweetened"."""
        if self.scale is None:
            base = self.temperament if self.temperament == "equal" else f"{self.temperament} on {self.root}"
        else:
            base = self.scale_name if self.mapping is not None else f"{self.scale_name or 'scale'} on {self.root}"
        return base + (", sweetened" if self.sweetened else "")

    def build(self, a4_hz: float) -> Tuning:
        offsets = dict(self.offsets)
        if self.scale is not None:
            return Tuning.scala(self.scale, self.root, a4_hz, self.mapping, offsets, self.label)
        return Tuning.temperament(self.temperament, self.root, a4_hz, offsets)


def _degree_name(cents_above_middle: float, scale: Scale) -> str:
    """`4/31 o5`: degree 4 of 31 in octave 5 (periods counted from octave 4 at degree 0 of the middle key)."""
    degrees = np.array(scale.degrees)
    octave, rest = divmod(cents_above_middle, scale.period)
    degree = int(np.argmin(np.abs(degrees - rest)))
    return f"{degree}/{scale.size} o{int(octave) + 4}"


def _degrees(scale: Scale, root_hz: float, root_octave: int) -> tuple[np.ndarray, list[str], list[None]]:
    """Every degree of an unmapped scale from 8 Hz to 13 kHz: frequencies and names (`4/31 o5`), root_hz being
    degree 0 of octave root_octave."""
    degrees = scale.degrees
    low = math.floor(1200 * math.log2(8.0 / root_hz) / scale.period)
    high = math.ceil(1200 * math.log2(13000.0 / root_hz) / scale.period)
    if (high - low + 1) * scale.size > MAX_TARGETS:
        raise TuningFileError(f"a scale of {scale.size} notes in a period of {scale.period:g} cents has more than "
                              f"{MAX_TARGETS} notes in the audible range")
    hz, names = [], []
    for octave in range(low, high + 1):
        for k, c in enumerate(degrees):
            f = root_hz * 2 ** ((octave * scale.period + c) / 1200)
            if 8.0 <= f <= 13000.0:
                hz.append(f)
                names.append(f"{k}/{scale.size} o{octave + root_octave}")
    return np.array(hz), names, [None] * len(hz)


def check_temperament(name: str) -> None:
    """ValueError naming the built-ins unless `name` is one."""
    if name not in TEMPERAMENTS:
        raise ValueError(f"no temperament {name!r}; built in: {', '.join(TEMPERAMENTS)}")


def mapping_is_keyed(scale: Scale, mapping: KeyboardMapping) -> bool:
    """A 12-note scale whose mapping plays one degree per key, 12 keys to the repeat: it names keys."""
    return scale.size == 12 and len(mapping.pattern) in (0, 12)


def root_pitch_class(root: str) -> int:
    """A root key's pitch class: "C" 0, "F#" 6, "Bb" 10 (an octave number is allowed and ignored). ValueError else."""
    text = root.strip()
    try:
        return midi_from_name(text if text[-1:].isdigit() else text + "4") % 12
    except ValueError:
        raise ValueError(f"not a root note: {root!r} (expected a key such as C, F#, Bb)") from None


EQUAL = Tuning.temperament()
