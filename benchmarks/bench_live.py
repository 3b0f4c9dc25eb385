"""Benchmark of the live recognition path against librosa.pyin, on the same generated corpus.

    python benchmarks/bench_live.py [--model assets/pitchrec.tflite] [--baseline old.tflite] [--stride 5] [--no-pyin]

Pitchrec runs causally, hop by hop, through app.engine.Analyzer at the device rate
(48 kHz), exactly as the microphone path does. pyin runs offline on each whole clip
(it is not causal: its Viterbi pass sees the future), resampled to 22.05 kHz, with
frames every 50 ms. The corpus is benchmarks/live_corpus.py.

Scoring, per frame of each tool:
  - note accuracy after settling: frames from 0.3 s after an onset to the note's end;
  - octave errors: settled frames named in the right pitch class but another octave;
  - cents error: |measured f0 - true f0| in cents, on settled frames of notes whose f0
    is exactly known (synthesized notes and their detuned copies), counting a wrong or
    missing note as an error beyond every threshold;
  - detune error: FluidR3's absolute tuning is not exactly known, so its detuned copies
    are scored by the median offset between copy and original against the exact c;
  - false notes: frames of silence and noise clips given a note;
  - latency: from each onset in the sequences to the first frame from which the
    correct note holds for 0.15 s (or to the note's end).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.engine import Analyzer, Settings  # noqa: E402
from app.model import DEFAULT_MODEL, NoteModel  # noqa: E402
from app.notes import hz_to_midi  # noqa: E402
from benchmarks.live_corpus import RATE_HZ, Clip, build  # noqa: E402

SETTLE_S = 0.3
STABLE_S = 0.15
LOW_MIDI_MAX = 39  # B0..D#2: the low register has its own latency target


def run_pitchrec(clips: list[Clip], model_path: Path, hop_s: float) -> tuple[dict, float]:
    model = NoteModel(model_path, num_threads=1)
    out, cpu = {}, 0.0
    for clip in clips:
        t0 = time.process_time()
        results = Analyzer(model, RATE_HZ, Settings(hop_s=hop_s)).feed(clip.audio)
        frames = [(r.t_s, r.midi, r.f0_hz) for r in results]
        cpu += time.process_time() - t0
        out[clip.name] = frames
    return out, cpu


def run_pyin(clips: list[Clip], hop_s: float) -> tuple[dict, float]:
    import librosa
    import soxr

    sr = 22050
    hop = int(round(hop_s * sr))
    out, cpu = {}, 0.0
    librosa.pyin(np.zeros(sr, np.float32), fmin=28.0, fmax=2200.0, sr=sr, frame_length=2048, hop_length=hop)  # compile
    for clip in clips:
        t0 = time.process_time()
        y = soxr.resample(clip.audio, RATE_HZ, sr)
        f0, voiced, _ = librosa.pyin(y, fmin=28.0, fmax=2200.0, sr=sr, frame_length=2048, hop_length=hop)
        cpu += time.process_time() - t0
        times = librosa.frames_to_time(np.arange(len(f0)), sr=sr, hop_length=hop)
        out[clip.name] = [
            (float(t), int(round(hz_to_midi(f))) if v and np.isfinite(f) else None, float(f) if v and np.isfinite(f) else None)
            for t, f, v in zip(times, f0, voiced)
        ]
    return out, cpu


def score(clips: list[Clip], frames: dict) -> dict:
    by_name = {c.name: c for c in clips}
    settled = {"clean": [], "snr20": [], "snr10": []}  # (midi_true, midi_out)
    by_source: dict[str, list] = {}  # clean settled (midi_true, midi_out) per source
    cents_err = []  # per settled exact-f0 clean frame; inf for a wrong or missing note
    for clip in clips:
        if clip.kind not in ("sustained", "detuned", "noisy"):
            continue
        n = clip.notes[0]
        group = "clean" if clip.kind != "noisy" else ("snr20" if clip.name.endswith("snr20") else "snr10")
        for t, midi, f0 in frames[clip.name]:
            if n.onset_s + SETTLE_S <= t <= n.offset_s:
                settled[group].append((n.midi, midi))
                if group == "clean":
                    by_source.setdefault(clip.name.split("/")[0], []).append((n.midi, midi))
                if group == "clean" and n.f0_hz is not None:
                    ok = midi == n.midi and f0 is not None
                    cents_err.append(abs(1200 * np.log2(f0 / n.f0_hz)) if ok else np.inf)
    r = {}
    for group, pairs in settled.items():
        r[f"accuracy_{group}"], r[f"octave_{group}"] = _accuracy_and_octave(pairs)
    r["by_source"] = {src: dict(zip(("accuracy", "octave", "frames"), (*_accuracy_and_octave(pairs), len(pairs))))
                      for src, pairs in sorted(by_source.items())}
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

    lat = {"high": [], "low": []}
    for clip in clips:
        if clip.kind != "sequence":
            continue
        f = frames[clip.name]
        for n in clip.notes:
            lat["low" if n.midi <= LOW_MIDI_MAX else "high"].append(_latency(n, f))
    for reg, values in lat.items():
        v = np.array(values)
        r[f"latency_{reg}_median_ms"] = float(np.median(v) * 1000) if len(v) else float("nan")
        r[f"latency_{reg}_p90_ms"] = float(np.percentile(v, 90, method="higher") * 1000) if len(v) else float("nan")
        r[f"latency_{reg}_notes"] = len(v)
    return r


def _accuracy_and_octave(pairs: list) -> tuple[float, float]:
    """Shares of (midi_true, midi_out) frames named right, and named in the right pitch class but another octave."""
    true = np.array([p[0] for p in pairs])
    got = np.array([-1000 if p[1] is None else p[1] for p in pairs])
    return float(np.mean(got == true)), float(np.mean((got != true) & (got > -1000) & ((got - true) % 12 == 0)))


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
    parser.add_argument("--hop-ms", type=float, default=50.0)
    parser.add_argument("--no-pyin", action="store_true", help="skip the librosa.pyin peer")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    clips = build(stride=args.stride)
    seconds = sum(c.seconds for c in clips)
    tools = {"Pitchrec": run_pitchrec(clips, args.model, args.hop_ms / 1000.0)}
    if args.baseline:
        tools[f"Pitchrec with {args.baseline.name}"] = run_pitchrec(clips, args.baseline, args.hop_ms / 1000.0)
    if not args.no_pyin:
        tools["librosa.pyin (offline)"] = run_pyin(clips, args.hop_ms / 1000.0)
    scores = {name: {**score(clips, frames), "cpu_per_audio_s": cpu / seconds} for name, (frames, cpu) in tools.items()}

    pct = lambda v: f"{100 * v:.2f}%"  # noqa: E731
    ms = lambda v: "never" if not np.isfinite(v) else f"{v:.0f} ms"  # noqa: E731
    cents = lambda v: "n/a" if np.isnan(v) else ("wrong note" if not np.isfinite(v) else f"{v:.2f}")  # noqa: E731
    rows = [
        ("note accuracy after settling, clean", "accuracy_clean", pct, ""),
        ("note accuracy after settling, 20 dB SNR", "accuracy_snr20", pct, ""),
        ("note accuracy after settling, 10 dB SNR", "accuracy_snr10", pct, ""),
        ("octave errors, clean", "octave_clean", pct, "≤ 0.5%"),
        ("cents error median (exact-f0 notes)", "cents_median", cents, "≤ 1"),
        ("cents error p90 (exact-f0 notes)", "cents_p90", cents, ""),
        ("frames within 1 cent", "within_1", pct, ""),
        ("frames within 5 cents", "within_5", pct, ""),
        ("frames within 10 cents", "within_10", pct, "≥ 98%"),
        ("detune error median, FluidR3 (cents)", "detune_error_median", cents, ""),
        ("false notes on silence and noise", "false_note_rate", pct, "≤ 1%"),
        ("latency to stable note, E2 and up, median", "latency_high_median_ms", ms, "≤ 150 ms"),
        ("latency to stable note, E2 and up, p90", "latency_high_p90_ms", ms, ""),
        ("latency to stable note, B0-D#2, median", "latency_low_median_ms", ms, "≤ 300 ms"),
        ("latency to stable note, B0-D#2, p90", "latency_low_p90_ms", ms, ""),
        ("CPU seconds per audio second", "cpu_per_audio_s", lambda v: f"{v:.3f}", "≤ 0.10"),
    ]
    names = list(scores)
    print(f"\nLive benchmark: {len(clips)} clips, {seconds / 60:.1f} min of audio at {RATE_HZ} Hz, hop {args.hop_ms:g} ms, "
          f"model {args.model.name}\n")
    print("| metric | " + " | ".join(names) + " | target |")
    print("|---|" + "---|" * len(names) + "---|")
    for label, key, fmt, target in rows:
        print(f"| {label} | " + " | ".join(fmt(scores[n][key]) for n in names) + f" | {target} |")
    print("\nClean sustained and detuned notes after settling, by source: note accuracy / octave errors\n")
    print("| source | frames | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for src, first in scores[names[0]]["by_source"].items():
        cells = [f"{pct(scores[n]['by_source'][src]['accuracy'])} / {pct(scores[n]['by_source'][src]['octave'])}" for n in names]
        print(f"| {src} | {first['frames']} | " + " | ".join(cells) + " |")
    if args.json:
        import json

        args.json.write_text(json.dumps(scores, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
