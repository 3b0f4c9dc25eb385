"""Tunings: the built-in temperaments against published tables, Scala scales and keyboard mappings, bad files."""

import math

import pytest

from app.notes import midi_from_name, midi_to_hz
from app.tuning import (EQUAL, TEMPERAMENTS, KeyboardMapping, Scale, Tuning, TuningFileError, read_kbm, read_scl,
                        root_pitch_class)

# Cents above C of C, C#, ... B, as published (two decimals; the Scala archive's files and the temperaments' own
# articles give the same): each built-in is built from its definition and must land on these.
PUBLISHED = {
    "equal": [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100],
    "just": [0, 111.73, 203.91, 315.64, 386.31, 498.04, 590.22, 701.96, 813.69, 884.36, 1017.60, 1088.27],
    "pythagorean": [0, 113.69, 203.91, 294.13, 407.82, 498.04, 611.73, 701.96, 815.64, 905.87, 996.09, 1109.78],
    "meantone": [0, 76.05, 193.16, 310.26, 386.31, 503.42, 579.47, 696.58, 772.63, 889.74, 1006.84, 1082.89],
    "werckmeister3": [0, 90.22, 192.18, 294.13, 390.22, 498.04, 588.27, 696.09, 792.18, 888.27, 996.09, 1092.18],
    "kirnberger3": [0, 90.22, 193.16, 294.13, 386.31, 498.04, 590.22, 696.58, 792.18, 889.74, 996.09, 1088.27],
    "vallotti": [0, 94.13, 196.09, 298.04, 392.18, 501.96, 592.18, 698.04, 796.09, 894.13, 1000.00, 1090.22],
    "young2": [0, 90.22, 196.09, 294.13, 392.18, 498.04, 588.27, 698.04, 792.18, 894.13, 996.09, 1090.22],
}
ROOTS = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]


def test_every_temperament_is_built_in_and_matches_its_published_table():
    assert set(TEMPERAMENTS) == set(PUBLISHED)
    for name, published in PUBLISHED.items():
        offsets = TEMPERAMENTS[name][1]
        assert [round(100 * k + o, 2) for k, o in enumerate(offsets)] == pytest.approx(published, abs=0.011), name


@pytest.mark.parametrize("name", sorted(PUBLISHED))
@pytest.mark.parametrize("root", ROOTS)
def test_a_temperament_on_any_root_keeps_the_root_equal_tempered_and_its_intervals(name, root):
    """On root r, the key k semitones above r is at the table's k-th value above r, and r itself at its equal-
    tempered pitch for the reference A4 (here 442 Hz)."""
    tuning = Tuning.temperament(name, root, a4_hz=442.0)
    r = 60 + root_pitch_class(root)
    assert tuning.target_hz(r) == pytest.approx(midi_to_hz(r, 442.0), rel=1e-12)
    for k in range(24):
        above = 1200 * math.log2(tuning.target_hz(r + k) / tuning.target_hz(r))
        assert above == pytest.approx(1200 * (k // 12) + PUBLISHED[name][k % 12], abs=0.011)


def test_under_a_temperament_on_c_a_moves_and_a_just_third_reads_zero():
    meantone = Tuning.temperament("meantone", "C")
    assert 1200 * math.log2(meantone.target_hz(69) / 440.0) == pytest.approx(-10.26, abs=0.01)
    e4 = midi_to_hz(60) * 5 / 4  # a just major third above C4
    just = Tuning.temperament("just", "C").target(e4, 64)
    assert just.name == "E4" and just.cents == pytest.approx(0.0, abs=1e-9)
    assert EQUAL.target(e4, 64).cents == pytest.approx(-13.69, abs=0.01)


def test_a_keyed_tuning_measures_from_the_named_note_and_otherwise_from_the_nearest():
    t = EQUAL.target(445.0)
    assert (t.name, t.midi) == ("A4", 69) and t.cents == pytest.approx(1200 * math.log2(445 / 440))
    # 60 cents over A4 is nearest A#4, but the named note (A4) decides.
    assert EQUAL.target(440.0 * 2 ** (60 / 1200), 69).cents == pytest.approx(60.0)
    assert EQUAL.target(440.0 * 2 ** (60 / 1200)).name == "A#4"


def test_per_key_offsets_move_only_their_keys():
    sweetened = Tuning.temperament("equal", offsets={midi_from_name("B3"): -2.0, midi_from_name("E2"): 1.5})
    assert sweetened.target(midi_to_hz(59), 59).cents == pytest.approx(2.0)
    assert sweetened.target(midi_to_hz(40), 40).cents == pytest.approx(-1.5)
    assert sweetened.target(midi_to_hz(45), 45).cents == pytest.approx(0.0, abs=1e-9)


def test_a_sweetener_applies_to_keys_and_not_to_a_scales_degrees():
    from app.tuning import TuningSpec

    offsets = ((69, 2.0),)
    assert TuningSpec(offsets=offsets).label == "equal, sweetened"
    edo31 = Scale("31", tuple(1200 * k / 31 for k in range(1, 32)))
    spec = TuningSpec(scale=edo31, scale_name="31.scl", offsets=offsets)
    assert spec.label == "31.scl on C" and not spec.keyed and not spec.sweetened


def test_unknown_names_and_roots_are_refused_in_one_line():
    with pytest.raises(ValueError, match="no temperament 'mean'; built in: equal, just"):
        Tuning.temperament("mean")
    with pytest.raises(ValueError, match="not a root note: 'H'"):
        Tuning.temperament("just", "H")
    assert root_pitch_class("Bb") == root_pitch_class("A#3") == 10


def write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    return path


def test_scala_files_in_the_formats_documented_shapes(tmp_path):
    # The format page's own example: a header comment, a description, a count, cents and ratios (a bare integer is
    # a ratio over 1), comments after the values.
    scl = read_scl(write(tmp_path, "meanquar.scl", """! meanquar.scl
!
1/4-comma meantone scale. Pietro Aaron's temperament (1523)
 12
!
 76.04900
 193.15686
 310.26471
 5/4
 503.42157
 579.47057
 696.57843
 25/16
 889.73529
 1006.84314
 1082.89214
 2 ! the octave, as an integer ratio
"""))
    assert scl.description.startswith("1/4-comma meantone") and scl.size == 12 and scl.period == pytest.approx(1200)
    assert scl.cents[3] == pytest.approx(386.3137) and scl.cents[7] == pytest.approx(772.6274)
    # As a tuning on C it is the built-in quarter-comma meantone, named by keys.
    tuning = Tuning.scala(scl, "C")
    assert tuning.keyed
    for m in range(21, 109):
        assert tuning.target_hz(m) == pytest.approx(Tuning.temperament("meantone", "C").target_hz(m), rel=1e-6)
    # A single-note scale: one step per period.
    single = read_scl(write(tmp_path, "single.scl", "an octave\n1\n2/1\n"))
    assert single.cents == (1200.0,)
    t = Tuning.scala(single, "A").target(445.0)
    assert t.name == "0/1 o4" and t.midi is None and t.target_hz == pytest.approx(440.0)
    # No description (an empty line is one), 31 equal steps: degrees are named with their octave.
    edo31 = read_scl(write(tmp_path, "31.scl", "\n31\n" + "".join(f"{1200 * k / 31:.5f}\n" for k in range(1, 32))))
    assert edo31.description == "" and edo31.size == 31
    tuning = Tuning.scala(edo31, "C")
    step = 1200 / 31
    t = tuning.target(midi_to_hz(60) * 2 ** ((4 * step + 3.0) / 1200))
    assert (t.name, t.midi) == ("4/31 o4", None) and t.cents == pytest.approx(3.0, abs=1e-6)
    assert tuning.target(midi_to_hz(48) * 2 ** (30 * step / 1200)).name == "30/31 o3"


def test_a_keyboard_mapping_sets_the_reference_and_the_keys(tmp_path):
    scale = read_scl(write(tmp_path, "just.scl", "just\n12\n16/15\n9/8\n6/5\n5/4\n4/3\n45/32\n3/2\n8/5\n5/3\n9/5\n"
                                                  "15/8\n2/1\n"))
    # Degree 0 on D4 (62), A4 (69) at 432 Hz, the usual 12-key pattern.
    kbm = read_kbm(write(tmp_path, "d.kbm", "! d.kbm\n12\n0\n127\n62\n69\n432.0\n12\n! map\n"
                                             + "".join(f"{k}\n" for k in range(12))))
    assert kbm == KeyboardMapping(62, 69, 432.0, 12, tuple(range(12)))
    tuning = Tuning.scala(scale, mapping=kbm)
    assert tuning.keyed and tuning.target_hz(69) == pytest.approx(432.0)
    assert tuning.target_hz(62) == pytest.approx(432.0 / 1.5)  # A is the 3/2 above D
    assert tuning.target_hz(74) == pytest.approx(2 * 432.0 / 1.5)
    # Unmapped keys (x, or outside the first and last key) have no target.
    white = read_kbm(write(tmp_path, "w.kbm", "12\n0\n100\n60\n69\n440\n12\n0\nx\n2\nx\n4\n5\nx\n7\nx\n9\nx\n11\n"))
    tuning = Tuning.scala(scale, mapping=white)
    assert tuning.keyed
    for unmapped in (61, 101):
        with pytest.raises(KeyError):
            tuning.target_hz(unmapped)
    assert tuning.target_hz(69) == pytest.approx(440.0) and tuning.target_hz(60) == pytest.approx(440.0 * 3 / 5)
    # Seven keys to a repeat of a 12-note scale (the white keys' degrees), named as degrees; each repeat of the
    # pattern moves up by the formal octave degree, here 24: two octaves, past the scale's end.
    seven = KeyboardMapping(60, 69, 440.0, 24, (0, 2, 4, 5, 7, 9, 11))
    tuning = Tuning.scala(scale, mapping=seven)
    assert not tuning.keyed
    t = tuning.target(440.0)  # key 69: the second repeat's third key, degree 4 (5/4), two octaves over key 60
    assert (t.name, t.midi) == ("4/12 o6", 69) and t.cents == pytest.approx(0.0, abs=1e-9)
    up = tuning.target(440.0 / 1.25)  # key 67, the second repeat's first: degree 0, two octaves over key 60
    assert (up.name, up.midi) == ("0/12 o6", 67) and up.cents == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("text, message", [
    ("bad\n3\n5/4\nfoo\n2/1\n", r"bad\.scl: line 4: 'foo' is neither cents \(with a period\) nor a ratio like 5/4"),
    ("bad\n2\n0/4\n2/1\n", r"bad\.scl: line 3: the ratio 0/4 is not positive"),
    ("bad\n2\n-3/4\n2/1\n", r"bad\.scl: line 3: the ratio -3/4 is not positive"),
    ("bad\n2\n5/0\n2/1\n", r"bad\.scl: line 3: '5/0' is neither cents"),
    ("bad\n2\n1.2.3\n2/1\n", r"bad\.scl: line 3: '1\.2\.3' is not a number of cents"),
    ("bad\n0\n", r"bad\.scl: line 2: a scale has 1 to 4096 notes, not 0"),
    ("bad\ntwelve\n", r"bad\.scl: line 2: 'twelve' is not a note count"),
    ("", r"bad\.scl: empty"),
    ("! only a comment\n", r"bad\.scl: empty"),
    ("bad\n", r"bad\.scl: no note count after the description \(line 1\)"),
    ("bad\n5\n5/4\n2/1\n", r"bad\.scl: 5 notes announced on line 2, 2 given"),
    ("bad\n1\n2/1\n3/1\n", r"bad\.scl: line 4: more pitches than the 1 announced on line 2"),
    ("bad\n2\n5/4\n-100.0\n", r"bad\.scl: line 4: the period \(the last pitch\) must be at least a cent above"),
    ("bad\n2\n1.0e309\n2/1\n", r"bad\.scl: line 3: '1\.0e309' is not a finite number of cents"),
    ("bad\n2\n" + "9" * 400 + "/1\n2/1\n", r"bad\.scl: line 3: 1\.59e\+06 cents is beyond any audible interval"),
    (b"\x00\x01\xff\xfe junk", r"bad\.scl: not a text file"),
])
def test_a_bad_scale_file_gets_one_line_naming_the_file_and_the_line(tmp_path, text, message):
    path = write(tmp_path, "bad.scl", text)
    with pytest.raises(TuningFileError, match=message) as err:
        read_scl(path)
    assert "\n" not in str(err.value)


def test_huge_and_missing_files_are_refused_without_reading_them(tmp_path):
    big = tmp_path / "big.scl"
    big.write_bytes(b"x\n1\n2/1\n" + b"!" * 10_000_000)
    with pytest.raises(TuningFileError, match=r"big\.scl: 10\.0 MB is too large for a tuning file"):
        read_scl(big)
    with pytest.raises(TuningFileError, match=r"none\.scl: cannot read it"):
        read_scl(tmp_path / "none.scl")
    with pytest.raises(TuningFileError, match=r"dir: cannot read it"):
        read_scl((tmp_path / "dir").mkdir() or tmp_path / "dir")


@pytest.mark.parametrize("text, message", [
    ("12\n0\n127\n60\n69\n440\n", r"a \.kbm file has 7 header values"),
    ("12\n0\n127\n60\n69\nfast\n12\n", r"line 6: 'fast' is not a reference frequency"),
    ("12\n0\n127\n200\n69\n440\n12\n", r"line 4: the middle key is a MIDI key, 0 to 127, not 200"),
    ("12\n0\n127\n60\n69\n0\n12\n", r"line 6: a reference frequency of 0 Hz is not audible"),
    ("2\n0\n127\n60\n69\n440\n12\n0\ny\n", r"line 9: 'y' is neither a scale degree nor x"),
    ("3\n0\n127\n60\n69\n440\n12\n0\n1\n", r"3 keys announced, 2 mapped"),
])
def test_a_bad_keyboard_mapping_gets_one_line_naming_the_file_and_the_line(tmp_path, text, message):
    with pytest.raises(TuningFileError, match=r"bad\.kbm: .*" + message):
        read_kbm(write(tmp_path, "bad.kbm", text))


def test_a_mapping_whose_reference_key_plays_nothing_is_refused():
    scale = Scale("two", (600.0, 1200.0))
    mapping = KeyboardMapping(60, 69, 440.0, 0, (0, None))
    with pytest.raises(TuningFileError, match="reference key 69 plays no degree"):
        Tuning.scala(scale, mapping=mapping)


def test_a_tempered_tuning_names_the_key_whose_target_is_nearest():
    """Meantone on C puts C# 24 cents under its equal-tempered pitch: 45 cents over C is 31 under C#'s target, so
    C# is named; equal temperament keeps the tracker's note (C) and its cents exactly."""
    meantone, a4 = Tuning.temperament("meantone", "C"), 440.0
    f0 = midi_to_hz(60 + 0.45)
    t = meantone.measure(60, f0, 45.0, a4)
    assert (t.name, t.midi) == ("C#4", 61) and t.cents == pytest.approx(45.0 - 100.0 + 23.95, abs=0.01)
    near = meantone.measure(60, midi_to_hz(60 + 0.30), 30.0, a4)  # 30 over C, 46 under C#'s target: C stays
    assert near.midi == 60 and near.cents == pytest.approx(30.0)
    for cents in (-53.0, -20.0, 0.0, 49.9, 53.0):
        same = EQUAL.measure(69, midi_to_hz(69 + cents / 100), cents, a4)
        assert (same.midi, same.cents) == (69, cents)
    unmeasured = meantone.measure(60, None, None, a4)  # a note without a pitch: its target, no cents
    assert (unmeasured.midi, unmeasured.cents) == (60, None) and unmeasured.target_hz == pytest.approx(midi_to_hz(60))


def test_a_mapping_with_its_reference_far_from_a4_reads_the_mapped_key():
    """Baroque pitch by a keyboard mapping: key 69 at 392 Hz. The tracker, at A4 = 440, names a 392 Hz tone G4;
    the tuning reads it as A4 at 0 cents."""
    scale = Scale("12-et", tuple(100.0 * k for k in range(1, 13)))
    low = Tuning.scala(scale, mapping=KeyboardMapping(60, 69, 392.0, 12, tuple(range(12))))
    g4 = 1200 * math.log2(392.0 / midi_to_hz(67))  # the tracker's cents from G4 at A4 = 440: -0.02
    t = low.measure(67, 392.0, g4, 440.0)
    assert (t.name, t.midi) == ("A4", 69) and t.cents == pytest.approx(0.0, abs=1e-9)
    assert low.measure(67, 392.0 * 2 ** (10 / 1200), g4 + 10.0, 440.0).cents == pytest.approx(10.0, abs=1e-9)


def test_scales_too_fine_or_out_of_hearing_are_refused_not_built():
    with pytest.raises(TuningFileError, match="more than 100000 notes in the audible range"):
        Tuning.scala(Scale("fine", tuple(0.1 * k for k in range(1, 1001))))  # a thousand notes to 100 cents
    with pytest.raises(TuningFileError, match="the mapping's reference key 69 plays no degree"):
        Tuning.scala(Scale("12", tuple(100.0 * k for k in range(1, 13))),
                     mapping=KeyboardMapping(60, 69, 440.0, 12, tuple(range(12)), first_key=70, last_key=127))
