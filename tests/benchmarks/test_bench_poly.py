"""bench_poly's strums and scoring, on synthesized strings (the benchmark itself renders soundfonts)."""

import numpy as np
import pytest

from app.strum import StringReading, StrumResult
from benchmarks import bench_poly
from tests.app.test_strum import strum


def reading(target, midi, cents):
    return StringReading(target, midi, cents, None if cents is None else 100.0, cents is not None)


def test_score_counts_reads_muted_strings_errors_and_the_mode():
    s = bench_poly.Strum(np.zeros(10, np.float32), (40, 45), np.array([2.0, np.nan]), np.array([0.2, np.nan]),
                         None, None, False, False, "x")
    tally = bench_poly.Tally()
    results = [StrumResult(t, "strum" if t >= 0.6 else None,
                           (reading("E2", 40, 2.5 if t >= 0.4 else None), reading("A2", 45, 1.0 if t >= 0.7 else None)))
               for t in np.arange(0.05, 1.0, 0.05)]
    bench_poly.score(s, results, tally)
    row = tally.row()
    settled = [t for t in np.arange(0.05, 1.0, 0.05) if t >= 0.2 + bench_poly.SETTLE_S]  # 0.5 s on: 10 hops
    assert row["sounding_hops"] == len(settled) and row["sounding_read"] == 1.0
    assert row["cents_median"] == pytest.approx(0.5)
    heard = [t for t in np.arange(0.05, 1.0, 0.05) if t >= 0.2]  # a string not played: from the first onset on
    assert row["muted_hops"] == len(heard)
    assert row["muted_shown"] == sum(t >= 0.7 for t in heard) and row["muted_in_tune"] == row["muted_shown"]
    assert row["mode_right"] == pytest.approx(np.mean([t >= 0.6 for t in settled]))
    assert row["all_read_s_median"] == pytest.approx(0.4 - 0.2)


def test_score_counts_strings_shown_off_while_the_strum_starts():
    # E2 shown 10 cents off its truth 0.1 s after the onset, then right: one of four early hops off
    s = bench_poly.Strum(np.zeros(10, np.float32), (40,), np.array([2.0]), np.array([0.2]), None, None, False, False,
                         "x")
    tally = bench_poly.Tally()
    results = [StrumResult(t, "single", (reading("E2", 40, None if t < 0.3 else 12.0 if t < 0.35 else 2.5),))
               for t in np.arange(0.05, 1.0, 0.05)]
    bench_poly.score(s, results, tally)
    row = tally.row()
    assert (row["early_shown"], row["early_off"]) == (4, 1)  # 0.3 to 0.45 s: before SETTLE_S after the onset


def test_strums_are_detuned_exactly_and_noisy_copies_share_the_strum():
    rate = bench_poly.RATE_HZ
    renders = {m: strum({m: 0.0}, seconds=3.2, rate=rate) for m in (40, 45)}
    strums = bench_poly.make_strums(renders, (40, 45), 4, np.random.default_rng(0), "synth")
    assert len(strums) == (4 + 2) * len(bench_poly.SNRS)
    clean = [s for s in strums if s.snr_db is None]
    assert [s.alone for s in clean] == [False] * 4 + [True] * 2
    assert clean[1].near and np.all(np.abs(clean[1].true_cents) <= bench_poly.NEAR_CENTS + 0.5)
    assert [s.damped_s is not None for s in clean[:4]] == [False, False, True, False]
    muted = clean[3]
    assert np.isnan(muted.true_cents).sum() == 1 and np.isnan(muted.onsets_s).sum() == 1
    first = clean[0]
    gaps = np.diff(np.sort(first.onsets_s))
    assert np.all((gaps >= bench_poly.STRUM_GAP_S[0]) & (gaps <= bench_poly.STRUM_GAP_S[1]))
    noisy = strums[:3]
    assert [s.snr_db for s in noisy] == list(bench_poly.SNRS)
    assert np.array_equal(noisy[0].true_cents, noisy[1].true_cents)
    # each string's truth follows its own render's reading: exact synthesized strings do not glide
    assert len(first.glides) == 2 and all(g is not None for g in first.glides)
    assert np.allclose(first.truth(float(np.max(first.onsets_s)) + 1.0), first.true_cents, atol=0.3)


def test_truth_follows_each_strings_own_glide_from_its_onset():
    glide = (np.array([0.2, 1.0, 2.0]), np.array([4.0, 0.0, -2.0]))  # sharp after the pluck, flat as it rings
    s = bench_poly.Strum(np.zeros(10, np.float32), (40, 45, 50), np.array([1.0, 3.0, np.nan]),
                         np.array([0.2, 0.5, np.nan]), None, None, False, False, "x", (glide, None, glide))
    truth = s.truth(1.2)  # E2 1.0 s into its sound, A2 (no glide known) as over its sustain, D3 muted
    assert truth[0] == pytest.approx(1.0) and truth[1] == pytest.approx(3.0) and np.isnan(truth[2])
    assert s.truth(0.3)[0] == pytest.approx(5.0)  # before the track's first reading: its first
    assert s.truth(2.7)[0] == pytest.approx(-1.0)  # 2.5 s in: past the glide's last reading, -2, plus 1


def test_own_track_reads_a_render_alone_hop_by_hop():
    rate = bench_poly.RATE_HZ
    render = strum({45: 2.0}, seconds=2.0, rate=rate)
    t, cents = bench_poly.own_track(render, 45)
    assert np.all(np.diff(t) > 0) and t[0] <= 0.3
    assert bench_poly.own_cents((t, cents)) == pytest.approx(2.0, abs=0.3)
