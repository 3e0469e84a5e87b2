// What a proof may cost: every decoder and verifier of host/smt must answer any input, up to the
// 64 MiB gRPC message limit, in well under a second and with memory in proportion to the input
// (host/smt/README.md, "Limits"). The inputs here are the adversarial ones of issue 16: binary
// multi-proofs of many absent keys with huge all-zero sibling bitmaps, deep proofs that cost a
// hash per level, JSON that is mostly values; and canonical form (path order, shapes a tree can
// have), checked against a plain reference walk on random proofs.
#include <gtest/gtest.h>
#include <malloc.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <new>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "host/smt/smt_hash.hpp"
#include "host/smt/smt_proof_codec.hpp"
#include "host/smt/smt_tree.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "tests/support/test_support.hpp"

// ---- Heap probe: the peak of live heap bytes while a probe runs ----
namespace {
std::atomic<bool> g_probe_on{false};
std::atomic<long long> g_live{0};
std::atomic<long long> g_peak{0};
void note(long long delta) {
  const long long live = g_live.fetch_add(delta) + delta;
  long long peak = g_peak.load();
  while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
  }
}
}  // namespace

void* operator new(std::size_t size) {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  if (g_probe_on.load(std::memory_order_relaxed)) {
    note(static_cast<long long>(malloc_usable_size(p)));
  }
  return p;
}
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept {
  if (p != nullptr && g_probe_on.load(std::memory_order_relaxed)) {
    note(-static_cast<long long>(malloc_usable_size(p)));
  }
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }
#pragma GCC diagnostic pop
#include "tests/support/nothrow_new.hpp"  // after the replacements above

namespace arbor::smt {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

// `seconds` is this thread's CPU time, which other load on the machine does not inflate.
struct Cost {
  double seconds = 0;
  double wall_seconds = 0;
  long long peak_bytes = 0;
};

double thread_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

template <typename Fn>
Cost measure(Fn&& run) {
  g_live.store(0);
  g_peak.store(0);
  g_probe_on.store(true);
  const auto start = Clock::now();
  const double cpu_start = thread_cpu_seconds();
  run();
  const double cpu = thread_cpu_seconds() - cpu_start;
  const auto stop = Clock::now();
  g_probe_on.store(false);
  return Cost{cpu, std::chrono::duration<double>(stop - start).count(), g_peak.load()};
}

void report(const char* what, std::size_t input_bytes, const Cost& cost,
            const absl::Status& status) {
  std::cout << "[cost] " << what << ": " << input_bytes << " bytes in, " << cost.seconds * 1e3
            << " ms CPU (" << cost.wall_seconds * 1e3 << " ms wall), peak heap "
            << cost.peak_bytes / 1024 << " KiB: " << status << "\n";
}

::testing::AssertionResult IsError(const absl::Status& status, absl::StatusCode code,
                                   std::string_view needle) {
  if (status.ok()) return ::testing::AssertionFailure() << "unexpectedly OK";
  if (status.code() != code) {
    return ::testing::AssertionFailure()
           << "wanted " << absl::StatusCodeToString(code) << ", got " << status;
  }
  if (std::string(status.message()).find(needle) == std::string::npos) {
    return ::testing::AssertionFailure() << "no \"" << needle << "\" in " << status;
  }
  return ::testing::AssertionSuccess();
}
::testing::AssertionResult IsInvalid(const absl::Status& status, std::string_view needle) {
  return IsError(status, absl::StatusCode::kInvalidArgument, needle);
}

Fr small(std::uint64_t value) { return field::from_u64(value); }

// The default limits with one field changed.
template <typename T>
ProofLimits limits_with(T ProofLimits::*field, T value) {
  ProofLimits limits;
  limits.*field = value;
  return limits;
}
Fr from_bits(const KeyBits& bits) {
  const std::uint64_t limbs[4] = {bits[0], bits[1], bits[2], bits[3]};
  return field::from_canonical_limbs(limbs);
}

// The key whose path is i written in `bits` bits (bit 0 of the path is i's top bit): keys
// path_key(0, n), path_key(1, n), ... are in path order, as an encoder writes them.
Fr path_key(std::uint64_t i, int bits) {
  std::uint64_t key = 0;
  for (int b = 0; b < bits; ++b) key |= ((i >> (bits - 1 - b)) & 1) << b;
  return small(key);
}

std::string u32_bytes(std::uint32_t value) {
  std::string out;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
  return out;
}

// ---- Adversarial binary multi-proofs, written byte by byte ----

// 2^log2n absent keys (all paths of log2n bits, in path order) ending at empty slots at `depth` (at
// most 253: no tree has an empty slot at the max depth, 254 here): below their shared low log2n
// bits, each key's path is a chain of its own (depth - log2n siblings). The siblings are all 0, or
// 0 except the one beside each terminal (which a tree would have).
std::string absent_chains(int log2n, int depth, bool last_nonzero) {
  const std::uint32_t n = 1u << log2n;
  std::string out = "AM\x01" + u32_bytes(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    out.push_back('\0');
    out.push_back(static_cast<char>(depth));
    out += fr_bytes(path_key(i, log2n));
  }
  const std::size_t per = static_cast<std::size_t>(depth - log2n);
  const std::size_t count = n * per;
  out += u32_bytes(static_cast<std::uint32_t>(count));
  std::string bitmap((count + 7) / 8, '\0');
  std::string stored;
  if (last_nonzero) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t bit = i * per + per - 1;
      bitmap[bit / 8] = static_cast<char>(bitmap[bit / 8] | (1 << (bit % 8)));
      stored += fr_bytes(small(7 + i));
    }
  }
  return out + bitmap + stored;
}

// ---- A plain reference: the documented walk, recursive and quadratic ----

struct Reference {
  Fr root = Fr::zero();
  std::size_t siblings = 0;
  std::size_t hashes = 0;
};

Fr terminal_of(const MultiProofEntry& entry) {
  if (entry.existence) return leaf_hash(entry.key, entry.value);
  if (entry.aux) return leaf_hash(entry.aux->key, entry.aux->value);
  return Fr::zero();
}

// The root of well-formed entries (in any order), taking siblings in the documented order.
Reference reference_root(std::vector<MultiProofEntry> entries, const std::vector<Fr>& siblings) {
  std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return path_order(key_bits(a.key)) < path_order(key_bits(b.key));
  });
  Reference out;
  std::function<Fr(int, std::size_t, std::size_t)> walk = [&](int depth, std::size_t lo,
                                                              std::size_t hi) -> Fr {
    if (entries[lo].depth == depth) {
      out.hashes += entries[lo].existence || entries[lo].aux;
      return terminal_of(entries[lo]);
    }
    std::size_t mid = lo;
    while (mid < hi && !path_bit(key_bits(entries[mid].key), depth)) ++mid;
    Fr left = Fr::zero(), right = Fr::zero();
    if (lo == mid) left = siblings.at(out.siblings++);
    if (mid == hi) right = siblings.at(out.siblings++);
    if (lo < mid) left = walk(depth + 1, lo, mid);
    if (mid < hi) right = walk(depth + 1, mid, hi);
    ++out.hashes;
    return node_hash(left, right);
  };
  out.root = walk(0, 0, entries.size());
  return out;
}

// Random multi-proofs that a tree could have made: keys sharing long path prefixes, terminals of
// every kind, zero siblings where a tree may have them.
SmtMultiProof random_proof(std::mt19937_64& rng, std::size_t count) {
  std::vector<KeyBits> keys;
  const std::uint64_t stems[3] = {rng(), rng(), rng()};
  for (std::size_t i = 0; i < count; ++i) {
    KeyBits bits = key_bits(testing::random_fr(rng));
    const int shared = static_cast<int>(rng() % 60);
    const std::uint64_t mask = shared == 0 ? 0 : (~0ULL >> (64 - shared));
    bits[0] = (bits[0] & ~mask) | (stems[rng() % 3] & mask);
    bits[3] &= 0x0fffffffffffffffULL;
    keys.push_back(bits);
  }
  std::sort(keys.begin(), keys.end(),
            [](const KeyBits& a, const KeyBits& b) { return path_order(a) < path_order(b); });
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  auto lcp = [](const KeyBits& a, const KeyBits& b) {
    int n = 0;
    while (n < kMaxDepthLimit && path_bit(a, n) == path_bit(b, n)) ++n;
    return n;
  };
  SmtMultiProof proof;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    int floor = 0;
    if (i > 0) floor = std::max(floor, lcp(keys[i - 1], keys[i]) + 1);
    if (i + 1 < keys.size()) floor = std::max(floor, lcp(keys[i], keys[i + 1]) + 1);
    const int extra = static_cast<int>(rng() % 4);
    MultiProofEntry entry;
    entry.key = from_bits(keys[i]);
    entry.depth = std::min(floor + extra, kMaxDepthLimit - 1);
    switch (rng() % 3) {
      case 0:
        entry.existence = true;
        entry.value = testing::random_fr(rng);
        break;
      case 1: {  // another key sharing the path to the terminal
        KeyBits other = keys[i];
        const int bit = entry.depth + static_cast<int>(rng() % (kMaxDepthLimit - entry.depth));
        other[bit / 64] ^= 1ULL << (bit % 64);
        entry.aux = Leaf{from_bits(other), testing::random_fr(rng)};
        break;
      }
      default:  // an empty slot: only below a one-child node (else it would sit beside one)
        if (extra == 0 && entry.depth > 0) {
          entry.existence = true;
          entry.value = small(1);
        }
        break;
    }
    proof.entries.push_back(entry);
  }
  // Siblings in the walk's order; the one beside a terminal is never 0 in a tree.
  std::function<void(int, std::size_t, std::size_t)> walk = [&](int depth, std::size_t lo,
                                                                std::size_t hi) {
    if (proof.entries[lo].depth == depth) return;
    std::size_t mid = lo;
    while (mid < hi && !path_bit(key_bits(proof.entries[mid].key), depth)) ++mid;
    const bool one_child = lo == mid || mid == hi;
    if (one_child) {
      const bool beside_terminal = hi - lo == 1 && proof.entries[lo].depth == depth + 1;
      proof.siblings.push_back(beside_terminal || rng() % 3 ? testing::random_fr(rng) : Fr::zero());
    }
    if (lo < mid) walk(depth + 1, lo, mid);
    if (mid < hi) walk(depth + 1, mid, hi);
  };
  walk(0, 0, proof.entries.size());
  return proof;
}

// ======================================================================================
// Canonical form, against the reference
// ======================================================================================

TEST(SmtProofLimits, RandomProofsAgreeWithTheReferenceWalk) {
  auto rng = testing::seeded_rng("SmtProofLimits.Reference");
  for (int round = 0; round < 60; ++round) {
    const SmtMultiProof proof = random_proof(rng, 1 + rng() % 40);
    const Reference expected = reference_root(proof.entries, proof.siblings);
    SCOPED_TRACE(multi_proof_to_json(proof, expected.root).dump());
    ASSERT_EQ(expected.siblings, proof.siblings.size());
    auto shape = multi_proof_shape(proof.entries);
    ASSERT_TRUE(shape.ok()) << shape.status();
    EXPECT_EQ(shape->siblings, expected.siblings);
    EXPECT_EQ(shape->hashes, expected.hashes);
    EXPECT_TRUE(verify_multi_proof(expected.root, proof).ok())
        << verify_multi_proof(expected.root, proof);
    for (const std::string& bytes :
         {encode_multi_proof_binary(proof), multi_proof_to_json(proof, std::nullopt).dump()}) {
      auto decoded = decode_any_proof(bytes);
      ASSERT_TRUE(decoded.ok()) << decoded.status();
      EXPECT_EQ(std::get<SmtMultiProof>(decoded->proof), proof);
      EXPECT_TRUE(verify_decoded(expected.root, *decoded).ok());
    }
    if (proof.entries.size() >= 2) {
      // Out of path order, or a key twice: refused by the decoders and the verifier.
      SmtMultiProof swapped = proof;
      std::swap(swapped.entries[0], swapped.entries[1]);
      EXPECT_TRUE(IsInvalid(verify_multi_proof(expected.root, swapped), "not in path order"));
      EXPECT_TRUE(
          IsInvalid(decode_any_proof(encode_multi_proof_binary(swapped)).status(), "path order"));
      EXPECT_TRUE(
          IsInvalid(decode_any_proof(multi_proof_to_json(swapped, std::nullopt).dump()).status(),
                    "path order"));
      SmtMultiProof twice = proof;
      twice.entries[1] = twice.entries[0];
      EXPECT_TRUE(IsInvalid(verify_multi_proof(expected.root, twice), "appears twice"));
      EXPECT_TRUE(
          IsInvalid(decode_any_proof(encode_multi_proof_binary(twice)).status(), "appears twice"));
    }
  }
}

// Terminals a tree cannot have side by side, and zero siblings beside a terminal.
TEST(SmtProofLimits, ShapesNoTreeHasAreRefused) {
  const MultiProofEntry empty0{small(0b10), false, Fr::zero(), std::nullopt, 1};
  const MultiProofEntry empty1{small(0b11), false, Fr::zero(), std::nullopt, 1};
  const MultiProofEntry leaf0{small(0b10), true, small(5), std::nullopt, 1};
  const MultiProofEntry leaf1{small(0b11), true, small(6), std::nullopt, 1};
  auto refused = [](std::vector<MultiProofEntry> entries, std::vector<Fr> siblings,
                    std::string_view needle) {
    const SmtMultiProof proof{std::move(entries), std::move(siblings)};
    EXPECT_TRUE(IsInvalid(verify_multi_proof(Fr::zero(), proof), needle));
    EXPECT_TRUE(IsInvalid(decode_any_proof(encode_multi_proof_binary(proof)).status(), needle));
    EXPECT_TRUE(IsInvalid(
        decode_any_proof(multi_proof_to_json(proof, std::nullopt).dump()).status(), needle));
  };
  refused({empty0, empty1}, {}, "end at empty slots side by side");
  refused({leaf0, empty1}, {}, "beside an empty slot");
  refused({empty0, leaf1}, {}, "beside an empty slot");
  refused({empty0}, {Fr::zero()}, "is 0 beside a leaf or an empty slot");
  refused({leaf0}, {Fr::zero()}, "is 0 beside a leaf or an empty slot");
  // Two leaves side by side are a tree's shape; so is a zero sibling higher up the path.
  const SmtMultiProof pair{{leaf0, leaf1}, {}};
  EXPECT_TRUE(verify_multi_proof(
                  node_hash(leaf_hash(small(2), small(5)), leaf_hash(small(3), small(6))), pair)
                  .ok());
  const SmtProof deep{small(4), true, small(1), std::nullopt, {Fr::zero(), small(9), small(8)}};
  EXPECT_TRUE(decode_proof_binary(encode_proof_binary(deep)).ok());
  SmtProof last_zero = deep;
  last_zero.siblings.back() = Fr::zero();
  EXPECT_TRUE(IsInvalid(decode_proof_binary(encode_proof_binary(last_zero)).status(),
                        "sibling 2 is 0 beside"));
  EXPECT_TRUE(IsInvalid(decode_any_proof(proof_to_json(last_zero, std::nullopt).dump()).status(),
                        "sibling 2 is 0 beside"));
  EXPECT_TRUE(IsInvalid(verify_proof(Fr::zero(), last_zero), "sibling 2 is 0 beside"));
}

// A tree's max depth, when the caller knows it, bounds every path; no tree has an empty slot at
// its max depth (the node above it would hold one leaf, which moves up).
TEST(SmtProofLimits, TheTreesMaxDepthBoundsThePath) {
  SmtProof proof{small(3), true, small(4), std::nullopt, std::vector<Fr>(40, small(9))};
  const ProofLimits tree32 = limits_with(&ProofLimits::max_depth, 32);
  EXPECT_TRUE(decode_proof_binary(encode_proof_binary(proof)).ok());
  EXPECT_TRUE(
      IsInvalid(decode_proof_binary(encode_proof_binary(proof), tree32).status(), "max depth 32"));
  EXPECT_TRUE(IsInvalid(
      decode_any_proof(proof_to_json(proof, std::nullopt).dump(), tree32).status(), "at most 32"));
  auto circom = proof_to_circom(proof, Fr::zero(), 64);
  ASSERT_TRUE(circom.ok());
  EXPECT_TRUE(IsInvalid(decode_any_proof(circom->dump(), tree32).status(), "max depth 32"));
  EXPECT_TRUE(IsInvalid(verify_proof(Fr::zero(), proof, tree32), "max depth 32"));
  const SmtMultiProof multi{{MultiProofEntry{proof.key, true, proof.value, std::nullopt, 40}},
                            proof.siblings};
  EXPECT_TRUE(IsInvalid(decode_any_proof(encode_multi_proof_binary(multi), tree32).status(),
                        "max depth 32"));
  EXPECT_TRUE(IsInvalid(verify_multi_proof(Fr::zero(), multi, tree32), "max depth 32"));

  SmtProof at_max{small(3), false, Fr::zero(), std::nullopt, std::vector<Fr>(32, small(9))};
  EXPECT_TRUE(IsInvalid(verify_proof(Fr::zero(), at_max, tree32), "empty slot at depth 32"));
  EXPECT_TRUE(IsInvalid(decode_proof_binary(encode_proof_binary(at_max), tree32).status(),
                        "empty slot at depth 32"));
  at_max.siblings.pop_back();
  EXPECT_TRUE(IsInvalid(verify_proof(Fr::zero(), at_max, tree32), "leads to root"));
  at_max.siblings.resize(kMaxDepthLimit, small(9));
  EXPECT_TRUE(IsInvalid(verify_proof(Fr::zero(), at_max), "empty slot at depth 254"));
}

// ======================================================================================
// The caps
// ======================================================================================

TEST(SmtProofLimits, EntryCap) {
  // The empty tree: any number of absent keys end at its one empty slot, at no hashing cost.
  auto absent_at_root = [](std::uint32_t n) {
    std::string out = "AM\x01" + u32_bytes(n);
    for (std::uint32_t i = 0; i < n; ++i) out += std::string(2, '\0') + fr_bytes(path_key(i, 16));
    return out + u32_bytes(0);
  };
  const std::string at_cap = absent_at_root(kMaxMultiProofEntries);
  absl::Status status;
  Cost cost = measure([&] {
    auto decoded = decode_any_proof(at_cap);
    status = decoded.ok() ? verify_decoded(Fr::zero(), *decoded) : decoded.status();
  });
  report("entries at the cap", at_cap.size(), cost, status);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_LT(cost.seconds, 1.0);
  const std::string over = absent_at_root(kMaxMultiProofEntries + 1);
  EXPECT_TRUE(IsInvalid(decode_any_proof(over).status(), "is impossible"));
  SmtMultiProof many;
  for (std::uint32_t i = 0; i <= kMaxMultiProofEntries; ++i) {
    many.entries.push_back(MultiProofEntry{path_key(i, 16), false, Fr::zero(), std::nullopt, 0});
  }
  EXPECT_TRUE(IsInvalid(verify_multi_proof(Fr::zero(), many), "at most 32768 are allowed"));
  EXPECT_TRUE(IsInvalid(decode_any_proof(multi_proof_to_json(many, std::nullopt).dump()).status(),
                        "\"entries\" must be an array of 1 to 32768"));
  // A tighter cap is the caller's.
  EXPECT_TRUE(IsInvalid(
      decode_any_proof(at_cap, limits_with(&ProofLimits::max_entries, std::size_t{100})).status(),
      "is impossible"));
}

// At the hash cap a proof verifies within the second; past it, it is refused before any hashing,
// and a deadline stops one part way.
TEST(SmtProofLimits, HashCapAndDeadline) {
  // 128 keys, each down its own chain to depth 253: 128 * 246 + 127 = 31 615 hashes.
  const std::string under = absent_chains(7, 253, true);
  auto decoded = decode_any_proof(under);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const SmtMultiProof& multi = std::get<SmtMultiProof>(decoded->proof);
  const Reference expected = reference_root(multi.entries, multi.siblings);
  EXPECT_EQ(expected.hashes, 31615u);
  EXPECT_LE(expected.hashes, kMaxProofHashes);
  absl::Status status;
  Cost cost = measure([&] {
    auto again = decode_any_proof(under);
    status = again.ok() ? verify_decoded(expected.root, *again) : again.status();
  });
  report("node hashes under the cap", under.size(), cost, status);
  EXPECT_TRUE(status.ok()) << status;
  // About 0.55 s on one core of the development VM; the bound leaves room for slower CPUs.
  EXPECT_LT(cost.seconds, 1.5);

  // Leaves: 16 384 inclusion proofs at depth 14 under a full binary tree (32 767 hashes, half
  // of them t = 4 leaf hashes).
  SmtMultiProof leaves;
  for (std::uint64_t i = 0; i < (1u << 14); ++i) {
    leaves.entries.push_back(
        MultiProofEntry{path_key(i, 14), true, small(i + 1), std::nullopt, 14});
  }
  const Reference leaf_root = reference_root(leaves.entries, leaves.siblings);
  const std::string leaf_bytes = encode_multi_proof_binary(leaves);
  cost = measure([&] {
    auto again = decode_any_proof(leaf_bytes);
    status = again.ok() ? verify_decoded(leaf_root.root, *again) : again.status();
  });
  report("leaf hashes under the cap", leaf_bytes.size(), cost, status);
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_LT(cost.seconds, 1.5);

  // 256 keys: 62 975 hashes, refused from the entries alone.
  const std::string over = absent_chains(8, 253, true);
  cost = measure([&] { status = decode_any_proof(over).status(); });
  report("hashes over the cap", over.size(), cost, status);
  EXPECT_TRUE(IsInvalid(status, "would take 62975 hashes; at most 32768 are allowed"));
  EXPECT_LT(cost.seconds, 0.05);
  EXPECT_TRUE(IsInvalid(
      decode_any_proof(under, limits_with(&ProofLimits::max_hashes, std::size_t{1000})).status(),
      "at most 1000"));

  // A deadline already past: DEADLINE_EXCEEDED after at most 64 hashes.
  absl::Status late;
  cost = measure([&] {
    late = verify_decoded(expected.root, *decoded,
                          limits_with(&ProofLimits::deadline, std::optional(Clock::now())));
  });
  EXPECT_TRUE(IsError(late, absl::StatusCode::kDeadlineExceeded, "after 64 hashes"));
  EXPECT_LT(cost.seconds, 0.05);
  EXPECT_TRUE(verify_decoded(expected.root, *decoded,
                             limits_with(&ProofLimits::deadline,
                                         std::optional(Clock::now() + std::chrono::seconds(30))))
                  .ok());
}

// The inputs of the finding, and their 64 MiB versions: refused in milliseconds, allocating
// about nothing.
TEST(SmtProofLimits, AdversarialBinaryInputs) {
  struct Case {
    const char* what;
    std::string bytes;
    const char* needle;
  };
  std::vector<Case> cases;
  cases.push_back(
      {"2 MB, 32768 absent keys, 7.8M zero siblings", absent_chains(15, 253, false), "would take"});
  cases.push_back(
      {"16 KB, 256 absent keys at depth 253", absent_chains(8, 253, false), "would take"});
  cases.push_back(
      {"24 KB, the same with non-zero last siblings", absent_chains(8, 253, true), "would take"});
  // 64 MiB: a huge entry count, a huge sibling count, a huge bitmap after the entries.
  constexpr std::size_t k64MiB = 64u << 20;
  std::string huge_count = "AM\x01" + u32_bytes(0xFFFFFFFFu);
  huge_count.resize(k64MiB, '\0');
  cases.push_back({"64 MiB, entry count 2^32 - 1", std::move(huge_count), "is impossible"});
  std::string huge_bitmap = absent_chains(5, 253, true);
  huge_bitmap.replace(7 + 32 * 34, 4, u32_bytes(0xFFFFFFF0u));
  huge_bitmap.resize(k64MiB, '\0');
  cases.push_back({"64 MiB, sibling count 2^32 - 16", std::move(huge_bitmap), "is impossible"});
  std::string many_entries = "AM\x01" + u32_bytes(kMaxMultiProofEntries);
  for (std::uint32_t i = 0; i < kMaxMultiProofEntries; ++i) {  // inclusion, at depth 254
    many_entries += std::string(1, '\x01') + std::string(1, '\xfe') + fr_bytes(path_key(i, 15)) +
                    fr_bytes(small(1));
  }
  many_entries.resize(k64MiB, '\0');
  cases.push_back({"64 MiB, 32768 entries at depth 254", std::move(many_entries), "would take"});
  for (const Case& c : cases) {
    absl::Status status;
    const Cost cost = measure([&] { status = decode_any_proof(c.bytes).status(); });
    report(c.what, c.bytes.size(), cost, status);
    EXPECT_TRUE(IsInvalid(status, c.needle)) << c.what;
    EXPECT_LT(cost.seconds, 0.5) << c.what;
    EXPECT_LT(cost.peak_bytes, 16 << 20) << c.what;
  }
}

TEST(SmtProofLimits, AdversarialJsonInputs) {
  constexpr std::size_t kSize = 60u << 20;
  auto run = [](const char* what, const std::string& text, std::string_view needle,
                long long max_peak = 32 << 20) {
    absl::Status status;
    const Cost cost = measure([&] { status = decode_any_proof(text).status(); });
    report(what, text.size(), cost, status);
    EXPECT_TRUE(IsInvalid(status, needle)) << what;
    EXPECT_LT(cost.seconds, 1.0) << what;
    EXPECT_LT(cost.peak_bytes, max_peak) << what;
  };
  const std::string head =
      R"({"scheme":"arbor-smt-multiproof","version":1,"entries":[{"key":"0x1","existence":false,"depth":0}],"siblings":[)";
  std::string zeros = head;
  while (zeros.size() < kSize) zeros += "0,";
  zeros += "0]}";
  run("60 MiB JSON of zeros", zeros, "more than 524288 values");
  std::string nested = std::string(kSize / 2, '[') + std::string(kSize / 2, ']');
  run("60 MiB JSON of brackets", nested, "nests deeper than 8 levels");
  const std::string digits = std::string(kSize, '9');
  run("60 MiB decimal key with garbage at its end",
      R"({"scheme":"arbor-smt-proof","version":1,"key":")" + digits +
          R"(x","existence":false,"siblings":[]})",
      "more than 4096 bytes");
  run("60 MiB JSON number", "[" + digits + "]", "more than 4096 bytes");
  std::string spaces(kSize, ' ');
  spaces += "[]";
  run("60 MiB of whitespace", spaces, "more than 4096 bytes");
  // Whitespace and strings up to the bound, all the way through: parsed to the end.
  std::string spread = "[";
  while (spread.size() < kSize)
    spread += std::string(4000, ' ') + "\"" + std::string(4000, '7') + "\",";
  spread += "0]";
  // The strings are kept until the end: memory about the input's size, no more.
  run("60 MiB of 4000-byte strings and spaces", spread, "not a JSON object",
      static_cast<long long>(kSize) * 5 / 4);
  // A decimal with garbage far along it, within the token bound: INVALID_ARGUMENT (finding 8).
  run("4000-digit decimal key with garbage at its end",
      R"({"scheme":"arbor-smt-proof","version":1,"key":")" + std::string(4000, '9') +
          R"(x","existence":false,"siblings":[]})",
      "is not a number");
  run("4000-digit decimal key >= p",
      R"({"scheme":"arbor-smt-proof","version":1,"key":")" + std::string(4000, '9') +
          R"(","existence":false,"siblings":[]})",
      "not below the BN254 scalar field modulus");
}

// The prover keeps to the caps too: prove_many refuses a key set whose proof a verifier would
// refuse.
TEST(SmtProofLimits, ProveManyKeepsToTheCaps) {
  testing::TempDir dir("smt-limits");
  storage::StoreOptions options;
  options.sync = storage::SyncMode::kNone;
  auto store = storage::Store::open(dir.path(), options);
  ASSERT_TRUE(store.ok()) << store.status();
  auto backend = host::make_cpu_backend();
  auto tree = SmtTree::create(**store, "deep", SmtCreateOptions{kMaxDepthLimit, 0}, *backend);
  ASSERT_TRUE(tree.ok()) << tree.status();
  // Pairs of keys that share their low 200 bits: each pair ends at depth 201.
  auto rng = testing::seeded_rng("SmtProofLimits.ProveMany");
  std::vector<Fr> keys;
  std::vector<SmtOp> ops;
  for (int pair = 0; pair < 200; ++pair) {
    KeyBits bits{rng(), rng(), rng(), 0};
    for (const std::uint64_t high : {0ULL, 1ULL << 8}) {
      bits[3] = high;
      keys.push_back(from_bits(bits));
      ops.push_back(SmtOp::put(keys.back(), small(1)));
    }
  }
  auto applied = (*tree)->apply(ops);
  ASSERT_TRUE(applied.ok()) << applied.status();
  auto some = (*tree)->prove_many(std::span(keys).first(20));
  ASSERT_TRUE(some.ok()) << some.status();
  EXPECT_TRUE(verify_multi_proof(applied->root, *some).ok());
  EXPECT_TRUE(IsInvalid((*tree)->prove_many(keys).status(), "at most 32768 are allowed"));
  auto single = (*tree)->prove(keys[0]);
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->depth(), 201);
  EXPECT_TRUE(verify_proof(applied->root, *single).ok());
  EXPECT_TRUE(
      IsInvalid(verify_proof(applied->root, *single, limits_with(&ProofLimits::max_depth, 64)),
                "max depth 64"));
}

}  // namespace
}  // namespace arbor::smt
