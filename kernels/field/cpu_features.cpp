#include "kernels/field/cpu_features.hpp"

#include <cstdlib>
#include <string_view>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace arbor::field {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0, nullptr) < 7) return f;
  __cpuid(1, eax, ebx, ecx, edx);
  const bool osxsave = (ecx >> 27) & 1;
  __cpuid_count(7, 0, eax, ebx, ecx, edx);
  f.bmi2 = (ebx >> 8) & 1;
  f.adx = (ebx >> 19) & 1;
  const bool avx512f = (ebx >> 16) & 1;
  const bool ifma = (ebx >> 21) & 1;
  if (osxsave && avx512f && ifma) {
    // XCR0 bits 1, 2 (SSE, AVX) and 5, 6, 7 (opmask, upper zmm0-15, zmm16-31) must all be on.
    unsigned lo = 0, hi = 0;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    f.avx512_ifma = (lo & 0xe6) == 0xe6;
  }
#endif
  return f;
}

FieldPaths select(const CpuFeatures& cpu) {
  FieldPaths paths{cpu.has_adx_path(), cpu.has_ifma_path()};
#if defined(ARBOR_FIELD_NO_X86_ASM)
  paths.adx = false;  // built without the MULX/ADX code (mont_x86.hpp)
#endif
#if defined(ARBOR_FIELD_NO_AUTO_LANES)
  paths.ifma = false;  // the sanitizer tree: lanes at -O0, run only where called by name
#endif
  const char* env = std::getenv("ARBOR_FIELD_PATHS");
  const std::string_view wanted = env != nullptr ? env : "auto";
  if (wanted == "portable") {
    paths = FieldPaths{};
  } else if (wanted == "adx") {
    paths.ifma = false;
  }
  return paths;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

const FieldPaths& field_paths() {
  static const FieldPaths paths = select(cpu_features());
  return paths;
}

std::string field_paths_name() {
  const FieldPaths& p = field_paths();
  if (p.ifma && p.adx) return "ifma+adx";
  if (p.ifma) return "ifma";
  if (p.adx) return "adx";
  return "portable";
}

}  // namespace arbor::field
