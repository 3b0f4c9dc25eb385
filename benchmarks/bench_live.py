"""Benchmark of the live recognition path: the fast path beside the engine that runs the model every hop, and
librosa.pyin, on the same generated corpus in the same run.

    python benchmarks/bench_live.py [--model app/assets/pitchrec.tflite] [--baseline old.tflite] [--stride 5]
                                    [--sequences 48] [--no-pyin]
    benchmarks/avx2_only.sh .venv/bin/python benchmarks/bench_live.py    # as on an AVX2-only CPU

Pitchrec runs causally, hop by hop, through app.engine.Analyzer at the device rate (48 kHz), exactly as the
microphone path does: once as shipped (20 ms hops, the model when the note tracker needs it) and once as before
the fast path (`app.engine.EVERY_HOP`: the model at every 50 ms hop). pyin runs offline on each whole clip (it
is not causal: its Viterbi pass sees the future), resampled to 22.05 kHz, with frames every 50 ms. The corpus
is benchmarks/live_corpus.py.

Scoring, per frame of each tool:
  - note accuracy after settling: frames from 0.3 s after an onset to the note's end; also with the organ
    sources apart (bench_model.ORGAN_SOURCES: no target applies to them);
  - octave errors: settled frames named in the right pitch class but another octave;
  - cents error: |measured f0 - true f0| in cents, on settled frames of notes whose f0
    is exactly known (synthesized notes and their detuned copies), counting a wrong or
    missing note as an error beyond every threshold;
  - detune error: FluidR3's absolute tuning is not exactly known, so its detuned copies
    are scored by the median offset between copy and original against the exact c;
  - false notes: frames of silence and noise clips given a note;
  - latency: from each onset in the sequences to the first frame from which the correct note stays shown for
    0.15 s (or to the note's end), by register with the organ sources apart (their onsets are a row of their
    own), whether the note is shown provisionally or confirmed;
  - CPU: seconds of CPU per second of audio for the whole process while a tool runs (getrusage: every thread,
    LiteRT's included), with the CPU and the int8 instruction set it ran on (benchmarks/hardware.py);
  - model calls per second of audio.
The fast path and the every-hop engine are also compared clip by clip (organs apart): the clips where one
names more settled frames right, or fewer an octave off, with an exact McNemar (sign test) p-value.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.engine import EVERY_HOP, Analyzer, Settings, one_blas_thread  # noqa: E402
from app.model import DEFAULT_MODEL, NoteModel  # noqa: E402
from app.notes import hz_to_midi  # noqa: E402
from benchmarks import hardware  # noqa: E402
from benchmarks.bench_model import ORGAN_SOURCES, mcnemar_p  # noqa: E402
from benchmarks.live_corpus import RATE_HZ, Clip, build  # noqa: E402

SETTLE_S = 0.3
STABLE_S = 0.15
# Registers for accuracy and latency, organs apart: B0-D#2 has its own latency target; "E2 and up" is the other
# target's. A0-A#0 and C#7-C8 are the notes below and above model version 9's classes. The organ sources' onsets
# are a row of their own, all registers together.
REGISTERS = (("A0-A#0", 21, 22), ("B0-D#2", 23, 39), ("E2-B3", 40, 59), ("C4-C7", 60, 96), ("C#7-C8", 97, 108),
             ("E2 and up", 40, 108))
ORGANS_REGISTER = ("organs", 21, 108)


def latency_key(register: str) -> str:
    """The scores' key stem for a register's latency: "B0-D#2" -> "latency_B0-Ds2"."""
    return "latency_" + register.replace(" ", "_").replace("#", "s")


def cpu_s() -> float:
    """CPU seconds this process has used so far, every thread (LiteRT's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclasses.dataclass
class Run:
    frames: dict  # clip name -> [(t_s, midi, f0_hz)]
    cpu_s: float
    model_calls: int | None = None  # None: no model


def run_pitchrec(clips: list[Clip], model_path: Path, settings: Settings) -> Run:
    model = NoteModel(model_path, num_threads=1)
    out, calls = {}, 0
    t0 = cpu_s()
    for clip in clips:
        analyzer = Analyzer(model, RATE_HZ, settings)
        out[clip.name] = [(r.t_s, r.midi, r.f0_hz) for r in analyzer.feed(clip.audio)]
        calls += analyzer.model_calls
    return Run(out, cpu_s() - t0, calls)


def run_pyin(clips: list[Clip], hop_s: float) -> Run:
    import librosa
    import soxr

    sr = 22050
    hop = int(round(hop_s * sr))
    out = {}
    librosa.pyin(np.zeros(sr, np.float32), fmin=28.0, fmax=2200.0, sr=sr, frame_length=2048, hop_length=hop)  # compile
    t0 = cpu_s()
    for clip in clips:
        y = soxr.resample(clip.audio, RATE_HZ, sr)
        f0, voiced, _ = librosa.pyin(y, fmin=28.0, fmax=2200.0, sr=sr, frame_length=2048, hop_length=hop)
        times = librosa.frames_to_time(np.arange(len(f0)), sr=sr, hop_length=hop)
        out[clip.name] = [
            (float(t), int(round(hz_to_midi(f))) if v and np.isfinite(f) else None, float(f) if v and np.isfinite(f) else None)
            for t, f, v in zip(times, f0, voiced)
        ]
    return Run(out, cpu_s() - t0)


def settled(clip: Clip, frames) -> list[tuple[int, int | None]]:
    """(true midi, named midi) of a single-note clip's frames from SETTLE_S after its onset to its end, and of the
    frames after its end (the note has faded under the gate, live_corpus.AUDIBLE_DBFS) that show a note: no note is
    right there, the note is, another is wrong."""
    n = clip.notes[0]
    return [(n.midi, midi) for t, midi, _ in frames
            if n.onset_s + SETTLE_S <= t <= n.offset_s or (t > n.offset_s and midi is not None)]


def score(clips: list[Clip], frames: dict) -> dict:
    by_name = {c.name: c for c in clips}
    settled_pairs = {g + apart: [] for g in ("clean", "snr20", "snr10") for apart in ("", "_organs_apart")}  # (true, named)
    by_source: dict[str, list] = {}  # clean settled (midi_true, midi_out) per source
    by_register: dict[str, list] = {name: [] for name, _, _ in REGISTERS}  # the same per register, organs apart
    cents_err = []  # per settled exact-f0 clean frame; inf for a wrong or missing note
    for clip in clips:
        if clip.kind not in ("sustained", "detuned", "noisy"):
            continue
        n = clip.notes[0]
        group = "clean" if clip.kind != "noisy" else ("snr20" if clip.name.endswith("snr20") else "snr10")
        pairs = settled(clip, frames[clip.name])
        settled_pairs[group] += pairs
        if clip.source not in ORGAN_SOURCES:
            settled_pairs[group + "_organs_apart"] += pairs
        if group == "clean":
            by_source.setdefault(clip.source, []).extend(pairs)
            for name, lo, hi in REGISTERS:
                if lo <= n.midi <= hi and clip.source not in ORGAN_SOURCES:
                    by_register[name] += pairs
        if group == "clean" and n.f0_hz is not None:
            cents_err += _cents_errors(clip, frames[clip.name])
    r = {}
    for group, pairs in settled_pairs.items():
        r[f"accuracy_{group}"], r[f"octave_{group}"] = _accuracy_and_octave(pairs)
    r["by_source"] = {src: _figures(pairs) for src, pairs in sorted(by_source.items())}
    r["by_register"] = {name: _figures(pairs) for name, pairs in by_register.items() if pairs}
    e = np.array(cents_err)
    finite = e[np.isfinite(e)]
    r["cents_median"] = float(np.median(e)) if len(e) else float("nan")
    r["cents_p90"] = float(np.percentile(e, 90, method="higher")) if len(e) else float("nan")
    for k in (1, 5, 10):
        r[f"within_{k}"] = float(np.mean(e <= k)) if len(e) else float("nan")
    r["cents_frames"] = len(e)
    r["cents_median_correct"] = float(np.median(finite)) if len(finite) else float("nan")

    detune = []
    for clip in clips:
        if clip.kind == "detuned" and clip.notes[0].f0_hz is None:
            base = by_name[clip.base]
            m_copy, m_base = _median_cents(clip, frames[clip.name]), _median_cents(base, frames[base.name])
            detune.append(abs((m_copy - m_base) - clip.detune_cents) if m_copy is not None and m_base is not None else np.inf)
    r["detune_error_median"] = float(np.median(detune)) if detune else float("nan")

    quiet = [midi for c in clips if c.kind in ("silence", "noise") for _, midi, _ in frames[c.name]]
    r["false_note_rate"] = float(np.mean([m is not None for m in quiet]))

    onsets = [(n, frames[clip.name], clip.source in ORGAN_SOURCES) for clip in clips if clip.kind == "sequence"
              for n in clip.notes]
    for name, lo, hi in REGISTERS + (ORGANS_REGISTER,):
        organs = (name, lo, hi) == ORGANS_REGISTER
        v = np.array([_latency(n, f) for n, f, organ in onsets if lo <= n.midi <= hi and organ == organs])
        key = latency_key(name)
        r[f"{key}_median_ms"] = float(np.median(v) * 1000) if len(v) else float("nan")
        r[f"{key}_p90_ms"] = float(np.percentile(v, 90, method="higher") * 1000) if len(v) else float("nan")
        r[f"{key}_notes"] = len(v)
    return r


def paired(clips: list[Clip], a: dict, b: dict) -> dict:
    """Tool a against tool b clip by clip, organs apart: clips where one names more settled frames right (and
    fewer an octave off; fewer noise frames a note; a smaller median cents error), with the exact McNemar p of
    each split. Frames within a clip are not independent; clips are."""
    counts = {"right": [0, 0], "octave": [0, 0], "false_notes": [0, 0], "cents": [0, 0]}
    for clip in clips:
        if clip.source in ORGAN_SOURCES:
            continue
        if clip.kind in ("silence", "noise"):  # the share of frames given a note: the tools' hops differ
            fa, fb = (np.mean([m is not None for _, m, _ in f[clip.name]]) for f in (a, b))
            _count(counts["false_notes"], fb, fa)
            continue
        if clip.kind not in ("sustained", "detuned", "noisy"):
            continue
        pa, pb = settled(clip, a[clip.name]), settled(clip, b[clip.name])
        ra, rb = (np.mean([m == t for t, m in p]) if p else 0.0 for p in (pa, pb))
        oa, ob = (_accuracy_and_octave(p)[1] if p else 0.0 for p in (pa, pb))
        _count(counts["right"], ra, rb)
        _count(counts["octave"], ob, oa)
        n = clip.notes[0]
        if clip.kind != "noisy" and n.f0_hz is not None:
            ca, cb = (np.median(_cents_errors(clip, f[clip.name]) or [np.inf]) for f in (a, b))
            _count(counts["cents"], cb, ca)
    return {k: {"better_a": v[0], "better_b": v[1], "p": mcnemar_p(*v)} for k, v in counts.items()}


def _count(pair: list, a_score: float, b_score: float) -> None:
    """Count a clip for a if a_score > b_score, for b if less (higher is better)."""
    if a_score > b_score:
        pair[0] += 1
    elif b_score > a_score:
        pair[1] += 1


def _cents_errors(clip: Clip, frames) -> list[float]:
    """|f0 - true f0| in cents on each settled frame of an exact-f0 note; inf for a wrong or missing note."""
    n = clip.notes[0]
    return [abs(1200 * np.log2(f0 / n.f0_hz)) if midi == n.midi and f0 is not None else np.inf
            for t, midi, f0 in frames if n.onset_s + SETTLE_S <= t <= n.offset_s]


def _accuracy_and_octave(pairs: list) -> tuple[float, float]:
    """Shares of (midi_true, midi_out) frames named right, and named in the right pitch class but another octave."""
    if not pairs:
        return float("nan"), float("nan")
    true = np.array([p[0] for p in pairs])
    got = np.array([-1000 if p[1] is None else p[1] for p in pairs])
    return float(np.mean(got == true)), float(np.mean((got != true) & (got > -1000) & ((got - true) % 12 == 0)))


def _figures(pairs: list) -> dict:
    accuracy, octave = _accuracy_and_octave(pairs)
    return {"accuracy": accuracy, "octave": octave, "frames": len(pairs)}


def _median_cents(clip: Clip, frames) -> float | None:
    n = clip.notes[0]
    c = [1200 * np.log2(f0) for t, midi, f0 in frames if n.onset_s + SETTLE_S <= t <= n.offset_s and midi == n.midi and f0]
    return float(np.median(c)) if c else None


def _latency(note, frames) -> float:
    """Seconds from onset to the first frame from which the right note holds STABLE_S (inf: never)."""
    inside = [(t, m) for t, m, _ in frames if note.onset_s < t <= note.offset_s]
    for i, (t, m) in enumerate(inside):
        if m != note.midi:
            continue
        until = min(t + STABLE_S, note.offset_s)
        if all(m2 == note.midi for t2, m2 in inside[i:] if t2 <= until):
            return t - note.onset_s
    return np.inf


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--baseline", type=Path, help="an earlier model, run through the same live path in the same run")
    parser.add_argument("--json", type=Path, help="also write the scores to this file")
    parser.add_argument("--stride", type=int, default=5, help="semitones between corpus notes (smaller: bigger corpus)")
    parser.add_argument("--sequences", type=int, default=48, help="runs of six notes, for the latencies")
    parser.add_argument("--hop-ms", type=float, default=Settings().hop_s * 1000, help="the fast path's hop")
    parser.add_argument("--no-pyin", action="store_true", help="skip the librosa.pyin peer")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    one_blas_thread()  # as the app runs (the pyin peer too): CPU is measured as it spends it

    clips = build(stride=args.stride, sequences=args.sequences)
    seconds = sum(c.seconds for c in clips)
    fast = Settings(hop_s=args.hop_ms / 1000.0)
    runs = {"Pitchrec": run_pitchrec(clips, args.model, fast),
            "Pitchrec, model every hop (before)": run_pitchrec(clips, args.model, EVERY_HOP)}
    if args.baseline:
        runs[f"Pitchrec with {args.baseline.name}"] = run_pitchrec(clips, args.baseline, fast)
    if not args.no_pyin:
        runs["librosa.pyin (offline)"] = run_pyin(clips, 0.05)
    scores = {name: {**score(clips, run.frames), "cpu_per_audio_s": run.cpu_s / seconds,
                     "model_calls_per_s": None if run.model_calls is None else run.model_calls / seconds}
              for name, run in runs.items()}
    versus = paired(clips, runs["Pitchrec"].frames, runs["Pitchrec, model every hop (before)"].frames)
    with_baseline = paired(clips, runs["Pitchrec"].frames, runs[f"Pitchrec with {args.baseline.name}"].frames) \
        if args.baseline else None

    pct = lambda v: f"{100 * v:.2f}%"  # noqa: E731
    ms = lambda v: "never" if not np.isfinite(v) else f"{v:.0f} ms"  # noqa: E731
    cents = lambda v: "n/a" if np.isnan(v) else ("wrong note" if not np.isfinite(v) else f"{v:.2f}")  # noqa: E731
    rows = [
        ("note accuracy after settling, clean", "accuracy_clean", pct, ""),
        ("note accuracy after settling, clean, organs apart", "accuracy_clean_organs_apart", pct, ""),
        ("note accuracy after settling, 20 dB SNR", "accuracy_snr20", pct, ""),
        ("note accuracy after settling, 20 dB SNR, organs apart", "accuracy_snr20_organs_apart", pct, ""),
        ("note accuracy after settling, 10 dB SNR", "accuracy_snr10", pct, ""),
        ("note accuracy after settling, 10 dB SNR, organs apart", "accuracy_snr10_organs_apart", pct, ""),
        ("octave errors, clean", "octave_clean", pct, ""),
        ("octave errors, clean, organs apart", "octave_clean_organs_apart", pct, "≤ 0.3%"),
        ("cents error median (exact-f0 notes)", "cents_median", cents, "≤ 0.5"),
        ("cents error p90 (exact-f0 notes)", "cents_p90", cents, ""),
        ("frames within 1 cent", "within_1", pct, ""),
        ("frames within 10 cents", "within_10", pct, ""),
        ("detune error median, FluidR3 (cents)", "detune_error_median", cents, ""),
        ("false notes on silence and noise", "false_note_rate", pct, "as before"),
    ]
    for name, _, _ in REGISTERS + (ORGANS_REGISTER,):
        key = latency_key(name)
        target = {"E2 and up": ("≤ 50 ms", "≤ 100 ms"), "B0-D#2": ("≤ 100 ms", "")}.get(name, ("", ""))
        what = "organ sources" if name == ORGANS_REGISTER[0] else f"{name}, organs apart"
        rows += [(f"latency to stable note, {what}, median", f"{key}_median_ms", ms, target[0]),
                 (f"latency to stable note, {what}, p90", f"{key}_p90_ms", ms, target[1])]
    rows += [("model calls per audio second", "model_calls_per_s", lambda v: "–" if v is None else f"{v:.2f}", ""),
             ("CPU seconds per audio second (whole process)", "cpu_per_audio_s", lambda v: f"{v:.3f}",
              "≤ 0.08 AVX2, ≤ 0.03 VNNI/AMX")]
    names = list(scores)
    latency_notes = {name: scores[names[0]][latency_key(name) + "_notes"]
                     for name, _, _ in REGISTERS + (ORGANS_REGISTER,)}
    print(f"\nLive benchmark: {len(clips)} clips, {seconds / 60:.1f} min of audio at {RATE_HZ} Hz, model {args.model.name}; "
          f"Pitchrec hops {args.hop_ms:g} ms, every hop: {EVERY_HOP.hop_s * 1000:g} ms; sequences' onsets by register: "
          + ", ".join(f"{k} {v}" for k, v in latency_notes.items()))
    print(f"CPU: {hardware.describe()}, {os.cpu_count()} cores\n")
    print("| metric | " + " | ".join(names) + " | target |")
    print("|---|" + "---|" * len(names) + "---|")
    for label, key, fmt, target in rows:
        print(f"| {label} | " + " | ".join(fmt(scores[n][key]) for n in names) + f" | {target} |")
    labels = {"right": "settled frames named right", "octave": "fewer octave errors",
              "cents": "smaller cents error median", "false_notes": "fewer false notes (silence and noise clips)"}
    comparisons = [("The fast path against the model at every hop", "the fast path", "every hop", versus)]
    if with_baseline:
        comparisons.append((f"{args.model.name} against {args.baseline.name}, both on the fast path", args.model.name,
                            args.baseline.name, with_baseline))
    for title, a, b, counts in comparisons:
        print(f"\n{title}, clip by clip, organs apart (p: exact McNemar, two-sided):\n")
        print(f"| figure | clips better with {a} | clips better with {b} | p |")
        print("|---|---|---|---|")
        for key, label in labels.items():
            v = counts[key]
            print(f"| {label} | {v['better_a']} | {v['better_b']} | {v['p']:.3f} |")
    print("\nClean sustained and detuned notes after settling, by register, organs apart: note accuracy / octave "
          "errors\n")
    print("| register | frames | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for register, first in scores[names[0]]["by_register"].items():
        cells = [f"{pct(scores[n]['by_register'][register]['accuracy'])} / "
                 f"{pct(scores[n]['by_register'][register]['octave'])}" if register in scores[n]["by_register"]
                 else "–" for n in names]
        print(f"| {register} | {first['frames']} | " + " | ".join(cells) + " |")
    print("\nClean sustained and detuned notes after settling, by source: note accuracy / octave errors\n")
    print("| source | frames | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for src, first in scores[names[0]]["by_source"].items():
        cells = [f"{pct(scores[n]['by_source'][src]['accuracy'])} / {pct(scores[n]['by_source'][src]['octave'])}" for n in names]
        print(f"| {src} | {first['frames']} | " + " | ".join(cells) + " |")
    if args.json:
        import json

        args.json.write_text(json.dumps({"cpu": hardware.describe(), "scores": scores, "paired": versus,
                                         "paired_with_baseline": with_baseline}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
