"""The note tracker's states, with a scripted model and a scripted waveform: onset, a provisional note confirmed
or corrected, the heartbeat, release, an octave move, and when the model is asked."""

import numpy as np
import pytest

from app.notes import class_labels, label_index, midi_from_name, midi_to_hz
from app.pitch import PeriodReading, PitchEstimate
from app.tracker import NoteTracker, State, TrackerParams

HOP_S = 0.02
CLASS_MIDI = [None if label == "none" else midi_from_name(label) for label in class_labels()]


class Wave:
    """Stands in for app.pitch.Waveform: a sound periodic at the notes `periodic` (MIDI: clarity), or at none."""

    rate_hz = 48000

    def __init__(self, periodic: dict[int, float] | None = None, rival: float = -0.3, own_partials: bool = True,
                 above: float = -0.3, octave_moves: dict[int, int] | None = None):
        self.periodic = periodic or {}
        self.rival = rival  # the NSDF an octave, twelfth or fifth above the period read since an onset
        self.own_partials = own_partials
        self.above = above  # the NSDF an octave or twelfth above a note measured near its period
        self.octave_moves = octave_moves or {}  # what app.pitch.octave_check would move a named note to

    @property
    def main(self):
        return min(self.periodic, default=None)  # the period the sound repeats at: its lowest note

    def near(self, midi, semitones=1.25):
        found = sorted((m for m in self.periodic if abs(m - midi) <= semitones), key=lambda m: abs(m - midi))
        return None if not found else PitchEstimate(midi_to_hz(found[0]), self.periodic[found[0]], self.above)

    def octave_check(self, midi, lowest, highest, named):
        return self.octave_moves.get(midi, midi)

    def strongest_period(self, lowest, highest):
        return None if self.main is None else PitchEstimate(midi_to_hz(self.main), self.periodic[self.main])

    def sounds_its_own_partials(self, f0_hz, samples=None):
        return self.own_partials

    def period_since(self, samples, lowest, highest):
        if self.main is None or samples < 0.01 * self.rate_hz:
            return None
        clarity = self.periodic[self.main]
        return PeriodReading(midi_to_hz(self.main), clarity, clarity, self.rival)


def probs(midi, p=0.95):
    out = np.full(len(CLASS_MIDI), (1 - p) / (len(CLASS_MIDI) - 1), np.float32)
    out[label_index(midi)] = p
    return out


class Run:
    """Drives a tracker hop by hop: the sound and the model's answer are functions of stream time."""

    def __init__(self, params=TrackerParams()):
        self.tracker = NoteTracker(CLASS_MIDI, params=params)
        self.t = 0.0
        self.calls = []  # stream times the model ran at

    def hops(self, seconds, wave, model, onset=False, prob=0.95):
        """model: the MIDI (None: no note) the model names at time t, or a function of t."""
        readings = []
        if onset:
            self.tracker.onset(self.t)
        for _ in range(int(round(seconds / HOP_S))):
            self.t += HOP_S
            answer = None
            if self.tracker.model_due(self.t):
                self.calls.append(round(self.t, 3))
                answer = probs(model(self.t) if callable(model) else model, prob)
            readings.append((round(self.t, 3), self.tracker.step(self.t, wave, answer)))
        return readings


def notes(readings):
    return [r.midi for _, r in readings]


def test_at_an_onset_a_clear_note_is_shown_at_once_and_confirmed_by_the_model():
    run = Run()
    readings = run.hops(0.3, Wave({57: 0.97}), 57, onset=True)
    t, first = readings[0]
    assert (first.midi, first.state) == (57, State.PROVISIONAL) and t == 0.02
    assert first.cents == pytest.approx(0.0, abs=1e-6) and first.confidence == pytest.approx(0.5 * 0.97)
    assert run.calls == [0.1]  # the onset's confirmation, once about 100 ms of the note is in the model's patch
    assert all(r.state is State.PROVISIONAL for t, r in readings if t < 0.1)
    assert all(r.state is State.CONFIRMED and r.midi == 57 for t, r in readings if t >= 0.1)


def test_a_provisional_note_is_corrected_by_the_model():
    # The waveform is periodic at A3 and at C4 (say, two strings); its period reads as A3, the model names C4.
    run = Run()
    sure = run.hops(0.16, Wave({57: 0.97, 60: 0.97}), 60, onset=True)
    assert notes(sure)[:4] == [57] * 4 and sure[4][1].midi == 60 and sure[4][1].state is State.CONFIRMED
    run = Run()  # not sure: the model's note must lead two verdicts in a row, recheck_s apart (on the hop grid)
    unsure = dict(run.hops(0.2, Wave({57: 0.97, 60: 0.97}), 60, onset=True, prob=0.6))
    assert run.calls == [0.1, 0.14]
    assert unsure[0.1].midi == 57 and unsure[0.12].midi == 57 and unsure[0.14].midi == 60
    assert unsure[0.14].state is State.CONFIRMED


def test_a_held_note_is_confirmed_by_a_heartbeat():
    run = Run()
    readings = run.hops(2.0, Wave({57: 0.97}), 57, onset=True)
    assert run.calls == [0.1, 0.6, 1.1, 1.6]
    assert {r.midi for _, r in readings} == {57}
    assert len(readings) == 100  # a reading, cents included, every hop between the model's calls
    assert all(r.cents is not None for _, r in readings)


def test_release_needs_two_verdicts_of_no_note():
    run = Run()
    run.hops(0.3, Wave({57: 0.97}), 57, onset=True)
    gone = dict(run.hops(0.3, Wave(), None))  # aperiodic now (noise) and the model names no note
    # The unclear waveform asks the model at the next hop, and again recheck_s later: the second "no note" lets go.
    assert run.calls[-2:] == [0.34, 0.38]
    assert gone[0.32].midi == 57 and gone[0.32].cents is None and gone[0.36].midi == 57
    assert gone[0.38].midi is None and gone[0.38].state is State.NONE


def test_silence_lets_go_at_once_and_the_model_does_not_run():
    run = Run()
    run.hops(0.3, Wave({57: 0.97}), 57, onset=True)
    run.tracker.silence()
    assert run.tracker.shown is None and not run.tracker.model_due(10.0)


def test_an_octave_move_under_a_confirmed_note_is_followed():
    # A slow pipe: its fundamental comes last, and the sound's period doubles: A3 -> A2. The model, slower still,
    # keeps naming A3; the waveform, no longer periodic at A3, asks it, and the fused verdict moves the note.
    run = Run()
    run.hops(0.3, Wave({57: 0.97}), 57, onset=True)
    moved = dict(run.hops(0.3, Wave({45: 0.97}), 57, prob=0.6))
    assert run.calls[1:3] == [0.34, 0.38]
    assert moved[0.36].midi == 57 and moved[0.38].midi == 45 and moved[0.38].state is State.CONFIRMED


def test_the_waveform_moves_the_note_when_the_pitch_leaves_its_margin():
    run = Run()
    run.hops(0.3, Wave({57: 0.97}), 57, onset=True)
    moved = dict(run.hops(0.2, Wave({58: 0.97}), 58))  # bent a semitone up, no onset
    assert moved[0.32].midi == 58 and moved[0.32].state is State.PROVISIONAL
    assert run.calls[1] == 0.34 and moved[0.34].state is State.CONFIRMED


class SharpWave(Wave):
    """Periodic at `midi` (fractional) wherever the tracker looks."""

    def __init__(self, midi: float):
        super().__init__({round(midi): 0.97})
        self.midi = midi

    def near(self, midi, semitones=1.25):
        return PitchEstimate(midi_to_hz(self.midi), 0.97, self.above) if abs(self.midi - midi) <= semitones else None


@pytest.mark.parametrize("low", [False, True])
def test_a_pitch_past_the_edge_note_s_margin_is_no_note(low):
    # A soft C8 of a stretched piano read 45 cents sharp stays C8 +45; past the margin it is nearer a C#8, which the
    # app does not name: no note, not C#8. The same at A0's flat side.
    edge, step = (21, -1) if low else (108, 1)
    run = Run()
    run.hops(0.3, Wave({edge: 0.97}), edge, onset=True)
    near = [r for _, r in run.hops(0.2, SharpWave(edge + 0.45 * step), edge)]
    assert {r.midi for r in near} == {edge} and near[-1].cents == pytest.approx(45.0 * step, abs=0.01)
    past = [r for _, r in run.hops(0.3, SharpWave(edge + 0.6 * step), edge)]
    assert {r.midi for r in past} == {None}


def test_a_pitch_back_inside_the_edge_note_s_margin_is_shown_again_at_the_next_verdict():
    # C8 wobbles 56 cents sharp for a moment (no note), then back to +40: shown again within a recheck or two, not at
    # the next heartbeat.
    run = Run()
    run.hops(0.3, Wave({108: 0.97}), 108, onset=True)
    assert {r.midi for _, r in run.hops(0.06, SharpWave(108.56), 108)} == {None}
    back = [r.midi for _, r in run.hops(0.12, SharpWave(108.4), 108)]
    assert back[-1] == 108


def test_at_a_high_reference_the_model_s_lowest_class_is_not_shown_below_a0():
    # At A4 = 466 Hz the model's A0 class (27.5 Hz) is nearest a G#0, below the app's range.
    tracker = NoteTracker(CLASS_MIDI, a4_hz=466.0)
    tracker.onset(0.0)
    wave, shown = Wave({21: 0.97}), set()
    for k in range(1, 20):
        answer = probs(21) if tracker.model_due(k * HOP_S) else None
        shown.add(tracker.step(k * HOP_S, wave, answer).midi)
    assert shown <= {None} | set(range(21, 109))
    # The "no note" shown is as sure as the model is of no note, not of the A0 set aside.
    assert tracker.step(20 * HOP_S, wave, probs(21)).confidence == pytest.approx(0.05 / (len(CLASS_MIDI) - 1))


def test_a_sound_that_moves_up_an_octave_under_a_confirmed_note_is_followed():
    # A saxophone's attack sounds the octave below; then only the note's own partials remain. The sound still
    # repeats at the shown note's period (every period of the note above repeats twice in it), so the pitch stage
    # alone sees no change: the octave above as periodic, and the shown note's own partials gone, ask the model.
    run = Run()
    run.hops(0.3, Wave({52: 0.99}), 52, onset=True)
    moved = dict(run.hops(0.3, Wave({52: 0.99, 64: 0.99}, above=0.99, own_partials=False), 64))
    assert run.calls[1] == 0.34 and moved[0.32].midi == 52 and moved[0.34].midi == 64


def test_a_note_whose_octave_above_repeats_as_well_is_kept_at_the_heartbeat():
    # A bassoon: weak odd harmonics, so its period's half repeats nearly as well. The model names the note, the
    # octave check the note above (the engine before the fast path flickered between them); with its own partials
    # sounding, the confirmed note stays, and the model is asked no more often than the heartbeat.
    run = Run()
    run.hops(0.3, Wave({58: 0.99}), 58, onset=True)
    held = dict(run.hops(1.0, Wave({58: 0.99, 70: 0.99}, above=0.99, octave_moves={58: 70}), 58))
    assert {r.midi for r in held.values()} == {58} and run.calls == [0.1, 0.6, 1.1]
    every = Run(TrackerParams(every_hop=True))  # as before: the waveform's octave above wins after two verdicts
    every.hops(0.3, Wave({58: 0.99}), 58, onset=True)
    assert every.hops(0.1, Wave({58: 0.99, 70: 0.99}, above=0.99, octave_moves={58: 70}), 58)[-1][1].midi == 70


def test_a_sound_that_moves_up_while_the_model_keeps_naming_the_octave_below_is_followed():
    # The model's mistake the octave check's upward move exists for: it names the sub-octave of what sounds.
    run = Run()
    run.hops(0.3, Wave({52: 0.99}), 52, onset=True)
    up = Wave({52: 0.99, 64: 0.99}, above=0.99, own_partials=False, octave_moves={52: 64})
    moved = dict(run.hops(0.4, up, 52))
    assert moved[0.7].midi == 64 and moved[0.7].state is State.CONFIRMED


@pytest.mark.parametrize("wave", [
    Wave({57: 0.80}, rival=0.5),  # not clear enough, and the octave above half as periodic
    Wave({57: 0.65}),  # not clear enough, however steady
    Wave({57: 0.97}, rival=0.9),  # the octave above as periodic
    Wave({57: 0.97}, own_partials=False),  # an organ mixture: partials 2, 3, 4, 6 of a lower note
    Wave({31: 0.97}),  # G1 at 49 Hz: within 4% of 50 Hz mains, where a reading of few periods is coarse
    Wave({55: 0.97}),  # G3 at 196 Hz lies 1.2 cents from 200 Hz, the fourth harmonic of 50 Hz mains hum
], ids=["unclear", "unclear-steady", "octave-rival", "no-own-partials", "near-mains", "mains-hum"])
def test_an_ambiguous_waveform_shows_nothing_before_the_model_has_spoken(wave):
    if wave.main == 55:
        wave.periodic = {55: 0.97}
        assert abs(midi_to_hz(55) / 200.0 - 1.0) > 0.005  # 196 Hz: G3 itself is no hum ...
        wave.periodic = {55.3: 0.97}  # ... but a sound at 200 Hz is (G3 +34 cents)
    run = Run()
    readings = dict(run.hops(0.2, wave, None, onset=True))
    assert all(r.midi is None for t, r in readings.items() if t < 0.1)


def test_a_less_clear_period_is_shown_once_two_hops_in_a_row_read_it_with_nothing_above():
    # A slow attack, or a piano's beating unisons: the period stays below provisional_clarity for 100 ms or more.
    run = Run()
    readings = dict(run.hops(0.06, Wave({57: 0.75}), None, onset=True))
    assert readings[0.02].midi is None and (readings[0.04].midi, readings[0.04].state) == (57, State.PROVISIONAL)
    run = Run()  # the note read changes from one hop to the next: nothing yet
    readings = dict(run.hops(0.02, Wave({57: 0.75}), None, onset=True) + run.hops(0.04, Wave({58: 0.75}), None))
    assert readings[0.04].midi is None and readings[0.06].midi == 58
    run = Run()  # the octave above nearly half as periodic: the model decides
    readings = dict(run.hops(0.08, Wave({57: 0.75}, rival=0.45), None, onset=True))
    assert all(r.midi is None for r in readings.values())


def test_a_low_note_is_shown_at_once_and_stands_through_one_no_note_verdict():
    # E1: the model needs more of a low note than confirm_s to name it; the waveform reads it sooner.
    run = Run()
    readings = dict(run.hops(0.3, Wave({28: 0.97}), lambda t: None if t < 0.12 else 28, onset=True))
    assert readings[0.02].midi == 28 and readings[0.02].state is State.PROVISIONAL
    assert readings[0.1].midi == 28  # the first verdict named no note
    assert readings[0.14].state is State.CONFIRMED
    run = Run()  # a "no note" verdict before the waveform is clear: the note is still shown once it is
    clear = Wave({28: 0.97})
    readings = dict(run.hops(0.1, Wave({28: 0.6}), None, onset=True) + run.hops(0.06, clear, None))
    assert readings[0.1].midi is None and readings[0.12].midi == 28
    run = Run()  # two of them in a row: the model has heard the sound and names nothing in it
    readings = dict(run.hops(0.16, Wave({28: 0.6}), None, onset=True) + run.hops(0.04, clear, None))
    assert run.calls[:2] == [0.1, 0.14] and all(r.midi is None for r in readings.values())


def test_a_note_near_a_mains_harmonic_waits_for_a_reading_of_four_periods():
    # A#2 (116.5 Hz) lies 2.9% below 120 Hz: too near for a reading of two periods to tell, far enough for four.
    run = Run()
    readings = dict(run.hops(0.1, Wave({46: 0.97}), None, onset=True))
    assert readings[0.02].midi is None and readings[0.04].midi == 46


def test_no_note_right_after_an_onset_keeps_the_model_asked_and_the_provisional_note():
    run = Run()
    readings = dict(run.hops(0.4, Wave({57: 0.97}), lambda t: None if t < 0.12 else 57, onset=True))
    assert run.calls == [0.1, 0.14]  # again recheck_s later, the waveform having a clear period
    assert all(readings[t].midi == 57 for t in readings)  # one "no note" lets nothing go
    assert readings[0.12].state is State.PROVISIONAL and readings[0.14].state is State.CONFIRMED
    run = Run()  # the model never names it (a whistle, say): the note the waveform carries stands for the onset window
    readings = dict(run.hops(1.0, Wave({57: 0.97}), None, onset=True))
    assert run.calls[:9] == [0.1, 0.14, 0.18, 0.22, 0.26, 0.3, 0.34, 0.38, 0.42]
    assert all(readings[t].midi == 57 and readings[t].state is State.PROVISIONAL for t in readings if t < 0.42)
    assert readings[0.42].midi is None and run.calls[9:] == [0.92]  # then "no note" lets it go


def test_no_note_after_an_onset_in_noise_asks_twice_then_waits_for_the_heartbeat():
    run = Run()
    run.hops(1.0, Wave(), None, onset=True)
    assert run.calls == [0.1, 0.18, 0.68]


def test_onsets_that_keep_coming_do_not_keep_the_model_from_running():
    run = Run()
    run.hops(0.12, Wave({57: 0.97}), 57, onset=True)
    for _ in range(20):  # a trill, or babble: an onset every 60 ms, each postponing its confirmation
        run.hops(0.06, Wave({57: 0.97}), 57, onset=True)
    gaps = np.diff(run.calls)
    assert len(run.calls) >= 3 and gaps.max() <= TrackerParams().heartbeat_s + HOP_S


def test_onsets_that_keep_coming_from_the_gate_opening_do_not_keep_the_model_from_running():
    run = Run()
    for _ in range(30):  # tremolo from the first hop: an onset every 60 ms, before any verdict
        run.hops(0.06, Wave({57: 0.97}), 57, onset=True)
    assert run.calls and run.calls[0] <= TrackerParams().heartbeat_s + HOP_S


def test_every_hop_runs_the_model_at_every_hop():
    run = Run(TrackerParams(every_hop=True))
    run.hops(0.5, Wave({57: 0.97}), 57, onset=True)
    assert len(run.calls) == 25


def test_the_model_is_asked_about_the_fused_note_the_waveform_sets_right():
    # The model names G2, a semitone off a clear A2 (bass): within its wide search the waveform names A2.
    run = Run()
    readings = dict(run.hops(0.3, Wave({45: 0.97}), 43, onset=True))
    assert readings[0.1].midi == 45 and readings[0.1].state is State.CONFIRMED


class EdgeWave(Wave):
    """Nothing periodic where the model looks; over the whole range, one clear period at `midi` (fractional)."""

    def __init__(self, midi: float):
        super().__init__({})
        self.midi = midi

    def strongest_period(self, lowest, highest):
        return PitchEstimate(midi_to_hz(self.midi), 0.95)


@pytest.mark.parametrize("midi, shown", [(108.52, 108), (20.48, 21), (96.3, 96)])
def test_a_period_refined_past_the_range_s_edge_names_the_edge_note(midi, shown):
    # The whole-range search reaches half a semitone past A0 and C8; its refined period can fall just beyond (a
    # soft C8 of a stretched piano, 50 cents sharp): the app names A0 to C8 only.
    run = Run()
    readings = run.hops(0.6, EdgeWave(midi), shown, onset=True)
    named = {r.midi for _, r in readings} - {None}
    assert named == {shown}


def test_params_are_checked():
    with pytest.raises(ValueError, match="switch_verdicts"):
        TrackerParams(switch_verdicts=0)
    with pytest.raises(ValueError, match="heartbeat_s"):
        TrackerParams(heartbeat_s=-1)
