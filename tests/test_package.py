"""The package as a user installs it (issue 26): a wheel built with `python -m build`, installed (not editable) in a
fresh venv, runs `pitchrec info`, `analyze` and the window from any directory, with the shipped model inside it.
The fresh venv borrows the dependencies already installed here, so nothing is downloaded but the build backend."""

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "assets" / "examples" / "guitar-open-strings.flac"


def run(cmd, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{cmd}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


@pytest.mark.slow
def test_the_wheel_runs_the_app_from_any_directory_with_its_model(tmp_path):
    source = tmp_path / "source"  # what a wheel is built from, apart from the working tree and its build/ folder
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        source.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, source / name)
    for package in ("app", "model_build"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    run([sys.executable, "-m", "build", "--wheel", "--outdir", tmp_path / "dist", source])
    wheel = next((tmp_path / "dist").glob("pitchrec-*.whl"))

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv])
    python = venv / "bin" / "python"
    purelib = Path(run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    (purelib / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # numpy, LiteRT, Qt ... from here
    run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel])

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"QT_QPA_PLATFORM": "offscreen"}
    where = run([python, "-c", "import app.model as m; print(m.__file__); print(m.DEFAULT_MODEL)"], cwd=elsewhere,
                env=env).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where) and Path(where[1]).is_file()  # the installed copy
    pitchrec = venv / "bin" / "pitchrec"
    info = run([pitchrec, "info"], cwd=elsewhere, env=env).stdout
    assert "pitchrec.tflite" in info
    notes = run([pitchrec, "analyze", EXAMPLE], cwd=elsewhere, env=env).stdout
    assert "E2" in notes and "E4" in notes  # the guitar's low and high E strings
    run([pitchrec, "gui", "--device", "tone:440", "--seconds", "2"], cwd=elsewhere, env=env)
