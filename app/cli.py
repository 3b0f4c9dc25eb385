"""pitchrec: name the notes in audio with the shipped VGGish note model.

  pitchrec info              show the model in use and its validation figures
  pitchrec classify FILE     name the note in each 0.96 s patch of a WAV/FLAC/OGG file
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import numpy as np

log = logging.getLogger("pitchrec")


def cmd_info(args) -> int:
    from app.model import NoteModel

    model = NoteModel(args.model)
    meta = model.metadata
    print(f"model     {model.path}")
    print(f"version   {model.version}  commit {meta.get('commit', 'unknown')}  created {meta.get('created', '?')}")
    print(f"classes   {len(model.labels)}: {model.labels[0]}..{model.labels[-2]} and '{model.labels[-1]}'")
    for kind, m in meta.get("metrics", {}).items():
        if isinstance(m, dict) and "note_accuracy" in m:
            print(f"{kind:9s} note accuracy {m['note_accuracy']:.2%}, octave errors {m['octave_error_rate']:.2%}, "
                  f"no-note precision {m['no_note_precision']:.2%} ({m['patches']} validation patches)")
    return 0


def cmd_classify(args) -> int:
    from app import features
    from app.audio_file import read_audio
    from app.model import NoteModel

    model = NoteModel(args.model)
    audio, rate = read_audio(args.file)
    spec = features.log_mel_from_audio(audio, rate)
    params = model.params
    hop_frames = max(1, int(round(args.hop_s / params.hop_s)))
    if len(spec) < params.patch_frames:
        # Shorter than one patch: pad the front with silence, as the live view does before it has a full patch.
        pad = np.full((params.patch_frames - len(spec), params.num_mel_bands), np.log(params.log_offset), np.float32)
        spec = np.concatenate([pad, spec])
    print(f"{args.file}: {len(audio) / rate:.2f} s at {rate} Hz")
    for i, patch in enumerate(features.patches(spec, hop_frames)):
        end_s = (i * hop_frames + params.patch_frames) * params.hop_s
        p = model.predict(patch)
        name = "-" if p.label == "none" else p.label
        print(f"{end_s:7.2f} s  {name:4s}  {p.confidence:5.1%}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pitchrec", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a .tflite note model with its .json beside it (default: the shipped one)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("info", help="show the model in use", description="Show the model in use and its validation figures.")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("classify", help="name the note in each patch of a file",
                       description="Name the note in each 0.96 s patch of an audio file; the time is the patch's end.")
    p.add_argument("file", type=Path, help="WAV, FLAC or OGG; any rate, mono or multichannel")
    p.add_argument("--hop-s", type=float, default=0.5, help="seconds between patches (default 0.5)")
    p.set_defaults(func=cmd_classify)
    return parser


def main(argv: list[str] | None = None) -> int:
    from app.audio_file import AudioFileError
    from app.model import ModelError

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    try:
        return args.func(args)
    except (ModelError, AudioFileError) as e:
        print(f"pitchrec: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
