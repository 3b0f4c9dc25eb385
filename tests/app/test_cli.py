"""pitchrec's console commands: results on good files, one-line errors on bad ones."""

import json
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
        # The fields are a contract: "stable" came with the fast path (a provisional note is false); none renamed.
        assert set(row) == {"t_s", "note", "midi", "cents", "f0_hz", "confidence", "stable"}
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


@pytest.mark.parametrize("option, fragment", [(["--a4", "400"], "reference A4"), (["--hop-ms", "0.1"], "hop")])
def test_analyze_bad_settings(tmp_path, option, fragment):
    path = tmp_path / "a.wav"
    write_tone(path, [57], seconds=0.2)
    assert_one_line_error(run("analyze", path, *option), fragment)


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
