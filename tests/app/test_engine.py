"""The Analyzer with a scripted model: the pipeline (gate, onsets, when the model runs, cents against A4, stream
time, JSON schema), and the fusion of the model's note with the waveform at every hop (`EVERY_HOP`, the engine
before the fast path, whose verdicts the fast path's tracker makes the same way: tests/app/test_tracker.py)."""

import dataclasses

import numpy as np
import pytest

from app.engine import EVERY_HOP, Analyzer, Latest, Settings
from app.notes import MIDI_MIN, NO_NOTE, class_labels, midi_to_hz, note_name
from app.params import LOW_SPECTRUM, VGGISH

RATE = 48000
EVERY_50_MS = EVERY_HOP  # one verdict a hop: the scripts below are one note a hop


class ScriptedModel:
    """Stands in for NoteModel: names the notes it is told to, one per call."""

    params = VGGISH
    labels = class_labels()

    def __init__(self, script, prob=0.9):
        self.script = list(script)
        self.prob = prob
        self.calls = 0

    def probabilities(self, patch):
        assert patch.shape == VGGISH.patch_shape
        midi = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        probs = np.full(len(self.labels), (1 - self.prob) / (len(self.labels) - 1), np.float32)
        probs[self.labels.index(NO_NOTE if midi is None else note_name(midi))] = self.prob
        return probs


class Version9Model(ScriptedModel):
    """The same, with version 9's classes: B0 to C7 and no note."""

    labels = [note_name(m) for m in range(23, 97)] + [NO_NOTE]


def tone(f_hz, seconds, amp=0.3):
    t = np.arange(int(seconds * RATE)) / RATE
    return (amp * sum(np.sin(2 * np.pi * k * f_hz * t) / k for k in range(1, 6))).astype(np.float32)


def run(analyzer, audio):
    return list(analyzer.feed(audio))


def test_steady_note_gives_cents_against_a4():
    f = midi_to_hz(57 + 0.123)  # A3, 12.3 cents sharp
    results = run(Analyzer(ScriptedModel([57]), RATE, EVERY_50_MS), tone(f, 1.0))
    last = results[-1]
    assert (last.note, last.midi) == ("A3", 57)
    assert last.cents == pytest.approx(12.3, abs=0.5)
    assert last.f0_hz == pytest.approx(f, rel=1e-3)
    assert 0.5 < last.confidence <= 1.0
    assert last.t_s == pytest.approx(1.0, abs=0.05)


def test_reference_a4_changes_the_note_and_cents():
    # 415 Hz is A4 at baroque pitch; the 440-tuned model calls it G#4.
    results = run(Analyzer(ScriptedModel([68]), RATE, dataclasses.replace(EVERY_50_MS, a4_hz=415.0)), tone(415.0, 1.0))
    assert results[-1].note == "A4" and abs(results[-1].cents) < 0.5


def test_a_one_hop_blip_does_not_change_the_note():
    script = [57] * 10 + [60] + [57] * 10
    results = run(Analyzer(ScriptedModel(script, prob=0.6), RATE, EVERY_50_MS), tone(midi_to_hz(57), 1.05))
    assert {r.note for r in results[2:]} == {"A3"}


def test_a_new_note_is_taken_after_two_hops_or_at_once_when_sure():
    script = [57] * 6 + [60] * 6
    audio = np.concatenate([tone(midi_to_hz(57), 0.3), tone(midi_to_hz(60), 0.3)])
    results = run(Analyzer(ScriptedModel(script, prob=0.6), RATE, EVERY_50_MS), audio)
    assert [r.note for r in results[6:9]] == ["A3", "C4", "C4"]
    results = run(Analyzer(ScriptedModel(script, prob=0.95), RATE, EVERY_50_MS), audio)
    assert results[6].note == "C4"


@pytest.mark.parametrize("named", [31, 35, 36])
def test_a_bass_note_named_up_to_three_semitones_off_is_set_right_by_the_waveform(named):
    # A1 (55 Hz), 20 cents flat: in the bass the model may name G1, B1 or C2; the NSDF finds the note.
    f = midi_to_hz(33 - 0.2)
    results = run(Analyzer(ScriptedModel([named], prob=0.6), RATE, EVERY_50_MS), tone(f, 1.2))
    assert {r.note for r in results[-8:]} == {"A1"}
    assert results[-1].cents == pytest.approx(-20.0, abs=0.5)


def test_a_note_the_waveform_does_not_bear_out_gives_way_to_its_clear_period():
    # The model names C#3 for a clean A2 (four semitones off, beyond the wide search; nor is A2 a fifth, octave or
    # twelfth below C#3): the waveform has one clear period, A2's, so A2 is shown, after two hops like any move the
    # model did not make.
    results = run(Analyzer(ScriptedModel([49], prob=0.95), RATE, EVERY_50_MS), tone(midi_to_hz(45 + 0.1), 1.0))
    assert {r.note for r in results[-10:]} == {"A2"}
    assert results[-1].cents == pytest.approx(10.0, abs=0.5)


def test_noise_gives_no_period_to_overrule_the_model():
    noise = (0.1 * np.random.default_rng(0).standard_normal(RATE)).astype(np.float32)
    results = run(Analyzer(ScriptedModel([51], prob=0.95), RATE, EVERY_50_MS), noise)
    assert {r.note for r in results[2:]} == {"D#3"}  # the model's note stands, without cents
    assert all(r.cents is None for r in results)


def test_out_of_no_note_a_sure_model_alone_needs_two_hops_in_noise():
    noise = (0.1 * np.random.default_rng(0).standard_normal(RATE)).astype(np.float32)
    blip = run(Analyzer(ScriptedModel([None] * 8 + [51] + [None] * 11, prob=0.95), RATE, EVERY_50_MS), noise)
    assert [r.note for r in blip] == [None] * 20
    held = run(Analyzer(ScriptedModel([None] * 8 + [51] * 12, prob=0.95), RATE, EVERY_50_MS), noise)
    assert [r.note for r in held[8:11]] == [None, "D#3", "D#3"]
    # A periodic tone is taken at once, as before.
    tone_results = run(Analyzer(ScriptedModel([None] * 8 + [57] * 12, prob=0.95), RATE, EVERY_50_MS), tone(midi_to_hz(57), 1.0))
    assert tone_results[8].note == "A3"


def test_gate_closes_on_silence_and_no_note_is_released_after_two_hops():
    audio = np.concatenate([tone(midi_to_hz(64), 0.5), np.zeros(int(0.3 * RATE), np.float32)])
    results = run(Analyzer(ScriptedModel([64]), RATE, EVERY_50_MS), audio)
    assert results[9].note == "E4"
    assert results[-1].note is None and results[-1].confidence == 1.0
    quiet_but_open = run(Analyzer(ScriptedModel([64] * 10 + [None] * 10), RATE, EVERY_50_MS), tone(midi_to_hz(64), 1.0))
    assert [r.note for r in quiet_but_open[9:13]] == ["E4", "E4", None, None]


def test_json_schema_fields():
    """The fields of `pitchrec analyze --json` are a contract: the fast path added "stable", tunings "target_hz"
    and "degree", and nothing was renamed."""
    r = run(Analyzer(ScriptedModel([57]), RATE), tone(220.0, 0.5))[-1]
    assert set(r.to_json()) == {"t_s", "note", "midi", "cents", "f0_hz", "confidence", "stable", "target_hz", "degree"}
    assert r.to_json()["stable"] is True and r.to_json()["target_hz"] == 220.0 and r.to_json()["degree"] is None
    silent = run(Analyzer(ScriptedModel([57]), RATE), np.zeros(RATE // 10, np.float32))[-1]
    assert silent.to_json()["note"] is None and silent.to_json()["stable"] is None


def test_cents_are_measured_from_the_tempered_target():
    """A just major third above C4 reads E4 at 0 cents in just intonation on C, -13.7 in equal temperament; a scale
    of 31 degrees names the nearest degree instead of a key."""
    from app.tuning import Scale, TuningSpec

    e4 = midi_to_hz(60) * 5 / 4

    def last(spec):
        return run(Analyzer(ScriptedModel([64]), RATE, Settings(tuning=spec)), tone(e4, 0.6))[-1]

    just, equal = last(TuningSpec("just", "C")), last(TuningSpec())
    assert just.note == equal.note == "E4" and just.degree is None
    assert abs(just.cents) < 0.2 and just.target_hz == pytest.approx(e4)
    assert equal.cents == pytest.approx(-13.69, abs=0.2) and equal.target_hz == pytest.approx(midi_to_hz(64))
    edo31 = last(TuningSpec(scale=Scale("31", tuple(1200 * k / 31 for k in range(1, 32))), scale_name="31.scl"))
    assert edo31.note == "E4" and edo31.degree == "10/31 o4"  # 387.1 cents: 10 steps of 38.7 above C4
    assert edo31.cents == pytest.approx(386.31 - 1200 * 10 / 31, abs=0.2)


def test_a_held_tone_calls_the_model_a_few_times_not_every_hop():
    model = ScriptedModel([57])
    analyzer = Analyzer(model, RATE)
    results = run(analyzer, np.concatenate([np.zeros(RATE // 5, np.float32), tone(220.0, 3.0)]))
    assert len(results) == 160 and {r.note for r in results[-140:]} == {"A3"}
    # The onset's confirmation (0.3 s), then a heartbeat every 0.5 s: 6 calls in 160 hops.
    assert model.calls == analyzer.model_calls == sum(r.model_ran for r in results) == 6
    every = ScriptedModel([57])
    assert len(run(Analyzer(every, RATE, EVERY_HOP), tone(220.0, 3.0))) == every.calls == 60


def test_a_clear_note_is_shown_at_its_onset_and_confirmed_when_the_model_hears_it():
    class DeafModel(ScriptedModel):
        """Names no note for its first two calls: a model that has not heard the new note yet."""

    model = DeafModel([None, None, 64])
    lead = np.zeros(int(0.3 * RATE), np.float32)
    results = run(Analyzer(model, RATE), np.concatenate([lead, tone(midi_to_hz(64), 1.0)]))
    first = next(i for i, r in enumerate(results) if r.note is not None)
    shown = results[first:]
    assert shown[0].note == "E4" and shown[0].t_s <= 0.3 + 0.05 and not shown[0].stable
    assert all(r.note == "E4" for r in shown)  # the two "no note" verdicts right after the onset release nothing
    stable = [r for r in shown if r.stable]
    assert stable and 0.3 + 0.1 <= stable[0].t_s <= 0.3 + 0.25 and model.calls == 3 + 1  # and one heartbeat


@pytest.mark.parametrize("rate", [44100, 48000, 96000])
def test_the_tracker_hears_of_a_change_of_note_within_a_hop_or_two(rate):
    """Onsets come from frames resampled with little delay (the model's filter holds back 20-60 ms): over changes
    of note at 16 moments across the hop, the tracker is told after at most 45 ms of audio, 30 ms on average."""
    delays = []
    for k in range(16):
        change_s = 0.6 + k * 0.0127
        analyzer = Analyzer(ScriptedModel([57]), rate)
        told, onset = [], analyzer.tracker.onset
        analyzer.tracker.onset = lambda t_s: (told.append(t_s), onset(t_s))
        t = np.arange(int(1.2 * rate)) / rate
        audio = (0.3 * np.sin(2 * np.pi * np.where(t < change_s, 220.0, 330.0) * t)).astype(np.float32)
        heard = []  # the ends of the hops during which the tracker was told of an onset
        for start in range(0, len(audio), analyzer.hop_samples):
            before = len(told)
            result = analyzer.process(audio[start : start + analyzer.hop_samples])
            if len(told) > before:
                heard.append(result.t_s)
        delays.append(min(h for h in heard if h > change_s) - change_s)
    assert max(delays) <= 0.045 and np.mean(delays) <= 0.030


def test_results_carry_the_ring_stamps_and_audio_skipped_starts_the_note_afresh():
    analyzer = Analyzer(ScriptedModel([57]), RATE)
    hop = analyzer.hop_samples
    audio = tone(220.0, 1.0)
    results = [analyzer.process(audio[i : i + hop], start_s=5.0 + i / RATE) for i in range(0, 25 * hop, hop)]
    assert results[-1].t_s == pytest.approx(5.0 + 25 * hop / RATE) and results[-1].note == "A3" and results[-1].stable
    after_gap = analyzer.process(audio[25 * hop : 26 * hop], start_s=9.0)  # the worker skipped ahead to catch up
    assert after_gap.t_s == pytest.approx(9.0 + hop / RATE)
    assert not after_gap.stable  # what came before the gap does not vouch for what follows


def test_multichannel_input_is_mixed_or_a_channel_is_taken():
    left = tone(220.0, 0.5)
    stereo = np.stack([left, np.zeros_like(left)], axis=1)
    assert run(Analyzer(ScriptedModel([57]), RATE, Settings(channel=0)), stereo)[-1].note == "A3"
    assert run(Analyzer(ScriptedModel([57]), RATE, Settings(channel=1)), stereo)[-1].note is None


def test_settings_are_checked():
    with pytest.raises(ValueError, match="415"):
        Settings(a4_hz=400)
    with pytest.raises(ValueError, match="hop"):
        Settings(hop_s=0.0001)


def test_latest_keeps_only_the_newest():
    channel = Latest()
    for i in range(5):
        channel.put(i)
    version, value = channel.get()
    assert value == 4 and version == 5
    assert channel.get(after_version=5, timeout=0.01) == (5, 4)


def test_a_builds_classes_are_a_pianos_keys_and_no_note():
    labels = class_labels()
    assert labels[0] == "A0" and labels[-2] == "C8" and labels[-1] == "none" and len(labels) == 89 and MIDI_MIN == 21


def test_worker_reads_the_ring_publishes_results_and_stops():
    import time

    from app.engine import AnalysisWorker
    from app.ringbuffer import RingBuffer

    ring = RingBuffer(RATE * 2, 1, RATE)
    worker = AnalysisWorker(Analyzer(ScriptedModel([57]), RATE), ring)
    worker.start()
    audio = tone(midi_to_hz(57), 1.0)
    block = RATE // 100
    for start in range(0, len(audio), block):  # ~real time, 10 ms blocks, as a sound card would
        ring.write(audio[start : start + block, None])
        time.sleep(0.002)
    deadline = time.monotonic() + 5
    version, result = 0, None
    while time.monotonic() < deadline:
        version, result = worker.results.get(version, timeout=0.5)
        if result is not None and result.t_s >= 0.95:
            break
    worker.stop()
    assert not worker.is_alive()
    assert result.note == "A3" and result.t_s == pytest.approx(1.0, abs=0.06)
    assert worker.lost_samples == 0 and worker.cpu_s > 0


def test_feed_gives_one_result_per_hop_and_keeps_a_short_tail():
    analyzer = Analyzer(ScriptedModel([57]), RATE)
    results = list(analyzer.feed(tone(220.0, 0.51)))
    assert len(results) == 26  # twenty-five 20 ms hops and a 10 ms tail
    assert [r.t_s for r in results[:2]] == pytest.approx([0.02, 0.04])
    assert results[-1].t_s == pytest.approx(0.51)


def test_an_aperiodic_window_neither_moves_the_note_nor_gives_cents():
    """A burst of noise where the model still names E2: the f0 found near E2 is noise, so it must not
    re-place the note on a neighbour (the one-hop blips seen between plucked notes) nor give cents."""
    e2 = 40
    audio = np.concatenate([tone(midi_to_hz(e2), 1.0), np.random.default_rng(0).standard_normal(int(0.4 * RATE)).astype(np.float32) * 0.3])
    results = run(Analyzer(ScriptedModel([e2] * 100), RATE, EVERY_50_MS), audio)
    noisy = [r for r in results if r.t_s > 1.1]
    assert noisy and all(r.note in ("E2", None) for r in noisy)
    assert all(r.cents is None and r.confidence == 0.0 for r in noisy if r.note is not None)
    assert all(r.cents is not None and abs(r.cents) < 1 for r in results if 0.3 < r.t_s < 0.95)


class TwoInputModel(ScriptedModel):
    """A model that also takes the low spectrum, as model versions 4 and 5 do; it keeps what it was given."""

    low = LOW_SPECTRUM

    def __init__(self, script, prob=0.9):
        super().__init__(script, prob)
        self.given = []

    def probabilities(self, patch, low_spectrum=None):
        assert low_spectrum is not None and low_spectrum.shape == LOW_SPECTRUM.shape
        self.given.append((patch.copy(), low_spectrum))
        return super().probabilities(patch)


@pytest.mark.parametrize("rate", [16000, RATE])
def test_a_two_input_model_gets_the_low_spectrum_of_the_audio_its_patch_ends_with(rate):
    from app import features

    model = TwoInputModel([45])
    t = np.arange(int(1.2 * rate)) / rate
    audio = (0.3 * sum(np.sin(2 * np.pi * k * 110.0 * t) / k for k in range(1, 6))).astype(np.float32)
    results = run(Analyzer(model, rate, EVERY_HOP), audio)
    assert results[-1].note == "A2" and len(model.given) >= 20
    whole = features.resample(audio, rate, 16000)
    for k, (patch, low) in enumerate(model.given):
        # The patch (1.0 s of frames) and the low spectrum end at the same sample: rebuilt from the whole signal.
        frames = len(features.log_mel(whole[: int((k + 1) * 0.05 * 16000)]))  # frames by the end of hop k (gate open)
        end = (frames - 1) * 160 + 400
        if rate == 16000:
            np.testing.assert_array_equal(low, features.low_spectrum(whole[:end]))
        assert int(low[:, -1].argmax()) == (45 - LOW_SPECTRUM.midi_low) * 4 or end < 2 * LOW_SPECTRUM.samples


@pytest.mark.parametrize("midi, named", [(21, 33), (22, 34), (103, 91), (105, 93), (108, 96)])
def test_piano_notes_beyond_the_models_classes_are_named_by_the_waveform(midi, named):
    """Version 9's classes stop at B0 and C7, and it names A0 and A#0 an octave up, D#7 to C8 an octave down; the
    waveform, searched from A0 to C8, sets them right."""
    results = run(Analyzer(Version9Model([named]), RATE, EVERY_50_MS), tone(midi_to_hz(midi), 2.0))
    assert [r.note for r in results[-20:]] == [note_name(midi)] * 20


def test_a_rate_names_only_the_notes_it_carries():
    assert Analyzer(ScriptedModel([69]), 48000).top_midi == 108  # C8
    assert Analyzer(ScriptedModel([69]), 16000).top_midi == 108
    assert Analyzer(ScriptedModel([69]), 8000).top_midi == 103  # G7: 0.4 of the rate is 3200 Hz


def test_a_tone_above_what_the_rate_carries_is_not_named_an_octave_low():
    """At 8 kHz the top note measured is G7; an A7 (3520 Hz) repeats at A6's period too, and was shown A6. It is shown
    as no note instead (the input's rate limit is said when it opens)."""
    rate = 8000
    t = np.arange(int(2.0 * rate)) / rate
    a7 = (0.3 * np.sin(2 * np.pi * midi_to_hz(105) * t)).astype(np.float32)
    results = list(Analyzer(ScriptedModel([93]), rate, EVERY_50_MS).feed(a7))  # the model names A6
    assert {r.note for r in results[-20:]} == {None}
    g7 = (0.3 * np.sin(2 * np.pi * midi_to_hz(103) * t)).astype(np.float32)  # the top it carries: named
    assert {r.note for r in list(Analyzer(ScriptedModel([91]), rate, EVERY_50_MS).feed(g7))[-20:]} == {"G7"}  # from G6


def test_with_strings_each_result_carries_the_strum_read_every_50_ms():
    from tests.app.test_strum import strum

    strings = (40, 45, 50)
    analyzer = Analyzer(ScriptedModel([40]), RATE, Settings(strings=strings))
    results = run(analyzer, strum({40: -4.0, 45: 2.0, 50: 0.0}, rate=RATE))
    assert all(r.strum is not None for r in results[3:])
    # One reading per 50 ms of audio: a new one every 2.5 20 ms hops.
    readings = {r.strum.t_s for r in results if r.strum is not None}
    assert len(readings) == pytest.approx(len(results) * 0.02 / 0.05, abs=1)
    last = results[-1].strum
    assert last.mode == "strum" and [s.target for s in last.strings] == ["E2", "A2", "D3"]
    assert [s.cents for s in last.strings] == pytest.approx([-4.0, 2.0, 0.0], abs=0.3)
    assert Analyzer(ScriptedModel([40]), RATE).process(np.zeros(960, np.float32)).strum is None


@pytest.mark.parametrize("strings, chord, period", [
    ((40, 45, 50, 55, 59, 64), (40, 45, 50, 55), 21),  # standard guitar: E2 A2 D3 G3 repeat at A0's period
    ((38, 45, 50, 55, 59, 64), (38, 45), 26),  # drop D: D2 and A2 at D1's
    ((40, 45, 50, 55, 59, 64), (50, 55, 59), 31),  # three strings of a standard guitar: D3 G3 B3 at G1's
    ((36, 43, 50, 57), (36, 43), 24),  # cello: C2 and G2 at C1's
])
def test_with_strings_a_strums_common_period_is_not_named(strings, chord, period):
    """Strings sounding together repeat at a period an octave or more under their lowest, and a model may name it (the
    shipped one named A0 for 40 ms before the rows came, in the window's large type). With strings to tune, no note
    more than a fourth under the lowest string is named; without, the chord's period is."""
    from tests.app.test_strum import tones

    sound = (0.15 / len(chord) * tones(chord, 1.5, RATE)).astype(np.float32)
    assert note_name(period) in {r.note for r in Analyzer(ScriptedModel([period]), RATE).feed(sound)}
    shown = {r.midi for r in Analyzer(ScriptedModel([period]), RATE, Settings(strings=strings)).feed(sound)}
    assert all(m is None or m >= min(strings) - 5 for m in shown), shown


def test_with_strings_a_string_tuned_down_is_still_named():
    # The standard guitar's strings, its low string tuned down to C2 (drop C): named, a fourth under E2.
    t = np.arange(int(1.5 * RATE)) / RATE
    c2 = (0.2 * np.sin(2 * np.pi * midi_to_hz(36) * t)).astype(np.float32)
    guitar = Settings(strings=(40, 45, 50, 55, 59, 64))
    assert "C2" in {r.note for r in Analyzer(ScriptedModel([36]), RATE, guitar).feed(c2)}


def test_strum_strings_are_checked():
    with pytest.raises(ValueError, match="given twice"):
        Settings(strings=(40, 40))
    with pytest.raises(ValueError, match="outside"):
        Settings(strings=(40, 120))
