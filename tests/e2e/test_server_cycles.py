"""The sound server dying and coming back, again and again, on a loaded machine (issue 25): the window and listen
say the input is lost (or show no note) within 2 s of each death, the window's GUI thread never freezes, and the
note returns within 5 s of each restart. Two busy loops load both cores the whole time. Half the deaths are a
SIGKILL, half a clean exit.

What the apps show is read from their own output (listen's lines; the window's --state-log, which also writes a
line every 100 ms as a heartbeat of its GUI thread), never from pixels.
"""

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from . import Pulse
from .test_real_audio import Lines, start_window

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not (shutil.which("pulseaudio") and shutil.which("paplay")),
                                                  reason="pulseaudio and paplay not installed")]
CYCLES = 20
LOST_S, BACK_S = 2.0, 5.0
# A frozen GUI thread (issue 25: it waited on PortAudio for good) stops the heartbeat for longer than the window has
# to say the input is lost. The longest gap on a busy machine (0.16 to 0.28 s measured, both cores loaded) is the
# machine's speed: printed, not tested.
FROZEN_S = LOST_S


@pytest.fixture
def busy():
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    yield
    for p in loops:
        p.kill()
        p.wait()


def tone_wav(path: Path, seconds: float = 8.0, f_hz: float = 440.0, rate: int = 44100) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (0.25 * sum(np.sin(2 * np.pi * k * f_hz * t) / k for k in range(1, 5))).astype(np.float32), rate)
    return path


def wait_until(condition, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = condition()
        if found is not None:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout_s} s")


def states(log: Path) -> list[dict]:
    """What the window has logged so far (a line still being written is left for the next read)."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.endswith("}")]


def stop_window(app: subprocess.Popen, log: Path) -> None:
    """The window and xvfb-run around it: both have the log's path on their command line."""
    subprocess.run(["pkill", "-TERM", "-f", str(log)])
    app.communicate(timeout=30)


def cycles(pulse: Pulse, wav: Path, note_after, silent_after) -> list[tuple[float, float]]:
    """Play, wait for the note, kill the server, wait for the app to notice, restart it; CYCLES times. note_after(t)
    and silent_after(t): the time the app first showed the note / showed it lost (or no note) after t, or None.
    Returns (seconds to notice each death, seconds to the note after each restart)."""
    out = []
    for cycle in range(CYCLES):
        started = time.monotonic()
        player = pulse.play(wav)
        back = wait_until(lambda: note_after(started), BACK_S + (10.0 if cycle == 0 else 0.0),
                          f"cycle {cycle}: the note after the server started") - started
        died = time.monotonic()
        pulse.die(hard=cycle % 2 == 0)
        player.wait(10)
        lost = wait_until(lambda: silent_after(died), LOST_S + 1.0, f"cycle {cycle}: input lost or no note") - died
        out.append((lost, back))
        pulse.start()
    return out


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="xvfb not installed")
def test_the_window_survives_the_sound_server_dying_twenty_times_under_load(pulse, tmp_path, busy):
    wav = tone_wav(tmp_path / "a4.wav")
    log = tmp_path / "state.jsonl"
    app = start_window(pulse, log, 600)

    def note_after(t):
        return next((s["t"] for s in states(log) if s["t"] > t and s["note"] == "A4"), None)

    def silent_after(t):
        return next((s["t"] for s in states(log) if s["t"] > t and ("input lost" in s["input"] or s["note"] == "–")),
                    None)

    try:
        timings = cycles(pulse, wav, note_after, silent_after)
        beats = np.diff([s["t"] for s in states(log)])
    finally:
        stop_window(app, log)
    lost, back = np.array(timings).T
    print(f"noticed a death in {lost.max():.2f} s at most, note back in {back[1:].max():.2f} s at most, "
          f"longest GUI heartbeat gap {beats.max():.3f} s")
    assert lost.max() <= LOST_S and back[1:].max() <= BACK_S
    assert beats.max() < FROZEN_S, np.sort(beats)[-5:]


def test_listen_survives_the_sound_server_dying_twenty_times_under_load(pulse, tmp_path, busy):
    wav = tone_wav(tmp_path / "a4.wav")
    app = Lines([sys.executable, "-m", "app.cli", "-v", "listen", "--device", "pulse", "--lines"], pulse.env)
    app.wait_for("listening on", 30)

    def note_after(t):
        return next((s for s, line in list(app.lines) if s > t and line.startswith("A4")), None)

    def silent_after(t):
        return next((s for s, line in list(app.lines) if s > t and line.startswith(("input lost", "--"))), None)

    try:
        timings = cycles(pulse, wav, note_after, silent_after)
    finally:
        app.proc.send_signal(signal.SIGINT)
        app.proc.wait(30)
    lost, back = np.array(timings).T
    print(f"noticed a death in {lost.max():.2f} s at most, note back in {back[1:].max():.2f} s at most")
    assert lost.max() <= LOST_S and back[1:].max() <= BACK_S
    # PortAudio's complaints about the dead server reach the log (-v shows it), never the terminal bare
    assert not [line for _, line in app.lines if line.startswith("Expression '")]
    assert [line for _, line in app.lines if line.startswith("pitchrec.audio: PortAudio: Expression '")]


@pytest.mark.skipif(not shutil.which("xvfb-run"), reason="xvfb not installed")
def test_a_window_started_before_the_sound_server_connects_once_it_starts(tmp_path):
    pulse = Pulse(tmp_path / "xdg")  # not started yet
    wav = tone_wav(tmp_path / "a4.wav")
    log = tmp_path / "state.jsonl"
    app = start_window(pulse, log, 120)

    try:
        wait_until(lambda: True if any("no input" in s["input"] for s in states(log)) else None, 10.0,
                   "the window saying it has no input")
        pulse.start()
        started = time.monotonic()
        player = pulse.play(wav)
        wait_until(lambda: next((s["t"] for s in states(log) if s["t"] > started and s["note"] == "A4"), None), 10.0,
                   "the note once the server started")
        player.wait(15)
    finally:
        stop_window(app, log)
        pulse.stop()
