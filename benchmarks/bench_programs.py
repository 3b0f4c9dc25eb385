"""The live path on every General MIDI program of both soundfonts: which programs it names wrong, and how.

    python benchmarks/bench_programs.py [--model app/assets/pitchrec.tflite] [--stride 2] [--json out.json]

bench_live.py scores generalisation on held-out sources only. This benchmark runs the
same causal path (app.engine.Analyzer at 48 kHz, as shipped, or with --every-hop as before the fast path) over every program in
model_build.config.PROGRAMS, in FluidR3 and MuseScore, one note every `stride` semitones
over each range: 0.3 s of silence, then the note held 1.5 s. Most of these programs are
training programs, so the model's share of the score is optimistic here; what it checks
is the pitch stage (wide search, octave check) on many more timbres than the held-out
corpus has. Held-out programs are marked.

Scored on frames from 0.35 s after the onset to the note's end:
  - wrong notes: frames that name a note other than the key (octave errors apart);
  - octave errors: frames that name the key's pitch class in another octave;
  - no note: frames that name nothing (plucked and struck notes die away; not an error).
Drawbar organ (16) is left out: it sounds an octave or two below its key (config.SUB_OCTAVE_LIMIT_DB).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.engine import EVERY_HOP, Analyzer, Settings  # noqa: E402
from app.model import DEFAULT_MODEL, NoteModel  # noqa: E402
from benchmarks.bench_model import REGISTERS  # noqa: E402
from model_build.config import PROGRAMS, VALIDATION_PROGRAMS, BuildConfig  # noqa: E402
from model_build.corpus import render_soundfont  # noqa: E402

RATE_HZ = 48000
LEAD_S, HOLD_S, SETTLE_S = 0.3, 1.5, 0.35
SKIPPED_PROGRAMS = (16,)


def score_programs(model_path: Path, stride: int, settings: Settings = Settings()) -> dict:
    """{source: {register: Counter(frames, wrong, octave, none)}} over both soundfonts."""
    model = NoteModel(model_path, num_threads=1)
    programs = tuple(p.number for p in PROGRAMS if p.number not in SKIPPED_PROGRAMS)
    config = BuildConfig(velocities=(90,), programs=programs, note_stride=stride, note_hold_s=HOLD_S,
                         note_total_s=HOLD_S)
    lead = np.zeros(int(LEAD_S * RATE_HZ), np.float32)
    out: dict = collections.defaultdict(lambda: collections.defaultdict(collections.Counter))
    for kind in ("fluidr3", "musescore"):
        for audio, midi, _, source in render_soundfont(config, kind, rate_hz=RATE_HZ):
            register = next(name for name, lo, hi in REGISTERS if lo <= midi <= hi)
            counts = out[source][register]
            for r in Analyzer(model, RATE_HZ, settings).feed(np.concatenate([lead, 0.5 * audio.astype(np.float32)])):
                if r.t_s < LEAD_S + SETTLE_S:
                    continue
                counts["frames"] += 1
                if r.midi is None:
                    counts["none"] += 1
                elif r.midi != midi:
                    counts["octave" if (r.midi - midi) % 12 == 0 else "wrong"] += 1
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--stride", type=int, default=2, help="semitones between notes of each range")
    parser.add_argument("--json", type=Path, help="also write the counts to this file")
    parser.add_argument("--every-hop", action="store_true", help="the engine before the fast path (the model at every 50 ms "
                        "hop), to compare")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    scores = score_programs(args.model, args.stride, EVERY_HOP if args.every_hop else Settings())
    pct = lambda n, d: f"{100 * n / d:.2f}%" if d else "n/a"  # noqa: E731
    names = dict((p.number, p.name) for p in PROGRAMS)
    totals: dict = collections.defaultdict(collections.Counter)
    for by_register in scores.values():
        for register, counts in by_register.items():
            totals[register].update(counts)
            totals["all"].update(counts)

    print(f"\nLive path over every program, both soundfonts, stride {args.stride}, model {args.model.name}\n")
    print("| register | frames | wrong notes | octave errors | no note |")
    print("|---|---|---|---|---|")
    for register in [r[0] for r in REGISTERS] + ["all"]:
        c = totals[register]
        print(f"| {register} | {c['frames']} | {pct(c['wrong'], c['frames'])} | {pct(c['octave'], c['frames'])} | "
              f"{pct(c['none'], c['frames'])} |")
    print("\nPrograms with wrong notes or octave errors (* held out of training):\n")
    print("| source | program | frames | wrong notes | octave errors | worst register |")
    print("|---|---|---|---|---|---|")
    for source in sorted(scores, key=lambda s: (s.split(":")[0], int(s.split(":")[1]))):
        c = sum(scores[source].values(), collections.Counter())
        if not (c["wrong"] or c["octave"]):
            continue
        number = int(source.split(":")[1])
        by_register = scores[source]
        worst = max(by_register, key=lambda r: (by_register[r]["wrong"] + by_register[r]["octave"]) / by_register[r]["frames"])
        star = "*" if number in VALIDATION_PROGRAMS else ""
        print(f"| {source}{star} | {names[number]} | {c['frames']} | {pct(c['wrong'], c['frames'])} | "
              f"{pct(c['octave'], c['frames'])} | {worst} |")
    if args.json:
        args.json.write_text(json.dumps({s: {r: dict(c) for r, c in regs.items()} for s, regs in scores.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
