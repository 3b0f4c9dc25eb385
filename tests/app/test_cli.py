"""pitchrec's console commands: results on good files, one-line errors on bad ones."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile

from app.model import DEFAULT_MODEL, metadata_path


def run(*args):
    return subprocess.run([sys.executable, "-m", "app.cli", *map(str, args)], capture_output=True, text=True, timeout=120)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_info_shows_model_and_metrics():
    result = run("info")
    assert result.returncode == 0, result.stderr
    assert str(DEFAULT_MODEL) in result.stdout and "note accuracy" in result.stdout


def test_classify_names_a_tone_at_44k_stereo(tmp_path):
    rate = 44100
    t = np.arange(int(1.5 * rate)) / rate
    f0 = 220.0  # A3
    mono = sum(0.5 / k * np.sin(2 * np.pi * k * f0 * t) for k in range(1, 12))
    path = tmp_path / "a3.wav"
    soundfile.write(path, np.stack([mono, mono], axis=1) * 0.5, rate, subtype="PCM_16")
    result = run("classify", path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split()[2] == "A3"


@pytest.mark.parametrize(
    "name, content, fragment",
    [
        ("missing.wav", None, "no such file"),
        ("empty.wav", b"", "not readable audio"),
        ("text.wav", b"this is not audio at all" * 10, "not readable audio"),
        ("truncated.wav", b"RIFF\x24\x00\x00\x00WAVEfmt ", "not readable audio"),
    ],
)
def test_classify_bad_files(tmp_path, name, content, fragment):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    assert_one_line_error(run("classify", path), fragment)


def test_classify_zero_length_wav(tmp_path):
    path = tmp_path / "zero.wav"
    soundfile.write(path, np.zeros(0), 16000)
    assert_one_line_error(run("classify", path), "no samples")


def test_classify_nan_samples(tmp_path):
    path = tmp_path / "nan.wav"
    soundfile.write(path, np.full(16000, np.nan, dtype=np.float32), 16000, subtype="FLOAT")
    assert_one_line_error(run("classify", path), "NaN")


def test_bad_model_is_one_line(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 100)
    metadata_path(bad).write_text(metadata_path(DEFAULT_MODEL).read_text())
    assert_one_line_error(run("--model", bad, "info"), "not a loadable TFLite model")
    assert_one_line_error(run("--model", tmp_path / "none.tflite", "info"), "not found")


def test_metadata_is_what_info_reports():
    meta = json.loads(metadata_path(DEFAULT_MODEL).read_text())
    assert meta["version"] in run("info").stdout


def write_tone(path, midi_seq, rate=44100, seconds=1.0):
    from app.notes import midi_to_hz

    t = np.arange(int(seconds * rate)) / rate
    parts = [sum(0.4 / k * np.sin(2 * np.pi * k * midi_to_hz(m) * t) for k in range(1, 8)) for m in midi_seq]
    soundfile.write(path, np.concatenate(parts) * 0.4, rate)


@pytest.mark.parametrize("hop_options, hop_s", [([], 0.02), (["--hop-ms", "50"], 0.05)])
def test_analyze_json_lines_schema(tmp_path, hop_options, hop_s):
    path = tmp_path / "a3.wav"
    write_tone(path, [57], seconds=1.5)
    result = run("analyze", path, "--json", *hop_options)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == round(1.5 / hop_s)
    for row in rows:
        # The fields are a contract: "stable" came with the fast path (a provisional note is false), "target_hz" and
        # "degree" with tunings; none renamed.
        assert set(row) == {"t_s", "note", "midi", "cents", "f0_hz", "confidence", "stable", "target_hz", "degree"}
        assert 0.0 <= row["confidence"] <= 1.0
        assert row["stable"] is None if row["note"] is None else isinstance(row["stable"], bool)
    assert [r["t_s"] for r in rows[:3]] == pytest.approx([hop_s, 2 * hop_s, 3 * hop_s])
    last = rows[-1]
    assert (last["note"], last["midi"], last["stable"]) == ("A3", 57, True)
    assert abs(last["cents"]) < 1.0 and last["f0_hz"] == pytest.approx(220.0, rel=1e-3)


def test_analyze_summary_lists_the_notes(tmp_path):
    path = tmp_path / "seq.flac"
    write_tone(path, [57, 64, 69], seconds=1.0)
    result = run("analyze", path)
    assert result.returncode == 0, result.stderr
    named = [line.split()[4] for line in result.stdout.splitlines()[1:]]
    assert named == ["A3", "E4", "A4"]


def write_strum(path, cents, rate=44100, seconds=1.5, channels=1):
    """A strum (MIDI -> cents) of synthesized strings, tests/app/test_strum.py's."""
    from tests.app.test_strum import strum

    mono = strum(cents, seconds=seconds, rate=rate)
    soundfile.write(path, np.stack([mono] * channels, axis=1) if channels > 1 else mono, rate)


@pytest.mark.parametrize("strings", [["--strings", "E2,A2,D3,G3,B3,E4"], ["--preset", "Guitar: standard"]])
def test_analyze_strum_json_has_one_object_per_hop_and_a_row_per_string(tmp_path, strings):
    path = tmp_path / "strum.wav"
    write_strum(path, {40: -3.0, 45: 0.0, 50: 4.0, 55: 0.0, 59: -20.0, 64: 0.0}, channels=2)
    result = run("analyze", path, "--json", *strings)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == round(1.5 / 0.05)
    for row in rows:  # the contract
        assert set(row) == {"t_s", "mode", "strings", "held"} and row["mode"] in ("strum", "single", None)
        assert row["held"] is False  # one strum from silence: nothing to hold
        assert [s["target"] for s in row["strings"]] == ["E2", "A2", "D3", "G3", "B3", "E4"]
        assert [s["midi"] for s in row["strings"]] == [40, 45, 50, 55, 59, 64]
        for s in row["strings"]:
            assert set(s) == {"target", "midi", "cents", "f0_hz", "sounding", "resolved"}  # the issue's, and resolved
            assert (s["cents"] is None) == (s["f0_hz"] is None) == (not s["sounding"])
    last = rows[-1]
    assert last["mode"] == "strum"
    assert [s["cents"] for s in last["strings"][:4]] == pytest.approx([-3.0, 0.0, 4.0, 0.0], abs=0.3)


def test_analyze_strum_summary_gives_each_string(tmp_path):
    path = tmp_path / "strum.flac"
    write_strum(path, {40: 0.0, 45: 12.0})
    result = run("analyze", path, "--strings", "E2 A2 D3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "strings E2 A2 D3" in lines[0]
    assert lines[2].split()[:2] == ["A2", "+12.0"] and "not heard" in lines[3]


def test_analyze_strum_summary_says_a_string_not_told_apart_is_not_unheard(tmp_path):
    # E4 in tune sits on A2's third partial: it may be sounding, so it is not "not heard".
    path = tmp_path / "strum.flac"
    write_strum(path, {45: 0.0, 50: 0.0})
    result = run("analyze", path, "--strings", "A2 D3 E4")
    assert result.returncode == 0, result.stderr
    e4 = result.stdout.splitlines()[3]
    assert e4.split()[0] == "E4" and "not told apart" in e4 and "not heard" not in e4


@pytest.mark.parametrize("options, fragment", [
    (["--strings", "E2,Q2"], "not a note name: 'Q2'"),
    (["--strings", ""], "no strings given"),
    (["--strings", "E2,,A2"], "an empty string name between commas"),
    (["--strings", "E2,E2"], "E2 is given twice"),
    (["--preset", "Banjo"], "no preset 'Banjo'"),
    (["--preset", "Chromatic"], "has no strings"),
    (["--preset", "Ukulele", "--strings", "G4,C4"], "choose one"),
    (["--strings", "E2,A2", "--scl", "{scl}", "--kbm", "{kbm}"], "string E2 has no key in the tuning's keyboard"),
])
def test_analyze_strum_refuses_bad_strings_in_one_line(tmp_path, options, fragment):
    path = tmp_path / "strum.wav"
    write_strum(path, {40: 0.0}, seconds=0.5)
    # A 12-tone scale mapped from C3 (MIDI 48) up: E2 and A2 have no key.
    (tmp_path / "12.scl").write_text("12-et\n12\n" + "".join(f"{100.0 * k:.1f}\n" for k in range(1, 13)))
    (tmp_path / "from48.kbm").write_text("12\n48\n127\n60\n69\n440.0\n12\n" + "".join(f"{k}\n" for k in range(12)))
    options = [o.format(scl=tmp_path / "12.scl", kbm=tmp_path / "from48.kbm") for o in options]
    assert_one_line_error(run("analyze", path, "--json", *options), fragment)


@pytest.mark.parametrize("option, fragment", [(["--a4", "400"], "reference A4"), (["--hop-ms", "0.1"], "hop")])
def test_analyze_bad_settings(tmp_path, option, fragment):
    path = tmp_path / "a.wav"
    write_tone(path, [57], seconds=0.2)
    assert_one_line_error(run("analyze", path, *option), fragment)


def write_hz(path, f0_hz, rate=44100, seconds=1.0):
    t = np.arange(int(seconds * rate)) / rate
    soundfile.write(path, sum(0.4 / k * np.sin(2 * np.pi * k * f0_hz * t) for k in range(1, 8)) * 0.4, rate)


def test_analyze_reads_cents_from_the_tempered_target(tmp_path):
    """A just major third above C4: E4 at 0 cents in just intonation on C (the JSON's target_hz is the third), -13.7
    in equal temperament; on a root of E it is the root, at its equal-tempered pitch."""
    from app.notes import midi_to_hz

    path = tmp_path / "third.wav"
    e4 = midi_to_hz(60) * 5 / 4
    write_hz(path, e4)

    def last(*options):
        result = run("analyze", path, "--json", *options)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.splitlines()[-1])

    just, equal, on_e = last("--temperament", "just", "--root", "C"), last(), last("--temperament", "just", "--root", "E")
    assert just["note"] == equal["note"] == "E4"
    assert abs(just["cents"]) <= 0.2 and just["target_hz"] == pytest.approx(e4, abs=0.002)
    assert equal["cents"] == pytest.approx(-13.7, abs=0.2) and equal["target_hz"] == pytest.approx(midi_to_hz(64), abs=0.002)
    assert on_e["cents"] == pytest.approx(-13.7, abs=0.2)
    summary = run("analyze", path, "--temperament", "meantone", "--root", "C")
    assert "meantone on C" in summary.stdout.splitlines()[0]
    assert float(summary.stdout.splitlines()[1].split()[5]) == pytest.approx(0.0, abs=0.2)  # meantone's E is pure


def test_analyze_names_the_degrees_of_a_scala_scale(tmp_path):
    from app.notes import midi_to_hz

    scl = tmp_path / "31-edo.scl"
    scl.write_text("! 31-edo.scl\n31 equal divisions of the octave\n 31\n!\n"
                   + "".join(f" {1200 * k / 31:.6f}\n" for k in range(1, 32)))
    path = tmp_path / "d.wav"
    write_hz(path, midi_to_hz(60) * 2 ** (5 * 1200 / 31 / 1200))  # degree 5 of 31 above C4
    row = json.loads(run("analyze", path, "--json", "--scl", scl).stdout.splitlines()[-1])
    assert row["degree"] == "5/31 o4" and abs(row["cents"]) <= 0.2 and row["note"] == "D4"


def test_the_temperaments_are_listed():
    from app.tuning import TEMPERAMENTS

    result = run("temperaments")
    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.splitlines() if line.startswith("  ") and not line.startswith("   ")]
    assert listed == list(TEMPERAMENTS) and "A moves" in result.stdout.replace("\n", " ")


@pytest.mark.parametrize("content, options, fragments", [
    ("bad\n2\n5/4\nfoo\n", ["--scl"], ["bad.scl: line 4:", "'foo'"]),
    ("bad\n2\n-5/4\n2/1\n", ["--scl"], ["bad.scl: line 3: the ratio -5/4 is not positive"]),
    (None, ["--kbm"], ["--kbm maps the keys of a Scala scale: give the scale with --scl"]),
    (None, ["--root", "H", "--temperament", "just"], ["not a root note: 'H'"]),
])
def test_a_bad_tuning_is_one_line(tmp_path, content, options, fragments):
    path = tmp_path / "a.wav"
    write_tone(path, [57], seconds=0.2)
    scl = tmp_path / "bad.scl"
    if content is not None:
        scl.write_text(content)
    args = [*options, scl] if options[-1] in ("--scl", "--kbm") else options
    assert_one_line_error(run("analyze", path, *args), *fragments)


def test_output_cut_short_by_its_reader_is_no_traceback(tmp_path):
    path = tmp_path / "long.wav"
    write_tone(path, [57, 64, 69, 57, 64, 69], seconds=1.0)
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "analyze", str(path), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0
    assert b"Traceback" not in err and b"BrokenPipe" not in err


def test_listen_with_strings_reads_a_tone_as_one_string():
    # A synthesized A2 alone: strum tuning hears one string, so the usual single-note line stays.
    result = run("listen", "--device", "tone:110", "--preset", "Guitar: standard", "--lines", "--seconds", "1.5")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "strum tuning E2 A2 D3 G3 B3 E4" in lines[0]
    assert "'?' not told from the others' partials" in lines[1]  # what the strum line's marks say
    assert any(line.startswith("A2") for line in lines[1:])
    assert not any(line.startswith("strum") for line in lines)


def test_strum_line_shows_every_string_and_which_are_silent():
    from app.cli import strum_line
    from app.strum import StringReading, StrumResult

    strum = StrumResult(1.0, "strum", (StringReading("E2", 40, -3.24, 82.2, True),
                                       StringReading("A2", 45, None, None, False),
                                       StringReading("D3", 50, 1.5, 147.0, True),
                                       StringReading("Bb1", 34, -12.34, 57.9, True),
                                       StringReading("G3", 55, -0.04, 196.0, True)))
    assert strum_line(strum).split() == ["strum", "E2", "-3.2", "A2", "--", "=D3", "+1.5", "Bb1", "-12.3", "=G3",
                                         "+0.0"]


def test_listen_refuses_strings_the_tuning_cannot_place_in_one_line(tmp_path):
    (tmp_path / "12.scl").write_text("12-et\n12\n" + "".join(f"{100.0 * k:.1f}\n" for k in range(1, 13)))
    (tmp_path / "from48.kbm").write_text("12\n48\n127\n60\n69\n440.0\n12\n" + "".join(f"{k}\n" for k in range(12)))
    result = run("listen", "--device", "tone:110", "--strings", "E2,A2", "--scl", tmp_path / "12.scl", "--kbm",
                 tmp_path / "from48.kbm", "--seconds", "0.5")
    assert_one_line_error(result, "string E2 has no key in the tuning's keyboard mapping")


def test_the_app_keeps_numpys_linear_algebra_to_one_thread():
    # Strum tuning's fits are small: a second OpenBLAS thread only spins on them (twice the CPU, the same wall time).
    code = ("import sys, threadpoolctl; from app.cli import main\n"
            "def blas():\n"
            "    return [i['num_threads'] for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']\n"
            "print(*blas()); sys.argv = ['pitchrec', 'temperaments']; main(); print(*blas())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    before, after = result.stdout.splitlines()[0], result.stdout.splitlines()[-1]
    if not before.split() or max(map(int, before.split())) == 1:
        pytest.skip(f"NumPy's linear algebra has one thread here already (or none threadpoolctl sees): {before!r}")
    assert after.split() and max(map(int, after.split())) == 1


def test_listen_stops_on_ctrl_c_even_if_closing_the_input_hangs():
    # Closing is bounded; were it not (a bug), Ctrl-C must still stop listen, saying where it hung. The child waits
    # 2 s for it, not the app's 10.
    code = ("import time, app.live, app.cli; app.live.LiveSession.close = lambda self, *a, **k: time.sleep(600); "
            "app.cli.STOP_WITHIN_S = 2.0; app.cli.main(['listen', '--device', 'tone:440', '--lines'])")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert "listening on" in proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1  # faulthandler's exit
    assert "Timeout (0:00:02)!" in err and "in <lambda>" in err  # the watchdog's dump, the hung call in it


def test_listen_redraws_its_line_within_the_terminals_width():
    # A redrawn line as wide as the terminal wraps, and every redraw then scrolls a line of its own (80 columns).
    env = {**os.environ, "COLUMNS": "60"}
    result = subprocess.run([sys.executable, "-m", "app.cli", "listen", "--device", "tone:110", "--preset",
                             "Guitar: standard", "--seconds", "1.0"], capture_output=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    redraws = result.stdout.decode().split("\n")[-2].split("\r")[1:]  # (as text, each "\r" would read as a newline)
    assert redraws and all(len(r) == 59 for r in redraws), [len(r) for r in redraws]
    assert any(r.strip().startswith("A2") for r in redraws)


def test_listen_on_a_device_that_is_not_there_says_so_in_one_line_and_nothing_else():
    result = run("listen", "--device", "no such microphone", "--seconds", "0.5")
    assert_one_line_error(result)
    assert result.stdout == ""  # not a stray empty line before the error
