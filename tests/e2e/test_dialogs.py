"""The window's start-up dialog for a bad model, on a real X server (Xvfb), dismissed as a user would.

Offscreen there is nobody to click a dialog, so there the app only prints its one-line error
(tests/app/gui/test_main_window.py); with a screen it must show the dialog first, then exit the same way.
Needs xvfb-run and xdotool (the Makefile's E2E_PACKAGES).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from . import xvfb_run

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not (shutil.which("xvfb-run") and shutil.which("xdotool")),
                                                  reason="xvfb-run and xdotool not installed")]
ROOT = Path(__file__).resolve().parents[2]
TITLE = "Pitchrec: model not loaded"

# Inside the X server: start the app, wait for its dialog, report the dialog's title and size, press Return
# in it, and report the app's exit code.
SCRIPT = r"""
"$PYTHON" -m app.cli --model "$MODEL" gui --device tone:440 2>"$ERR" &
app=$!
for _ in $(seq 300); do
  w=$(xdotool search --name "model not loaded" 2>/dev/null | head -n1)
  [ -n "$w" ] && break
  kill -0 $app 2>/dev/null || break
  sleep 0.1
done
[ -n "$w" ] || { echo "no dialog"; wait $app; echo "exit: $?"; exit 0; }
echo "title: $(xdotool getwindowname "$w")"
echo "geometry: $(xdotool getwindowgeometry "$w" | tail -n1)"
sleep 0.3
xdotool windowfocus --sync "$w" key Return
wait $app
echo "exit: $?"
"""


def mismatched() -> tuple[bytes, str]:
    """The shipped model with metadata claiming another front end (a hop of 20 ms)."""
    from app.model import DEFAULT_MODEL

    meta = json.loads(DEFAULT_MODEL.with_suffix(".json").read_text())
    meta["front_end"]["hop_s"] = 0.02
    return DEFAULT_MODEL.read_bytes(), json.dumps(meta)


@pytest.mark.parametrize("case", ["garbage", "truncated", "empty-no-metadata", "mismatched"])
def test_a_bad_model_shows_a_dialog_then_exits_with_one_line(tmp_path, case):
    content, meta = {"garbage": (b"not a model at all", "{}"), "truncated": (b"TFL3" + bytes(100), "{}"),
                     "empty-no-metadata": (b"", None)}.get(case) or mismatched()
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(content)
    if meta is not None:
        bad.with_suffix(".json").write_text(meta)
    err = tmp_path / "stderr.txt"
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHON": sys.executable, "MODEL": str(bad), "ERR": str(err)}
    proc = subprocess.run([*xvfb_run("1200x800x24"), "bash", "-c", SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    report = dict(line.split(": ", 1) for line in proc.stdout.splitlines() if ": " in line)
    assert report.get("title") == TITLE, proc.stdout + proc.stderr + (err.read_text() if err.exists() else "")
    assert report.get("exit") == "2"  # the dialog was dismissed and the app gave up cleanly
    lines = err.read_text().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pitchrec: ") and "Traceback" not in err.read_text(), lines
