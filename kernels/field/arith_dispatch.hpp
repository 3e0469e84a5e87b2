// Host-side choice of the arithmetic policy (arith.hpp) at run time, from CPUID
// (cpu_features.hpp). Entry points of hot operations call with_fastest_arith once per call; the
// lambda's body is instantiated for every policy this build has.
#pragma once

#include "kernels/field/arith.hpp"
#include "kernels/field/cpu_features.hpp"
#include "kernels/field/mont_x86.hpp"

namespace arbor::field {

// f.template operator()<A>() with the fastest policy that field_paths() allows.
template <class F>
decltype(auto) with_fastest_arith(F&& f) {
#if defined(ARBOR_FIELD_HAVE_X86_ASM)
  if (field_paths().adx) return f.template operator()<AdxArith>();
#endif
  return f.template operator()<PortableArith>();
}

}  // namespace arbor::field
