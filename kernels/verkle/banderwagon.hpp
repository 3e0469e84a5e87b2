// Bandersnatch and its prime-order quotient group Banderwagon, as Ethereum's Verkle trees use them
// (EIP-6800; go-ipa, rust-verkle, verkle-trie-ref).
//
// Bandersnatch: the twisted Edwards curve a*x^2 + y^2 = 1 + d*x^2*y^2 over the BLS12-381 scalar
// field with a = -5 and d = 138827208126141220649022263972958607803 /
// 171449701953573178309673572579671231137. Banderwagon identifies P with P + (0, -1), i.e. (x, y) ~
// (-x, -y); its elements are represented by curve points of the order-2r subgroup and compared with
// X1*Y2 == X2*Y1.
//
// Points use extended coordinates (X:Y:T:Z), x = X/Z, y = Y/Z, T = XY/Z (Hisil-Wong-Carter-Dawson).
// a = -5 is not a square, so these formulas are not complete on the whole curve; they are on the
// order-2r subgroup, whose only even-order point, (0, -1), is affine (the points at infinity where
// they fail have even order and are not in it). Every function here expects subgroup points.
//
// Everything marked ARBOR_HD is compiled by both g++ and nvcc; the absl/std containers versions at
// the end are host-only (banderwagon.cpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/hd.hpp"
#include "kernels/verkle/bandersnatch_fr.hpp"
#include "kernels/verkle/bls12_381_fr.hpp"

namespace arbor::verkle {

namespace curve_detail {

using mont_detail::Limbs;
using FpC = mont_detail::Constants<Bls12381FrParams>;

constexpr Limbs to_mont(const Limbs& x) {
  return mont_detail::mont_mul(x, FpC::kR2, FpC::kP, FpC::kInv);
}

// d as the spec defines it: a quotient of two 128-bit integers, computed here (a^(p-2) inverts).
constexpr Limbs compute_d() {
  const Limbs num = to_mont(Limbs{0xa03bbf93b28099bbULL, 0x687125d125a827fdULL, 0, 0});
  const Limbs den = to_mont(Limbs{0x99b1d66761b34aa1ULL, 0x80fc02f153d6afefULL, 0, 0});
  return mont_detail::mont_mul(num, mont_detail::mont_pow(den, FpC::kPMinus2, FpC::kP, FpC::kInv),
                               FpC::kP, FpC::kInv);
}
inline constexpr Limbs kD = compute_d();
inline constexpr std::uint64_t D0 = kD[0], D1 = kD[1], D2 = kD[2], D3 = kD[3];

// a = -5 = p - 5.
inline constexpr Limbs kA = to_mont(mont_detail::sub_limbs(FpC::kP, Limbs{5, 0, 0, 0}));
inline constexpr std::uint64_t A0 = kA[0], A1 = kA[1], A2 = kA[2], A3 = kA[3];

// The Banderwagon generator (the Bandersnatch prime-subgroup generator of the spec, go-ipa and
// rust-verkle); the test checks it against the shared vectors and the curve equation.
inline constexpr Limbs kGx = to_mont(Limbs{0xe1e71866a252ae18ULL, 0x2b79c022ad998465ULL,
                                           0x743711777bbe42f3ULL, 0x29c132cc2c0b34c5ULL});
inline constexpr Limbs kGy = to_mont(Limbs{0x5e3167b6cc974166ULL, 0x358cad81eee46460ULL,
                                           0x157d8b50badcd586ULL, 0x2a6c669eda123e0fULL});
inline constexpr std::uint64_t GX0 = kGx[0], GX1 = kGx[1], GX2 = kGx[2], GX3 = kGx[3];
inline constexpr std::uint64_t GY0 = kGy[0], GY1 = kGy[1], GY2 = kGy[2], GY3 = kGy[3];

}  // namespace curve_detail

ARBOR_HD Fp curve_a() {
  using namespace curve_detail;
  return Fp{{A0, A1, A2, A3}};
}
ARBOR_HD Fp curve_d() {
  using namespace curve_detail;
  return Fp{{D0, D1, D2, D3}};
}

// 5v and a*v = -5v by additions (cheaper than a product).
ARBOR_HD Fp mul_by_5(const Fp& v) { return add(dbl(dbl(v)), v); }
ARBOR_HD Fp mul_by_a(const Fp& v) { return neg(mul_by_5(v)); }

struct AffinePoint {
  Fp x, y;
};

// An affine point prepared for mixed addition: (x, y, d*x*y). 96 bytes; the entry type of the
// fixed-base tables.
struct PrecomputedPoint {
  Fp x, y, dxy;
};

// A Banderwagon element in extended twisted Edwards coordinates.
struct Point {
  Fp X, Y, T, Z;

  ARBOR_HD static Point identity() { return Point{Fp::zero(), Fp::one(), Fp::zero(), Fp::one()}; }
  ARBOR_HD static Point generator() {
    using namespace curve_detail;
    const Fp x{{GX0, GX1, GX2, GX3}};
    const Fp y{{GY0, GY1, GY2, GY3}};
    return Point{x, y, mul(x, y), Fp::one()};
  }

  // Banderwagon equality: (x1, y1) ~ (x2, y2) iff x1*y2 == x2*y1 (covers (x, y) ~ (-x, -y)).
  ARBOR_HD friend bool operator==(const Point& a, const Point& b) {
    return mul(a.X, b.Y) == mul(b.X, a.Y);
  }
  ARBOR_HD friend bool operator!=(const Point& a, const Point& b) { return !(a == b); }
};

// The identity of Banderwagon is {(0, 1), (0, -1)}: exactly the points with x = 0.
ARBOR_HD bool is_identity(const Point& p) { return p.X.is_zero(); }

ARBOR_HD Point from_affine(const AffinePoint& a) {
  return Point{a.x, a.y, mul(a.x, a.y), Fp::one()};
}

ARBOR_HD PrecomputedPoint to_precomputed(const AffinePoint& a) {
  return PrecomputedPoint{a.x, a.y, mul(curve_d(), mul(a.x, a.y))};
}

// One field inversion; the identity maps to (0, 1) or (0, -1).
ARBOR_HD AffinePoint to_affine(const Point& p) {
  const Fp zinv = inverse_public(p.Z);
  return AffinePoint{mul(p.X, zinv), mul(p.Y, zinv)};
}

ARBOR_HD Point neg(const Point& p) { return Point{neg(p.X), p.Y, neg(p.T), p.Z}; }

// Unified addition (add-2008-hwcd for general a): 9 products + one by d.
template <class Arith = PortableArith>
ARBOR_HD Point add(const Point& p, const Point& q) {
  const Fp A = Arith::mul(p.X, q.X);
  const Fp B = Arith::mul(p.Y, q.Y);
  const Fp C = Arith::mul(Arith::mul(curve_d(), p.T), q.T);
  const Fp D = Arith::mul(p.Z, q.Z);
  const Fp E = sub(sub(Arith::mul(add(p.X, p.Y), add(q.X, q.Y)), A), B);
  const Fp F = sub(D, C);
  const Fp G = add(D, C);
  const Fp H = add(B, mul_by_5(A));  // B - a*A
  return Point{Arith::mul(E, F), Arith::mul(G, H), Arith::mul(E, H), Arith::mul(F, G)};
}

ARBOR_HD Point sub(const Point& p, const Point& q) { return add(p, neg(q)); }

// Mixed addition with a precomputed affine point (Z2 = 1, d*T2 stored): 8 products.
template <class Arith = PortableArith>
ARBOR_HD Point add_mixed(const Point& p, const PrecomputedPoint& q) {
  const Fp A = Arith::mul(p.X, q.x);
  const Fp B = Arith::mul(p.Y, q.y);
  const Fp C = Arith::mul(p.T, q.dxy);
  const Fp E = sub(sub(Arith::mul(add(p.X, p.Y), add(q.x, q.y)), A), B);
  const Fp F = sub(p.Z, C);
  const Fp G = add(p.Z, C);
  const Fp H = add(B, mul_by_5(A));  // B - a*A
  return Point{Arith::mul(E, F), Arith::mul(G, H), Arith::mul(E, H), Arith::mul(F, G)};
}

// p - q for a precomputed q: -(x, y) = (-x, y), so d*x*y flips sign too.
template <class Arith = PortableArith>
ARBOR_HD Point sub_mixed(const Point& p, const PrecomputedPoint& q) {
  return add_mixed<Arith>(p, PrecomputedPoint{neg(q.x), q.y, neg(q.dxy)});
}

// Doubling (dbl-2008-hwcd): 4 products + 4 squarings.
template <class Arith = PortableArith>
ARBOR_HD Point dbl(const Point& p) {
  const Fp A = Arith::square(p.X);
  const Fp B = Arith::square(p.Y);
  const Fp C = dbl(Arith::square(p.Z));
  const Fp D = mul_by_a(A);
  const Fp E = sub(sub(Arith::square(add(p.X, p.Y)), A), B);
  const Fp G = add(D, B);
  const Fp F = sub(G, C);
  const Fp H = sub(D, B);
  return Point{Arith::mul(E, F), Arith::mul(G, H), Arith::mul(E, H), Arith::mul(F, G)};
}

// Variable-base s*P, left-to-right double-and-add over the canonical bits of s (not constant
// time: scalars here are public tree data).
template <class Arith = PortableArith>
ARBOR_HD Point scalar_mul(const Point& p, const Fr& s) {
  std::uint64_t e[4];
  to_canonical_limbs(s, e);
  Point acc = Point::identity();
  bool started = false;
  for (int i = 3; i >= 0; --i) {
    for (int bit = 63; bit >= 0; --bit) {
      if (started) acc = dbl<Arith>(acc);
      if ((e[i] >> bit) & 1) {
        acc = started ? add<Arith>(acc, p) : p;
        started = true;
      }
    }
  }
  return acc;
}

// The projective curve equation (a X^2 + Y^2) Z^2 = Z^4 + d X^2 Y^2 and T Z = X Y.
ARBOR_HD bool is_on_curve(const Point& p) {
  const Fp X2 = square(p.X), Y2 = square(p.Y), Z2 = square(p.Z);
  const Fp lhs = mul(add(mul_by_a(X2), Y2), Z2);
  const Fp rhs = add(square(Z2), mul(curve_d(), mul(X2, Y2)));
  return lhs == rhs && mul(p.T, p.Z) == mul(p.X, p.Y);
}

// go-ipa's subgroup test for an affine x of a curve point: 1 - a*x^2 must be a non-zero square.
ARBOR_HD bool subgroup_check(const Fp& x) {
  return legendre(sub(Fp::one(), mul_by_a(square(x)))) == 1;
}

// ---- encodings ----------------------------------------------------------------------------------

// Canonical affine representative's x * sign: x when y is lexicographically largest, else -x.
// (-x, -y) gives the same value, so every representative of an element encodes alike.
ARBOR_HD Fp compressed_x(const AffinePoint& a) {
  return is_lexicographically_largest(a.y) ? a.x : neg(a.x);
}

// 32-byte compressed form, big-endian (go-ipa Element.Bytes, rust-verkle serialize_compressed).
// The identity encodes as 32 zero bytes. One field inversion.
ARBOR_HD void serialize_to(const Point& p, std::uint8_t* out) {
  write_bytes_be(compressed_x(to_affine(p)), out);
}

enum class DecodeStatus { kOk, kNotCanonical, kNotOnCurve, kNotInSubgroup };

// Decodes a 32-byte big-endian x*sign(y): rejects x >= p and x that is no point's x-coordinate,
// then picks the lexicographically largest y (as go-ipa's GetPointFromX(x, true)). With
// `check_subgroup` also applies go-ipa's subgroup test; without it (records the store wrote itself)
// it saves one exponentiation.
ARBOR_HD DecodeStatus decode_point(const std::uint8_t* in, bool check_subgroup, Point& out) {
  Fp x;
  if (!from_bytes_be(in, x)) return DecodeStatus::kNotCanonical;
  // a x^2 + y^2 = 1 + d x^2 y^2  =>  y^2 = (1 - a x^2) / (1 - d x^2).
  const Fp x2 = square(x);
  const Fp num = sub(Fp::one(), mul_by_a(x2));
  const Fp den = sub(Fp::one(), mul(curve_d(), x2));
  if (den.is_zero()) return DecodeStatus::kNotOnCurve;  // d is not a square: cannot happen
  Fp y;
  if (!sqrt(mul(num, inverse_public(den)), y)) return DecodeStatus::kNotOnCurve;
  if (!is_lexicographically_largest(y)) y = neg(y);
  if (check_subgroup && legendre(num) != 1) return DecodeStatus::kNotInSubgroup;
  out = Point{x, y, mul(x, y), Fp::one()};
  return DecodeStatus::kOk;
}

// The Bandersnatch scalar field element with the same canonical integer, reduced mod r.
ARBOR_HD Fr fr_from_fp(const Fp& v) {
  std::uint64_t x[4];
  to_canonical_limbs(v, x);
  return from_limbs_mod_order<BandersnatchFrParams>(x);
}

// map_to_scalar_field (go-ipa MapToScalarField, rust-verkle map_to_scalar_field): x/y mod p, read
// as an integer mod r. Z cancels, and (x, y) ~ (-x, -y) agree. The identity maps to 0. One
// inversion.
ARBOR_HD Fr map_to_scalar_field(const Point& p) {
  return fr_from_fp(mul(p.X, inverse_public(p.Y)));
}

// Batched map_to_scalar_field: one field inversion for all n points (Montgomery's trick).
// `scratch` holds 2n base-field elements. Y is never zero on the subgroup (it would need
// x^2 = 1/a, and 1/a = -1/5 is not a square).
template <class Arith = PortableArith>
ARBOR_HD void batch_map_to_scalar_field(const Point* points, std::size_t n, Fr* out, Fp* scratch) {
  Fp* inv = scratch;
  for (std::size_t i = 0; i < n; ++i) inv[i] = points[i].Y;
  batch_inverse<Arith>(inv, n, scratch + n);
  for (std::size_t i = 0; i < n; ++i) out[i] = fr_from_fp(Arith::mul(points[i].X, inv[i]));
}

// ---- host-only conveniences (banderwagon.cpp) ---------------------------------------------------

std::array<std::uint8_t, 32> serialize(const Point& p);
// Serializes many points with one field inversion.
std::vector<std::array<std::uint8_t, 32>> batch_serialize(std::span<const Point> points);

// Untrusted input (proofs, requests): checks length, x < p, on the curve and in the subgroup;
// INVALID_ARGUMENT with a message naming what failed otherwise.
absl::StatusOr<Point> deserialize(std::span<const std::uint8_t> bytes);
// Many untrusted points, as deserialize() would decode each, with one field inversion for all
// (decoding is a square root, a Legendre symbol and an inversion: the batch saves about a third).
std::vector<absl::StatusOr<Point>> batch_deserialize(
    std::span<const std::array<std::uint8_t, 32>> encoded);
// The store's own records: same decoding without the subgroup test.
absl::StatusOr<Point> deserialize_trusted(std::span<const std::uint8_t> bytes);

// map_to_scalar_field as 32 little-endian bytes (tree hashes, transcripts).
std::array<std::uint8_t, 32> map_to_scalar_field_bytes(const Point& p);
std::vector<Fr> batch_map_to_scalar_field(std::span<const Point> points);
// The same into out (out.size() == points.size()), on the fastest path this CPU runs: the
// AVX-512 IFMA lanes (map_to_field_lanes.hpp) from kMapToFieldLanesMin points where the CPU has
// them, else the scalar batch above. Single-threaded.
void batch_map_to_scalar_field(std::span<const Point> points, std::span<Fr> out);

}  // namespace arbor::verkle
