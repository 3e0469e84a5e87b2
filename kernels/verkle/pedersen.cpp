#include "kernels/verkle/pedersen.hpp"

#include <cassert>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/field/arith_dispatch.hpp"
#include "kernels/field/cpu_features.hpp"
#include "kernels/field/lanes.hpp"
#include "kernels/verkle/crs.hpp"
#include "kernels/verkle/fixed_base.hpp"
#include "kernels/verkle/fixed_base_lanes.hpp"

namespace arbor::verkle {

absl::StatusOr<PedersenTables> PedersenTables::build(std::span<const Point> generators,
                                                     int window_bits) {
  if (window_bits < kMinWindowBits || window_bits > kMaxWindowBits) {
    return absl::InvalidArgumentError(absl::StrCat("pedersen tables: window_bits must be in [",
                                                   kMinWindowBits, ", ", kMaxWindowBits, "], got ",
                                                   window_bits));
  }
  if (generators.empty()) {
    return absl::InvalidArgumentError("pedersen tables: no generators");
  }
  PedersenTables t;
  t.window_bits_ = window_bits;
  t.windows_ = fixed_base_window_count(window_bits);
  t.entries_per_window_ = std::size_t{1} << (window_bits - 1);
  t.generator_count_ = generators.size();
  const std::size_t per_generator = static_cast<std::size_t>(t.windows_) * t.entries_per_window_;
  t.table_.resize(per_generator * generators.size());

  std::vector<Point> multiples(per_generator);
  std::vector<Fp> zinv(per_generator), scratch(per_generator);
  for (std::size_t g = 0; g < generators.size(); ++g) {
    // Window j: base = 2^(w*j) * G; entries base, 2*base, ..., 2^(w-1)*base; the next base is
    // 2 * (2^(w-1) * base).
    Point base = generators[g];
    for (int j = 0; j < t.windows_; ++j) {
      Point* row = &multiples[static_cast<std::size_t>(j) * t.entries_per_window_];
      row[0] = base;
      for (std::size_t k = 1; k < t.entries_per_window_; ++k) row[k] = add(row[k - 1], base);
      base = dbl(row[t.entries_per_window_ - 1]);
    }
    // One inversion per generator brings all its entries to affine form.
    for (std::size_t i = 0; i < per_generator; ++i) zinv[i] = multiples[i].Z;
    batch_inverse(zinv.data(), per_generator, scratch.data());
    PrecomputedPoint* out = &t.table_[g * per_generator];
    for (std::size_t i = 0; i < per_generator; ++i) {
      out[i] = to_precomputed(
          AffinePoint{verkle::mul(multiples[i].X, zinv[i]), verkle::mul(multiples[i].Y, zinv[i])});
    }
  }
  return t;
}

std::span<const PrecomputedPoint> PedersenTables::table(std::size_t index) const {
  const std::size_t per_generator = static_cast<std::size_t>(windows_) * entries_per_window_;
  return std::span<const PrecomputedPoint>(table_).subspan(index * per_generator, per_generator);
}

std::span<const PrecomputedPoint> PedersenTables::lane_entries() const {
  std::call_once(lanes_->once, [this] {
    // x * 2^256 times 2^260 mod p, through a Montgomery product, is x * 2^260: the lane form.
    constexpr mont_detail::Limbs r260 = field::LaneConstants<Bls12381FrParams>::kR260;
    const Fp to_lane{{r260[0], r260[1], r260[2], r260[3]}};
    std::vector<PrecomputedPoint>& out = lanes_->entries;
    out.resize(table_.size());
    field::with_fastest_arith([&]<class Arith>() {
      for (std::size_t i = 0; i < table_.size(); ++i) {
        out[i] =
            PrecomputedPoint{Arith::mul(table_[i].x, to_lane), Arith::mul(table_[i].y, to_lane),
                             Arith::mul(table_[i].dxy, to_lane)};
      }
    });
  });
  return lanes_->entries;
}

void PedersenTables::update_many(std::span<Point> commitments,
                                 std::span<const CommitmentDelta> deltas) const {
  // One delta gains nothing from the lanes (one busy lane of eight costs about a scalar product
  // per product) and would pay the lane tables' conversion.
  if (field::field_paths().ifma && deltas.size() > 1) {
    fixed_base_update_lanes(*this, commitments, deltas, LaneImpl::kAvx512);
    return;
  }
  for (const CommitmentDelta& d : deltas) {
    assert(d.target < commitments.size());
    accumulate(commitments[d.target], d.generator, d.scalar);
  }
}

Point PedersenTables::sum_terms(std::span<const SparseTerm> terms) const {
  Point acc = Point::identity();
  if (!field::field_paths().ifma || terms.size() < 2) {
    for (const SparseTerm& t : terms) accumulate(acc, t.index, t.scalar);
    return acc;
  }
  // One run: the lanes cut it into up to kFixedBaseRunsInFlight pieces summed side by side.
  std::vector<CommitmentDelta> deltas(terms.size());
  for (std::size_t i = 0; i < terms.size(); ++i) {
    deltas[i] = CommitmentDelta{0, terms[i].index, terms[i].scalar};
  }
  fixed_base_update_lanes(*this, std::span<Point>(&acc, 1), deltas, LaneImpl::kAvx512);
  return acc;
}

void PedersenTables::accumulate(Point& acc, std::size_t index, const Fr& s) const {
  assert(index < generator_count_);
  field::with_fastest_arith([&]<class Arith>() {
    fixed_base_accumulate<Arith>(acc, table(index).data(), window_bits_, windows_,
                                 entries_per_window_, s);
  });
}

Point PedersenTables::mul(std::size_t index, const Fr& s) const {
  Point acc = Point::identity();
  accumulate(acc, index, s);
  return acc;
}

Point PedersenTables::update(const Point& c, std::size_t index, const Fr& delta) const {
  Point acc = c;
  accumulate(acc, index, delta);
  return acc;
}

absl::StatusOr<Point> PedersenTables::commit(std::span<const Fr> scalars) const {
  if (scalars.size() > generator_count_) {
    return absl::InvalidArgumentError(absl::StrCat(
        "pedersen commit: ", scalars.size(), " scalars for ", generator_count_, " generators"));
  }
  std::vector<SparseTerm> terms;
  terms.reserve(scalars.size());
  for (std::size_t i = 0; i < scalars.size(); ++i) {
    if (!scalars[i].is_zero())
      terms.push_back(SparseTerm{static_cast<std::uint32_t>(i), scalars[i]});
  }
  return sum_terms(terms);
}

absl::StatusOr<Point> PedersenTables::commit_sparse(std::span<const SparseTerm> terms) const {
  for (const SparseTerm& t : terms) {
    if (t.index >= generator_count_) {
      return absl::InvalidArgumentError(absl::StrCat("pedersen commit: generator index ", t.index,
                                                     " out of range (", generator_count_,
                                                     " generators)"));
    }
  }
  std::vector<SparseTerm> nonzero;
  nonzero.reserve(terms.size());
  for (const SparseTerm& t : terms) {
    if (!t.scalar.is_zero()) nonzero.push_back(t);
  }
  return sum_terms(nonzero);
}

const PedersenTables& default_pedersen_tables() {
  static const PedersenTables tables = [] {
    absl::StatusOr<PedersenTables> t =
        PedersenTables::build(crs(), PedersenTables::kDefaultWindowBits);
    assert(t.ok());  // the arguments are constants
    return *std::move(t);
  }();
  return tables;
}

namespace {

// pedersen_hash uses only G0..G4: tables for those five (1.9 MiB) cost milliseconds to build,
// where the full 96 MiB set takes a second, which a one-off `arbor verkle tree-key` would pay.
const PedersenTables& key_hash_tables() {
  static const PedersenTables tables = [] {
    absl::StatusOr<PedersenTables> t = PedersenTables::build(std::span<const Point>(crs()).first(5),
                                                             PedersenTables::kDefaultWindowBits);
    assert(t.ok());  // the arguments are constants
    return *std::move(t);
  }();
  return tables;
}

}  // namespace

std::array<std::uint8_t, 32> pedersen_hash(std::span<const std::uint8_t, 64> input) {
  // The first scalar 2 + 256*64 encodes "64 bytes, in 16-byte chunks" (EIP-6800).
  constexpr std::uint64_t kDomain = 2 + 256 * 64;
  const PedersenTables& tables = key_hash_tables();
  Point acc = tables.mul(0, from_u64<BandersnatchFrParams>(kDomain));
  for (int k = 0; k < 4; ++k) {
    std::uint64_t v[4] = {0, 0, 0, 0};
    for (int b = 7; b >= 0; --b) v[0] = (v[0] << 8) | input[16 * k + b];
    for (int b = 15; b >= 8; --b) v[1] = (v[1] << 8) | input[16 * k + b];
    // v < 2^128 < r: already canonical.
    acc = tables.update(acc, static_cast<std::size_t>(k) + 1,
                        from_canonical_limbs<BandersnatchFrParams>(v));
  }
  return map_to_scalar_field_bytes(acc);
}

std::array<std::uint8_t, 32> get_tree_key(std::span<const std::uint8_t, 32> address32,
                                          std::span<const std::uint8_t, 32> tree_index_le,
                                          std::uint8_t sub_index) {
  std::array<std::uint8_t, 64> input{};
  for (int i = 0; i < 32; ++i) {
    input[i] = address32[i];
    input[32 + i] = tree_index_le[i];
  }
  std::array<std::uint8_t, 32> key = pedersen_hash(input);
  key[31] = sub_index;
  return key;
}

}  // namespace arbor::verkle
