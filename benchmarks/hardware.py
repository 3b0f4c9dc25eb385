"""The CPU a timing was taken on, and the int8 instruction set LiteRT (XNNPACK) can use on it.

Timings differ twenty-fold between CPUs: the same int8 model takes about 1.2 ms a call with AMX and 21 ms
with AVX2 alone. Every benchmark that prints a timing prints `describe()` beside it.

On x86-64 Linux the instruction sets are read with CPUID and XGETBV in this process, exactly as XNNPACK reads
them, so a process run under `benchmarks/avx2_only.sh` (which hides AVX-512, VNNI and AMX from CPUID) is
described as the AVX2-only CPU it then is. Elsewhere NumPy's own CPU dispatch table stands in.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import os
import platform
import struct

# int8 instruction sets XNNPACK has kernels for, the fastest first.
AMX, AVX512_VNNI, AVX_VNNI, AVX2, ARM_DOT = "AMX", "AVX-512 VNNI", "AVX-VNNI", "AVX2", "ARM dot product"


def _machine_code(code: bytes, restype, *argtypes):
    """A function made of x86-64 System V machine code, in memory of its own (kept alive by the function)."""
    memory = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    memory.write(code)
    address = ctypes.addressof(ctypes.c_char.from_buffer(memory))
    function = ctypes.CFUNCTYPE(restype, *argtypes)(address)
    function._memory = memory
    return function


@functools.lru_cache(maxsize=1)
def _x86():
    """(cpuid(leaf, subleaf) -> (eax, ebx, ecx, edx), xgetbv() -> XCR0), or None where this cannot run."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        raw_cpuid = _machine_code(bytes.fromhex(
            "53"  # push rbx
            "89f8" "89f1" "4989d0"  # mov eax, edi; mov ecx, esi; mov r8, rdx
            "0fa2"  # cpuid
            "418900" "41895804" "41894808" "4189500c"  # store eax, ebx, ecx, edx at [r8]
            "5b" "c3"), None, ctypes.c_uint32, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint32))
        raw_xgetbv = _machine_code(bytes.fromhex("31c9" "0f01d0" "48c1e220" "4809d0" "c3"), ctypes.c_uint64)
    except (OSError, ValueError, PermissionError):  # no executable memory here
        return None

    def cpuid(leaf: int, subleaf: int = 0) -> tuple[int, int, int, int]:
        out = (ctypes.c_uint32 * 4)()
        raw_cpuid(leaf, subleaf, out)
        return tuple(out)

    return cpuid, raw_xgetbv


def numpy_cpu_features() -> dict[str, bool]:
    """NumPy's own CPU dispatch table ({"AVX2": True, ...}), read with CPUID in this process."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # NumPy 1.x
        from numpy.core._multiarray_umath import __cpu_features__
    return dict(__cpu_features__)


def _bit(value: int, bit: int) -> bool:
    return bool(value >> bit & 1)


def int8_instruction_set() -> str:
    """The fastest int8 instruction set XNNPACK can use in this process."""
    x86 = _x86()
    if x86 is None:
        numpy_sees = numpy_cpu_features()
        if numpy_sees.get("ASIMDDP"):
            return ARM_DOT
        if numpy_sees.get("AVX512VNNI"):
            return AVX512_VNNI
        if numpy_sees.get("AVX2"):
            return AVX2
        return "no AVX2 or dot product (slow int8 kernels)"
    cpuid, xgetbv = x86
    max_leaf = cpuid(0)[0]
    _, _, ecx1, _ = cpuid(1)
    os_xsave = _bit(ecx1, 27)
    xcr0 = xgetbv() if os_xsave else 0
    avx_state = xcr0 & 0b110 == 0b110
    avx512_state = avx_state and xcr0 & 0b11100000 == 0b11100000
    amx_state = xcr0 & (3 << 17) == 3 << 17
    _, ebx7, ecx7, edx7 = cpuid(7, 0) if max_leaf >= 7 else (0, 0, 0, 0)
    eax7_1 = cpuid(7, 1)[0] if max_leaf >= 7 else 0
    if _bit(edx7, 25) and amx_state:
        return AMX
    if _bit(ebx7, 16) and _bit(ecx7, 11) and avx512_state:
        return AVX512_VNNI
    if _bit(eax7_1, 4) and _bit(ebx7, 5) and avx_state:
        return AVX_VNNI
    if _bit(ebx7, 5) and avx_state:
        return AVX2
    return "SSE only (slow int8 kernels)"


def cpu_model() -> str:
    x86 = _x86()
    if x86 is not None:
        cpuid = x86[0]
        if cpuid(0x80000000)[0] >= 0x80000004:
            words = [w for leaf in (0x80000002, 0x80000003, 0x80000004) for w in cpuid(leaf)]
            return struct.pack("<12I", *words).decode("ascii", "replace").strip("\0 ")
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def describe() -> str:
    """'<CPU model>, int8: <instruction set>', saying so when benchmarks/avx2_only.sh hides the faster ones."""
    text = f"{cpu_model()}, int8: {int8_instruction_set()}"
    if "avx2_only" in os.environ.get("LD_PRELOAD", ""):
        text += " (AVX-512, VNNI and AMX hidden by benchmarks/avx2_only.sh)"
    return text


if __name__ == "__main__":
    print(describe())
