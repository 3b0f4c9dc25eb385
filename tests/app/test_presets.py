import pytest

from app.notes import display_name, midi_from_name
from app.presets import PRESETS, TRANSPOSITIONS, preset


def test_every_preset_asked_for_exists_with_its_strings():
    names = {p.name for p in PRESETS}
    for wanted in ("Chromatic", "Guitar: standard", "Guitar: drop D", "Guitar: DADGAD", "Bass: 4 strings", "Bass: 5 strings",
                   "Ukulele", "Violin", "Viola", "Cello", "Mandolin"):
        assert wanted in names
    assert preset("Guitar: standard").strings == tuple(midi_from_name(n) for n in "E2 A2 D3 G3 B3 E4".split())
    assert preset("Bass: 5 strings").strings[0] == 23  # B0


def test_a_preset_is_found_in_any_case_and_an_unknown_one_lists_them_all():
    assert preset(" guitar: DROP d ") is preset("Guitar: drop D")
    with pytest.raises(KeyError, match="no preset 'Bass: 4-string'; presets: Chromatic, .*Bass: 4 strings"):
        preset("Bass: 4-string")


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


def test_sweeteners_are_small_offsets_and_round_trip_through_their_file(tmp_path):
    from app.presets import MAX_SWEETENER_CENTS, SWEETENERS, load_sweetener, save_sweetener

    assert SWEETENERS["None"] == {}
    guitar = SWEETENERS["Guitar: sweetened"]
    assert set(guitar) <= set(preset("Guitar: standard").strings) and guitar[midi_from_name("B3")] < 0
    stretch = SWEETENERS["Piano: stretch"]
    assert stretch[21] == -30.0 and stretch[108] == 30.0 and 60 not in stretch and 69 not in stretch
    assert all(stretch[m] <= stretch[m + 1] for m in range(21, 108) if m in stretch and m + 1 in stretch)
    for offsets in SWEETENERS.values():
        assert all(abs(c) <= MAX_SWEETENER_CENTS for c in offsets.values())
    path = tmp_path / "mine.json"
    save_sweetener(path, "my guitar", guitar)
    assert load_sweetener(path) == ("my guitar", guitar)


@pytest.mark.parametrize("content, fragment", [
    ("not json", "not a sweetener file (not JSON"),
    ('{"name": "x"}', 'no "offsets" object'),
    ('{"offsets": {"H2": 1.0}}', "not a note name: 'H2'"),
    ('{"offsets": {"E2": 80}}', "E2: 80 is not a number of cents from -50 to 50"),
    ('{"offsets": {"E2": "flat"}}', "E2: 'flat' is not a number of cents"),
    ('[1, 2]', 'no "offsets" object'),
])
def test_a_bad_sweetener_file_is_refused_in_one_line(tmp_path, content, fragment):
    from app.presets import SweetenerError, load_sweetener

    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SweetenerError, match="bad.json: ") as err:
        load_sweetener(path)
    assert fragment in str(err.value) and "\n" not in str(err.value)
