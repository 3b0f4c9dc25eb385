"""The live benchmark's scoring: settled frames by register, organs apart, and the paired count against a baseline."""

import numpy as np

from benchmarks.bench_live import paired, score
from benchmarks.live_corpus import Clip, Note


def clip(name: str, midi: int, source: str = "") -> Clip:
    return Clip(name, "sustained", np.zeros(48000, np.float32), [Note(0.0, 1.0, midi, None)], source=source)


def frames(midis: list) -> list:
    """Frames every 0.1 s from 0.3 s (where settling ends) to 1.0 s."""
    return [(0.3 + 0.1 * i, m, None) for i, m in enumerate(midis)]


def test_settled_frames_are_scored_by_register_with_the_organs_apart():
    clips = [clip("fluidr3:1/21/0", 21), clip("fluidr3:1/108/1", 108), clip("synth:organ/108/2", 108),
             Clip("silence/0", "silence", np.zeros(4800, np.float32), [])]
    named = {"fluidr3:1/21/0": frames([21] * 6 + [33, 33]),  # the last two an octave up
             "fluidr3:1/108/1": frames([108] * 8),
             "synth:organ/108/2": frames([96] * 8),  # an organ: not in the registers
             "silence/0": [(0.1, None, None)]}
    r = score(clips, named)
    assert r["by_register"]["A0-A#0"] == {"accuracy": 0.75, "octave": 0.25, "frames": 8}
    assert r["by_register"]["C#7-C8"] == {"accuracy": 1.0, "octave": 0.0, "frames": 8}
    assert r["by_register"]["E2 and up"]["frames"] == 8 and "C4-C7" not in r["by_register"]
    assert r["accuracy_clean"] == 14 / 24 and r["accuracy_clean_organs_apart"] == 14 / 16


def test_the_paired_count_goes_clip_by_clip():
    clips = [clip(f"fluidr3:1/{m}/{m}", m) for m in (21, 40, 60, 108)]
    a = {c.name: frames([c.notes[0].midi] * 8) for c in clips}
    b = {**a, "fluidr3:1/21/21": frames([33] * 8), "fluidr3:1/108/108": frames([96] * 8)}
    counts = paired(clips, a, b)
    assert counts["right"] == {"better_a": 2, "better_b": 0, "p": 0.5}
    assert counts["octave"]["better_a"] == 2


def test_after_a_note_fades_no_note_or_the_note_is_right_and_another_is_wrong():
    from benchmarks.bench_live import settled

    c = clip("fluidr3:1/100/0", 100)  # the note ends (fades under the gate) at 1.0 s
    tail = [(1.1, None, None), (1.2, 100, None), (1.3, 88, None)]
    assert settled(c, frames([100] * 8) + tail) == [(100, 100)] * 8 + [(100, 100), (100, 88)]
