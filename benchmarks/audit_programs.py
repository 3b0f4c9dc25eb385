"""Audit of the soundfont renders: does each note sound at the pitch of the key it is labelled with?

Every training note is labelled by the MIDI key rendered. That is only right for a tuner
if the render repeats at that key's period. Some organ registrations add ranks an octave
or two *below* the key (16', 32'), and some samples are mapped to the wrong keys; such
notes would teach the model to name a tone one or two octaves above its period. This
renders every program of model_build.config.PROGRAMS at every note, measures the
strongest partial at f0/2 or f0/4 against the strongest harmonic of the key's f0
(model_build.corpus.sub_octave_db), and prints per program and soundfont the worst level
and the notes over SUB_OCTAVE_LIMIT_DB: the ones training leaves out.

    python benchmarks/audit_programs.py [--soundfont fluidr3 musescore] [--velocity 90]

This chooses sources, never labels: no label is taken from this measurement.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model_build.config import PROGRAMS, SOUNDFONTS, SUB_OCTAVE_LIMIT_DB, BuildConfig  # noqa: E402
from model_build.corpus import render_soundfont, sub_octave_db  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--soundfont", nargs="+", default=list(SOUNDFONTS), choices=list(SOUNDFONTS))
    parser.add_argument("--velocity", type=int, default=90)
    args = parser.parse_args()
    config = BuildConfig(velocities=(args.velocity,))
    levels: dict[tuple[int, str], list[tuple[int, float]]] = {}
    for kind in args.soundfont:
        for audio, midi, _, source in render_soundfont(config, kind):
            levels.setdefault((int(source.split(":")[1]), kind), []).append((midi, sub_octave_db(audio, midi)))
    print(f"\nSub-octave partials, dB against the key's strongest harmonic (over {SUB_OCTAVE_LIMIT_DB:g} dB: left out)\n")
    print("| program | soundfont | notes | worst (dB) | notes left out |")
    print("|---|---|---|---|---|")
    total = 0
    for p in PROGRAMS:
        for kind in args.soundfont:
            notes = levels.get((p.number, kind), [])
            if not notes:
                continue
            out = [m for m, db in notes if db > SUB_OCTAVE_LIMIT_DB]
            total += len(out)
            shown = "all" if len(out) == len(notes) else (", ".join(map(str, out)) or "none")
            print(f"| {p.number} {p.name} | {kind} | {len(notes)} | {max(db for _, db in notes):.1f} | {shown} |")
    print(f"\n{total} of {sum(len(v) for v in levels.values())} notes at velocity {args.velocity} sound below their key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
