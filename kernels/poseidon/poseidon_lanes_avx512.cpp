// The AVX-512 IFMA instantiation of the lane Poseidon (poseidon_lanes_impl.hpp). Built with
// -mavx512f -mavx512ifma (kernels/CMakeLists.txt); poseidon_lanes.cpp calls in only after checking
// the CPU. Without those flags (a non-x86 build) the entry points exist and abort.
#include "kernels/poseidon/poseidon_lanes_impl.hpp"

#if defined(__AVX512F__) && defined(__AVX512IFMA__)
#include "kernels/field/lanes_avx512.hpp"
#else
#include <cstdlib>
#endif

namespace arbor::poseidon::lanes_detail {

#if defined(__AVX512F__) && defined(__AVX512IFMA__)
void hash_groups_avx512(const LaneTablesView& tables, const Fr* inputs, Fr* outputs,
                        std::size_t groups) {
  LanePoseidon<field::Avx512Lanes>::hash(tables, inputs, outputs, groups);
}
void permute_groups_avx512(const LaneTablesView& tables, Fr* states, std::size_t groups) {
  LanePoseidon<field::Avx512Lanes>::permute_states(tables, states, groups);
}
#else
void hash_groups_avx512(const LaneTablesView&, const Fr*, Fr*, std::size_t) { std::abort(); }
void permute_groups_avx512(const LaneTablesView&, Fr*, std::size_t) { std::abort(); }
#endif

}  // namespace arbor::poseidon::lanes_detail
