"""End to end with real parts: PulseAudio with a null sink, Xvfb, the real app reading the sink's monitor,
and a known note sequence played into the sink with paplay. The app's shown notes are read from its
own output (pitchrec listen's lines, the window's --state-log), never from pixels.

Needs the Debian packages the Makefile installs (pulseaudio, pulseaudio-utils, libasound2-plugins,
xvfb, xauth); skipped where they are missing.
"""

import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.notes import midi_from_name, midi_to_hz

from . import Pulse, xvfb_run

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not (shutil.which("pulseaudio") and shutil.which("paplay")),
                                                  reason="pulseaudio and paplay not installed")]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "build" / "artifacts"
SEQUENCE = ("A3", "C4", "E4", "A4")
NOTE_S, GAP_S, LEAD_S = 1.2, 0.3, 0.5


def sequence_wav(path: Path, rate: int = 44100) -> list[float]:
    """The notes of SEQUENCE as plucked harmonic tones; returns each note's onset in seconds."""
    t = np.arange(int(NOTE_S * rate)) / rate
    parts, onsets, at = [np.zeros(int(LEAD_S * rate))], [], LEAD_S
    for name in SEQUENCE:
        f = midi_to_hz(midi_from_name(name))
        note = sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 7)) * np.exp(-t / 1.5) * 0.25
        parts += [note, np.zeros(int(GAP_S * rate))]
        onsets.append(at)
        at += NOTE_S + GAP_S
    sf.write(path, np.concatenate(parts).astype(np.float32), rate)
    return onsets


class Lines:
    """A subprocess's stdout, each line stamped with time.monotonic() on arrival."""

    def __init__(self, cmd, env):
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        self.lines: list[tuple[float, str]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, text: str, timeout: float) -> float:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, line in self.lines:
                if text in line:
                    return t
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not seen in {timeout} s; last lines: {[l for _, l in self.lines[-8:]]}")


def runs(stamped: list[tuple[float, str | None]], min_len: int = 3) -> list[tuple[float, str]]:
    """(first time, note) of each run of the same note at least min_len results long."""
    out, i = [], 0
    while i < len(stamped):
        j = i
        while j < len(stamped) and stamped[j][1] == stamped[i][1]:
            j += 1
        if stamped[i][1] and j - i >= min_len:
            out.append((stamped[i][0], stamped[i][1]))
        i = j
    return out


def _level(line: str) -> float:
    """The dBFS level printed on a `pitchrec listen --lines` line (-inf if none)."""
    parts = line.split()
    for i, p in enumerate(parts[1:], start=1):
        if p == "dBFS":
            try:
                return float(parts[i - 1])
            except ValueError:
                return float("-inf")
    return float("-inf")


def check_sequence(seen: list[tuple[float, str]], played_at: float, onsets: list[float]) -> None:
    notes = [n for _, n in seen]
    order = [n for n in notes if n in SEQUENCE]
    collapsed = [n for k, n in enumerate(order) if k == 0 or order[k - 1] != n]
    assert collapsed == list(SEQUENCE), notes
    for name, onset in zip(SEQUENCE, onsets):
        first = next(t for t, n in seen if n == name)
        # Generous: paplay's start-up and PulseAudio's buffering come on top of the app's own latency.
        assert first - (played_at + onset) < 1.0, (name, first - (played_at + onset))


def start_window(pulse: Pulse, log: Path, seconds: float, *extra: str) -> subprocess.Popen:
    """The real window under Xvfb on the sink's monitor, logging what it shows; returns once it shows something."""
    env = {**pulse.env, "QT_QPA_PLATFORM": "xcb"}
    cmd = [*xvfb_run("1400x900x24"), sys.executable, "-m", "app.cli", "gui", "--device", "pulse",
           "--seconds", str(seconds), "--state-log", str(log), *extra]
    app = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while not (log.exists() and log.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert log.exists(), app.stdout.read() if app.poll() is not None else "no state log"
    return app


def window_states(app: subprocess.Popen, log: Path) -> list[dict]:
    """Wait for the window started by start_window to quit by itself (cleanly), then read what it logged."""
    out, _ = app.communicate(timeout=40)
    assert app.returncode == 0, out
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_listen_shows_a_played_sequence_in_order(pulse, tmp_path):
    onsets = sequence_wav(tmp_path / "seq.wav")
    app = Lines([sys.executable, "-m", "app.cli", "listen", "--device", "pulse", "--lines", "--seconds", "10"], pulse.env)
    app.wait_for("listening on", 20)
    time.sleep(1.0)
    played_at = time.monotonic()
    pulse.play(tmp_path / "seq.wav").wait(15)
    app.proc.wait(20)
    stamped = [(t, line.split()[0] if line and not line.startswith(("--", "input", "listening")) else None) for t, line in app.lines]
    seen = runs(stamped)
    check_sequence(seen, played_at, onsets)
    # Latency against the moment the sound reached the app (its level first over the gate), which takes
    # paplay's and PulseAudio's own delays out: issue 3's target is a median of 150 ms from E2 up; the
    # arrival is known to one 50 ms hop. On a real clock it is also the machine's speed: printed as a figure
    # (bench_live measures it; tests/app/test_engine.py shows a clear note at its onset, in hops of audio);
    # check_sequence fails a note not shown within 1 s.
    arrival = next(t for t, line in app.lines if t >= played_at and _level(line) > -60.0)
    latencies = [next(t for t, n in seen if n == name) - (arrival + onset - onsets[0]) for name, onset in zip(SEQUENCE, onsets)]
    print("latencies", [round(v, 3) for v in latencies])


def test_listen_survives_the_sound_server_going_and_coming_back(pulse, tmp_path):
    sequence_wav(tmp_path / "seq.wav")
    app = Lines([sys.executable, "-m", "app.cli", "listen", "--device", "pulse", "--lines", "--seconds", "22"], pulse.env)
    app.wait_for("listening on", 20)
    time.sleep(0.5)
    pulse.stop()
    lost = app.wait_for("input lost", 6)
    time.sleep(1.0)
    pulse.start()
    time.sleep(3.0)
    back_at = time.monotonic()
    pulse.play(tmp_path / "seq.wav").wait(15)
    app.proc.wait(30)
    assert app.proc.returncode == 0
    after = [(t, line.split()[0]) for t, line in app.lines if t > back_at and line and line[0] in "ABCDEFG"]
    assert {n for _, n in runs(after)} >= set(SEQUENCE), [l for _, l in app.lines[-10:]]
    assert lost < back_at


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="xvfb not installed")
def test_window_under_xvfb_shows_a_played_sequence(pulse, tmp_path):
    onsets = sequence_wav(tmp_path / "seq.wav")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    log = tmp_path / "state.jsonl"
    app = start_window(pulse, log, 12, "--screenshot", str(ARTIFACTS / "e2e-window.png"))
    time.sleep(1.0)
    played_at = time.monotonic()
    pulse.play(tmp_path / "seq.wav").wait(15)
    states = window_states(app, log)
    # The window logs changes only, so a run is one entry: take every shown note.
    seen = [(s["t"], s["note"].replace("♯", "#")) for s in states if s["note"] not in ("–", "")]
    check_sequence(seen, played_at, onsets)
    assert (ARTIFACTS / "e2e-window.png").stat().st_size > 10_000
    # Latency from the sound's arrival (level over the gate), as for listen; the window's text updates every
    # 150 ms, which comes on top of the analysis's own latency. How long that takes on this machine is its speed: a
    # figure (bench_live measures the latency itself), not tested; check_sequence fails a note not shown within 1 s.
    arrival = next(s["t"] for s in states if s["t"] >= played_at and (s.get("level_dbfs") or -200) > -60.0)
    latencies = [next(t for t, n in seen if n == name) - (arrival + onset - onsets[0]) for name, onset in zip(SEQUENCE, onsets)]
    print("latencies", [round(v, 3) for v in latencies])


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="xvfb not installed")
def test_window_shows_input_lost_and_resumes_when_the_sound_server_returns(pulse, tmp_path):
    sequence_wav(tmp_path / "seq.wav")
    log = tmp_path / "state.jsonl"
    app = start_window(pulse, log, 20)
    time.sleep(1.0)
    pulse.stop()
    deadline = time.monotonic() + 8
    while "input lost" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "input lost" in log.read_text()
    pulse.start()
    time.sleep(3.0)
    back_at = time.monotonic()
    pulse.play(tmp_path / "seq.wav").wait(15)
    states = window_states(app, log)
    after = {s["note"].replace("♯", "#") for s in states if s["t"] > back_at}
    assert set(SEQUENCE) <= after, states[-10:]
    assert "input lost" not in states[-1]["input"]


def test_listen_with_strings_shows_a_played_strum_string_by_string(pulse, tmp_path):
    from tests.app.test_strum import strum

    cents = {40: -6.0, 45: 3.0, 50: 0.0, 55: 8.0}
    audio = np.concatenate([np.zeros(int(LEAD_S * 44100), np.float32), strum(cents, seconds=2.5, rate=44100)])
    sf.write(tmp_path / "strum.wav", audio, 44100)
    app = Lines([sys.executable, "-m", "app.cli", "listen", "--device", "pulse", "--lines", "--seconds", "6",
                 "--strings", "E2,A2,D3,G3"], pulse.env)
    app.wait_for("strum tuning E2 A2 D3 G3", 20)
    time.sleep(1.0)
    pulse.play(tmp_path / "strum.wav").wait(15)
    app.proc.wait(20)
    strummed = [line.split() for _, line in app.lines if line.startswith("strum")]
    assert len(strummed) >= 10, [line for _, line in app.lines[-10:]]
    # A settled line: every string read within half a cent of its detune ("=" marks those within 2 cents).
    readings = [[float(v) for v in row[2::2]] for row in strummed if "--" not in row]
    assert any(np.allclose(r, list(cents.values()), atol=0.5) for r in readings), strummed[-5:]
