"""The CPU and int8 instruction set that every timing names, and the AVX2-only emulation the benchmarks run under."""

import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import hardware

ROOT = Path(__file__).resolve().parents[2]
KNOWN = (hardware.AMX, hardware.AVX512_VNNI, hardware.AVX_VNNI, hardware.AVX2, hardware.ARM_DOT)


def test_describe_names_the_cpu_and_its_int8_instruction_set():
    text = hardware.describe()
    model, _, isa = text.partition(", int8: ")
    assert model.strip() and isa
    if platform.machine() in ("x86_64", "AMD64", "aarch64", "arm64"):
        assert isa.split(" (")[0] in KNOWN or "slow int8" in isa


def _can_hide_avx512() -> bool:
    if platform.system() != "Linux" or platform.machine() != "x86_64" or shutil.which("gcc") is None:
        return False
    flags = Path("/proc/cpuinfo").read_text()
    return " cpuid_fault" in flags and " avx512f" in flags


@pytest.mark.skipif(not _can_hide_avx512(), reason="needs x86-64 Linux, gcc, AVX-512 and CPUID faulting")
def test_avx2_only_hides_the_faster_instruction_sets_from_the_process():
    probe = ("from benchmarks import hardware; f = hardware.numpy_cpu_features(); "
             "print(hardware.describe()); print(f['AVX512F'], f['AVX2'])")
    out = subprocess.run([str(ROOT / "benchmarks" / "avx2_only.sh"), sys.executable, "-c", probe], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr
    described, numpy_sees = out.stdout.strip().splitlines()
    assert ", int8: AVX2 (AVX-512, VNNI and AMX hidden by benchmarks/avx2_only.sh)" in described
    assert numpy_sees == "False True"
