#include "host/smt/smt_tree.hpp"

#include <algorithm>
#include <chrono>
#include <functional>

#include "absl/strings/str_cat.h"
#include "host/smt/smt_hash.hpp"
#include "host/smt/smt_proof_codec.hpp"
#include "kernels/field/bn254_fr_text.hpp"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"

namespace arbor::smt {
namespace {

using storage::Space;
using Kind = NodeRecord::Kind;

std::string hex(const Fr& value) { return field::to_hex(value); }

using tree::ms_since;

KeyBits with_bit(KeyBits bits, int depth, bool one) {
  const std::uint64_t mask = 1ULL << (depth & 63);
  bits[depth >> 6] = one ? (bits[depth >> 6] | mask) : (bits[depth >> 6] & ~mask);
  return bits;
}

std::string where(int depth, const KeyBits& bits) {
  std::string path;
  for (int i = 0; i < depth; ++i) path.push_back(path_bit(bits, i) ? '1' : '0');
  return absl::StrCat("node at depth ", depth, " (path ", path.empty() ? "root" : path, ")");
}

// One distinct key of a batch, in path order.
struct BatchOp {
  KeyBits bits;
  std::array<std::uint64_t, 4> order;
  Fr key;
  Fr value;
  bool erase;
};

// First op in [lo, hi) whose path bit `depth` is 1: the range shares its low `depth` bits, so the
// ops with that bit 0 come first. The read phase and the planner split ranges the same way.
size_t split_ops(const std::vector<BatchOp>& ops, size_t lo, size_t hi, int depth) {
  return static_cast<size_t>(
      std::partition_point(ops.begin() + lo, ops.begin() + hi,
                           [&](const BatchOp& op) { return !path_bit(op.bits, depth); }) -
      ops.begin());
}

// Where an internal node's child hash comes from once the deeper levels are hashed.
enum class Source : std::uint8_t { kKnown, kLeafJob, kInternal };

struct InternalPlan {
  KeyBits path;
  Fr child[2];
  Source source[2];
  std::uint32_t index[2];
};

// What a position holds after the batch, before its parent decides where a leaf finally sits.
struct Outcome {
  enum class What : std::uint8_t { kEmpty, kLeaf, kInternal, kKept };
  What what = What::kEmpty;
  bool had_record = false;  // the position held a record before the batch
  Fr key, value;            // kLeaf
  Fr hash;                  // kKept; kLeaf when already known (leaf_job < 0)
  std::int64_t leaf_job = -1;
  std::uint32_t internal = 0;  // kInternal: index in its depth's plan

  static Outcome kept(const Fr& hash) {
    Outcome o;
    o.what = What::kKept;
    o.hash = hash;
    o.had_record = !hash.is_zero();
    return o;
  }
  bool empty() const { return what == What::kEmpty || (what == What::kKept && hash.is_zero()); }
};

// A leaf that exists before the batch below a position being rebuilt.
struct OldLeaf {
  Fr key, value, hash;
  KeyBits bits;
};

// Plans a batch: decides every node that changes, and what each new internal node hashes.
class BatchPlanner {
 public:
  BatchPlanner(const std::vector<BatchOp>& ops, int max_depth,
               std::vector<std::vector<NodeRecord>>& frontier,
               std::function<absl::StatusOr<NodeRecord>(int, const KeyBits&)> read_one,
               storage::WriteSet& writes)
      : ops_(ops),
        max_depth_(max_depth),
        frontier_(frontier),
        cursor_(frontier.size(), 0),
        read_one_(std::move(read_one)),
        writes_(writes),
        existed_(ops.size(), 0),
        puts_before_(ops.size() + 1, 0) {
    for (size_t i = 0; i < ops.size(); ++i) puts_before_[i + 1] = puts_before_[i] + !ops[i].erase;
  }

  // Plans the whole batch under a root of hash `root`.
  absl::StatusOr<Outcome> plan_root(const Fr& root) {
    absl::StatusOr<Outcome> outcome;
    if (root.is_zero()) {
      outcome = rebuild(0, KeyBits{}, 0, ops_.size(), std::nullopt, false);
    } else {
      absl::StatusOr<NodeRecord> record = next_frontier(0);
      if (!record.ok()) return record.status();
      if (record->kind == Kind::kInternal) {
        outcome = descend(0, KeyBits{}, *record, 0, ops_.size());
      } else {
        OldLeaf leaf{record->first, record->second, root, key_bits(record->first)};
        outcome = rebuild(0, KeyBits{}, 0, ops_.size(), leaf, true);
      }
    }
    if (!outcome.ok()) return outcome;
    if (outcome->what == Outcome::What::kLeaf) {
      writes_.put(Space::kNodes, node_key(0, KeyBits{}), encode_leaf(outcome->key, outcome->value));
    } else if (outcome->what == Outcome::What::kEmpty && outcome->had_record) {
      writes_.erase(Space::kNodes, node_key(0, KeyBits{}));
    }
    for (size_t d = 0; d < frontier_.size(); ++d) {
      if (cursor_[d] != frontier_[d].size()) {
        return absl::InternalError(absl::StrCat("SMT planner read ", frontier_[d].size(),
                                                " nodes at depth ", d, " but used ", cursor_[d]));
      }
    }
    return outcome;
  }

  std::vector<std::vector<InternalPlan>>& internal() { return internal_; }
  std::vector<Fr>& leaf_inputs() { return leaf_inputs_; }
  const std::vector<std::uint8_t>& existed() const { return existed_; }

 private:
  absl::StatusOr<NodeRecord> next_frontier(int depth) {
    if (static_cast<size_t>(depth) >= frontier_.size() ||
        cursor_[depth] >= frontier_[depth].size()) {
      return absl::InternalError(
          absl::StrCat("SMT planner ran out of read nodes at depth ", depth));
    }
    return frontier_[depth][cursor_[depth]++];
  }

  size_t split(size_t lo, size_t hi, int depth) const { return split_ops(ops_, lo, hi, depth); }

  // A position that held an internal node (hash `hash`, record `record`) with ops [lo, hi).
  absl::StatusOr<Outcome> descend(int depth, const KeyBits& path, const NodeRecord& record,
                                  size_t lo, size_t hi) {
    const size_t mid = split(lo, hi, depth);
    const Fr child_hash[2] = {record.first, record.second};
    const size_t begin[2] = {lo, mid}, end[2] = {mid, hi};
    Outcome child[2];
    for (int side = 0; side < 2; ++side) {
      const KeyBits child_path = with_bit(path, depth, side);
      if (begin[side] == end[side]) {
        child[side] = Outcome::kept(child_hash[side]);
        continue;
      }
      if (depth + 1 > max_depth_) {
        return absl::DataLossError(absl::StrCat(where(depth, path), " is internal at max depth"));
      }
      absl::StatusOr<Outcome> outcome;
      if (child_hash[side].is_zero()) {
        outcome = rebuild(depth + 1, child_path, begin[side], end[side], std::nullopt, false);
      } else {
        absl::StatusOr<NodeRecord> below = next_frontier(depth + 1);
        if (!below.ok()) return below.status();
        if (below->kind == Kind::kInternal) {
          outcome = descend(depth + 1, child_path, *below, begin[side], end[side]);
        } else {
          OldLeaf leaf{below->first, below->second, child_hash[side], key_bits(below->first)};
          outcome = rebuild(depth + 1, child_path, begin[side], end[side], leaf, true);
        }
      }
      if (!outcome.ok()) return outcome;
      child[side] = *outcome;
    }
    // iden3's rule: a subtree holding a single leaf is that leaf, one level up.
    for (int side = 0; side < 2; ++side) {
      Outcome& other = child[1 - side];
      if (!child[side].empty()) continue;
      if (other.empty()) return collapse(depth, path, child, Outcome{});
      if (other.what == Outcome::What::kLeaf) return collapse(depth, path, child, other);
      if (other.what == Outcome::What::kKept) {
        const KeyBits other_path = with_bit(path, depth, 1 - side);
        absl::StatusOr<NodeRecord> untouched = read_one_(depth + 1, other_path);
        if (!untouched.ok()) return untouched.status();
        if (untouched->kind == Kind::kEmpty) {
          return absl::DataLossError(
              absl::StrCat(where(depth + 1, other_path), " is missing though its parent names it"));
        }
        if (untouched->kind == Kind::kLeaf) {
          Outcome moved;
          moved.what = Outcome::What::kLeaf;
          moved.key = untouched->first;
          moved.value = untouched->second;
          moved.hash = other.hash;
          return collapse(depth, path, child, moved);
        }
      }
      break;
    }
    return make_internal(depth, path, child, true);
  }

  // The position keeps no internal node: its children's old records go, `result` moves up.
  Outcome collapse(int depth, const KeyBits& path, const Outcome (&child)[2], Outcome result) {
    for (int side = 0; side < 2; ++side) {
      if (child[side].had_record) {
        writes_.erase(Space::kNodes, node_key(depth + 1, with_bit(path, depth, side)));
      }
    }
    result.had_record = true;
    return result;
  }

  // Builds the subtree at a position that held nothing or one leaf (`old`) from scratch.
  absl::StatusOr<Outcome> rebuild(int depth, const KeyBits& path, size_t lo, size_t hi,
                                  std::optional<OldLeaf> old, bool had_record) {
    if (old) {
      auto found = std::lower_bound(
          ops_.begin() + lo, ops_.begin() + hi, path_order(old->bits),
          [](const BatchOp& op, const std::array<std::uint64_t, 4>& o) { return op.order < o; });
      if (found != ops_.begin() + hi && found->key == old->key) {
        existed_[found - ops_.begin()] = 1;
        old.reset();
      }
    }
    absl::StatusOr<Outcome> outcome = build(depth, path, lo, hi, old);
    if (outcome.ok()) outcome->had_record = had_record;
    return outcome;
  }

  absl::StatusOr<Outcome> build(int depth, const KeyBits& path, size_t lo, size_t hi,
                                const std::optional<OldLeaf>& old) {
    const size_t count = puts_before_[hi] - puts_before_[lo] + (old ? 1 : 0);
    if (count == 0) return Outcome{};
    if (count == 1) {
      Outcome leaf;
      leaf.what = Outcome::What::kLeaf;
      if (old) {
        leaf.key = old->key;
        leaf.value = old->value;
        leaf.hash = old->hash;
        return leaf;
      }
      const BatchOp* put = nullptr;
      for (size_t i = lo; i < hi && put == nullptr; ++i) put = ops_[i].erase ? nullptr : &ops_[i];
      leaf.key = put->key;
      leaf.value = put->value;
      leaf.leaf_job = static_cast<std::int64_t>(leaf_inputs_.size() / 3);
      leaf_inputs_.insert(leaf_inputs_.end(), {put->key, put->value, Fr::one()});
      return leaf;
    }
    if (depth >= max_depth_) return too_deep(lo, hi, old);
    const size_t mid = split(lo, hi, depth);
    Outcome child[2];
    const size_t begin[2] = {lo, mid}, end[2] = {mid, hi};
    for (int side = 0; side < 2; ++side) {
      std::optional<OldLeaf> old_here;
      if (old && path_bit(old->bits, depth) == static_cast<bool>(side)) old_here = old;
      absl::StatusOr<Outcome> outcome =
          build(depth + 1, with_bit(path, depth, side), begin[side], end[side], old_here);
      if (!outcome.ok()) return outcome;
      child[side] = *outcome;
    }
    return make_internal(depth, path, child, false);
  }

  absl::Status too_deep(size_t lo, size_t hi, const std::optional<OldLeaf>& old) const {
    std::vector<Fr> keys;
    if (old) keys.push_back(old->key);
    for (size_t i = lo; i < hi && keys.size() < 2; ++i) {
      if (!ops_[i].erase) keys.push_back(ops_[i].key);
    }
    return absl::OutOfRangeError(absl::StrCat(
        "keys ", hex(keys[0]), " and ", hex(keys[1]), " share their lowest ", max_depth_,
        " bits, so one of them would sit deeper than the tree's max depth ", max_depth_));
  }

  // An internal node at (depth, path); places its children's leaves and erases emptied children.
  Outcome make_internal(int depth, const KeyBits& path, const Outcome (&child)[2],
                        bool had_record) {
    if (internal_.size() <= static_cast<size_t>(depth)) internal_.resize(depth + 1);
    InternalPlan plan{path, {Fr::zero(), Fr::zero()}, {Source::kKnown, Source::kKnown}, {0, 0}};
    for (int side = 0; side < 2; ++side) {
      const Outcome& c = child[side];
      const KeyBits child_path = with_bit(path, depth, side);
      switch (c.what) {
        case Outcome::What::kEmpty:
          if (c.had_record) writes_.erase(Space::kNodes, node_key(depth + 1, child_path));
          break;
        case Outcome::What::kLeaf:
          writes_.put(Space::kNodes, node_key(depth + 1, child_path), encode_leaf(c.key, c.value));
          if (c.leaf_job >= 0) {
            plan.source[side] = Source::kLeafJob;
            plan.index[side] = static_cast<std::uint32_t>(c.leaf_job);
          } else {
            plan.child[side] = c.hash;
          }
          break;
        case Outcome::What::kInternal:
          plan.source[side] = Source::kInternal;
          plan.index[side] = c.internal;
          break;
        case Outcome::What::kKept:
          plan.child[side] = c.hash;
          break;
      }
    }
    Outcome node;
    node.what = Outcome::What::kInternal;
    node.had_record = had_record;
    node.internal = static_cast<std::uint32_t>(internal_[depth].size());
    internal_[depth].push_back(plan);
    return node;
  }

  const std::vector<BatchOp>& ops_;
  const int max_depth_;
  std::vector<std::vector<NodeRecord>>& frontier_;
  std::vector<size_t> cursor_;
  std::function<absl::StatusOr<NodeRecord>(int, const KeyBits&)> read_one_;
  storage::WriteSet& writes_;
  std::vector<std::uint8_t> existed_;
  std::vector<std::uint32_t> puts_before_;
  std::vector<std::vector<InternalPlan>> internal_;
  std::vector<Fr> leaf_inputs_;
};

absl::StatusOr<Fr> root_of(const storage::VersionRecord& record, std::string_view tree) {
  return stored_fr(record.root, absl::StrCat("the root of tree \"", std::string(tree),
                                             "\" at version ", record.version));
}

}  // namespace

SmtTree::SmtTree(storage::Store& store, std::string name, SmtParams params,
                 host::ComputeBackend& backend, const SmtTreeOptions& options,
                 std::string_view head_root)
    : tree::Tree(store, std::move(name), backend),
      params_(params),
      cache_(options.node_cache_bytes, params.page_levels) {
  cache_.reset(head_root);
}

absl::StatusOr<storage::TreeSpec> smt_tree_spec(const std::string& name,
                                                const SmtCreateOptions& create) {
  if (create.max_depth < 1 || create.max_depth > kMaxDepthLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("max depth must be 1..", kMaxDepthLimit, ", got ", create.max_depth));
  }
  if (create.page_levels < 1 || create.page_levels > kMaxPageLevels) {
    return absl::InvalidArgumentError(
        absl::StrCat("page levels must be 1..", kMaxPageLevels, ", got ", create.page_levels));
  }
  storage::TreeSpec spec;
  spec.name = name;
  spec.scheme = std::string(kScheme);
  spec.params = encode_params({create.max_depth, create.page_levels});
  spec.node_key_bytes = kNodeKeyBytes;
  spec.value_key_bytes = kValueKeyBytes;
  spec.keep_versions = create.keep_versions;
  spec.empty_root = fr_bytes(Fr::zero());
  spec.base_version = create.base_version;
  spec.created_unix_ms = create.created_unix_ms;
  return spec;
}

absl::StatusOr<std::unique_ptr<SmtTree>> SmtTree::create(storage::Store& store,
                                                         const std::string& name,
                                                         const SmtCreateOptions& create,
                                                         host::ComputeBackend& backend,
                                                         const SmtTreeOptions& options) {
  absl::StatusOr<storage::TreeSpec> spec = smt_tree_spec(name, create);
  if (!spec.ok()) return spec.status();
  absl::StatusOr<storage::TreeInfo> info = store.create_tree(*spec);
  if (!info.ok()) return info.status();
  return std::unique_ptr<SmtTree>(new SmtTree(store, name, {create.max_depth, create.page_levels},
                                              backend, options, info->head_root));
}

absl::StatusOr<std::unique_ptr<SmtTree>> SmtTree::open(storage::Store& store,
                                                       const std::string& name,
                                                       host::ComputeBackend& backend,
                                                       const SmtTreeOptions& options) {
  absl::StatusOr<storage::TreeInfo> info = store.tree_info(name);
  if (!info.ok()) return info.status();
  if (info->scheme != kScheme) {
    return absl::FailedPreconditionError(
        absl::StrCat("tree \"", name, "\" is a ", info->scheme, " tree, not an SMT"));
  }
  absl::StatusOr<SmtParams> params = decode_params(info->params);
  if (!params.ok()) return params.status();
  return std::unique_ptr<SmtTree>(
      new SmtTree(store, name, *params, backend, options, info->head_root));
}

absl::Status SmtTree::check_key(std::string_view key, std::string_view field) const {
  return wire_fr(key, field).status();
}

absl::Status SmtTree::check_value(std::string_view value, std::string_view field) const {
  return wire_fr(value, field).status();
}

absl::StatusOr<tree::ApplyResult> SmtTree::apply(std::span<const tree::Op> ops,
                                                 const tree::ApplyOptions& options) {
  std::vector<SmtOp> typed;
  typed.reserve(ops.size());
  for (std::size_t i = 0; i < ops.size(); ++i) {
    // One conversion per key and value; check_ops names the field only when one fails.
    absl::StatusOr<Fr> key = wire_fr(ops[i].key, "key");
    absl::StatusOr<Fr> value =
        ops[i].kind == tree::Op::Kind::kPut ? wire_fr(ops[i].value, "value") : Fr::zero();
    if (!key.ok() || !value.ok() ||
        (ops[i].kind == tree::Op::Kind::kDelete && !ops[i].value.empty())) {
      return check_ops(ops, "ops");
    }
    typed.push_back(ops[i].kind == tree::Op::Kind::kPut ? SmtOp::put(*key, *value)
                                                        : SmtOp::erase(*key));
  }
  absl::StatusOr<ApplyResult> applied = apply(std::span<const SmtOp>(typed), options);
  if (!applied.ok()) return applied.status();
  tree::ApplyResult result;
  result.version = std::move(applied->record);
  result.stats = applied->stats;  // the shared counters
  return result;
}

absl::StatusOr<std::vector<std::optional<std::string>>> SmtTree::read_pages(
    const storage::TreeView& view, std::span<const std::string> keys) const {
  const std::string& root = view.version().root;
  std::vector<std::optional<std::string>> records(keys.size());
  std::vector<std::string> missing;
  std::vector<size_t> missing_at;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (auto cached = cache_.lookup(root, keys[i])) {
      records[i] = std::move(*cached);
    } else {
      missing.push_back(keys[i]);
      missing_at.push_back(i);
    }
  }
  if (missing.empty()) return records;
  absl::StatusOr<std::vector<std::optional<std::string>>> read =
      view.get_many(Space::kNodes, missing);
  if (!read.ok()) return read.status();
  for (size_t j = 0; j < missing.size(); ++j) {
    cache_.fill(root, missing[j], (*read)[j]);
    records[missing_at[j]] = std::move((*read)[j]);
  }
  return records;
}

PageSet SmtTree::page_set(const storage::TreeView& view) const {
  return PageSet(
      params_.page_levels,
      [this, &view](std::span<const std::string> page_keys) { return read_pages(view, page_keys); },
      name_);
}

absl::StatusOr<ApplyResult> SmtTree::apply(std::span<const SmtOp> ops,
                                           const ApplyOptions& options) {
  std::lock_guard writer(writer_mutex_);
  ApplyResult result;
  ApplyStats& stats = result.stats;
  auto started = std::chrono::steady_clock::now();

  absl::StatusOr<storage::TreeView> view = store_.view(name_);
  if (!view.ok()) return view.status();
  const std::uint64_t head = view->version().version;
  if (options.expected_version && *options.expected_version != head) {
    return absl::AbortedError(absl::StrCat("tree \"", name_, "\" is at version ", head,
                                           ", not the expected ", *options.expected_version));
  }
  absl::StatusOr<Fr> old_root = root_of(view->version(), name_);
  if (!old_root.ok()) return old_root.status();

  // Sort by path; the last operation on a key wins.
  std::vector<BatchOp> batch;
  batch.reserve(ops.size());
  for (const SmtOp& op : ops) {
    const KeyBits bits = key_bits(op.key);
    batch.push_back(
        BatchOp{bits, path_order(bits), op.key, op.value, op.kind == SmtOp::Kind::kDelete});
  }
  std::stable_sort(batch.begin(), batch.end(),
                   [](const BatchOp& a, const BatchOp& b) { return a.order < b.order; });
  size_t kept = 0;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i + 1 < batch.size() && batch[i + 1].order == batch[i].order) continue;
    batch[kept++] = batch[i];
  }
  batch.resize(kept);
  stats.ops = batch.size();

  // Read the touched paths top-down: each depth's pages in one batched read (most depths find
  // their pages already read with the depth above).
  PageSet pages = page_set(*view);
  std::vector<std::vector<NodeRecord>> frontier;
  struct Pending {
    KeyBits path;
    size_t lo, hi;
  };
  std::vector<Pending> level;
  std::vector<KeyBits> paths;
  if (!old_root->is_zero() && !batch.empty()) level.push_back(Pending{KeyBits{}, 0, batch.size()});
  for (int depth = 0; !level.empty(); ++depth) {
    paths.clear();
    for (const Pending& p : level) paths.push_back(p.path);
    if (absl::Status loaded = pages.load(depth, paths); !loaded.ok()) return loaded;
    stats.nodes_read += level.size();
    std::vector<NodeRecord>& decoded = frontier.emplace_back();
    decoded.reserve(level.size());
    std::vector<Pending> next;
    for (size_t i = 0; i < level.size(); ++i) {
      const Pending& p = level[i];
      absl::StatusOr<NodeRecord> record = pages.node(depth, p.path);
      if (!record.ok()) return record.status();
      if (record->kind == Kind::kEmpty) {
        return absl::DataLossError(absl::StrCat("tree \"", name_, "\": ", where(depth, p.path),
                                                " is missing though its parent names it"));
      }
      decoded.push_back(*record);
      if (record->kind != Kind::kInternal) continue;
      const size_t mid = split_ops(batch, p.lo, p.hi, depth);
      if (p.lo < mid && !record->first.is_zero()) {
        next.push_back(Pending{with_bit(p.path, depth, false), p.lo, mid});
      }
      if (mid < p.hi && !record->second.is_zero()) {
        next.push_back(Pending{with_bit(p.path, depth, true), mid, p.hi});
      }
    }
    level = std::move(next);
  }
  stats.read_ms = ms_since(started);

  // Plan.
  started = std::chrono::steady_clock::now();
  storage::CommitRequest commit;
  commit.parent_version = head;
  commit.label = options.label;
  commit.idempotent_writes = options.idempotent_writes;
  storage::WriteSet& writes = commit.writes;
  storage::WriteSet node_writes;  // by node key; write_pages turns them into page records
  auto read_one = [&](int depth, const KeyBits& path) -> absl::StatusOr<NodeRecord> {
    ++stats.nodes_read;
    return pages.node(depth, path);
  };
  BatchPlanner planner(batch, params_.max_depth, frontier, read_one, node_writes);
  Outcome top;
  if (batch.empty()) {
    top = Outcome::kept(*old_root);
  } else {
    absl::StatusOr<Outcome> planned = planner.plan_root(*old_root);
    if (!planned.ok()) return planned.status();
    top = *planned;
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    const BatchOp& op = batch[i];
    const bool existed = planner.existed()[i];
    if (!op.erase) {
      writes.put(Space::kValues, value_key(op.key), fr_bytes(op.value));
      ++(existed ? stats.updated : stats.inserted);
    } else if (existed) {
      writes.erase(Space::kValues, value_key(op.key));
      ++stats.deleted;
    } else {
      ++stats.absent_deletes;
    }
  }
  stats.plan_ms = ms_since(started);

  // Hash: every new leaf in one job, then each level of internal nodes, deepest first.
  started = std::chrono::steady_clock::now();
  std::vector<Fr>& leaf_inputs = planner.leaf_inputs();
  std::vector<Fr> leaf_hashes(leaf_inputs.size() / 3);
  if (!leaf_hashes.empty()) {
    if (absl::Status hashed = backend_.poseidon_hash_many(3, leaf_inputs, leaf_hashes);
        !hashed.ok()) {
      return hashed;
    }
  }
  stats.leaf_hashes = leaf_hashes.size();
  std::vector<std::vector<InternalPlan>>& internal = planner.internal();
  std::vector<Fr> below, here, inputs;
  for (int depth = static_cast<int>(internal.size()) - 1; depth >= 0; --depth) {
    std::vector<InternalPlan>& plans = internal[depth];
    inputs.resize(plans.size() * 2);
    for (size_t i = 0; i < plans.size(); ++i) {
      InternalPlan& plan = plans[i];
      for (int side = 0; side < 2; ++side) {
        if (plan.source[side] == Source::kLeafJob) {
          plan.child[side] = leaf_hashes[plan.index[side]];
        } else if (plan.source[side] == Source::kInternal) {
          plan.child[side] = below[plan.index[side]];
        }
        inputs[2 * i + side] = plan.child[side];
      }
    }
    here.resize(plans.size());
    if (!plans.empty()) {
      if (absl::Status hashed = backend_.poseidon_hash_many(2, inputs, here); !hashed.ok()) {
        return hashed;
      }
    }
    stats.node_hashes += plans.size();
    std::swap(below, here);
  }
  Fr new_root = Fr::zero();
  switch (top.what) {
    case Outcome::What::kEmpty:
      break;
    case Outcome::What::kKept:
      new_root = top.hash;
      break;
    case Outcome::What::kLeaf:
      new_root = top.leaf_job >= 0 ? leaf_hashes[top.leaf_job] : top.hash;
      break;
    case Outcome::What::kInternal:
      new_root = below[top.internal];
      break;
  }
  for (size_t depth = 0; depth < internal.size(); ++depth) {
    for (const InternalPlan& plan : internal[depth]) {
      node_writes.put(Space::kNodes, node_key(static_cast<int>(depth), plan.path),
                      encode_internal(plan.child[0], plan.child[1]));
    }
  }
  stats.compute_ms = ms_since(started);

  started = std::chrono::steady_clock::now();
  if (absl::Status paged = pages.write_pages(node_writes, writes); !paged.ok()) return paged;
  commit.root = fr_bytes(new_root);
  commit.entry_count = view->version().entry_count + stats.inserted - stats.deleted;
  if (!new_root.is_zero()) commit.root_node_key = node_key(0, KeyBits{});
  stats.records_written = writes.size();
  stats.bytes_written = writes.bytes();
  absl::StatusOr<storage::VersionRecord> committed =
      tree::commit_version(options, store_, name_, head + 1, commit);
  if (!committed.ok()) return committed.status();
  cache_.apply_commit(view->version().root, committed->root, writes);
  stats.commit_ms = ms_since(started);
  result.version = committed->version;
  result.root = new_root;
  result.entry_count = committed->entry_count;
  result.record = std::move(*committed);
  return result;
}

absl::StatusOr<Fr> SmtTree::root(std::optional<std::uint64_t> version) const {
  absl::StatusOr<storage::VersionRecord> record = version_record(version);
  if (!record.ok()) return record.status();
  return root_of(*record, name_);
}

absl::StatusOr<std::optional<Fr>> SmtTree::get(const Fr& key,
                                               std::optional<std::uint64_t> version) const {
  absl::StatusOr<storage::TreeView> view = store_.view(name_, version);
  if (!view.ok()) return view.status();
  absl::StatusOr<std::optional<std::string>> value = view->get(Space::kValues, value_key(key));
  if (!value.ok()) return value.status();
  if (!*value) return std::optional<Fr>();
  absl::StatusOr<Fr> decoded =
      stored_fr(**value, absl::StrCat("tree \"", name_, "\": the value of key ", hex(key)));
  if (!decoded.ok()) return decoded.status();
  return std::optional<Fr>(*decoded);
}

absl::StatusOr<SmtProof> SmtTree::prove_key(const storage::TreeView& view, const Fr& key) const {
  absl::StatusOr<Fr> root = root_of(view.version(), name_);
  if (!root.ok()) return root.status();
  SmtProof proof;
  proof.key = key;
  const KeyBits bits = key_bits(key);
  Fr hash = *root;
  PageSet pages = page_set(view);
  for (int depth = 0; !hash.is_zero(); ++depth) {
    if (depth > params_.max_depth) {
      return absl::DataLossError(absl::StrCat("tree \"", name_, "\": the path of key ", hex(key),
                                              " runs past the max depth"));
    }
    absl::StatusOr<NodeRecord> record = pages.node(depth, bits);
    if (!record.ok()) return record.status();
    if (record->kind == Kind::kEmpty) {
      return absl::DataLossError(
          absl::StrCat("tree \"", name_, "\": ", where(depth, bits), " is missing"));
    }
    if (record->kind == Kind::kLeaf) {
      if (record->first == key) {
        proof.existence = true;
        proof.value = record->second;
      } else {
        proof.aux = Leaf{record->first, record->second};
      }
      break;
    }
    const bool right = path_bit(bits, depth);
    proof.siblings.push_back(right ? record->first : record->second);
    hash = right ? record->second : record->first;
  }
  return proof;
}

absl::StatusOr<SmtProof> SmtTree::prove(const Fr& key, std::optional<std::uint64_t> version) const {
  absl::StatusOr<storage::TreeView> view = store_.view(name_, version);
  if (!view.ok()) return view.status();
  return prove_key(*view, key);
}

absl::StatusOr<SmtMultiProof> SmtTree::prove_many(std::span<const Fr> keys,
                                                  std::optional<std::uint64_t> version) const {
  absl::StatusOr<storage::TreeView> view = store_.view(name_, version);
  if (!view.ok()) return view.status();
  return prove_keys(*view, keys);
}

absl::StatusOr<SmtMultiProof> SmtTree::prove_keys(const storage::TreeView& view,
                                                  std::span<const Fr> keys) const {
  if (keys.empty()) return absl::InvalidArgumentError("no keys to prove");
  if (keys.size() > kMaxMultiProofEntries) {
    return absl::InvalidArgumentError(absl::StrCat("at most ", kMaxMultiProofEntries,
                                                   " keys per multi-proof, got ", keys.size()));
  }
  std::vector<Fr> distinct(keys.begin(), keys.end());
  std::sort(distinct.begin(), distinct.end(), [](const Fr& a, const Fr& b) {
    return path_order(key_bits(a)) < path_order(key_bits(b));
  });
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<SmtProof> proofs;
  proofs.reserve(distinct.size());
  for (const Fr& key : distinct) {
    absl::StatusOr<SmtProof> proof = prove_key(view, key);
    if (!proof.ok()) return proof.status();
    proofs.push_back(std::move(*proof));
  }
  return combine_proofs(proofs);
}

absl::StatusOr<tree::Proof> SmtTree::prove_in(const storage::TreeView& view,
                                              std::span<const std::string> keys,
                                              tree::ProofEncoding encoding) const {
  std::vector<Fr> typed;
  typed.reserve(keys.size());
  for (const std::string& key : keys) {
    absl::StatusOr<Fr> decoded = wire_fr(key, "key");
    if (!decoded.ok()) return decoded.status();
    typed.push_back(*decoded);
  }
  absl::StatusOr<Fr> root = root_of(view.version(), name_);
  if (!root.ok()) return root.status();
  tree::Proof proof;
  const bool json = encoding == tree::ProofEncoding::kJson;
  proof.format = std::string(json ? kJsonFormat : kBinaryFormat);
  // One key is proved alone ("AS"), several as one multi-proof ("AM").
  if (typed.size() == 1) {
    absl::StatusOr<SmtProof> single = prove_key(view, typed[0]);
    if (!single.ok()) return single.status();
    proof.bytes = json ? proof_to_json(*single, *root).dump() : encode_proof_binary(*single);
  } else {
    absl::StatusOr<SmtMultiProof> multi = prove_keys(view, typed);
    if (!multi.ok()) return multi.status();
    proof.bytes =
        json ? multi_proof_to_json(*multi, *root).dump() : encode_multi_proof_binary(*multi);
  }
  return proof;
}

absl::StatusOr<tree::WriteProofs> SmtTree::prove_written_in(
    const storage::TreeView& view, std::span<const std::string> keys) const {
  tree::WriteProofs proofs;
  proofs.keys.resize(keys.size());
  std::vector<absl::Status> failed(keys.size());
  auto prove_one = [&](std::size_t i) -> absl::Status {
    absl::StatusOr<Fr> decoded = wire_fr(keys[i], "key");
    if (!decoded.ok()) return decoded.status();
    absl::StatusOr<SmtProof> proof = prove_key(view, *decoded);
    if (!proof.ok()) return proof.status();
    tree::WrittenKey& written = proofs.keys[i];
    written.key = keys[i];
    if (proof->existence) written.value = fr_bytes(proof->value);
    written.proof = encode_proof_binary(*proof);
    return absl::OkStatus();
  };
  // A proof is a walk of reads (the node cache first), so a large write's keys share the cores.
  constexpr std::size_t kKeysPerTask = 16;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, keys.size(), kKeysPerTask),
                    [&](const tbb::blocked_range<std::size_t>& range) {
                      for (std::size_t i = range.begin(); i != range.end(); ++i) {
                        failed[i] = prove_one(i);
                      }
                    });
  for (const absl::Status& status : failed) {
    if (!status.ok()) return status;
  }
  return proofs;
}

}  // namespace arbor::smt
