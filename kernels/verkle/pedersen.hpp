// Pedersen vector commitments on Banderwagon, C = sum s_i * G_i over the Verkle CRS, with
// fixed-base window tables, plus EIP-6800's pedersen_hash / get_tree_key built on them. Host code;
// the table entries are plain PrecomputedPoint structs so that a GPU path can upload them as bytes.
//
// Tables: a scalar s < r < 2^253 is recoded into n = ceil(254 / w) signed base-2^w digits
// d_j in [-(2^(w-1) - 1), 2^(w-1)], so s*G = sum_j d_j * (2^(w*j) * G). For every generator and
// window the table holds |d| * 2^(w*j) * G for |d| = 1 .. 2^(w-1) as affine (x, y, d*x*y); a
// negative digit negates x and d*x*y on the fly. One fixed-base multiplication is then at most n
// mixed additions (8 field products each) and no doublings. The recoding and the additions are in
// fixed_base.hpp, which the CUDA kernels (verkle_cuda.cu) share.
//
// Memory: generators * n * 2^(w-1) * 96 bytes.
//   w = 8 : 32 windows x 128 entries = 384 KiB per generator, 96 MiB for the 256-point CRS.
//   w = 4 : 64 windows x   8 entries =  48 KiB per generator, 12 MiB for 256.
//   w = 10: 26 windows x 512 entries = 1.2 MiB per generator, 312 MiB for 256.
// Building costs about one curve addition + one batched affine conversion per entry (w = 8,
// 256 generators: ~10^6 entries, about a second on one core).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/verkle/banderwagon.hpp"

namespace arbor::verkle {

// One non-zero entry of a sparse commitment: scalar * G_index.
struct SparseTerm {
  std::uint32_t index;
  Fr scalar;
};

// One term of a bulk commitment update: commitments[target] += scalar * G_generator.
struct CommitmentDelta {
  std::uint32_t target = 0;
  std::uint32_t generator = 0;
  Fr scalar;
};

class PedersenTables {
 public:
  static constexpr int kDefaultWindowBits = 8;
  static constexpr int kMinWindowBits = 2;
  static constexpr int kMaxWindowBits = 16;

  // Tables for `generators` (any subgroup points) with w-bit windows; INVALID_ARGUMENT for w
  // outside [kMinWindowBits, kMaxWindowBits] or no generators.
  static absl::StatusOr<PedersenTables> build(std::span<const Point> generators,
                                              int window_bits = kDefaultWindowBits);

  // Move-only: a copy of 96 MiB should never happen by accident.
  PedersenTables(PedersenTables&&) = default;
  PedersenTables& operator=(PedersenTables&&) = default;
  PedersenTables(const PedersenTables&) = delete;
  PedersenTables& operator=(const PedersenTables&) = delete;

  int window_bits() const { return window_bits_; }
  int windows() const { return windows_; }
  std::size_t entries_per_window() const { return entries_per_window_; }
  std::size_t generator_count() const { return generator_count_; }
  std::size_t memory_bytes() const { return table_.size() * sizeof(PrecomputedPoint); }
  // The table of generator i: windows() * entries_per_window() entries, window-major;
  // entry [j][k] = (k + 1) * 2^(w*j) * G_i.
  std::span<const PrecomputedPoint> table(std::size_t index) const;
  // Every generator's table, one after another: table(i) starts at entry
  // i * windows() * entries_per_window(). What a device uploads.
  std::span<const PrecomputedPoint> entries() const { return table_; }
  // entries() in the lanes' Montgomery radix (x * 2^260 mod p instead of x * 2^256, canonical;
  // kernels/field/lanes.hpp), what fixed_base_lanes.hpp reads. Converted on first use (about
  // 50 ms and memory_bytes() more for the default tables), thread-safely.
  std::span<const PrecomputedPoint> lane_entries() const;

  // s * G_index. Precondition: index < generator_count().
  Point mul(std::size_t index, const Fr& s) const;
  // c + delta * G_index: the incremental update of a node commitment when child `index` changes by
  // delta. Precondition: index < generator_count().
  Point update(const Point& c, std::size_t index, const Fr& delta) const;
  // commitments[d.target] += d.scalar * G_{d.generator} for every delta, in order: the same
  // group elements as update() delta by delta. Where field_paths().ifma, up to 16 runs at a time
  // go through the AVX-512 lanes, long runs cut into pieces (fixed_base_lanes.hpp says when the
  // coordinates too are update()'s). Preconditions: each target's deltas are adjacent, targets <
  // commitments.size(), generators < generator_count().
  void update_many(std::span<Point> commitments, std::span<const CommitmentDelta> deltas) const;

  // sum_i scalars[i] * G_i for i < scalars.size() (zeros are skipped, so a mostly-empty dense
  // vector is cheap). INVALID_ARGUMENT when there are more scalars than generators. Where
  // field_paths().ifma, up to 16 partial sums go side by side through the lanes and are added at
  // the end: the same group element, in other projective coordinates than the scalar path's.
  absl::StatusOr<Point> commit(std::span<const Fr> scalars) const;
  // sum_t t.scalar * G_{t.index}; repeated indices add up. INVALID_ARGUMENT for an index out of
  // range. Lanes as commit().
  absl::StatusOr<Point> commit_sparse(std::span<const SparseTerm> terms) const;

 private:
  struct LaneEntries {
    std::once_flag once;
    std::vector<PrecomputedPoint> entries;
  };

  PedersenTables() = default;
  void accumulate(Point& acc, std::size_t index, const Fr& s) const;
  // The sum of the terms (all non-zero), as commit() and commit_sparse() compute it.
  Point sum_terms(std::span<const SparseTerm> terms) const;

  int window_bits_ = 0;
  int windows_ = 0;
  std::size_t entries_per_window_ = 0;
  std::size_t generator_count_ = 0;
  std::vector<PrecomputedPoint> table_;
  std::unique_ptr<LaneEntries> lanes_ = std::make_unique<LaneEntries>();
};

// Tables over the 256 standard CRS generators with 8-bit windows (96 MiB), built once on first use
// (thread-safe static).
const PedersenTables& default_pedersen_tables();

// ---- EIP-6800 key derivation --------------------------------------------------------------------

// pedersen_hash(64 bytes) = map_to_scalar_field(commit([2 + 256*64, v0, v1, v2, v3])) as 32 bytes
// little-endian, where v_k = the 16-byte chunk input[16k .. 16k+16) read as a little-endian
// integer.
std::array<std::uint8_t, 32> pedersen_hash(std::span<const std::uint8_t, 64> input);

// get_tree_key(address, tree_index, sub_index) = pedersen_hash(address32 || tree_index as 32 bytes
// little-endian) with its last byte replaced by sub_index: a 31-byte stem plus the suffix.
std::array<std::uint8_t, 32> get_tree_key(std::span<const std::uint8_t, 32> address32,
                                          std::span<const std::uint8_t, 32> tree_index_le,
                                          std::uint8_t sub_index);

}  // namespace arbor::verkle
