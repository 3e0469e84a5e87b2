// Bulk Poseidon through the lanes (poseidon_lanes.hpp): the per-width lane-form tables, the
// emulated instantiation, and the dispatch to the AVX-512 one (poseidon_lanes_avx512.cpp).
#include "kernels/poseidon/poseidon_lanes.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/poseidon/poseidon_lanes_impl.hpp"
#include "kernels/poseidon/poseidon_params.hpp"

namespace arbor::poseidon {
namespace {

using lanes_detail::LaneTablesView;

struct LaneTables {
  std::vector<std::uint64_t> words;  // PoseidonLayout's constants, five words each
  LaneTablesView view{};
};

// c (x * 2^256, canonical) times 2^260 mod p through field::mul gives x * 2^260 mod p, canonical:
// the lane form, split into 52-bit limbs.
void to_lane_limbs(const Fr& c, std::uint64_t* out) {
  constexpr field::mont_detail::Limbs r260 = field::LaneConstants<lanes_detail::LaneP>::kR260;
  const Fr lane = field::mul(c, Fr{{r260[0], r260[1], r260[2], r260[3]}});
  const field::mont_detail::Limbs limbs = {lane.limb[0], lane.limb[1], lane.limb[2], lane.limb[3]};
  const field::lanes_detail::Limbs52 l = field::lanes_detail::split52(limbs);
  std::copy(l.begin(), l.end(), out);
}

std::unique_ptr<LaneTables> build_tables(int t) {
  const PoseidonParams& params = poseidon_params(t);
  const PoseidonLayout& layout = params.layout;
  auto tables = std::make_unique<LaneTables>();
  tables->words.resize(layout.total * field::kLaneLimbs);
  for (std::size_t i = 0; i < layout.total; ++i) {
    to_lane_limbs(params.optimized[i], tables->words.data() + i * field::kLaneLimbs);
  }
  const std::uint64_t* base = tables->words.data();
  auto part = [&](std::size_t offset) { return base + offset * field::kLaneLimbs; };
  tables->view = LaneTablesView{part(layout.first_full),
                                part(layout.partial),
                                part(layout.second_full),
                                part(layout.mds),
                                part(layout.pre_sparse),
                                part(layout.sparse),
                                t,
                                layout.rounds_partial};
  return tables;
}

const LaneTablesView& lane_tables(int t) {
  static std::array<std::once_flag, kMaxWidth + 1> once;
  static std::array<std::unique_ptr<LaneTables>, kMaxWidth + 1> tables;
  std::call_once(once[t], [t] { tables[t] = build_tables(t); });
  return tables[t]->view;
}

void check_width(int t, const char* what) {
  if (t >= kMinWidth && t <= kMaxWidth) return;
  std::fprintf(stderr, "arbor: %s: width %d outside %d..%d\n", what, t, kMinWidth, kMaxWidth);
  std::abort();
}

void hash_groups(const LaneTablesView& tb, const Fr* inputs, Fr* outputs, std::size_t groups,
                 LaneImpl impl) {
  if (impl == LaneImpl::kAvx512) {
    lanes_detail::hash_groups_avx512(tb, inputs, outputs, groups);
  } else {
    lanes_detail::LanePoseidon<field::EmulatedLanes>::hash(tb, inputs, outputs, groups);
  }
}

void permute_groups(const LaneTablesView& tb, Fr* states, std::size_t groups, LaneImpl impl) {
  if (impl == LaneImpl::kAvx512) {
    lanes_detail::permute_groups_avx512(tb, states, groups);
  } else {
    lanes_detail::LanePoseidon<field::EmulatedLanes>::permute_states(tb, states, groups);
  }
}

}  // namespace

void hash_many_lanes(int t, const Fr* inputs, Fr* outputs, std::size_t count, LaneImpl impl) {
  check_width(t, "hash_many_lanes");
  if (impl == LaneImpl::kAvx512) field::lanes_detail::require_avx512_ifma("hash_many_lanes");
  if (count == 0) return;
  const LaneTablesView& tb = lane_tables(t);
  const auto arity = static_cast<std::size_t>(t - 1);
  const std::size_t groups = count / field::kLanes;
  hash_groups(tb, inputs, outputs, groups, impl);
  const std::size_t done = groups * field::kLanes;
  if (done == count) return;
  // The tail, padded to a whole group with zero inputs.
  std::array<Fr, field::kLanes*(kMaxWidth - 1)> in{};
  std::array<Fr, field::kLanes> out{};
  std::copy(inputs + done * arity, inputs + count * arity, in.begin());
  hash_groups(tb, in.data(), out.data(), 1, impl);
  std::copy(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(count - done), outputs + done);
}

void permute_many_lanes(int t, Fr* states, std::size_t count, LaneImpl impl) {
  check_width(t, "permute_many_lanes");
  if (impl == LaneImpl::kAvx512) field::lanes_detail::require_avx512_ifma("permute_many_lanes");
  if (count == 0) return;
  const LaneTablesView& tb = lane_tables(t);
  const auto width = static_cast<std::size_t>(t);
  const std::size_t groups = count / field::kLanes;
  permute_groups(tb, states, groups, impl);
  const std::size_t done = groups * field::kLanes;
  if (done == count) return;
  std::array<Fr, field::kLanes * kMaxWidth> buf{};
  std::copy(states + done * width, states + count * width, buf.begin());
  permute_groups(tb, buf.data(), 1, impl);
  std::copy(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>((count - done) * width),
            states + done * width);
}

}  // namespace arbor::poseidon
