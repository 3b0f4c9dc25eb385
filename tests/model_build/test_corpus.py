"""Labels come from the note rendered or synthesized, and survive patch mixing."""

import dataclasses

import numpy as np
import pytest

from app.notes import MIDI_MAX, MIDI_MIN, class_labels, hz_to_midi, label_index, midi_to_hz
from app.params import LOW_SPECTRUM, VGGISH
from model_build import synth
from model_build.config import FLUIDR3_SF2, MUSESCORE_SF3, VALIDATION_FAMILIES, VALIDATION_PROGRAMS, BuildConfig
from model_build.corpus import (NoteBank, PatchMaker, build_bank, coloured_noise, drop_sub_octave_notes, is_validation_source,
                                 model_inputs, render_soundfont, sub_octave_db, synthesize_notes)

SR = 16000


def f0_by_autocorrelation(x: np.ndarray, midi: int) -> float:
    """Independent check of a note's pitch: the autocorrelation peak within ±1 semitone of midi's period."""
    x = x - x.mean()
    ac = np.fft.irfft(np.abs(np.fft.rfft(x, 2 * len(x))) ** 2)[: len(x)]
    lo, hi = int(SR / midi_to_hz(midi + 1)), int(SR / midi_to_hz(midi - 1)) + 1
    lag = lo + int(np.argmax(ac[lo:hi]))
    a, b, c = ac[lag - 1], ac[lag], ac[lag + 1]
    return SR / (lag + 0.5 * (a - c) / (a - 2 * b + c))


@pytest.mark.parametrize("family", sorted(synth.FAMILIES))
@pytest.mark.parametrize("midi", [MIDI_MIN, 40, 57, 69, 84, MIDI_MAX])
def test_synth_note_is_within_half_a_semitone_of_its_label(family, midi):
    rng = np.random.default_rng(midi)
    audio, f0 = synth.synthesize(rng, family, midi, 1.0)
    assert abs(hz_to_midi(f0) - midi) < 0.5
    assert audio.dtype == np.float32 and np.abs(audio).max() == pytest.approx(1.0)
    if midi >= 40:  # low notes' periods are too long for a 1 s autocorrelation check with vibrato
        assert abs(hz_to_midi(f0_by_autocorrelation(audio[SR // 4 :], midi)) - midi) < 0.5


def partial_levels_db(audio: np.ndarray, f0: float, count: int) -> np.ndarray:
    spec = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    hz_per_bin = SR / len(audio)
    return np.array([20 * np.log10(spec[int(round(k * f0 / hz_per_bin)) - 2: int(round(k * f0 / hz_per_bin)) + 3].max() + 1e-12)
                     for k in range(1, count + 1)])


def test_hollow_tones_have_weak_odd_partials_and_keep_their_fundamental():
    rng = np.random.default_rng(4)
    odd_minus_even, fundamental = [], []
    for midi in range(48, 72, 2):
        audio, f0 = synth.synthesize(rng, "hollow", midi, 1.0, vibrato=False)
        levels = partial_levels_db(audio, f0, 8) - partial_levels_db(audio, f0, 8).max()
        odd_minus_even.append(levels[[2, 4, 6]].mean() - levels[[1, 3, 5]].mean())  # partials 3, 5, 7 against 2, 4, 6
        fundamental.append(levels[0])
    assert np.median(odd_minus_even) < -8
    assert min(fundamental) > -40  # weaker at times, never gone: the period, and so the label, is f0


@pytest.mark.parametrize("family", ["ranks", "sparse"])
def test_organ_like_tones_keep_their_fundamental_under_louder_upper_partials(family):
    """Corpus v5's families: the loudest partial is often far above the fundamental, and some harmonics are silent
    (sparse), yet the fundamental always sounds, so the period, and the label, is the key's."""
    rng = np.random.default_rng(5)
    fundamental, loudest, silent = [], [], []
    for midi in range(45, 69):
        audio, f0 = synth.synthesize(rng, family, midi, 1.0, vibrato=False)
        levels = partial_levels_db(audio, f0, 12)
        levels -= levels.max()
        fundamental.append(levels[0])
        loudest.append(int(np.argmax(levels)) + 1)
        silent.append(int((levels < -60).sum()))
    assert min(fundamental) > -45
    assert np.mean(np.array(loudest) > 1) > 0.5 and max(loudest) >= 4
    if family == "sparse":
        assert np.median(silent) >= 2


def test_pipes_speak_from_their_high_harmonics_down():
    """Corpus v8's "pipes": 0.16 s after note-on the fundamental is still far under partial 4 against the sustain,
    as in the church organ's low notes; later the fundamental sounds, so the period, and the label, is the key's."""
    rng = np.random.default_rng(6)
    drop, late_fundamental = [], []
    for _ in range(16):
        audio, f0 = synth.synthesize(rng, "pipes", 60, 1.2, vibrato=False)
        early, late = (partial_levels_db(audio[int(t * SR) : int((t + 0.04) * SR)], f0, 4) for t in (0.16, 1.0))
        drop.append((late[0] - late[3]) - (early[0] - early[3]))
        late_fundamental.append(late[0] - late.max())
    assert np.median(drop) > 6 and max(drop) > 30
    assert min(late_fundamental) > -45


# The families in the order they came; a new one goes at the end.
FAMILY_ORDER = ("saw", "square", "pluck", "bowed", "pure", "piano", "reed", "formant", "organ", "hollow", "ranks", "sparse",
                "pipes")


@pytest.mark.parametrize("first", [9, 10, 12])  # the families there were before "hollow", "ranks" and "pipes" came
def test_appending_a_family_leaves_the_earlier_families_notes_alone(first):
    """Families are appended, never inserted: the held-out families' notes, and so the validation split, must not
    change when one comes."""
    names = tuple(synth.FAMILIES)
    assert names[: len(FAMILY_ORDER)] == FAMILY_ORDER
    earlier, later, added = names[:first], None, {f"synth:{f}" for f in names[first:]}
    config = BuildConfig(synth_notes_per_midi=1, note_stride=12, note_total_s=0.3)
    before = synthesize_notes(dataclasses.replace(config, synth_families=earlier), np.random.default_rng(9))
    after = synthesize_notes(dataclasses.replace(config, synth_families=later), np.random.default_rng(9))
    assert len(after) > len(before) and {s for *_, s in after} - {s for *_, s in before} == added
    for (a, midi_a, _, src_a), (b, midi_b, _, src_b) in zip(before, after):
        assert (src_a, midi_a) == (src_b, midi_b)
        np.testing.assert_array_equal(a, b)


def harmonic_tone(f0: float, partials: dict[float, float], seconds: float = 1.5) -> np.ndarray:
    """Partials {multiple of f0: amplitude}."""
    t = np.arange(int(seconds * SR)) / SR
    return sum(a * np.sin(2 * np.pi * k * f0 * t) for k, a in partials.items()).astype(np.float32)


def test_a_render_with_ranks_below_its_key_is_dropped_from_training_only():
    f0 = midi_to_hz(60)
    at_key = harmonic_tone(f0, {1: 1.0, 2: 0.5, 3: 0.3, 4: 0.2})
    below = harmonic_tone(f0, {0.25: 1.0, 0.5: 0.8, 1: 0.3, 2: 0.1})  # 32' and 16' ranks under an 8'
    assert sub_octave_db(at_key, 60) < -40
    assert sub_octave_db(below, 60) > 0
    notes = [(at_key, 60, 100, "fluidr3:0"), (below, 60, 100, "fluidr3:16"), (below, 60, 100, "fluidr3:19")]
    dropped = []
    kept = drop_sub_octave_notes(notes, dropped)
    assert [n[3] for n in kept] == ["fluidr3:0", "fluidr3:19"]  # 19 is held out: validation never changes
    assert dropped == [("fluidr3:16", 60)]


def test_a_stretched_top_note_sounds_at_its_key():
    """A piano's C8 sounds about 25 cents sharp; a faint thump an octave below does not make it sound there."""
    f0 = midi_to_hz(108.25)
    t = np.arange(int(1.5 * SR)) / SR
    audio = (np.sin(2 * np.pi * f0 * t) + 0.05 * np.sin(2 * np.pi * midi_to_hz(96) * t)).astype(np.float32)
    assert sub_octave_db(audio, 108) == pytest.approx(-26.0, abs=1.0)


@pytest.mark.skipif(not FLUIDR3_SF2.exists(), reason="FluidR3 not installed")
def test_the_drawbar_organ_render_sounds_below_its_key_and_a_guitar_does_not():
    notes = render_soundfont(BuildConfig(velocities=(90,), note_stride=12, programs=(16, 24)), "fluidr3")
    by_program = {}
    for audio, midi, _, source in notes:
        by_program.setdefault(source, []).append(sub_octave_db(audio, midi))
    assert min(by_program["fluidr3:16"]) > 0 and max(by_program["fluidr3:24"]) < -20


@pytest.mark.parametrize("kind, path", [("fluidr3", FLUIDR3_SF2), ("musescore", MUSESCORE_SF3)])
def test_soundfont_render_sounds_at_the_midi_note(kind, path):
    if not path.exists():
        pytest.skip(f"{path} not installed")
    config = BuildConfig(velocities=(100,), note_stride=12, programs=(0, 24, 33))
    notes = render_soundfont(config, kind)
    assert {src for *_, src in notes} == {f"{kind}:0", f"{kind}:24", f"{kind}:33"}
    for audio, midi, note_off, _ in notes:
        assert note_off == int(config.note_hold_s * SR)
        if midi >= 36:
            assert abs(hz_to_midi(f0_by_autocorrelation(audio[2000:12000], midi)) - midi) < 0.5, midi


def tiny_bank() -> NoteBank:
    """Sine notes: easy to tell apart by their spectrum."""
    midis = np.arange(MIDI_MIN, MIDI_MAX + 1, dtype=np.int16)
    n = int(2.2 * SR)
    t = np.arange(n) / SR
    audio = np.stack([np.sin(2 * np.pi * midi_to_hz(m) * t) for m in midis]).astype(np.float16)
    return NoteBank(
        audio=audio,
        midi=midis,
        note_off=np.full(len(midis), int(1.6 * SR), dtype=np.int32),
        source=np.array(["synth:pure"] * len(midis)),
        validation=np.zeros(len(midis), dtype=bool),
        cents=np.full(len(midis), np.nan, np.float32),
    )


def test_patches_carry_the_label_of_the_note_at_their_end():
    maker = PatchMaker(tiny_bank())
    rng = np.random.default_rng(0)
    for midi in (60, 72, 81):
        for _ in range(20):
            x, y, source = maker.make(rng, midi)
            assert source == "synth:pure"
            assert y == label_index(midi)
            assert x.shape == (96, 64)
            # The last frames hold the labelled note: their strongest band is that of its frequency.
            expected = maker.make(np.random.default_rng(1), midi)[0][-1].argmax()
            assert abs(int(x[-1].argmax()) - int(expected)) <= 1


def test_no_note_patches_are_labelled_none_and_hold_no_loud_tone_at_the_end():
    maker = PatchMaker(tiny_bank())
    rng = np.random.default_rng(3)
    for _ in range(50):
        x, y, source = maker.make(rng, None)
        assert source == "none"
        assert y == label_index(None)
        assert np.isfinite(x).all()


def test_noise_onsets_start_after_silence_and_are_off_by_default():
    """Training's no-note patches may hold noise that starts inside the patch; validation's never do."""
    def onsets(maker: PatchMaker) -> list[float]:
        """Seconds of sound at the end of each no-note signal that is quiet at first and then sounds to its end."""
        rng, found = np.random.default_rng(8), []
        for _ in range(300):
            signal = maker._no_note(rng)
            frames = np.sqrt(np.mean(signal[: len(signal) // 160 * 160].reshape(-1, 160) ** 2, axis=1))  # 10 ms each
            sounding = frames > 30 * frames[0] + 1e-9
            if sounding[-1] and not sounding[0]:
                start = len(sounding) - int(np.argmin(sounding[::-1]))  # the first frame of the last sounding run
                if len(frames) - start >= 3:  # a click at the very end is not an onset
                    found.append((len(frames) - start) / 100)
        return found

    assert onsets(PatchMaker(tiny_bank())) == []
    tails = onsets(PatchMaker(tiny_bank(), noise_onsets=True))
    assert len(tails) > 10 and min(tails) < 0.15 and max(tails) > 0.5


def test_no_note_noise_reaches_the_loudest_level_asked_and_keeps_the_draws():
    """Corpus v6 trains on no-note noise up to -6 dBFS; -15 (v5's, validation's) keeps the same random draws."""
    def levels(maker: PatchMaker) -> np.ndarray:
        rng = np.random.default_rng(5)
        return np.array([20 * np.log10(np.sqrt(np.mean(maker._no_note(rng) ** 2)) + 1e-12) for _ in range(400)])

    v5, v6 = levels(PatchMaker(tiny_bank())), levels(PatchMaker(tiny_bank(), no_note_loudest_db=-6.0))
    # The same draws, each noise level raised (clicks and stopped notes keep theirs): no patch is quieter.
    assert np.all(v6 >= v5 - 0.01) and np.mean(v6 > v5 + 1) > 0.3
    assert v5.max() < -10 and -8 < v6.max() < 0


def test_no_note_noise_starts_at_the_quietest_level_asked_and_keeps_the_draws():
    """Corpus v10 draws training no-note noise from -70 dBFS (the app runs no model below -60), not -90."""
    def levels(maker: PatchMaker) -> np.ndarray:
        rng = np.random.default_rng(8)
        return np.array([20 * np.log10(np.sqrt(np.mean(maker._no_note(rng) ** 2)) + 1e-12) for _ in range(400)])

    kw = dict(noise_onsets=True, no_note_loudest_db=-6.0)
    v9, v10 = levels(PatchMaker(tiny_bank(), **kw)), levels(PatchMaker(tiny_bank(), no_note_quietest_db=-70.0, **kw))
    assert np.all(v10 >= v9 - 0.01) and np.mean(v10 > v9 + 1) > 0.3  # the same draws, each level raised ...
    raised = v10 - v9  # a level drawn u of the way up goes from -90 + 84u to -70 + 64u dB: raised by 20 - 20u
    assert 15 < raised.max() < 20.5 and abs(v10.max() - v9.max()) < 2  # the quiet ones most, the loudest barely


def test_batches_draw_every_class_and_no_note():
    maker = PatchMaker(tiny_bank())
    x, y = maker.batch(np.random.default_rng(5), 600)
    assert x.shape == (600, 96, 64) and y.dtype == np.int32
    counts = np.bincount(y, minlength=label_index(None) + 1)
    assert 0.06 < counts[label_index(None)] / len(y) < 0.2
    assert (counts[:-1] > 0).mean() > 0.9


def test_the_low_register_boost_draws_low_notes_more_often_and_is_off_by_default():
    plain, boosted = PatchMaker(tiny_bank()), PatchMaker(tiny_bank(), low_register_boost=3.0)
    np.testing.assert_array_equal(plain.batch(np.random.default_rng(2), 50)[1],
                                  PatchMaker(tiny_bank(), low_register_boost=1.0).batch(np.random.default_rng(2), 50)[1])
    _, y = boosted.batch(np.random.default_rng(6), 2000)
    midi = y[y != label_index(None)] + MIDI_MIN
    low = midi <= PatchMaker.LOW_REGISTER_TOP
    per_low_class = low.sum() / (PatchMaker.LOW_REGISTER_TOP - MIDI_MIN + 1)
    per_other_class = (~low).sum() / (MIDI_MAX - PatchMaker.LOW_REGISTER_TOP)
    assert 2.3 < per_low_class / per_other_class < 3.9


def test_batches_are_reproducible_from_their_seed():
    maker = PatchMaker(tiny_bank())
    a = maker.batch(np.random.default_rng([1, 2, 3]), 8)
    b = maker.batch(np.random.default_rng([1, 2, 3]), 8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_validation_split_holds_out_whole_programs_and_families():
    for p in VALIDATION_PROGRAMS:
        assert is_validation_source(f"fluidr3:{p}") and is_validation_source(f"musescore:{p}")
    for f in VALIDATION_FAMILIES:
        assert is_validation_source(f"synth:{f}")
    assert not is_validation_source("fluidr3:0") and not is_validation_source("musescore:0")
    assert not is_validation_source("synth:saw")


def test_bank_round_trips_and_splits(tmp_path):
    config = BuildConfig.quick()
    bank = build_bank(config)
    bank.save(tmp_path / "bank.npz")
    loaded = NoteBank.load(tmp_path / "bank.npz")
    np.testing.assert_array_equal(loaded.midi, bank.midi)
    np.testing.assert_array_equal(loaded.cents, bank.cents)
    assert loaded.validation.any() and (~loaded.validation).any()
    val_sources = {str(s) for s in bank.source[bank.validation]}
    train_sources = {str(s) for s in bank.source[~bank.validation]}
    assert not val_sources & train_sources
    # Synthesized notes carry their drawn detune; rendered ones none. A bank an older build saved without it is
    # refused, with what to run.
    synthesized = np.char.startswith(bank.source.astype(str), "synth:")
    assert np.all(np.abs(bank.cents[synthesized]) < 49.5) and np.isnan(bank.cents[~synthesized]).all()
    with np.load(tmp_path / "bank.npz") as z:
        np.savez(tmp_path / "old.npz", **{k: z[k] for k in z.files if k != "cents"})
    with pytest.raises(ValueError, match="lacks cents: an older build wrote it; run `pitchrec-build data` again"):
        NoteBank.load(tmp_path / "old.npz")


def test_a_synthesized_notes_detune_is_the_one_it_sounds():
    config = BuildConfig(synth_notes_per_midi=1, note_stride=9, note_total_s=1.0, synth_families=("square",))
    cents: list[float] = []
    notes = synthesize_notes(config, np.random.default_rng(4), cents)
    assert len(cents) == len(notes) > 5 and max(abs(c) for c in cents) > 20
    for (audio, midi, _, _), drawn in zip(notes, cents):
        # The fundamental's peak in a finely interpolated spectrum, anywhere within a semitone of the key ("square"
        # has no vibrato): independent of the app's pitch stage, and as exact at A0 as at C8.
        x = audio[: int(0.6 * SR)].astype(np.float64)
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), 1 << 21))
        hz = np.fft.rfftfreq(1 << 21, 1 / SR)
        near = (hz > midi_to_hz(midi - 1)) & (hz < midi_to_hz(midi + 1))
        f0 = hz[near][np.argmax(spectrum[near])]
        assert 1200 * np.log2(f0 / midi_to_hz(midi)) == pytest.approx(drawn, abs=0.2)


def test_batches_name_the_bank_note_behind_each_patch():
    bank = tiny_bank()
    x, y, sources, notes = PatchMaker(bank).batch(np.random.default_rng(11), 40, with_sources=True, with_notes=True)
    assert (notes == -1).any() and (notes >= 0).any()
    assert np.all((notes == -1) == (y == label_index(None))) and np.all((notes == -1) == (sources == "none"))
    held = notes >= 0
    np.testing.assert_array_equal(sources[held], bank.source[notes[held]])
    np.testing.assert_array_equal(y[held], [label_index(int(m)) for m in bank.midi[notes[held]]])
    # The same draws as without the indices.
    np.testing.assert_array_equal(PatchMaker(bank).batch(np.random.default_rng(11), 40)[1], y)


def test_each_note_patch_records_its_notes_level_and_a_build_scores_the_faded_ones_apart(tmp_path):
    """Each patch's note level is its last hop's (the app's gate judges that hop), with the same draws as without
    it; validation keeps the key and the level, and a build's scores leave out the notes faded under
    AUDIBLE_DBFS (naming them or not are both right)."""
    from model_build.corpus import AUDIBLE_DBFS, faded_notes, load_validation

    bank = tiny_bank()
    bank.audio = (bank.audio * np.exp(-np.arange(bank.audio.shape[1]) / (0.3 * SR))).astype(np.float16)  # plucked
    x, y, notes, levels = PatchMaker(bank).batch(np.random.default_rng(5), 300, with_notes=True, with_levels=True)
    assert np.isnan(levels[notes < 0]).all() and np.isfinite(levels[notes >= 0]).all()
    assert 0 < faded_notes(y, levels).sum() < (notes >= 0).sum() // 2  # some end faded (a -40 dB gain, a decay)
    np.testing.assert_array_equal(PatchMaker(bank).batch(np.random.default_rng(5), 300)[0], x)
    assert list(faded_notes(np.array([10, 10, label_index(None)]), np.array([AUDIBLE_DBFS - 1, AUDIBLE_DBFS, np.nan]))) \
        == [True, False, False]

    arrays = {"x": np.zeros((3, 96, 64), np.float16), "x_low": np.zeros((3, *LOW_SPECTRUM.shape), np.float16),
              "y": np.array([10, 10, label_index(None)]), "source": np.array(["fluidr3:1", "fluidr3:1", "none"]),
              "cents": np.full(3, np.nan), "level_dbfs": np.array([-70.0, -30.0, np.nan]), "labels": class_labels()}
    np.savez(tmp_path / "validation.npz", **arrays)
    assert len(load_validation(tmp_path)[1]) == 3
    x_scored, y_scored, source_scored = load_validation(tmp_path, with_faded=False)
    assert list(y_scored) == [10, label_index(None)] and len(x_scored["log_mel"]) == len(source_scored) == 2


def test_coloured_noise_has_unit_rms_and_the_right_slope():
    rng = np.random.default_rng(0)
    for exponent in (0.0, 1.0, 2.0):
        x = coloured_noise(rng, 1 << 15, exponent)
        assert np.sqrt(np.mean(x**2)) == pytest.approx(1.0, rel=1e-3)
        p = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(len(x))
        slope = np.polyfit(np.log(f[10:]), np.log(p[10:] + 1e-12), 1)[0]
        assert slope == pytest.approx(-exponent, abs=0.2)


def _onset_frames(maker: PatchMaker, seed: int, count: int) -> list[int]:
    """Frames since the labelled note started, in patches whose note starts after silence."""
    maker._background = lambda rng, n: np.zeros(n, dtype=np.float32)  # silence before every onset
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        x, _, _ = maker.make(rng, 69)
        loud = x.max(axis=1) > x.max() - 1.5  # within 1.5 nats (13 dB) of the note
        if not loud[0]:
            out.append(int(len(loud) - np.argmax(loud)))
    return out


def test_a_note_starting_inside_a_patch_has_sounded_for_at_least_the_minimum_tail():
    frames_per_s = 1.0 / VGGISH.hop_s
    plain = _onset_frames(PatchMaker(tiny_bank()), 4, 200)
    assert min(plain) >= PatchMaker.MIN_TAIL_S * frames_per_s - 1


def test_the_low_spectrum_comes_with_the_same_patches_and_shows_the_labelled_note():
    """PatchMaker(low=...) adds each patch's low spectrum without changing a single draw, so one data build serves
    one- and two-input models; the newest frame's strongest point is the labelled note's fundamental."""
    plain, both = PatchMaker(tiny_bank()), PatchMaker(tiny_bank(), low=LOW_SPECTRUM)
    x, y = plain.batch(np.random.default_rng(9), 40)
    xy, yy = both.batch(np.random.default_rng(9), 40)
    np.testing.assert_array_equal(x, xy["log_mel"])
    np.testing.assert_array_equal(y, yy)
    assert xy["low_spectrum"].shape == (40, *LOW_SPECTRUM.shape)
    assert model_inputs(xy, None) is xy["log_mel"] and model_inputs(xy, LOW_SPECTRUM) is xy
    with pytest.raises(ValueError, match="low spectrum"):
        model_inputs(x, LOW_SPECTRUM)
    with pytest.raises(ValueError, match="rebuild them"):
        model_inputs({**xy, "low_spectrum": xy["low_spectrum"][..., :2]}, LOW_SPECTRUM)
    for midi in (45, 57, 69):  # pure tones, their fundamental within the low spectrum's range
        (mel, low), _, _ = both.make(np.random.default_rng(midi), midi)
        assert abs(int(low[:, -1].argmax()) - (midi - LOW_SPECTRUM.midi_low) * LOW_SPECTRUM.bins_per_semitone) <= 2


def test_validation_patches_of_another_builds_classes_are_refused(tmp_path):
    """y holds class indices: read against other classes, version 9's B0 would be A0 and its "none" B6."""
    from app.notes import note_name
    from model_build.corpus import load_validation

    arrays = {"x": np.zeros((2, 96, 64), np.float16), "x_low": np.zeros((2, *LOW_SPECTRUM.shape), np.float16),
              "y": np.array([0, 74]), "source": np.array(["fluidr3:1", "none"]), "cents": np.full(2, np.nan),
              "level_dbfs": np.array([-20.0, np.nan])}
    np.savez(tmp_path / "validation.npz", **arrays, labels=np.array(class_labels()))
    assert list(load_validation(tmp_path)[1]) == [0, 74]
    np.savez(tmp_path / "validation.npz", **arrays, labels=np.array([note_name(m) for m in range(23, 97)] + ["none"]))
    with pytest.raises(ValueError, match="labelled B0 to C7, not this build's A0 to C8; run `pitchrec-build data`"):
        load_validation(tmp_path)
    np.savez(tmp_path / "validation.npz", **arrays)  # before the labels were kept
    with pytest.raises(ValueError, match="lacks labels: an older build wrote it"):
        load_validation(tmp_path)
