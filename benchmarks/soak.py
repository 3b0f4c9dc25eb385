"""Soak: the live pipeline fed for hours of stream time, faster than real time (issue 6).

    python benchmarks/soak.py [--minutes 120] [--threaded-seconds 60]

Part 1 feeds an Analyzer (the code every live hop runs) with a repeating program of
notes, chords, silence, noise and level changes, a hop at a time, for --minutes of
stream time, sampling the process's resident memory every 10 stream minutes.
Part 2 runs the threaded path (input thread -> ring -> AnalysisWorker -> Latest,
plus a display taking the newest result at ~30 fps) with an input writing 8x faster
than real time for --threaded-seconds, and checks that nothing queues up and that
every hop of audio the worker consumed gave one result (counted per hop, not per
second: how much it keeps up with depends on the machine).
Prints a table; the issue-6 target is memory growth ≤ 20 MB over 2 hours.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.audio import ToneInput  # noqa: E402
from app.engine import Analyzer, Settings, one_blas_thread  # noqa: E402
from app.live import LiveSession  # noqa: E402
from app.model import NoteModel  # noqa: E402
from app.notes import NOTE_MAX, NOTE_MIN, midi_to_hz  # noqa: E402

RATE = 48000


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def program(rng: np.random.Generator, seconds: float = 60.0) -> np.ndarray:
    """One minute of varied input: notes over the range, two-note chords, silence, noise, level jumps."""
    out, t_total = [], 0.0
    while t_total < seconds:
        kind = rng.choice(["note", "chord", "silence", "noise"], p=[0.55, 0.15, 0.15, 0.15])
        dur = float(rng.uniform(0.3, 3.0))
        t = np.arange(int(dur * RATE)) / RATE
        if kind in ("note", "chord"):
            midis = [int(m) for m in rng.integers(NOTE_MIN, NOTE_MAX + 1, 2 if kind == "chord" else 1)]
            x = sum(sum(np.sin(2 * np.pi * k * midi_to_hz(m) * t) / k for k in range(1, 6)) for m in midis)
            x = x * np.exp(-t / rng.uniform(0.5, 4.0)) * 10 ** (rng.uniform(-50, -6) / 20) / 2.3
        elif kind == "noise":
            x = rng.standard_normal(len(t)) * 10 ** (rng.uniform(-70, -20) / 20)
        else:
            x = np.zeros(len(t))
        out.append(x.astype(np.float32))
        t_total += dur
    return np.concatenate(out)[: int(seconds * RATE)]


def soak_analyzer(model: NoteModel, minutes: float) -> dict:
    rng = np.random.default_rng(1)
    minute = program(rng)
    analyzer = Analyzer(model, RATE, Settings())
    hop = analyzer.hop_samples
    samples, results, notes = [], 0, 0
    t0 = time.monotonic()
    rss0 = None
    for m in range(int(minutes)):
        for start in range(0, len(minute) - hop + 1, hop):
            r = analyzer.process(minute[start : start + hop])
            results += 1
            notes += r.note is not None
        if m == 0:
            rss0 = rss_mb()  # after the first minute: caches and lazy imports are in
        if (m + 1) % 10 == 0 or m + 1 == int(minutes):
            samples.append((m + 1, rss_mb()))
    wall = time.monotonic() - t0
    return {"minutes": minutes, "results": results, "hops": int(minutes) * (len(minute) // hop), "notes": notes,
            "wall_s": wall, "rss0": rss0, "samples": samples, "speed": minutes * 60 / wall,
            "model_calls": analyzer.model_calls}


def soak_threaded(model: NoteModel, seconds: float, speedup: float = 8.0) -> dict:
    def fast_tone(spec):
        src = ToneInput(220.0, rate_hz=RATE * speedup, block=4800)  # writes 8x more samples per second
        src.rate_hz = RATE * speedup
        return src

    session = LiveSession(model, opener=fast_tone)
    session.open_input("fast")
    t0, version, got = time.monotonic(), 0, 0
    rss_start = None
    while time.monotonic() - t0 < seconds:
        if rss_start is None and time.monotonic() - t0 > min(10.0, seconds / 3):
            rss_start = rss_mb()  # after warm-up: the ring, the analyzer's buffers, the threads' malloc arenas
        version, result = session.results.get(version, timeout=0.5)
        got += result is not None
        time.sleep(0.03)  # a display at ~30 fps
    worker = session.worker
    session.close()  # stops the worker: its counts are final
    analysed = worker.reader.cursor - worker.start_cursor - worker.skipped_samples - worker.lost_samples
    hop = worker.analyzer.hop_samples
    out = {"seconds": seconds, "received": got, "hops_consumed": analysed // hop, "results": worker.hops,
           "skipped_s": worker.skipped_samples / (RATE * speedup),
           "lost_s": worker.lost_samples / (RATE * speedup), "rss_growth": rss_mb() - rss_start,
           "worker_cpu_share": worker.cpu_s / seconds}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=120.0, help="stream minutes through the Analyzer")
    parser.add_argument("--threaded-seconds", type=float, default=60.0)
    args = parser.parse_args()
    one_blas_thread()  # as the app runs
    model = NoteModel()
    a = soak_analyzer(model, args.minutes)
    growth = max(mb for _, mb in a["samples"]) - a["rss0"]
    th = soak_threaded(model, args.threaded_seconds)
    print(f"\nPitchrec soak: {args.minutes:g} min of stream time through the Analyzer "
          f"({a['speed']:.0f}x real time), then {args.threaded_seconds:g} s of the threaded path at 8x\n")
    print("| metric | value | target | met |")
    print("|---|---|---|---|")
    print(f"| results (one per {Settings().hop_s * 1000:g} ms hop) | {a['results']:,} of {a['hops']:,} | all | "
          f"{'yes' if a['results'] == a['hops'] else 'NO'} |")
    print(f"| model calls per stream second | {a['model_calls'] / (args.minutes * 60):.2f} | | |")
    print(f"| resident memory after minute 1 / at the end | {a['rss0']:.1f} / {a['samples'][-1][1]:.1f} MB | | |")
    print(f"| memory growth after minute 1 (max) | {growth:+.1f} MB | ≤ 20 MB | {'yes' if growth <= 20 else 'NO'} |")
    print(f"| threaded: results per hop of audio the worker consumed | {th['results']:,} of {th['hops_consumed']:,} | all | "
          f"{'yes' if th['results'] == th['hops_consumed'] else 'NO'} |")
    print(f"| threaded: results the display took (the newest at ~30 fps) | {th['received']} in {th['seconds']:g} s | | |")
    print(f"| threaded: audio skipped to stay current / lost in the ring | {th['skipped_s']:.1f} / {th['lost_s']:.1f} s | | |")
    print(f"| threaded: memory growth after warm-up (10 s) | {th['rss_growth']:+.1f} MB | ≤ 20 MB | {'yes' if th['rss_growth'] <= 20 else 'NO'} |")
    print("\nresident memory by stream minute: " + ", ".join(f"{m}: {mb:.1f} MB" for m, mb in a["samples"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
