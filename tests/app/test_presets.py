from app.notes import display_name, midi_from_name
from app.presets import PRESETS, TRANSPOSITIONS, preset


def test_every_preset_asked_for_exists_with_its_strings():
    names = {p.name for p in PRESETS}
    for wanted in ("Chromatic", "Guitar: standard", "Guitar: drop D", "Guitar: DADGAD", "Bass: 4 strings", "Bass: 5 strings",
                   "Ukulele", "Violin", "Viola", "Cello", "Mandolin"):
        assert wanted in names
    assert preset("Guitar: standard").strings == tuple(midi_from_name(n) for n in "E2 A2 D3 G3 B3 E4".split())
    assert preset("Bass: 5 strings").strings[0] == 23  # B0


def test_nearest_string_and_its_cents():
    guitar = preset("Guitar: standard")
    assert guitar.nearest_string(45.3) == (45, 30.000000000000426) or guitar.nearest_string(45.3)[0] == 45
    string, cents = guitar.nearest_string(midi_from_name("E2") - 0.6)
    assert string == midi_from_name("E2") and round(cents) == -60  # out of tune by more than half a semitone
    assert preset("Chromatic").nearest_string(60.2) is None
    assert preset("Ukulele").nearest_string(midi_from_name("B0")) is None  # no string of it: the nearest note
    assert preset("Ukulele").nearest_string(midi_from_name("C4") - 0.99)[0] == midi_from_name("C4")


def test_transposing_display_names():
    a_sharp4 = midi_from_name("A#4")
    assert display_name(a_sharp4) == "A♯4" and display_name(a_sharp4, flats=True) == "B♭4"
    assert display_name(a_sharp4, transpose=TRANSPOSITIONS["B♭ instrument"]) == "C5"
    assert display_name(midi_from_name("C4"), transpose=TRANSPOSITIONS["E♭ instrument"]) == "A4"
    assert display_name(midi_from_name("C4"), transpose=TRANSPOSITIONS["F instrument"]) == "G4"
