#include "kernels/verkle/msm.hpp"

#include <cassert>
#include <vector>

#include "kernels/field/arith_dispatch.hpp"
#include "kernels/verkle/fixed_base.hpp"

namespace arbor::verkle {

namespace {

// The window that minimises windows * (n + 2 * 2^(c-1)) point additions, roughly log2(n) - 1.
int window_bits_for(std::size_t n) {
  int best = 2;
  double best_cost = 1e300;
  for (int c = 2; c <= 16; ++c) {
    const double windows = fixed_base_window_count(c);
    const double cost =
        windows * (static_cast<double>(n) + 2.0 * static_cast<double>(1u << (c - 1)));
    if (cost < best_cost) {
      best_cost = cost;
      best = c;
    }
  }
  return best;
}

template <class Arith>
Point msm_with(std::span<const Point> points, std::span<const Fr> scalars) {
  assert(points.size() == scalars.size());
  const std::size_t n = points.size();
  if (n == 0) return Point::identity();
  if (n == 1) return scalar_mul<Arith>(points[0], scalars[0]);

  // Affine (x, y, d*x*y) bases for mixed additions: one inversion for all.
  std::vector<Fp> zinv(n), scratch(n);
  for (std::size_t i = 0; i < n; ++i) zinv[i] = points[i].Z;
  batch_inverse<Arith>(zinv.data(), n, scratch.data());
  std::vector<PrecomputedPoint> bases(n);
  for (std::size_t i = 0; i < n; ++i) {
    bases[i] = to_precomputed(
        AffinePoint{Arith::mul(points[i].X, zinv[i]), Arith::mul(points[i].Y, zinv[i])});
  }

  const int c = window_bits_for(n);
  const int windows = fixed_base_window_count(c);
  const std::uint64_t half = std::uint64_t{1} << (c - 1);
  // Signed digits, window-major per scalar: magnitude in [0, half] and a sign bit.
  std::vector<std::uint32_t> magnitude(n * windows);
  std::vector<std::uint8_t> negative(n * windows);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint64_t e[4];
    to_canonical_limbs(scalars[i], e);
    std::uint64_t carry = 0;
    for (int j = 0; j < windows; ++j) {
      std::uint64_t sign;
      const std::uint64_t d = fixed_base_detail::recode_digit(
          fixed_base_detail::window_bits_at(e, j * c, c) + carry, half, sign, carry);
      magnitude[i * windows + j] = static_cast<std::uint32_t>(d);
      negative[i * windows + j] = static_cast<std::uint8_t>(sign);
    }
    assert(carry == 0);
  }

  std::vector<Point> buckets(half);
  Point acc = Point::identity();
  for (int j = windows - 1; j >= 0; --j) {
    for (int k = 0; k < c; ++k) acc = dbl<Arith>(acc);
    for (Point& b : buckets) b = Point::identity();
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint32_t d = magnitude[i * windows + j];
      if (d == 0) continue;
      buckets[d - 1] =
          fixed_base_detail::add_signed<Arith>(buckets[d - 1], bases[i], negative[i * windows + j]);
    }
    // sum_b (b + 1) * buckets[b] by running sums from the top bucket down.
    Point running = Point::identity(), window_sum = Point::identity();
    for (std::size_t b = half; b-- > 0;) {
      running = add<Arith>(running, buckets[b]);
      window_sum = add<Arith>(window_sum, running);
    }
    acc = add<Arith>(acc, window_sum);
  }
  return acc;
}

}  // namespace

Point msm(std::span<const Point> points, std::span<const Fr> scalars) {
  return field::with_fastest_arith([&]<class Arith>() { return msm_with<Arith>(points, scalars); });
}

}  // namespace arbor::verkle
