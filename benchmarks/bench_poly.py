"""Benchmark of strum tuning (app.strum): strums built from soundfont renders of single strings, each string detuned
by a known amount, read hop by hop as the microphone path would read them.

    python benchmarks/bench_poly.py [--programs held-out|tuning] [--strums 36] [--json out.json]
    benchmarks/avx2_only.sh .venv/bin/python benchmarks/bench_poly.py    # CPU as on an AVX2-only CPU

The strums (per soundfont, per instrument, per noise condition: clean, 20 dB and 10 dB SNR):
  - every string of the preset (guitar: "Guitar: standard", bass: "Bass: 4 strings") from the program's own render
    of that key at velocity 100, detuned by a draw within +-DETUNE_CENTS by exact resampling (soxr at the rate
    times 2^(c/1200));
  - strings STRUM_GAP_S apart (a draw), down and up strums in turn;
  - let ring, or damped DAMP_AFTER_S after the last string (every third strum);
  - one string muted (left out) in every fourth strum;
  - and each string alone, for the single-string mode.
"held-out" uses the programs the note model never trains on (26 jazz guitar, 34 electric bass, pick):
these are the figures. "tuning" uses 24, 25, 27 (guitars) and 33, 35 (basses): thresholds are set there.

Truth: a string's pitch is its render's own, as strum tuning reads that render alone at the same time since its
note-on (own_track), plus its exact detune: what is scored is reading each string in a strum as well as alone, and
its detune exactly. A soundfont's plucked string glides while it rings (alone, FluidR3's finger bass E1 reads +6
cents 0.3 s in and -1 by 2.5 s, its nylon guitar's E2 +3 and -4), so a truth that held one pitch for the whole
strum would charge the reader with the string's own glide. Strings not played (a muted string, and every other
string while one sounds alone) are scored from the first onset; the rest per hop from SETTLE_S after the last
string's onset to the end (ringing) or to the damping:
  - sounding strings read: hops where the string is shown (sounding, with cents);
  - strings not played: hops shown at all, and shown as in tune (within IN_TUNE_CENTS of its target);
  - cents error |shown - true|: median and p90, clean, 20 dB, 10 dB;
  - before SETTLE_S after the last onset (while the strum is still starting): sounding strings shown, and of those
    the ones shown more than READ_CENTS off their truth;
  - time to all strings read: from the first onset to the first hop from which every sounding string is shown
    within READ_CENTS of its truth;
  - mode: "strum" on strums, "single" on a string alone, None from DAMP_QUIET_S after damping;
  - CPU: process time per second of audio (one thread), with the CPU and the instruction sets it ran on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.engine import one_blas_thread  # noqa: E402
from app.presets import preset  # noqa: E402
from app.strum import StrumAnalyzer  # noqa: E402
from benchmarks import hardware  # noqa: E402

RATE_HZ = 48000
DETUNE_CENTS = 30.0
NEAR_CENTS = 3.0  # every third strum is nearly in tune: each string within this of its target
STRUM_GAP_S = (0.010, 0.040)
FIRST_ONSET_S = 0.2
RING_S = 2.5  # audio after the first onset
DAMP_AFTER_S = 0.8
DAMP_FADE_S = 0.05
DAMP_QUIET_S = 0.4  # after damping, by when the mode should be None
SETTLE_S = 0.3
READ_CENTS = 5.0
IN_TUNE_CENTS = 5.0  # the widest in-tune zone the window offers
SNRS = (None, 20.0, 10.0)

INSTRUMENTS = {  # name -> (preset, held-out programs, tuning programs)
    "guitar": ("Guitar: standard", (26,), (24, 25, 27)),
    "bass": ("Bass: 4 strings", (34,), (33, 35)),
}


@dataclasses.dataclass
class Strum:
    audio: np.ndarray
    strings: tuple[int, ...]  # the preset's, MIDI
    true_cents: np.ndarray  # (strings,) each string's true pitch from its target over its sustain, cents (NaN: muted)
    onsets_s: np.ndarray  # (strings,) NaN: muted
    damped_s: float | None
    snr_db: float | None
    alone: bool  # one string alone (single mode)
    near: bool  # every string within NEAR_CENTS of its target
    label: str
    # per string, its render's glide: (seconds since its onset, cents from its pitch over the sustain), or None
    glides: tuple = ()

    def truth(self, t_s: float) -> np.ndarray:
        """(strings,) each string's true pitch from its target at time t_s, cents (NaN: muted)."""
        c = self.true_cents.copy()
        for k, glide in enumerate(self.glides):
            if glide is not None and np.isfinite(c[k]):
                c[k] += np.interp(t_s - self.onsets_s[k], *glide)
        return c


def render_strings(program: int, kind: str, strings: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Each string's render (velocity 100, held 3 s) from one soundfont's program."""
    from model_build.config import BuildConfig
    from model_build.corpus import render_soundfont

    config = BuildConfig(programs=(program,), velocities=(100,), note_hold_s=3.0, note_total_s=3.2)
    return {midi: audio.astype(np.float32) for audio, midi, _, _ in render_soundfont(config, kind, RATE_HZ)
            if midi in strings}


def own_track(audio: np.ndarray, midi: int) -> tuple[np.ndarray, np.ndarray]:
    """A render's own pitch from its key, hop by hop, as strum tuning reads the string alone: (seconds since the
    note-on, cents). A soundfont's samples are not exactly at their keys' pitches, and no other reading of them is
    exact either (a period tracker reads a stretched string's partials sharper than its fundamental), so the strums
    score each string's detune, which is exact, as bench_live scores FluidR3's detuned copies."""
    readings = [(r.t_s, r.strings[0].cents) for r in StrumAnalyzer([midi], RATE_HZ).feed(audio)
                if r.strings[0].cents is not None]
    if not any(0.6 <= t <= 1.6 for t, _ in readings):
        raise RuntimeError(f"strum tuning reads nothing in the render of MIDI {midi} alone")
    t, cents = np.array(readings).T
    return t, cents


def own_cents(track: tuple[np.ndarray, np.ndarray]) -> float:
    """A render's pitch over its sustain, 0.6 to 1.6 s: the median of its own_track there."""
    t, cents = track
    return float(np.median(cents[(t >= 0.6) & (t <= 1.6)]))


def make_strums(renders: dict[int, np.ndarray], strings: tuple[int, ...], count: int, rng: np.random.Generator,
                label: str) -> list[Strum]:
    import soxr

    tracks = {m: own_track(renders[m], m) for m in strings}
    base = {m: own_cents(tracks[m]) for m in strings}
    glides = tuple((tracks[m][0], tracks[m][1] - base[m]) for m in strings)
    n = int((FIRST_ONSET_S + RING_S) * RATE_HZ)
    strums = []
    plans = [(i, None) for i in range(count)] + [(None, k) for k in range(len(strings))]
    for i, alone in plans:
        near = i is not None and i % 3 == 1
        detune = rng.uniform(-1, 1, len(strings)) * (NEAR_CENTS if near else DETUNE_CENTS)
        gap = rng.uniform(*STRUM_GAP_S)
        order = list(range(len(strings))) if (i or 0) % 2 == 0 else list(range(len(strings)))[::-1]
        muted = int(rng.integers(len(strings))) if i is not None and i % 4 == 3 else None
        damped = i is not None and i % 3 == 2
        playing = [k for k in order if k != muted] if alone is None else [alone]
        x = np.zeros(n)
        onsets = np.full(len(strings), np.nan)
        for pos, k in enumerate(playing):
            audio = soxr.resample(renders[strings[k]], RATE_HZ * 2 ** (detune[k] / 1200), RATE_HZ)
            onsets[k] = FIRST_ONSET_S + pos * gap
            start = int(onsets[k] * RATE_HZ)
            seg = audio[: n - start]
            x[start : start + len(seg)] += seg
        damped_s = None
        if damped:
            damped_s = float(np.nanmax(onsets)) + DAMP_AFTER_S
            t = np.arange(n) / RATE_HZ
            x *= np.clip(1.0 - (t - damped_s) / DAMP_FADE_S, 0.0, 1.0)
        x *= 0.3 / (np.abs(x).max() + 1e-12)
        true = np.full(len(strings), np.nan)
        true[playing] = [base[strings[k]] + detune[k] for k in playing]
        for snr in SNRS:
            y = x
            if snr is not None:
                ringing = x[int(np.nanmax(onsets) * RATE_HZ) : int((damped_s or n / RATE_HZ) * RATE_HZ)]
                y = x + rng.standard_normal(n) * np.sqrt(np.mean(ringing**2)) * 10 ** (-snr / 20)
            strums.append(Strum(y.astype(np.float32), strings, true, onsets, damped_s, snr, alone is not None, near, label,
                                glides))
    return strums


@dataclasses.dataclass
class Tally:
    read: int = 0
    sounding: int = 0
    muted: int = 0
    muted_shown: int = 0
    muted_in_tune: int = 0
    errors: list = dataclasses.field(default_factory=list)
    to_all_read_s: list = dataclasses.field(default_factory=list)
    missed: dict = dataclasses.field(default_factory=dict)  # string name -> sounding hops not shown
    muted_seen: dict = dataclasses.field(default_factory=dict)  # string name -> muted hops shown
    early_shown: int = 0  # sounding strings shown before SETTLE_S after the last onset ...
    early_off: int = 0  # ... and of those, shown more than READ_CENTS off
    mode_right: int = 0
    mode_hops: int = 0
    seconds: float = 0.0
    cpu_s: float = 0.0

    def row(self) -> dict:
        e = np.array(self.errors) if self.errors else np.array([np.nan])
        late = np.array(self.to_all_read_s) if self.to_all_read_s else np.array([np.nan])
        return {
            "sounding_read": self.read / max(self.sounding, 1), "sounding_hops": self.sounding,
            "muted_shown": self.muted_shown, "muted_in_tune": self.muted_in_tune, "muted_hops": self.muted,
            "cents_median": float(np.median(e)), "cents_p90": float(np.percentile(e, 90)),
            "all_read_s_median": float(np.nanmedian(late)), "all_read_s_max": float(np.nanmax(late)),
            "never_all_read": int(np.isnan(late).sum()),
            "missed_by_string": dict(sorted(self.missed.items())),
            "muted_shown_by_string": dict(sorted(self.muted_seen.items())),
            "early_shown": self.early_shown, "early_off": self.early_off,
            "mode_right": self.mode_right / max(self.mode_hops, 1),
            "cpu_s_per_audio_s": self.cpu_s / max(self.seconds, 1e-9),
        }


def score(strum: Strum, results, tally: Tally) -> None:
    last_onset = float(np.nanmax(strum.onsets_s))
    first_onset = float(np.nanmin(strum.onsets_s))
    end = strum.damped_s if strum.damped_s is not None else np.inf
    all_read_at = None
    for r in results:
        t = r.t_s
        truth = strum.truth(t)
        shown = [s.cents is not None for s in r.strings]
        ok = [s.cents is not None and abs(s.cents - c) <= READ_CENTS
              for s, c in zip(r.strings, truth) if np.isfinite(c)]
        if t >= first_onset and t < end:
            if all(ok) and all_read_at is None:
                all_read_at = t
            elif not all(ok):
                all_read_at = None  # the first hop from which every string stays read
        if strum.damped_s is not None and t >= strum.damped_s + DAMP_QUIET_S:
            tally.mode_hops += 1
            tally.mode_right += r.mode is None
            continue
        if not first_onset <= t < end:
            continue
        for s, c, on in zip(r.strings, truth, shown):  # strings not played: from the first onset on
            if not np.isfinite(c):
                tally.muted += 1
                tally.muted_shown += on
                if on:
                    tally.muted_seen[s.target] = tally.muted_seen.get(s.target, 0) + 1
                tally.muted_in_tune += on and abs(s.cents) <= IN_TUNE_CENTS
        if t < last_onset + SETTLE_S:
            shown_early = [abs(s.cents - c) for s, c in zip(r.strings, truth) if np.isfinite(c) and s.cents is not None]
            tally.early_shown += len(shown_early)
            tally.early_off += int(sum(e > READ_CENTS for e in shown_early))
            continue
        tally.mode_hops += 1
        tally.mode_right += r.mode == ("single" if strum.alone else "strum")
        for s, c, on in zip(r.strings, truth, shown):
            if np.isfinite(c):
                tally.sounding += 1
                tally.read += on
                if not on:
                    tally.missed[s.target] = tally.missed.get(s.target, 0) + 1
                if on:
                    tally.errors.append(abs(s.cents - c))
    if not strum.alone:
        tally.to_all_read_s.append(np.nan if all_read_at is None else all_read_at - first_onset)


def run(programs: str, count: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    tallies: dict[str, Tally] = {}
    for name, (preset_name, held_out, tuning) in INSTRUMENTS.items():
        strings = preset(preset_name).strings
        for program in held_out if programs == "held-out" else tuning:
            for kind in ("fluidr3", "musescore"):
                renders = render_strings(program, kind, strings)
                for strum in make_strums(renders, strings, count, rng, f"{kind}:{program}"):
                    analyzer = StrumAnalyzer(list(strings), RATE_HZ)
                    start = time.process_time()
                    results = list(analyzer.feed(strum.audio))
                    cpu = time.process_time() - start
                    snr = "clean" if strum.snr_db is None else f"{strum.snr_db:g} dB"
                    keys = [f"{name}, {snr}", f"{name}, {strum.label}", "all"] + [f"{name}, nearly in tune"] * strum.near
                    for key in keys:
                        tally = tallies.setdefault(key, Tally())
                        score(strum, results, tally)
                        tally.cpu_s += cpu
                        tally.seconds += len(strum.audio) / RATE_HZ
    return {key: tallies[key].row() for key in sorted(tallies, key=lambda k: (k == "all", ":" in k, k))}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", choices=("held-out", "tuning"), default="held-out")
    parser.add_argument("--strums", type=int, default=36, help="strums per program and soundfont (each in 3 noises)")
    parser.add_argument("--seed", type=int, default=29)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    one_blas_thread()  # as the app runs: CPU is measured as it spends it
    rows = run(args.programs, args.strums, args.seed)
    print(f"strum tuning, {args.programs} programs, {args.strums} strums each; CPU: {hardware.describe()}")
    print(f"{'':18} {'read':>7} {'muted shown/in tune/hops':>25} {'cents med':>9} {'p90':>6} "
          f"{'all read s med/max (never)':>27} {'mode':>6} {'CPU s/s':>8} {'early off/shown':>16}")
    for key, r in rows.items():
        print(f"{key:18} {r['sounding_read']:7.1%} {r['muted_shown']:>10}/{r['muted_in_tune']}/{r['muted_hops']:<8} "
              f"{r['cents_median']:9.2f} {r['cents_p90']:6.2f} "
              f"{r['all_read_s_median']:>13.2f}/{r['all_read_s_max']:.2f} ({r['never_all_read']})     "
              f"{r['mode_right']:6.1%} {r['cpu_s_per_audio_s']:8.3f} {r['early_off']:>9}/{r['early_shown']}")
    if args.json:
        args.json.write_text(json.dumps({"cpu": hardware.describe(), "programs": args.programs, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
