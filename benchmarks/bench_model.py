"""Benchmark of the note model: validation accuracy (float and int8), octave errors, no-note
precision, LiteRT inference time per patch over 1 and 2 threads, and model size.

    python benchmarks/bench_model.py [--model assets/pitchrec.tflite] [--work-dir build]

The validation patches come from `pitchrec-build data` (held-out FluidR3 programs and
synthesizer families, fixed seeds); they are built into --work-dir if missing. The
float figures need the trained Keras model in <work-dir>/train/best.keras.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.model import DEFAULT_MODEL, NoteModel  # noqa: E402
from app.notes import MIDI_MIN  # noqa: E402

REGISTERS = (("B0-D#2", 23, 39), ("E2-B3", 40, 59), ("C4-B5", 60, 83), ("C6-C7", 84, 96))

TARGETS = {  # issue 2
    "note_accuracy_int8": ("≥ 95%", lambda v: v >= 0.95),
    "int8_loss_points": ("≤ 1.0", lambda v: v <= 1.0),
    "latency_ms_1": ("≤ 10 ms", lambda v: v <= 10.0),
    "latency_ms_2": ("≤ 10 ms", lambda v: v <= 10.0),
    "size_mb": ("≤ 8 MB", lambda v: v <= 8.0),
}


def time_inference(path: Path, threads: int, patches: np.ndarray, repeats: int) -> float:
    model = NoteModel(path, num_threads=threads)
    for p in patches[:10]:
        model.probabilities(p)
    times = []
    for i in range(repeats):
        p = patches[i % len(patches)]
        t0 = time.perf_counter()
        model.probabilities(p)
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--work-dir", type=Path, default=ROOT / "build")
    parser.add_argument("--repeats", type=int, default=300, help="timed inferences per thread count")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from model_build.evaluate import metrics, predict_keras, predict_tflite
    from model_build.train import load_validation

    data_dir = args.work_dir / "data"
    if not (data_dir / "validation.npz").exists():
        subprocess.run([sys.executable, "-m", "model_build.cli", "data", "--work-dir", str(args.work_dir)], check=True, cwd=ROOT)
    x, y = load_validation(data_dir)

    results: dict[str, float] = {}
    y_int8 = predict_tflite(args.model, x)
    int8 = metrics(y, y_int8)
    keras_path = args.work_dir / "train" / "best.keras"
    flt = None
    if keras_path.exists():
        import keras

        flt = metrics(y, predict_keras(keras.models.load_model(keras_path), x))
    results["note_accuracy_int8"] = int8["note_accuracy"]
    results["octave_errors_int8"] = int8["octave_error_rate"]
    results["no_note_precision_int8"] = int8["no_note_precision"]
    results["false_note_rate_int8"] = int8["false_note_rate"]
    if flt:
        results["note_accuracy_float"] = flt["note_accuracy"]
        results["octave_errors_float"] = flt["octave_error_rate"]
        results["no_note_precision_float"] = flt["no_note_precision"]
        results["int8_loss_points"] = 100.0 * (flt["note_accuracy"] - int8["note_accuracy"])
    for threads in (1, 2):
        results[f"latency_ms_{threads}"] = time_inference(args.model, threads, x, args.repeats)
    results["size_mb"] = args.model.stat().st_size / 1e6

    pct = lambda v: f"{100 * v:.2f}%"  # noqa: E731
    rows = [
        ("validation note accuracy, float", "note_accuracy_float", pct),
        ("validation note accuracy, int8", "note_accuracy_int8", pct),
        ("int8 loss (points)", "int8_loss_points", lambda v: f"{v:+.2f}"),
        ("octave errors, float", "octave_errors_float", pct),
        ("octave errors, int8", "octave_errors_int8", pct),
        ("no-note precision, float", "no_note_precision_float", pct),
        ("no-note precision, int8", "no_note_precision_int8", pct),
        ("false notes on no-note patches, int8", "false_note_rate_int8", pct),
        ("inference per patch, 1 thread (median)", "latency_ms_1", lambda v: f"{v:.2f} ms"),
        ("inference per patch, 2 threads (median)", "latency_ms_2", lambda v: f"{v:.2f} ms"),
        ("model size", "size_mb", lambda v: f"{v:.2f} MB"),
    ]
    print(f"\nPitchrec model benchmark: {args.model.name}, {len(y)} validation patches "
          f"({int((y != y.max()).sum())} notes), {platform.processor() or platform.machine()}, {os.cpu_count()} cores\n")
    print("| metric | value | target | met |")
    print("|---|---|---|---|")
    for label, key, fmt in rows:
        value = results.get(key)
        target, check = TARGETS.get(key, ("", None))
        met = "" if check is None or value is None else ("yes" if check(value) else "NO")
        print(f"| {label} | {'n/a' if value is None else fmt(value)} | {target} | {met} |")
    print("\nint8 note accuracy by register (validation):\n")
    print("| register | patches | note accuracy | octave errors |")
    print("|---|---|---|---|")
    for name, lo, hi in REGISTERS:
        mask = (y >= lo - MIDI_MIN) & (y <= hi - MIDI_MIN)
        if mask.any():
            m = metrics(y[mask], y_int8[mask])
            results[f"note_accuracy_int8_{name}"] = m["note_accuracy"]
            print(f"| {name} | {int(mask.sum())} | {pct(m['note_accuracy'])} | {pct(m['octave_error_rate'])} |")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
