// Which x86-64 field-arithmetic paths this CPU (and OS) can run, read once from CPUID, and which of
// them Arbor uses. The portable C++ path always exists and is the reference the others are tested
// against; faster paths are chosen at run time, so one binary runs on any x86-64 (and non-x86)
// machine.
//
// ARBOR_FIELD_PATHS (environment, read once) limits the paths used, for tests and comparisons:
// "portable" (nothing but the reference), "adx" (scalar MULX/ADX, no vector lanes), or unset /
// "auto" (everything the CPU supports). A path the CPU lacks is never used, whatever it says, nor
// one the build left out (ARBOR_FIELD_NO_X86_ASM, mont_x86.hpp).
#pragma once

#include <string>

namespace arbor::field {

struct CpuFeatures {
  bool bmi2 = false;  // MULX
  bool adx = false;   // ADCX/ADOX
  // AVX-512 F + IFMA52 with the OS saving the zmm/opmask state (XCR0).
  bool avx512_ifma = false;

  // MULX/ADCX/ADOX scalar multiply (kernels/field/mont_x86.hpp).
  bool has_adx_path() const { return bmi2 && adx; }
  // 8-lane AVX-512 IFMA multiply.
  bool has_ifma_path() const { return avx512_ifma; }
};

// What the CPU supports (CPUID; all false off x86-64).
const CpuFeatures& cpu_features();

// The paths in use: cpu_features() narrowed by ARBOR_FIELD_PATHS.
struct FieldPaths {
  bool adx = false;
  bool ifma = false;
};
const FieldPaths& field_paths();

// "ifma+adx", "adx", "portable": for logs, benchmarks and the backend description.
std::string field_paths_name();

}  // namespace arbor::field
