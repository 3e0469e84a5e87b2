#include "host/smt/smt_proof.hpp"

#include <algorithm>
#include <bit>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "host/smt/smt_hash.hpp"
#include "kernels/field/bn254_fr_text.hpp"

namespace arbor::smt {
namespace {

using Clock = std::chrono::steady_clock;

absl::Status invalid(std::string_view why) { return absl::InvalidArgumentError(std::string(why)); }

std::string hex(const Fr& value) { return field::to_hex(value); }

// A caller may tighten the caps, never lift them.
ProofLimits effective(const ProofLimits& limits) {
  ProofLimits out = limits;
  out.max_depth = std::clamp(limits.max_depth, 0, kMaxDepthLimit);
  out.max_entries = std::min<std::size_t>(limits.max_entries, kMaxMultiProofEntries);
  out.max_hashes = std::min(limits.max_hashes, kMaxProofHashes);
  return out;
}

// How many low bits (path bits) a and b share; 256 when they are equal.
int shared_bits(const KeyBits& a, const KeyBits& b) {
  for (int i = 0; i < 4; ++i) {
    if (const std::uint64_t x = a[i] ^ b[i]) return 64 * i + std::countr_zero(x);
  }
  return 256;
}

bool ends_at_leaf(const MultiProofEntry& entry) { return entry.existence || entry.aux; }

// The leaf an entry's terminal holds, when it holds one.
Leaf terminal_leaf(const MultiProofEntry& entry) {
  return entry.existence ? Leaf{entry.key, entry.value} : *entry.aux;
}

// Counts hashes against the deadline; the clock is read once per 64 hashes.
class Budget {
 public:
  explicit Budget(const std::optional<Clock::time_point>& deadline) : deadline_(deadline) {}
  absl::Status tick() {
    if (++done_ % 64 != 0 || !deadline_ || Clock::now() < *deadline_) return absl::OkStatus();
    return absl::DeadlineExceededError(
        absl::StrCat("proof verification ran past its deadline after ", done_, " hashes"));
  }

 private:
  std::optional<Clock::time_point> deadline_;
  std::size_t done_ = 0;
};

// The entries as a trie, worked out from the entries alone in linear time: runs of entries that
// end at one terminal ("groups", in path order), the depth where each two neighbouring groups'
// paths part, and a Cartesian tree over those depths, whose root is where a range of groups
// first splits. Every walk over it visits the nodes in the order the siblings are stored in.
class Plan {
 public:
  static absl::StatusOr<Plan> make(std::span<const MultiProofEntry> entries,
                                   const ProofLimits& limits);

  MultiProofShape take_shape() { return std::move(shape_); }
  const MultiProofShape& shape() const { return shape_; }

  // The claims' own rules, and that the entries sharing a terminal agree on what it holds.
  absl::Status check_claims() const;
  // The sibling count, and the siblings a tree never makes 0.
  absl::Status check_siblings(std::span<const Fr> siblings) const;

  absl::StatusOr<Fr> root(std::span<const Fr> siblings,
                          const std::optional<Clock::time_point>& deadline) const {
    Budget budget(deadline);
    std::size_t next = 0;
    return hash(0, 0, groups_.size(), top_, siblings, next, budget);
  }

  // Calls fn(entry index, depth) for every sibling, in order: the sibling beside that entry's
  // path at that depth.
  template <typename Fn>
  void for_each_sibling(Fn&& fn) const {
    visit(0, 0, groups_.size(), top_, fn);
  }

 private:
  struct Group {
    std::size_t first = 0, end = 0;  // entries [first, end)
    int depth = 0;
    KeyBits bits{};
  };

  explicit Plan(std::span<const MultiProofEntry> entries) : entries_(entries) {}
  const MultiProofEntry& first_of(const Group& group) const { return entries_[group.first]; }

  absl::Status layout(int depth, std::size_t lo, std::size_t hi, int split, std::size_t& next);
  absl::StatusOr<Fr> hash(int depth, std::size_t lo, std::size_t hi, int split,
                          std::span<const Fr> siblings, std::size_t& next, Budget& budget) const;
  absl::StatusOr<Fr> climb(Fr hash, const KeyBits& bits, int from, int to,
                           std::span<const Fr> siblings, std::size_t base, Budget& budget) const;
  template <typename Fn>
  void visit(int depth, std::size_t lo, std::size_t hi, int split, Fn& fn) const;

  std::span<const MultiProofEntry> entries_;
  std::vector<Group> groups_;
  std::vector<int> parting_;       // parting_[i]: the depth where groups i and i + 1 part
  std::vector<int> left_, right_;  // Cartesian children over parting_ (-1: one group)
  int top_ = -1;
  MultiProofShape shape_;
};

absl::StatusOr<Plan> Plan::make(std::span<const MultiProofEntry> entries,
                                const ProofLimits& given) {
  const ProofLimits limits = effective(given);
  if (entries.empty()) return invalid("the proof names no key");
  if (entries.size() > limits.max_entries) {
    return invalid(absl::StrCat("the proof has ", entries.size(), " entries; at most ",
                                limits.max_entries, " are allowed"));
  }
  Plan plan(entries);
  KeyBits previous_bits{};
  std::array<std::uint64_t, 4> previous_order{};
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const MultiProofEntry& entry = entries[i];
    if (entry.depth < 0 || entry.depth > kMaxDepthLimit) {
      return invalid(absl::StrCat("key ", hex(entry.key), ": depth ", entry.depth,
                                  " is outside 0..", kMaxDepthLimit));
    }
    if (entry.depth > limits.max_depth) {
      return invalid(absl::StrCat("key ", hex(entry.key), ": depth ", entry.depth,
                                  " is deeper than the tree's max depth ", limits.max_depth));
    }
    const KeyBits bits = key_bits(entry.key);
    const std::array<std::uint64_t, 4> order = path_order(bits);
    if (i > 0) {
      if (order == previous_order) {
        return invalid(absl::StrCat("key ", hex(entry.key), " appears twice"));
      }
      if (order < previous_order) {
        return invalid(absl::StrCat("the entries are not in path order: key ", hex(entry.key),
                                    " comes after key ", hex(entries[i - 1].key)));
      }
      Group& last = plan.groups_.back();
      const int shared = shared_bits(previous_bits, bits);
      if (shared >= last.depth || shared >= entry.depth) {
        if (entry.depth != last.depth) {
          const bool last_ends = last.depth < entry.depth;
          const MultiProofEntry& ends = last_ends ? entries[i - 1] : entry;
          const MultiProofEntry& goes_on = last_ends ? entry : entries[i - 1];
          return invalid(absl::StrCat("key ", hex(ends.key), " ends at depth ", ends.depth,
                                      " where another key's path continues (key ", hex(goes_on.key),
                                      "): the entries disagree about the tree's shape"));
        }
        last.end = i + 1;  // one more key ending at the same terminal
        previous_bits = bits;
        previous_order = order;
        continue;
      }
      plan.parting_.push_back(shared);
    }
    plan.groups_.push_back(Group{i, i + 1, entry.depth, bits});
    previous_bits = bits;
    previous_order = order;
  }

  std::size_t leaves = 0;
  for (const Group& group : plan.groups_) {
    const MultiProofEntry& entry = plan.first_of(group);
    leaves += ends_at_leaf(entry);
    // The children of a node at max depth - 1 are two leaves; a leaf beside an empty slot would
    // have moved up.
    if (!ends_at_leaf(entry) && group.depth > 0 && group.depth >= limits.max_depth) {
      return invalid(absl::StrCat("key ", hex(entry.key), " ends at an empty slot at depth ",
                                  group.depth, ", the max depth: a tree has none there"));
    }
  }

  // The Cartesian tree (minimum on top) of the parting depths, by the usual stack.
  const std::size_t pairs = plan.parting_.size();
  plan.left_.assign(pairs, -1);
  plan.right_.assign(pairs, -1);
  std::vector<int> stack;
  for (std::size_t i = 0; i < pairs; ++i) {
    int last = -1;
    while (!stack.empty() && plan.parting_[stack.back()] > plan.parting_[i]) {
      last = stack.back();
      stack.pop_back();
    }
    plan.left_[i] = last;
    if (!stack.empty()) plan.right_[stack.back()] = static_cast<int>(i);
    stack.push_back(static_cast<int>(i));
  }
  plan.top_ = stack.empty() ? -1 : stack.front();

  std::size_t next = 0;
  if (absl::Status laid = plan.layout(0, 0, plan.groups_.size(), plan.top_, next); !laid.ok()) {
    return laid;
  }
  plan.shape_.siblings = next;
  // One hash per node on the paths: a sibling's parent, or where two groups part; and per leaf.
  plan.shape_.hashes = next + pairs + leaves;
  if (plan.shape_.hashes > limits.max_hashes) {
    return invalid(absl::StrCat("verifying the proof would take ", plan.shape_.hashes,
                                " hashes; at most ", limits.max_hashes, " are allowed"));
  }
  return plan;
}

// Numbers the siblings in their stored order, noting those a tree never makes 0, and refuses two
// terminals side by side that a tree would have merged.
absl::Status Plan::layout(int depth, std::size_t lo, std::size_t hi, int split, std::size_t& next) {
  if (hi - lo == 1) {
    const Group& group = groups_[lo];
    next += static_cast<std::size_t>(group.depth - depth);
    if (group.depth > depth) shape_.nonzero_siblings.push_back(next - 1);
    return absl::OkStatus();
  }
  const int parting = parting_[split];
  if (parting < depth) return invalid("the entries are not in path order");  // not reached
  next += static_cast<std::size_t>(parting - depth);
  const Group& left = groups_[lo];
  const Group& right = groups_[hi - 1];
  if (static_cast<std::size_t>(split) == lo && static_cast<std::size_t>(split) + 2 == hi &&
      left.depth == parting + 1 && right.depth == parting + 1) {
    const bool left_leaf = ends_at_leaf(first_of(left));
    const bool right_leaf = ends_at_leaf(first_of(right));
    if (!left_leaf && !right_leaf) {
      return invalid(absl::StrCat("keys ", hex(first_of(left).key), " and ",
                                  hex(first_of(right).key), " end at empty slots side by side at ",
                                  "depth ", parting + 1, ": a tree has one empty subtree there"));
    }
    if (!left_leaf || !right_leaf) {
      const MultiProofEntry& leaf = first_of(left_leaf ? left : right);
      return invalid(absl::StrCat("key ", hex(leaf.key), " ends at a leaf beside an empty slot at ",
                                  "depth ", parting + 1,
                                  ": in a tree that leaf would have moved up"));
    }
  }
  const std::size_t mid = static_cast<std::size_t>(split) + 1;
  if (absl::Status l = layout(parting + 1, lo, mid, left_[split], next); !l.ok()) return l;
  return layout(parting + 1, mid, hi, right_[split], next);
}

absl::StatusOr<Fr> Plan::climb(Fr hash, const KeyBits& bits, int from, int to,
                               std::span<const Fr> siblings, std::size_t base,
                               Budget& budget) const {
  for (int level = from - 1; level >= to; --level) {
    const Fr& sibling = siblings[base + static_cast<std::size_t>(level - to)];
    hash = path_bit(bits, level) ? node_hash(sibling, hash) : node_hash(hash, sibling);
    if (absl::Status in_time = budget.tick(); !in_time.ok()) return in_time;
  }
  return hash;
}

// The hash of the node at `depth` over groups [lo, hi); the siblings of the one-child nodes
// above the next split (or the terminal) are stored before those below it.
absl::StatusOr<Fr> Plan::hash(int depth, std::size_t lo, std::size_t hi, int split,
                              std::span<const Fr> siblings, std::size_t& next,
                              Budget& budget) const {
  const std::size_t base = next;
  if (hi - lo == 1) {
    const Group& group = groups_[lo];
    next += static_cast<std::size_t>(group.depth - depth);
    Fr terminal = Fr::zero();
    if (ends_at_leaf(first_of(group))) {
      const Leaf leaf = terminal_leaf(first_of(group));
      terminal = leaf_hash(leaf.key, leaf.value);
      if (absl::Status in_time = budget.tick(); !in_time.ok()) return in_time;
    }
    return climb(terminal, group.bits, group.depth, depth, siblings, base, budget);
  }
  const int parting = parting_[split];
  next += static_cast<std::size_t>(parting - depth);
  const std::size_t mid = static_cast<std::size_t>(split) + 1;
  absl::StatusOr<Fr> left = hash(parting + 1, lo, mid, left_[split], siblings, next, budget);
  if (!left.ok()) return left;
  absl::StatusOr<Fr> right = hash(parting + 1, mid, hi, right_[split], siblings, next, budget);
  if (!right.ok()) return right;
  const Fr node = node_hash(*left, *right);
  if (absl::Status in_time = budget.tick(); !in_time.ok()) return in_time;
  return climb(node, groups_[lo].bits, parting, depth, siblings, base, budget);
}

template <typename Fn>
void Plan::visit(int depth, std::size_t lo, std::size_t hi, int split, Fn& fn) const {
  const int bottom = hi - lo == 1 ? groups_[lo].depth : parting_[split];
  for (int level = depth; level < bottom; ++level) fn(groups_[lo].first, level);
  if (hi - lo == 1) return;
  const std::size_t mid = static_cast<std::size_t>(split) + 1;
  visit(bottom + 1, lo, mid, left_[split], fn);
  visit(bottom + 1, mid, hi, right_[split], fn);
}

absl::Status Plan::check_claims() const {
  for (const MultiProofEntry& entry : entries_) {
    if (entry.existence) {
      if (entry.aux) {
        return invalid(absl::StrCat("key ", hex(entry.key),
                                    ": an inclusion proof cannot also name another leaf"));
      }
      continue;
    }
    if (entry.value != Fr::zero()) {
      return invalid(
          absl::StrCat("key ", hex(entry.key), ": a non-inclusion claim carries no value"));
    }
    if (!entry.aux) continue;
    if (entry.aux->key == entry.key) {
      return invalid(absl::StrCat("key ", hex(entry.key),
                                  ": a non-inclusion proof ends at a leaf with the same key"));
    }
    if (!same_path(key_bits(entry.aux->key), key_bits(entry.key), entry.depth)) {
      return invalid(absl::StrCat("key ", hex(entry.key), ": the leaf it ends at (key ",
                                  hex(entry.aux->key), ") is not on its path at depth ",
                                  entry.depth));
    }
  }
  // Keys that end together must agree on what is there: nothing, or one leaf.
  for (const Group& group : groups_) {
    const MultiProofEntry& first = first_of(group);
    for (std::size_t i = group.first + 1; i < group.end; ++i) {
      const MultiProofEntry& other = entries_[i];
      const bool agree = ends_at_leaf(first) == ends_at_leaf(other) &&
                         (!ends_at_leaf(first) || terminal_leaf(first) == terminal_leaf(other));
      if (!agree) {
        return invalid(absl::StrCat("keys ", hex(first.key), " and ", hex(other.key),
                                    " end at the same place at depth ", group.depth,
                                    " but claim different contents there"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status Plan::check_siblings(std::span<const Fr> siblings) const {
  if (siblings.size() < shape_.siblings) {
    return invalid(absl::StrCat("the proof has too few siblings (", siblings.size(),
                                "; its paths use ", shape_.siblings, ")"));
  }
  if (siblings.size() > shape_.siblings) {
    return invalid(absl::StrCat("the proof has ", siblings.size() - shape_.siblings,
                                " sibling(s) more than its paths use"));
  }
  for (const std::size_t i : shape_.nonzero_siblings) {
    if (siblings[i].is_zero()) {
      return invalid(absl::StrCat("sibling ", i,
                                  " is 0 beside a leaf or an empty slot, which no tree has (the "
                                  "leaf would have moved up, the empty slots merged)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Fr> multi_root(std::span<const MultiProofEntry> entries,
                              std::span<const Fr> siblings, const ProofLimits& limits) {
  absl::StatusOr<Plan> plan = Plan::make(entries, limits);
  if (!plan.ok()) return plan.status();
  if (absl::Status claims = plan->check_claims(); !claims.ok()) return claims;
  if (absl::Status counted = plan->check_siblings(siblings); !counted.ok()) return counted;
  return plan->root(siblings, limits.deadline);
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

absl::StatusOr<MultiProofShape> multi_proof_shape(std::span<const MultiProofEntry> entries,
                                                  const ProofLimits& limits) {
  absl::StatusOr<Plan> plan = Plan::make(entries, limits);
  if (!plan.ok()) return plan.status();
  return plan->take_shape();
}

absl::StatusOr<Fr> proof_root(const SmtProof& proof, const ProofLimits& limits) {
  if (proof.depth() > kMaxDepthLimit) {
    return invalid(absl::StrCat("the proof has ", proof.depth(), " siblings; at most ",
                                kMaxDepthLimit, " are possible"));
  }
  if (!proof.existence && proof.value != Fr::zero()) {
    return invalid("a non-inclusion proof carries no value");
  }
  const MultiProofEntry entry = entry_of(proof);
  return multi_root(std::span(&entry, 1), proof.siblings, limits);
}

absl::Status verify_proof(const Fr& root, const SmtProof& proof, const ProofLimits& limits) {
  return compare_root(proof_root(proof, limits), root);
}

absl::Status verify_multi_proof(const Fr& root, const SmtMultiProof& proof,
                                const ProofLimits& limits) {
  return compare_root(multi_root(proof.entries, proof.siblings, limits), root);
}

absl::StatusOr<SmtMultiProof> combine_proofs(std::span<const SmtProof> proofs) {
  std::vector<std::size_t> order(proofs.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::vector<std::array<std::uint64_t, 4>> paths;
  paths.reserve(proofs.size());
  for (const SmtProof& proof : proofs) paths.push_back(path_order(key_bits(proof.key)));
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return paths[a] < paths[b]; });
  SmtMultiProof multi;
  multi.entries.reserve(proofs.size());
  for (const std::size_t i : order) multi.entries.push_back(entry_of(proofs[i]));

  absl::StatusOr<Plan> plan = Plan::make(multi.entries, ProofLimits{});
  if (!plan.ok()) return plan.status();
  if (absl::Status claims = plan->check_claims(); !claims.ok()) return claims;
  // The siblings a verifier takes, in its order, from the proofs that hold them.
  multi.siblings.reserve(plan->shape().siblings);
  plan->for_each_sibling([&](std::size_t entry, int depth) {
    multi.siblings.push_back(proofs[order[entry]].siblings[static_cast<std::size_t>(depth)]);
  });
  return multi;
}

}  // namespace arbor::smt
