"""End-to-end tests: the real app under Xvfb and PulseAudio."""

import random


def xvfb_run(screen: str) -> list[str]:
    """`xvfb-run` on a free display, searched from a random number rather than from 99 each time. xvfb-run does not
    wait for its server to exit, so the display the test before just freed may still be shutting down: on a loaded
    machine the app once "could not connect to display :99" right after another test's server there had stopped."""
    return ["xvfb-run", "-n", str(random.randint(100, 899)), "-a", "-s", f"-screen 0 {screen}"]
