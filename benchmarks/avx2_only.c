/* Run a program as if on an AVX2-only x86-64 CPU (AMD Zen 2/3, Intel before Ice Lake): LD_PRELOAD this library
 * and CPUID stops reporting AVX-512, AVX-512 VNNI, AVX-VNNI and AMX, so XNNPACK (LiteRT), OpenBLAS and NumPy
 * pick the AVX2 kernels such a CPU runs. The work is the same; only the kernels differ, so on a fast core this
 * times the AVX2 code path, not a slow core's clock. See benchmarks/avx2_only.sh.
 *
 * How: Linux's CPUID faulting (arch_prctl ARCH_SET_CPUID, where the CPU supports it: the "cpuid_fault" flag)
 * makes every CPUID instruction raise SIGSEGV; the handler runs the real CPUID with faulting briefly off,
 * clears the feature bits, and steps over the instruction. A program that installs its own SIGSEGV handler
 * afterwards (Python's faulthandler: pytest, -X faulthandler, PYTHONFAULTHANDLER) dies at its next CPUID, so run
 * benchmarks under it, not the test suite. */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#define BIT(n) (1u << (n))

static int cpuid_faulting(int on) { return (int)syscall(SYS_arch_prctl, ARCH_SET_CPUID, !on); }

static void on_sigsegv(int sig, siginfo_t *info, void *context) {
  (void)info;
  ucontext_t *uc = context;
  greg_t *reg = uc->uc_mcontext.gregs;
  const uint8_t *ip = (const uint8_t *)reg[REG_RIP];
  if (ip[0] != 0x0f || ip[1] != 0xa2) { /* a real fault: die of it */
    signal(sig, SIG_DFL);
    return;
  }
  uint32_t leaf = (uint32_t)reg[REG_RAX], subleaf = (uint32_t)reg[REG_RCX];
  uint32_t a = leaf, b, c = subleaf, d;
  cpuid_faulting(0);
  __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
  cpuid_faulting(1);
  if (leaf == 7 && subleaf == 0) {
    b &= ~(BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31)); /* AVX-512 F, DQ, IFMA, PF, ER, CD, BW, VL */
    c &= ~(BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14));  /* AVX-512 VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ */
    d &= ~(BIT(2) | BIT(3) | BIT(8) | BIT(22) | BIT(23) | BIT(24) | BIT(25)); /* 4VNNIW, 4FMAPS, VP2INTERSECT, AMX, FP16 */
  } else if (leaf == 7 && subleaf == 1) {
    a &= ~(BIT(4) | BIT(5) | BIT(21) | BIT(23)); /* AVX-VNNI, AVX-512 BF16, AMX-FP16, AVX-IFMA */
    d &= ~(BIT(4) | BIT(5) | BIT(8) | BIT(10) | BIT(19)); /* AVX-VNNI-INT8, AVX-NE-CONVERT, AMX-COMPLEX, AVX-VNNI-INT16, AVX10 */
  } else if (leaf == 0xd && subleaf == 0) {
    a &= ~(BIT(5) | BIT(6) | BIT(7) | BIT(17) | BIT(18)); /* AVX-512 and AMX register state */
  }
  reg[REG_RAX] = a;
  reg[REG_RBX] = b;
  reg[REG_RCX] = c;
  reg[REG_RDX] = d;
  reg[REG_RIP] += 2;
}

__attribute__((constructor)) static void hide_avx512(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_sigsegv;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigaction(SIGSEGV, &action, 0);
  if (cpuid_faulting(1) != 0) {
    static const char message[] = "avx2_only: this CPU or kernel has no CPUID faulting; cannot hide AVX-512\n";
    write(2, message, sizeof message - 1);
    _exit(3);
  }
}
