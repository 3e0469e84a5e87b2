#include "host/smt/smt_proof.hpp"

#include <algorithm>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "host/smt/smt_hash.hpp"
#include "kernels/field/bn254_fr_text.hpp"

namespace arbor::smt {
namespace {

absl::Status invalid(std::string_view why) { return absl::InvalidArgumentError(std::string(why)); }

std::string hex(const Fr& value) { return field::to_hex(value); }

// The claims of a set of entries, checked for well-formedness and put in path order.
struct Claim {
  const MultiProofEntry* entry;
  KeyBits bits;
  std::array<std::uint64_t, 4> order;
  Fr terminal;  // the hash at the terminal position
};

absl::StatusOr<std::vector<Claim>> check_claims(std::span<const MultiProofEntry> entries) {
  if (entries.empty()) return invalid("the proof names no key");
  std::vector<Claim> claims;
  claims.reserve(entries.size());
  for (const MultiProofEntry& entry : entries) {
    if (entry.depth < 0 || entry.depth > kMaxDepthLimit) {
      return invalid(absl::StrCat("key ", hex(entry.key), ": depth ", entry.depth,
                                  " is outside 0..", kMaxDepthLimit));
    }
    Claim claim{&entry, key_bits(entry.key), {}, Fr::zero()};
    claim.order = path_order(claim.bits);
    if (entry.existence) {
      if (entry.aux) {
        return invalid(absl::StrCat("key ", hex(entry.key),
                                    ": an inclusion proof cannot also name another leaf"));
      }
      claim.terminal = leaf_hash(entry.key, entry.value);
    } else if (entry.aux) {
      if (entry.aux->key == entry.key) {
        return invalid(absl::StrCat("key ", hex(entry.key),
                                    ": a non-inclusion proof ends at a leaf with the same key"));
      }
      if (!same_path(key_bits(entry.aux->key), claim.bits, entry.depth)) {
        return invalid(absl::StrCat("key ", hex(entry.key), ": the leaf it ends at (key ",
                                    hex(entry.aux->key), ") is not on its path at depth ",
                                    entry.depth));
      }
      claim.terminal = leaf_hash(entry.aux->key, entry.aux->value);
    }
    claims.push_back(claim);
  }
  std::stable_sort(claims.begin(), claims.end(),
                   [](const Claim& a, const Claim& b) { return a.order < b.order; });
  for (size_t i = 1; i < claims.size(); ++i) {
    if (claims[i].order == claims[i - 1].order) {
      return invalid(absl::StrCat("key ", hex(claims[i].entry->key), " appears twice"));
    }
  }
  return claims;
}

// First index in [lo, hi) whose path bit `depth` is 1; the range shares its low `depth` bits, so
// that bit is sorted within it.
template <typename Item, typename BitsOf>
size_t split_point(const std::vector<Item>& items, size_t lo, size_t hi, int depth,
                   BitsOf bits_of) {
  return static_cast<size_t>(
      std::partition_point(items.begin() + lo, items.begin() + hi,
                           [&](const Item& item) { return !path_bit(bits_of(item), depth); }) -
      items.begin());
}

// Recomputes the root of a claim set, taking siblings in the documented order.
class RootWalk {
 public:
  RootWalk(const std::vector<Claim>& claims, std::span<const Fr> siblings)
      : claims_(claims), siblings_(siblings) {}

  absl::StatusOr<Fr> run() {
    absl::StatusOr<Fr> root = walk(0, 0, claims_.size());
    if (!root.ok()) return root;
    if (next_ != siblings_.size()) {
      return invalid(absl::StrCat("the proof has ", siblings_.size() - next_,
                                  " sibling(s) more than its paths use"));
    }
    return root;
  }

 private:
  absl::StatusOr<Fr> walk(int depth, size_t lo, size_t hi) {
    size_t ending_here = 0;
    for (size_t i = lo; i < hi; ++i) ending_here += claims_[i].entry->depth == depth;
    if (ending_here > 0) {
      // Several keys may end at one terminal (absent keys at one empty slot or one leaf), but
      // then nothing may continue below it, and they must agree on what it holds.
      if (ending_here != hi - lo) {
        return invalid(absl::StrCat("key ", hex(claims_[lo].entry->key), " ends at depth ", depth,
                                    " where another key's path continues"));
      }
      for (size_t i = lo + 1; i < hi; ++i) {
        if (claims_[i].terminal != claims_[lo].terminal) {
          return invalid(absl::StrCat(
              "keys ", hex(claims_[lo].entry->key), " and ", hex(claims_[i].entry->key),
              " end at the same place at depth ", depth, " but claim different contents there"));
        }
      }
      return claims_[lo].terminal;
    }
    const size_t mid = split_point(claims_, lo, hi, depth, [](const Claim& c) { return c.bits; });
    Fr left, right;
    if (lo == mid) {
      absl::StatusOr<Fr> sibling = take_sibling();
      if (!sibling.ok()) return sibling;
      left = *sibling;
    }
    if (mid == hi) {
      absl::StatusOr<Fr> sibling = take_sibling();
      if (!sibling.ok()) return sibling;
      right = *sibling;
    }
    if (lo < mid) {
      absl::StatusOr<Fr> child = walk(depth + 1, lo, mid);
      if (!child.ok()) return child;
      left = *child;
    }
    if (mid < hi) {
      absl::StatusOr<Fr> child = walk(depth + 1, mid, hi);
      if (!child.ok()) return child;
      right = *child;
    }
    return node_hash(left, right);
  }

  absl::StatusOr<Fr> take_sibling() {
    if (next_ >= siblings_.size()) {
      return invalid(absl::StrCat("the proof has too few siblings (", siblings_.size(), ")"));
    }
    return siblings_[next_++];
  }

  const std::vector<Claim>& claims_;
  std::span<const Fr> siblings_;
  size_t next_ = 0;
};

absl::StatusOr<Fr> multi_root(std::span<const MultiProofEntry> entries,
                              std::span<const Fr> siblings) {
  absl::StatusOr<std::vector<Claim>> claims = check_claims(entries);
  if (!claims.ok()) return claims.status();
  return RootWalk(*claims, siblings).run();
}

MultiProofEntry entry_of(const SmtProof& proof) {
  return MultiProofEntry{proof.key, proof.existence, proof.existence ? proof.value : Fr::zero(),
                         proof.aux, proof.depth()};
}

absl::Status compare_root(const absl::StatusOr<Fr>& computed, const Fr& root) {
  if (!computed.ok()) return computed.status();
  if (*computed != root) {
    return invalid(absl::StrCat("the proof leads to root ", hex(*computed), ", not ", hex(root)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Fr> proof_root(const SmtProof& proof) {
  if (proof.depth() > kMaxDepthLimit) {
    return invalid(absl::StrCat("the proof has ", proof.depth(), " siblings; at most ",
                                kMaxDepthLimit, " are possible"));
  }
  if (!proof.existence && proof.value != Fr::zero()) {
    return invalid("a non-inclusion proof carries no value");
  }
  const MultiProofEntry entry = entry_of(proof);
  return multi_root(std::span(&entry, 1), proof.siblings);
}

absl::Status verify_proof(const Fr& root, const SmtProof& proof) {
  return compare_root(proof_root(proof), root);
}

absl::Status verify_multi_proof(const Fr& root, const SmtMultiProof& proof) {
  for (const MultiProofEntry& entry : proof.entries) {
    if (!entry.existence && entry.value != Fr::zero()) {
      return invalid(
          absl::StrCat("key ", hex(entry.key), ": a non-inclusion claim carries no value"));
    }
  }
  return compare_root(multi_root(proof.entries, proof.siblings), root);
}

absl::StatusOr<SmtMultiProof> combine_proofs(std::span<const SmtProof> proofs) {
  std::vector<MultiProofEntry> entries;
  entries.reserve(proofs.size());
  for (const SmtProof& proof : proofs) entries.push_back(entry_of(proof));
  absl::StatusOr<std::vector<Claim>> claims = check_claims(entries);
  if (!claims.ok()) return claims.status();

  SmtMultiProof multi;
  multi.entries.reserve(claims->size());
  for (const Claim& claim : *claims) multi.entries.push_back(*claim.entry);
  // The same walk as the verifier's, collecting siblings from the single proofs instead of
  // consuming them.
  auto proof_of = [&](size_t i) -> const SmtProof& {
    return proofs[static_cast<size_t>(claims->at(i).entry - entries.data())];
  };
  absl::Status status;
  auto walk = [&](auto&& self, int depth, size_t lo, size_t hi) -> void {
    if (!status.ok()) return;
    bool any_ends = false, all_end = true;
    for (size_t i = lo; i < hi; ++i) {
      const bool ends = (*claims)[i].entry->depth == depth;
      any_ends |= ends;
      all_end &= ends;
    }
    if (any_ends) {
      if (!all_end) status = invalid("the proofs disagree about the tree's shape");
      return;
    }
    const size_t mid = split_point(*claims, lo, hi, depth, [](const Claim& c) { return c.bits; });
    if (lo == mid || mid == hi) multi.siblings.push_back(proof_of(lo).siblings[depth]);
    if (lo < mid) self(self, depth + 1, lo, mid);
    if (mid < hi) self(self, depth + 1, mid, hi);
  };
  walk(walk, 0, 0, claims->size());
  if (!status.ok()) return status;
  return multi;
}

}  // namespace arbor::smt
