// batch_map_to_scalar_field_lanes (map_to_field_lanes.hpp): rows gathered and results scattered
// here, in portable code, with the one scalar inversion between the two lane passes
// (map_to_field_lanes_impl.hpp), emulated here or through the AVX-512 unit
// (map_to_field_lanes_avx512.cpp).
#include "kernels/verkle/map_to_field_lanes.hpp"

#include <cassert>
#include <vector>

#include "kernels/field/arith_dispatch.hpp"
#include "kernels/verkle/map_to_field_lanes_impl.hpp"

namespace arbor::verkle {

using lanes_detail::LaneWords;
using lanes_detail::MapRow;

void batch_map_to_scalar_field_lanes(std::span<const Point> points, std::span<Fr> out,
                                     field::LaneImpl impl) {
  assert(out.size() == points.size());
  if (impl == field::LaneImpl::kAvx512) field::lanes_detail::require_avx512_ifma("map_to_field");
  const std::size_t n = points.size();
  const std::size_t row_count = (n + field::kLanes - 1) / field::kLanes;
  std::vector<MapRow> rows(row_count);
  // Montgomery's trick skips zeros; here a zero Y (or a lane past n) enters its lane's chain as
  // (X, Y) = (0, 1), which maps to 0, what the scalar batch yields for Y = 0 (1/0 is 0).
  const Fp one = Fp::one();
  for (std::size_t i = 0; i < row_count * field::kLanes; ++i) {
    MapRow& row = rows[i / field::kLanes];
    const std::size_t lane = i % field::kLanes;
    const bool usable = i < n && !points[i].Y.is_zero();
    const Fp& x = usable ? points[i].X : Fp::zero();
    const Fp& y = usable ? points[i].Y : one;
    for (int w = 0; w < 4; ++w) {
      row.x[w][lane] = x.limb[w];
      row.y[w][lane] = y.limb[w];
    }
  }

  LaneWords totals;
  if (impl == field::LaneImpl::kAvx512) {
    lanes_detail::map_forward_avx512(rows.data(), row_count, totals);
  } else {
    lanes_detail::LaneMapToField<field::EmulatedLanes>::forward(rows.data(), row_count, totals);
  }
  Fp lane_totals[field::kLanes];
  for (int lane = 0; lane < field::kLanes; ++lane) {
    lane_totals[lane] =
        Fp{{totals.w[0][lane], totals.w[1][lane], totals.w[2][lane], totals.w[3][lane]}};
  }
  Fp scratch[field::kLanes];
  field::with_fastest_arith(
      [&]<class Arith>() { field::batch_inverse<Arith>(lane_totals, field::kLanes, scratch); });
  LaneWords inverses;
  for (int lane = 0; lane < field::kLanes; ++lane) {
    for (int w = 0; w < 4; ++w) inverses.w[w][lane] = lane_totals[lane].limb[w];
  }

  std::vector<LaneWords> results(row_count);
  if (impl == field::LaneImpl::kAvx512) {
    lanes_detail::map_backward_avx512(rows.data(), row_count, inverses, results.data());
  } else {
    lanes_detail::LaneMapToField<field::EmulatedLanes>::backward(rows.data(), row_count, inverses,
                                                                 results.data());
  }
  for (std::size_t i = 0; i < n; ++i) {
    const LaneWords& r = results[i / field::kLanes];
    const std::size_t lane = i % field::kLanes;
    out[i] = Fr{{r.w[0][lane], r.w[1][lane], r.w[2][lane], r.w[3][lane]}};
  }
}

}  // namespace arbor::verkle
