"""A short soak (issue 6's full one is benchmarks/soak.py): ten stream minutes, memory flat, one result per hop of
audio consumed."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))


@pytest.mark.slow
def test_ten_stream_minutes_keep_memory_flat_and_the_hop_rate():
    import soak

    from app.model import NoteModel

    model = NoteModel()
    a = soak.soak_analyzer(model, 10)
    assert a["results"] == a["hops"] == 10 * 3000  # a result per 20 ms hop
    assert a["model_calls"] <= a["hops"] / 5  # the model when the note tracker needs it, not at every hop
    assert max(mb for _, mb in a["samples"]) - a["rss0"] <= 10.0
    th = soak.soak_threaded(model, 6.0)
    # Per hop of audio consumed, not per wall second: how much audio the worker keeps up with is the machine's.
    assert th["hops_consumed"] > 0 and th["results"] == th["hops_consumed"]
    assert th["received"] > 0 and th["rss_growth"] <= 10.0
