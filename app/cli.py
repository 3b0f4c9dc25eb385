"""pitchrec: name the note being played and how far it is from in tune.

  pitchrec gui               the window: spectrogram, note, cents needle, settings, clip recording
  pitchrec listen            live view in the terminal: note, cents bar, level
  pitchrec devices           list input devices, the default first
  pitchrec analyze FILE      replay the live analysis on a file: notes, cents, f0 (--json: JSON Lines);
                             --strings/--preset: every string of a strum at once
  pitchrec temperaments      list the built-in temperaments (--temperament, --root; or a Scala --scl file)
  pitchrec info              show the model in use and its validation figures
  pitchrec classify FILE     name the note in each 0.96 s patch of a file (the model alone)
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import os
import shutil
import sys
from pathlib import Path

import numpy as np

STOP_WITHIN_S = 10.0  # listen stops this soon after Ctrl-C, whatever hangs (closing is bounded well inside it)


def cmd_info(args) -> int:
    from app.model import NoteModel

    model = NoteModel(args.model)
    meta = model.metadata
    print(f"model     {model.path}")
    print(f"version   {model.version}  commit {meta.get('commit', 'unknown')}  created {meta.get('created', '?')}")
    print(f"classes   {len(model.labels)}: {model.labels[0]}..{model.labels[-2]} and '{model.labels[-1]}'")
    low = model.low
    print("inputs    log-mel patch " + "x".join(map(str, model.params.patch_shape))
          + (f" + low spectrum {low.num_bins}x{low.frames} ({low.window_s * 1000:.0f} ms frames, "
             f"{low.bins_per_semitone} points a semitone up to MIDI {low.midi_low + low.semitones})" if low else ""))
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
    params = model.params
    signal = features.resample(features.to_mono(audio), rate, params.sample_rate_hz)
    spec = features.log_mel(signal, params)
    hop_frames = max(1, int(round(args.hop_s / params.hop_s)))
    pad_frames = max(0, params.patch_frames - len(spec))
    if pad_frames:
        # Shorter than one patch: pad the front with silence, as the live view does before it has a full patch.
        pad = np.full((pad_frames, params.num_mel_bands), np.log(params.log_offset), np.float32)
        spec = np.concatenate([pad, spec])
    print(f"{args.file}: {len(audio) / rate:.2f} s at {rate} Hz")
    for i, patch in enumerate(features.patches(spec, hop_frames)):
        end_s = (i * hop_frames + params.patch_frames) * params.hop_s
        low = None
        if model.low is not None:  # the audio up to where this patch's last frame ends
            end = features.frame_end(i * hop_frames + params.patch_frames - 1 - pad_frames, params)
            low = features.low_spectrum(signal[: max(0, end)], model.low)
        p = model.predict(patch, low)
        name = "-" if p.label == "none" else p.label
        print(f"{end_s:7.2f} s  {name:4s}  {p.confidence:5.1%}")
    return 0


def replay(path: Path, model, settings):
    """Results of the live analysis on a file, fed hop by hop as a microphone would feed it.

    The file is streamed, so memory stays bounded whatever its length."""
    from app.audio_file import read_blocks
    from app.engine import Analyzer

    rate, _, blocks = read_blocks(path, 1 << 15)
    analyzer = Analyzer(model, rate, settings)
    hop = analyzer.hop_samples
    pending = None
    for block in blocks:
        pending = block if pending is None else np.concatenate([pending, block])
        whole = len(pending) // hop * hop
        if whole:
            yield from analyzer.feed(pending[:whole])
            pending = pending[whole:]
    if pending is not None and len(pending):
        yield from analyzer.feed(pending)


def segments(results):
    """Runs of the same note: [(start_s, end_s, note, [results])]."""
    runs = []
    for r in results:
        if runs and runs[-1][2] == r.note:
            runs[-1][1] = r.t_s
            runs[-1][3].append(r)
        else:
            runs.append([r.t_s, r.t_s, r.note, [r]])
    return runs


def _tuning(args):
    """The tuning from --temperament, --root, --scl and --kbm. Raises SettingsError or TuningFileError."""
    from app.engine import SettingsError
    from app.tuning import TuningSpec, read_kbm, read_scl

    if args.kbm and not args.scl:
        raise SettingsError("--kbm maps the keys of a Scala scale: give the scale with --scl")
    if args.scl and args.temperament != "equal":
        raise SettingsError("--scl and --temperament both set a tuning: choose one")
    try:
        if args.scl:
            spec = TuningSpec(root=args.root, scale=read_scl(args.scl), scale_name=args.scl.name,
                              mapping=read_kbm(args.kbm) if args.kbm else None)
        else:
            spec = TuningSpec(args.temperament, args.root)
        spec.build(args.a4)  # a mapping whose reference key plays nothing fails here, not in the analysis thread
        return spec
    except ValueError as err:
        if err.__class__ is not ValueError:  # a TuningFileError names its file
            raise
        raise SettingsError(str(err)) from None


def _settings(args, **more):
    """Settings from the options analyze and listen share."""
    from app.engine import Settings

    return Settings(hop_s=args.hop_ms / 1000.0, a4_hz=args.a4, tuning=_tuning(args), **more)


def cmd_temperaments(args) -> int:
    from app.notes import SHARP_NAMES
    from app.tuning import TEMPERAMENTS

    print("Built-in temperaments (--temperament NAME --root KEY); offsets in cents from equal temperament, root C:\n")
    for name, (what, offsets) in TEMPERAMENTS.items():
        print(f"  {name:14s}{what}")
        print(" " * 16 + "  ".join(f"{n} {o:+.1f}" for n, o in zip(SHARP_NAMES, offsets)))
    print("\nThe root keeps its equal-tempered pitch for the reference A4, so under a temperament rooted on C the A "
          "moves\n(in meantone on C, A4's target is 10.3 cents under 440 Hz). A Scala file (--scl) is placed the same "
          "way,\nits 1/1 on the root, unless a keyboard mapping (--kbm) sets its reference.")
    return 0


def _strum_strings(args) -> tuple[int, ...] | None:
    """The strings from --strings or --preset, or None for the single-note analysis. Raises SettingsError."""
    from app.engine import SettingsError
    from app.presets import preset
    from app.strum import parse_strings

    if args.strings is not None and args.preset is not None:
        raise SettingsError("--strings and --preset both name the strings: choose one")
    try:
        if args.preset is not None:
            strings = preset(args.preset).strings
            if not strings:
                raise SettingsError(f"preset {args.preset!r} has no strings to strum")
            return strings
        return None if args.strings is None else parse_strings(args.strings)
    except KeyError as err:
        raise SettingsError(err.args[0]) from None
    except ValueError as err:
        if isinstance(err, SettingsError):
            raise
        raise SettingsError(str(err)) from None


def replay_strum(path: Path, settings):
    """Strum readings of a file for settings.strings, hop by hop (app.strum.HOP_S), as a microphone would feed it.
    Raises SettingsError for a rate strum tuning cannot read, before any result."""
    from app.audio_file import read_blocks
    from app.engine import SettingsError
    from app.features import to_mono
    from app.strum import StrumAnalyzer

    targets = settings.string_targets()  # checked when the settings were made
    rate, _, blocks = read_blocks(path, 1 << 15)
    try:
        analyzer = StrumAnalyzer(settings.strings, rate, targets, gate_dbfs=settings.gate_dbfs)
    except ValueError as err:
        raise SettingsError(f"{path}: {err}") from None

    def results():
        pending = np.zeros(0, np.float32)
        for block in blocks:
            pending = np.concatenate([pending, to_mono(block, settings.channel)])
            whole = len(pending) // analyzer.hop_samples * analyzer.hop_samples
            yield from analyzer.feed(pending[:whole])
            pending = pending[whole:]
        if len(pending):
            yield from analyzer.feed(pending)

    return results()


def print_strum_summary(args, settings, strings: tuple[int, ...], results) -> None:
    from app.notes import cents_text, note_name

    strums = sum(r.mode == "strum" for r in results)
    print(f"{args.file}: {results[-1].t_s if results else 0:.2f} s, strings {' '.join(note_name(m) for m in strings)}, "
          f"A4 = {args.a4:g} Hz, {settings.tuning.label}; {strums} of {len(results)} hops strummed")
    read = [r for r in results if not r.held]  # each reading once: not again while a re-strum is too short to read
    for k, midi in enumerate(strings):
        cents = [r.strings[k].cents for r in read if r.strings[k].sounding]
        unsure = sum(not r.strings[k].resolved for r in read)
        detail = (f"{cents_text(np.median(cents)):>6} cents (median)" if cents
                  else "   not told apart" if unsure else "   not heard")
        told = f"; not told from the other strings' partials in {unsure} (tune it alone)" if unsure else ""
        print(f"  {note_name(midi):4s} {detail}  sounding in {len(cents)} of {len(read)} hops{told}")


def cmd_analyze(args) -> int:
    import json

    from app.model import NoteModel

    strings = _strum_strings(args)
    settings = _settings(args, strings=strings or ())
    if strings is None:
        results = replay(args.file, NoteModel(args.model), settings)
    else:
        results = replay_strum(args.file, settings)
    if args.json:
        for r in results:
            print(json.dumps(r.to_json()), flush=False)
        return 0
    results = list(results)
    if strings is not None:
        print_strum_summary(args, settings, strings, results)
        return 0
    print(f"{args.file}: {results[-1].t_s if results else 0:.2f} s analysed every {args.hop_ms:g} ms, A4 = {args.a4:g} Hz, "
          f"{settings.tuning.label}")
    for start, end, note, run in segments(results):
        if note is None:
            continue
        cents = [r.cents for r in run if r.cents is not None]
        f0 = [r.f0_hz for r in run if r.f0_hz is not None]
        degrees = [r.degree for r in run if r.degree is not None]
        detail = f"{np.median(cents):+6.1f} cents  {np.median(f0):8.2f} Hz" if cents else "   (no f0)"
        if degrees:  # the degree most often nearest
            detail = f"{max(set(degrees), key=degrees.count)}  {detail}"
        print(f"{start:7.2f} - {end:7.2f} s  {note:4s} {detail}  confidence {np.median([r.confidence for r in run]):.2f}")
    return 0


def cmd_devices(args) -> int:
    from app.audio import input_devices

    devices = input_devices()
    if not devices:
        print("no input devices found (is a microphone connected, or PulseAudio running?)")
        return 1
    for d in devices:
        where = f'--device "{d.key}"' if d.source else d.hostapi  # a sound-server source shares "pulse"'s index
        print(f"{'' if d.source else d.index:>3}  {d.name}  ({d.channels} ch, {d.default_rate_hz:g} Hz, {where})"
              f"{'  default' if d.is_default else ''}")
    return 0


def cents_bar(cents: float | None, width: int = 21) -> str:
    """'[----------|----------]' with a '*' at the cents position (-50..+50); '=' marks ±2 cents."""
    bar = ["-"] * width
    mid = width // 2
    bar[mid] = "|"
    if cents is not None:
        pos = int(round(mid + max(-50.0, min(50.0, cents)) / 50.0 * mid))
        bar[pos] = "=" if abs(cents) <= 2.0 else "*"
    return "[" + "".join(bar) + "]"


def status_line(r) -> str:
    level = f"{r.level_dbfs:6.1f} dBFS"
    if r.note is None:
        return f"  --              {cents_bar(None)}              {level}"
    cents = "   ?   " if r.cents is None else f"{r.cents:+6.1f}c"
    f0 = "       " if r.f0_hz is None else f"{r.f0_hz:7.2f}"
    name = r.note if r.degree is None else f"{r.note} {r.degree}"
    return f"  {name:4s} {cents}  {cents_bar(r.cents)}  {f0} Hz  {level}  conf {r.confidence:.2f}"


def strum_line(strum) -> str:
    """Every string of a strum: 'strum  E2 -3.2  A2 +0.1  D3   --  ...' ('=' before a string within 2 cents; '?' for
    one that may be sounding but cannot be told from the others' partials)."""
    from app.notes import cents_text

    rows = []
    for s in strum.strings:
        cents = ("--" if s.resolved else "?") if s.cents is None else cents_text(s.cents)
        mark = "=" if s.cents is not None and abs(s.cents) <= 2.0 else " "
        rows.append(f"{mark}{s.target:<4s}{cents:>6}")
    return "  strum " + " ".join(rows)


def cmd_listen(args) -> int:
    import time

    from app import pitch
    from app.live import LiveSession
    from app.model import NoteModel
    from app.notes import note_name

    settings = _settings(args, channel=args.channel, strings=_strum_strings(args) or ())
    session = LiveSession(NoteModel(args.model), settings)
    drawn = False  # a redrawn line is on the terminal, to end as listen stops
    try:
        session.open_input(args.device)
        state = session.input_state
        strings = f", strum tuning {' '.join(note_name(m) for m in settings.strings)}" if settings.strings else ""
        print(f"listening on {state.device.key if state.device.index >= 0 else state.device.name} at {state.rate_hz:g} Hz, A4 = {args.a4:g} Hz, "
              f"{settings.tuning.label}{strings} (Ctrl-C stops)", flush=True)
        if pitch.rate_limit_note(state.rate_hz, args.a4):
            print(pitch.rate_limit_note(state.rate_hz, args.a4))
        if settings.strings:
            print("while strings sound together, a row each: '=' within 2 cents, '--' not sounding, "
                  "'?' not told from the others' partials (tune it alone)", flush=True)
        version, started, said = 0, time.monotonic(), ""
        while args.seconds is None or time.monotonic() - started < args.seconds:
            previous = version
            version, result = session.results.get(version, timeout=0.25)
            session.take_events()  # the state lines below say what the input does
            state = session.input_state
            if state.status == "lost":
                line = "  input lost: the device stopped sending audio; retrying" + (
                    f" ({state.error})" if state.error else "")
            elif version and not session.fresh:  # results came, then stopped
                line = "  --  no reading: the analysis has fallen silent"
            elif result is None or version == previous:  # nothing new (a timeout): print nothing stale
                continue
            else:
                strummed = result.strum is not None and result.strum.mode == "strum"
                line = (strum_line(result.strum) if strummed else status_line(result)) + (
                    f"  overflows {session.overflows}" if session.overflows else "")
                said = ""
            if line == said:
                continue  # a state line once, not every quarter second
            if version == previous:
                said = line  # a state line, not a result
            if args.lines:
                print(line.strip(), flush=True)
            else:  # redrawn in place: never as wide as the terminal, or each redraw wraps onto a line of its own
                width = max(20, shutil.get_terminal_size((101, 24)).columns - 1)
                print("\r" + line[:width].ljust(width), end="", flush=True)
                drawn = True
    except KeyboardInterrupt:
        pass
    finally:
        # Stopping is bounded (LiveSession.close, and PortAudio's exit handler), so this never fires but for a bug:
        # then Ctrl-C still stops, with every thread's stack on stderr to say where it hung. Armed until the
        # process ends, for the interpreter's own exit too (main cancels it when called in-process).
        faulthandler.dump_traceback_later(STOP_WITHIN_S, exit=True)
        session.close()
        if not args.lines and drawn:
            print()
    return 0


def cmd_gui(args) -> int:
    from app.gui.main_window import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    from app.engine import Settings

    parser = argparse.ArgumentParser(prog="pitchrec", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a .tflite note model with its .json beside it (default: the shipped one)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    live = argparse.ArgumentParser(add_help=False)
    live.add_argument("--a4", type=float, default=440.0, help="reference A4 in Hz, 415 to 466 (default 440)")
    live.add_argument("--hop-ms", type=float, default=Settings().hop_s * 1000,
                      help=f"analysis hop in ms (default {Settings().hop_s * 1000:g}): a result, cents and all, every hop; "
                      "the model runs when the note tracker needs it")
    from app.tuning import TEMPERAMENTS

    live.add_argument("--temperament", default="equal", choices=list(TEMPERAMENTS), metavar="NAME",
                      help="measure cents from this temperament's targets (default equal; `pitchrec temperaments` "
                      "lists them)")
    live.add_argument("--root", default="C", help="the temperament's or scale's root key, e.g. C, F#, Bb (default C); "
                      "it keeps its equal-tempered pitch for the reference A4")
    live.add_argument("--scl", type=Path, metavar="FILE", help="a Scala scale file: cents from its degrees, its 1/1 on "
                      "the root (a scale of other than 12 notes names degrees, as 4/31 o4)")
    live.add_argument("--kbm", type=Path, metavar="FILE", help="with --scl: a Scala keyboard mapping, which places the "
                      "scale and may set another reference")
    live.add_argument("--strings", metavar="LIST", help="strum tuning: the strings to expect, e.g. E2,A2,D3,G3,B3,E4, "
                      "each read at once when strummed, every 50 ms whatever --hop-ms says (analyze --json: one "
                      "object per 50 ms hop: t_s, mode (strum, "
                      "single or null), and strings, one per string in the given order: target, midi, cents (null: "
                      "not sounding), f0_hz, sounding, resolved (false: may be sounding, but cannot be told from "
                      "the other strings' partials))")
    live.add_argument("--preset", metavar="NAME", help='strum tuning with a preset\'s strings, e.g. "Guitar: standard"')
    p = sub.add_parser("listen", parents=[live], help="live view in the terminal",
                       description="Live view in the terminal: note, cents bar, f0, level.")
    p.add_argument("--device", "-d", help="input device: index or part of its name (default: the default input), "
                   "or tone:<Hz> for a synthesized tone")
    p.add_argument("--channel", type=int, help="use this input channel (0-based) instead of a mix of all")
    p.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    p.add_argument("--lines", action="store_true", help="print a line per result instead of redrawing one line")
    p.set_defaults(func=cmd_listen)
    p = sub.add_parser("gui", help="the window", description="The Pitchrec window. Without a screen, run `pitchrec listen`, "
                       "or this with QT_QPA_PLATFORM=offscreen and --screenshot.")
    p.add_argument("--device", "-d", help="input device: index, part of its name, or tone:<Hz> for a synthesized tone")
    p.add_argument("--seconds", type=float, help="close after this long")
    p.add_argument("--screenshot", type=Path, help="with --seconds: save the window as this PNG before closing")
    p.add_argument("--state-log", type=Path, help="append what the window shows (note, cents, input) to this file as "
                   "JSON Lines whenever it changes, and every 100 ms as a heartbeat")
    p.set_defaults(func=cmd_gui)
    p = sub.add_parser("devices", help="list input devices", description="List input devices, the default first.")
    p.set_defaults(func=cmd_devices)
    p = sub.add_parser("analyze", parents=[live], help="replay the live analysis on a file",
                       description="Replay the live analysis on an audio file, in hop-sized blocks, through the same code "
                       "and with the same causality as the microphone path.")
    p.add_argument("file", type=Path, help="WAV, FLAC or OGG; any rate, mono or multichannel")
    p.add_argument("--json", action="store_true", help="JSON Lines, one object per hop: t_s, note, midi, cents (from the "
                   "target), f0_hz, confidence, stable (false: a note the waveform shows before the model has confirmed "
                   "it), target_hz (the note's target in the tuning), degree (a non-12-note scale's degree, else null)")
    p.set_defaults(func=cmd_analyze)
    p = sub.add_parser("temperaments", help="list the built-in temperaments",
                       description="List the built-in temperaments with their offsets from equal temperament.")
    p.set_defaults(func=cmd_temperaments)
    p = sub.add_parser("info", help="show the model in use", description="Show the model in use and its validation figures.")
    p.set_defaults(func=cmd_info)
    p = sub.add_parser("classify", help="name the note in each patch of a file",
                       description="Name the note in each 0.96 s patch of an audio file; the time is the patch's end.")
    p.add_argument("file", type=Path, help="WAV, FLAC or OGG; any rate, mono or multichannel")
    p.add_argument("--hop-s", type=float, default=0.5, help="seconds between patches (default 0.5)")
    p.set_defaults(func=cmd_classify)
    return parser


def main(argv: list[str] | None = None) -> int:
    from app.audio import DeviceError
    from app.audio_file import AudioFileError
    from app.engine import SettingsError
    from app.model import ModelError
    from app.tuning import TuningFileError

    args = build_parser().parse_args(argv)
    if argv is None:  # the app itself, not a test calling main
        from app.audio import portaudio_output_to_the_log
        from app.engine import one_blas_thread

        one_blas_thread()
        if args.func in (cmd_devices, cmd_listen, cmd_gui):
            portaudio_output_to_the_log()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    try:
        return args.func(args)
    except (ModelError, AudioFileError, DeviceError, SettingsError, TuningFileError) as e:
        print(f"pitchrec: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`pitchrec analyze f.wav | head`): stop quietly, and keep Python's
        # final flush of stdout from raising again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if argv is not None:  # called in-process (a test): listen's exit watchdog must not outlive the call
            faulthandler.cancel_dump_traceback_later()


if __name__ == "__main__":
    sys.exit(main())
