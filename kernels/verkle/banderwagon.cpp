#include "kernels/verkle/banderwagon.hpp"

#include <cassert>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/field/arith_dispatch.hpp"
#include "kernels/field/cpu_features.hpp"
#include "kernels/verkle/map_to_field_lanes.hpp"

namespace arbor::verkle {

std::array<std::uint8_t, 32> serialize(const Point& p) {
  std::array<std::uint8_t, 32> out{};
  serialize_to(p, out.data());
  return out;
}

std::vector<std::array<std::uint8_t, 32>> batch_serialize(std::span<const Point> points) {
  const std::size_t n = points.size();
  std::vector<Fp> zinv(n), scratch(n);
  for (std::size_t i = 0; i < n; ++i) zinv[i] = points[i].Z;
  batch_inverse(zinv.data(), n, scratch.data());
  std::vector<std::array<std::uint8_t, 32>> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const AffinePoint a{mul(points[i].X, zinv[i]), mul(points[i].Y, zinv[i])};
    write_bytes_be(compressed_x(a), out[i].data());
  }
  return out;
}

namespace {

absl::StatusOr<Point> decode_result(DecodeStatus status, const Point& p) {
  switch (status) {
    case DecodeStatus::kOk:
      return p;
    case DecodeStatus::kNotCanonical:
      return absl::InvalidArgumentError(
          "banderwagon point: x coordinate is not below the field modulus p");
    case DecodeStatus::kNotOnCurve:
      return absl::InvalidArgumentError(
          "banderwagon point: x is not the x-coordinate of a point on the Bandersnatch curve");
    case DecodeStatus::kNotInSubgroup:
      return absl::InvalidArgumentError(
          "banderwagon point: not in the prime-order subgroup (1 - a*x^2 is not a square)");
  }
  return absl::InternalError("banderwagon point: unknown decode status");
}

absl::StatusOr<Point> decode(std::span<const std::uint8_t> bytes, bool check_subgroup) {
  if (bytes.size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(
        "banderwagon point: expected 32 bytes (compressed, big-endian), got ", bytes.size()));
  }
  Point p;
  const DecodeStatus status = decode_point(bytes.data(), check_subgroup, p);
  return decode_result(status, p);
}

}  // namespace

absl::StatusOr<Point> deserialize(std::span<const std::uint8_t> bytes) {
  return decode(bytes, /*check_subgroup=*/true);
}

std::vector<absl::StatusOr<Point>> batch_deserialize(
    std::span<const std::array<std::uint8_t, 32>> encoded) {
  // decode_point with the 1 - d x^2 denominators inverted together.
  const std::size_t n = encoded.size();
  std::vector<Fp> x(n), num(n), den(n), scratch(n);
  std::vector<bool> canonical(n);
  for (std::size_t i = 0; i < n; ++i) {
    canonical[i] = from_bytes_be(encoded[i].data(), x[i]);
    if (!canonical[i]) x[i] = Fp::zero();
    const Fp x2 = square(x[i]);
    num[i] = sub(Fp::one(), mul_by_a(x2));
    den[i] = sub(Fp::one(), mul(curve_d(), x2));  // never 0: d is not a square
  }
  batch_inverse(den.data(), n, scratch.data());
  std::vector<absl::StatusOr<Point>> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    Point p;
    DecodeStatus status = DecodeStatus::kOk;
    Fp y;
    if (!canonical[i]) {
      status = DecodeStatus::kNotCanonical;
    } else if (!sqrt(mul(num[i], den[i]), y)) {
      status = DecodeStatus::kNotOnCurve;
    } else if (legendre(num[i]) != 1) {
      status = DecodeStatus::kNotInSubgroup;
    } else {
      if (!is_lexicographically_largest(y)) y = neg(y);
      p = Point{x[i], y, mul(x[i], y), Fp::one()};
    }
    out.push_back(decode_result(status, p));
  }
  return out;
}

absl::StatusOr<Point> deserialize_trusted(std::span<const std::uint8_t> bytes) {
  return decode(bytes, /*check_subgroup=*/false);
}

std::array<std::uint8_t, 32> map_to_scalar_field_bytes(const Point& p) {
  std::array<std::uint8_t, 32> out{};
  write_bytes_le(map_to_scalar_field(p), out.data());
  return out;
}

std::vector<Fr> batch_map_to_scalar_field(std::span<const Point> points) {
  std::vector<Fr> out(points.size());
  batch_map_to_scalar_field(points, out);
  return out;
}

void batch_map_to_scalar_field(std::span<const Point> points, std::span<Fr> out) {
  assert(out.size() == points.size());
  if (field::field_paths().ifma && points.size() >= kMapToFieldLanesMin) {
    batch_map_to_scalar_field_lanes(points, out, field::LaneImpl::kAvx512);
    return;
  }
  std::vector<Fp> scratch(2 * points.size());
  field::with_fastest_arith([&]<class Arith>() {
    batch_map_to_scalar_field<Arith>(points.data(), points.size(), out.data(), scratch.data());
  });
}

}  // namespace arbor::verkle
