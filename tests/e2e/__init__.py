"""End-to-end tests: the real app under Xvfb and PulseAudio."""

import os
import random
import signal
import subprocess
import time
from pathlib import Path


def xvfb_run(screen: str) -> list[str]:
    """`xvfb-run` on a free display, searched from a random number rather than from 99 each time. xvfb-run does not
    wait for its server to exit, so the display the test before just freed may still be shutting down: on a loaded
    machine the app once "could not connect to display :99" right after another test's server there had stopped."""
    return ["xvfb-run", "-n", str(random.randint(100, 899)), "-a", "-s", f"-screen 0 {screen}"]


class Pulse:
    """A private PulseAudio daemon with a null sink whose monitor is the default source."""

    def __init__(self, runtime: Path):
        self.env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime), "PULSE_RUNTIME_PATH": str(runtime / "pulse")}
        runtime.mkdir(parents=True, exist_ok=True)
        runtime.chmod(0o700)

    def start(self) -> None:
        daemon = ["pulseaudio", "-D", "-n", "--exit-idle-time=-1", "--load=module-native-protocol-unix",
                  "--load=module-null-sink sink_name=vsink"]
        for _ in range(20):  # right after a death, a stale pid file or socket can fail the first tries
            if subprocess.run(daemon, env=self.env, capture_output=True).returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("pulseaudio did not start")
        for _ in range(50):
            if subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        subprocess.run(["pactl", "set-default-sink", "vsink"], env=self.env, check=True)
        subprocess.run(["pactl", "set-default-source", "vsink.monitor"], env=self.env, check=True)

    def stop(self) -> None:
        subprocess.run(["pulseaudio", "-k"], env=self.env, capture_output=True)
        time.sleep(0.3)

    def die(self, hard: bool) -> None:
        """The server goes: SIGKILL (a crash), or its own clean exit; returns once its process is gone."""
        pid = int((Path(self.env["PULSE_RUNTIME_PATH"]) / "pid").read_text().split()[0])
        if hard:
            os.kill(pid, signal.SIGKILL)
        else:
            subprocess.run(["pulseaudio", "-k"], env=self.env, capture_output=True)
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)

    def play(self, wav: Path) -> subprocess.Popen:
        return subprocess.Popen(["paplay", str(wav)], env=self.env)
