"""Ring buffer: one writer, readers with their own cursors, wraparound, loss accounting, stream time."""

import threading

import numpy as np
import pytest

from app.ringbuffer import RingBuffer


def ramp(start, n, channels=1):
    return np.repeat(np.arange(start, start + n, dtype=np.float32)[:, None], channels, axis=1)


def test_reader_gets_everything_in_order_across_wraparound():
    ring = RingBuffer(capacity=10, channels=2, rate_hz=100.0)
    reader = ring.reader()
    got, written = [], 0
    for n in (3, 7, 4, 9, 1, 6):
        ring.write(ramp(written, n, 2))
        written += n
        w = reader.read()
        assert w.lost == 0 and w.start == written - n
        got.append(w.audio)
    audio = np.concatenate(got)
    np.testing.assert_array_equal(audio, ramp(0, written, 2))


def test_each_reader_keeps_its_own_cursor():
    ring = RingBuffer(16, 1, 1000.0)
    a, b = ring.reader(), ring.reader()
    ring.write(ramp(0, 5))
    assert a.read().audio[:, 0].tolist() == [0, 1, 2, 3, 4]
    ring.write(ramp(5, 3))
    assert a.read().audio[:, 0].tolist() == [5, 6, 7]
    w = b.read()
    assert w.audio[:, 0].tolist() == list(range(8)) and w.t_s == 0.0 and w.end_t_s == pytest.approx(0.008)


def test_slow_reader_is_told_what_it_lost():
    ring = RingBuffer(8, 1, 100.0)
    reader = ring.reader()
    ring.write(ramp(0, 5))
    ring.write(ramp(5, 10))  # 15 written, only the last 8 kept
    w = reader.read()
    assert w.lost == 7 and w.start == 7 and w.t_s == pytest.approx(0.07)
    np.testing.assert_array_equal(w.audio[:, 0], np.arange(7, 15))


def test_block_larger_than_capacity_keeps_the_newest():
    ring = RingBuffer(4, 1, 10.0)
    ring.write(ramp(0, 11))
    assert ring.written == 11
    w = ring.latest(4)
    assert w.start == 7 and w.audio[:, 0].tolist() == [7, 8, 9, 10]


def test_latest_and_bounded_reads():
    ring = RingBuffer(10, 1, 10.0)
    reader = ring.reader(from_now=False)
    ring.write(ramp(0, 6))
    assert ring.latest(3).audio[:, 0].tolist() == [3, 4, 5]
    assert ring.latest(100).audio.shape[0] == 6
    assert reader.read(max_samples=4).audio[:, 0].tolist() == [0, 1, 2, 3]
    assert reader.available() == 2


def test_concurrent_writer_and_reader_see_a_consistent_stream():
    ring = RingBuffer(4096, 1, 48000.0)
    reader = ring.reader()
    total = 200_000

    def write():
        for start in range(0, total, 256):
            ring.write(ramp(start, 256))

    thread = threading.Thread(target=write)
    thread.start()
    seen, expected_next = 0, 0
    while thread.is_alive() or reader.available():
        w = reader.read()
        # Whatever was lost, what arrives is contiguous, matches its stamp, and every sample
        # is either delivered or counted lost exactly once.
        np.testing.assert_array_equal(w.audio[:, 0], np.arange(w.start, w.start + len(w.audio), dtype=np.float32))
        assert w.start == expected_next + w.lost
        expected_next = w.start + len(w.audio)
        seen += len(w.audio) + w.lost
    thread.join()
    assert seen == ring.written


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        RingBuffer(0, 1, 48000)


def test_a_lap_during_the_copy_is_counted_once(monkeypatch):
    """The writer overwrites more than the span being copied: nothing is counted twice."""
    ring = RingBuffer(8, 1, 100.0)
    reader = ring.reader()
    ring.write(ramp(0, 6))
    copy = ring._copy

    def copy_while_writer_laps(start, n):
        out = copy(start, n)
        ring.write(ramp(ring.written, 20))  # laps the whole span, and beyond
        return out

    monkeypatch.setattr(ring, "_copy", copy_while_writer_laps)
    w = reader.read()
    monkeypatch.setattr(ring, "_copy", copy)
    assert len(w.audio) == 0 and w.lost == 6 and reader.cursor == 6
    w2 = reader.read()
    assert w2.start == 26 - 8 and w2.lost == (26 - 8) - 6
    assert 6 + w2.lost + len(w2.audio) == ring.written
