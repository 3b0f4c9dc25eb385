"""`pitchrec analyze` on 500+ bad or odd files: each gives a one-line error or a result, in bounded time and memory."""

import io
import struct
import time
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

from app.cli import main

RATE = 16000


def wav_bytes(audio, rate=RATE, subtype="PCM_16", fmt="WAV"):
    buf = io.BytesIO()
    sf.write(buf, audio, rate, subtype=subtype, format=fmt)
    return buf.getvalue()


def tone(seconds=0.5, channels=1):
    t = np.arange(int(seconds * RATE)) / RATE
    x = 0.3 * np.sin(2 * np.pi * 220 * t)
    return np.stack([x] * channels, axis=1) if channels > 1 else x


def patch_field(data: bytes, offset: int, fmt: str, value) -> bytes:
    return data[:offset] + struct.pack(fmt, value) + data[offset + struct.calcsize(fmt):]


def corpus(rng):
    """(name, bytes) of bad and odd files, 500+ in all."""
    base = {
        "wav16": wav_bytes(tone()),
        "wavfloat": wav_bytes(tone(), subtype="FLOAT"),
        "flac": wav_bytes(tone(), subtype="PCM_16", fmt="FLAC"),
        "ogg": wav_bytes(tone(), subtype="VORBIS", fmt="OGG"),
    }
    out = []
    for name, data in base.items():  # truncated anywhere, headers included
        for cut in sorted(set(rng.integers(0, len(data), 60).tolist()) | {0, 1, 4, 12, 20, 36, 44, 45}):
            out.append((f"{name}-cut{cut}", data[:cut]))
        for k in range(45):  # random byte flips
            b = bytearray(data)
            for i in rng.integers(0, len(b), int(rng.integers(1, 20))):
                b[i] = int(rng.integers(0, 256))
            out.append((f"{name}-flip{k}", bytes(b)))
    wav = base["wav16"]
    # RIFF layout from soundfile: "RIFF" size "WAVE" "fmt " 16 ... channels@22 rate@24 byterate@28 ... "data"@36 size@40
    for size in (0, 1, 44, 2**31 - 1, 2**32 - 1, 12345678):
        out.append((f"riffsize{size}", patch_field(wav, 4, "<I", size)))
        out.append((f"datasize{size}", patch_field(wav, 40, "<I", size)))  # "hours" of claimed data
    for rate in (0, 1, 8, 999, 384000, 768001, 2**31 - 1, 2**32 - 1):
        out.append((f"rate{rate}", patch_field(wav, 24, "<I", rate)))
    for ch in (0, 3, 32, 255, 65535):
        out.append((f"channels{ch}", patch_field(wav, 22, "<H", ch)))
    for bits in (0, 1, 7, 64, 65535):
        out.append((f"bits{bits}", patch_field(wav, 34, "<H", bits)))
    # Well-formed but odd.
    for rate in (1000, 8000, 11025, 44100, 96000, 192000, 384000):
        out.append((f"ok-rate{rate}", wav_bytes(tone(0.3)[: int(0.3 * rate)] if rate < RATE else np.zeros(int(0.2 * rate)), rate)))
    out.append(("one-sample", wav_bytes(np.array([0.5]))))
    out.append(("empty-data", wav_bytes(np.zeros(0))))
    out.append(("32ch", wav_bytes(tone(0.3, 32))))
    for bad in (np.nan, np.inf, -np.inf):
        x = tone(0.3).astype(np.float32)
        x[100] = bad
        out.append((f"float-{bad}", wav_bytes(x, subtype="FLOAT")))
    out.append(("silence", wav_bytes(np.zeros(RATE))))
    out.append(("full-scale-square", wav_bytes(np.sign(np.sin(np.arange(RATE) / 10.0)) * 0.999)))
    # Not audio at all.
    for k in range(60):
        out.append((f"random{k}", rng.integers(0, 256, int(rng.integers(0, 5000)), dtype=np.uint8).tobytes()))
    for name, data in (("text", b"hello, not audio\n" * 50), ("png", b"\x89PNG\r\n\x1a\n" + bytes(200)),
                       ("json", b'{"label": "A4"}'), ("zero", b""), ("riff-only", b"RIFF"), ("nul", bytes(4096))):
        out.append((name, data))
    return out


@pytest.mark.slow
def test_fuzzed_files_give_a_result_or_one_clear_line(tmp_path, capsys):
    rng = np.random.default_rng(2026)
    files = corpus(rng)
    assert len(files) >= 500
    outcomes = {"result": 0, "error": 0}
    tracemalloc.start()
    try:
        for name, data in files:
            path = tmp_path / f"{name}.wav"
            path.write_bytes(data)
            tracemalloc.reset_peak()
            t0 = time.monotonic()
            code = main(["analyze", str(path), "--json"])
            elapsed = time.monotonic() - t0
            _, peak = tracemalloc.get_traced_memory()
            out, err = capsys.readouterr()
            assert elapsed < 10, (name, elapsed)
            assert peak < 150e6, (name, peak)
            assert "Traceback" not in err, (name, err)
            if code == 0:
                outcomes["result"] += 1
                assert out.strip(), name
            else:
                outcomes["error"] += 1
                assert code == 2, (name, code, err)
                lines = err.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith("pitchrec: ") and path.name in lines[0], (name, err)
            path.unlink()
    finally:
        tracemalloc.stop()
    assert outcomes["result"] > 10 and outcomes["error"] > 100, outcomes
