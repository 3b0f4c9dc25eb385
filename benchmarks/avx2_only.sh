#!/usr/bin/env bash
# Run a command as on an AVX2-only CPU: AVX-512, VNNI and AMX hidden from CPUID (benchmarks/avx2_only.c).
#   benchmarks/avx2_only.sh .venv/bin/python benchmarks/bench_live.py
# Needs gcc, x86-64 Linux and a CPU with CPUID faulting (grep cpuid_fault /proc/cpuinfo).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lib="$here/../build/avx2_only.so"
if [ ! -f "$lib" ] || [ "$here/avx2_only.c" -nt "$lib" ]; then
  mkdir -p "$(dirname "$lib")"
  gcc -O2 -shared -fPIC -o "$lib" "$here/avx2_only.c"
fi
LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" exec "$@"
