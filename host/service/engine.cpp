#include "host/service/engine.hpp"

#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "kernels/field/bn254_fr_text.hpp"
#include "spdlog/spdlog.h"

namespace arbor::service {
namespace {

constexpr size_t kMaxProveKeys = 65'536;

std::string in_quotes(const std::string& text) { return absl::StrCat("\"", text, "\""); }

absl::StatusOr<std::string> random_tx_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return absl::InternalError("cannot draw random bytes for a transaction id");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char byte : bytes) {
    id.push_back(kHex[byte >> 4]);
    id.push_back(kHex[byte & 15]);
  }
  return id;
}

bool valid_checkpoint_name(const std::string& name) {
  if (name.empty() || name.size() > 128 || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

absl::Status tx_not_open(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("transaction ", in_quotes(id),
                                          " is not open (never begun, committed, aborted, or "
                                          "discarded after its idle timeout)"));
}

}  // namespace

Engine::Engine(ConstructionKey, EngineOptions options, BatchObserver observer)
    : options_(std::move(options)), observer_(std::move(observer)) {}

absl::StatusOr<std::unique_ptr<Engine>> Engine::open(const EngineOptions& options,
                                                     BatchObserver observer) {
  auto engine = std::make_unique<Engine>(ConstructionKey(), options, std::move(observer));
  absl::StatusOr<std::unique_ptr<host::ComputeBackend>> backend =
      host::make_backend(options.backend);
  if (!backend.ok()) return backend.status();
  engine->backend_ = std::move(*backend);
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      storage::Store::open(options.data_dir, options.store);
  if (!store.ok()) return store.status();
  engine->store_ = std::move(*store);
  absl::StatusOr<std::vector<storage::TreeInfo>> trees = engine->store_->list_trees();
  if (!trees.ok()) return trees.status();
  for (const storage::TreeInfo& info : *trees) {
    if (info.scheme != smt::kScheme) {
      spdlog::warn("tree {} is a {} tree, which this build does not serve; it is left untouched",
                   info.name, info.scheme);
      engine->unserved_[info.name] = info.scheme;
      continue;
    }
    if (absl::Status opened = engine->open_tree(info); !opened.ok()) return opened;
  }
  engine->tx_reaper_ = std::thread([raw = engine.get()] { raw->expire_transactions(); });
  spdlog::info("engine: {} trees open in {}, backend {}", engine->trees_.size(),
               options.data_dir.string(), engine->backend_->description());
  return engine;
}

Engine::~Engine() { shutdown(); }

void Engine::shutdown() {
  if (shut_down_.exchange(true)) return;
  {
    std::lock_guard lock(tx_mutex_);
    stopping_ = true;
    if (!transactions_.empty()) {
      spdlog::info("engine: discarding {} uncommitted transactions", transactions_.size());
    }
    transactions_.clear();
    transaction_ops_ = 0;
  }
  tx_reaper_wake_.notify_all();
  if (tx_reaper_.joinable()) tx_reaper_.join();
  std::map<std::string, std::shared_ptr<OpenTree>> trees;
  {
    std::unique_lock lock(trees_mutex_);
    trees.swap(trees_);
  }
  // Drain every batcher before any tree or the store goes away.
  for (auto& [name, open] : trees) open->batcher->stop();
  trees.clear();
  store_.reset();
}

absl::Status Engine::open_tree(const storage::TreeInfo& info) {
  smt::SmtTreeOptions tree_options;
  tree_options.node_cache_bytes = options_.node_cache_bytes;
  absl::StatusOr<std::unique_ptr<smt::SmtTree>> tree =
      smt::SmtTree::open(*store_, info.name, *backend_, tree_options);
  if (!tree.ok()) return tree.status();
  auto open = std::make_shared<OpenTree>();
  open->tree = std::move(*tree);
  open->batcher = std::make_unique<WriteBatcher>(*open->tree, options_.batcher, observer_);
  trees_[info.name] = std::move(open);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Engine::OpenTree>> Engine::find(const std::string& name) const {
  std::shared_lock lock(trees_mutex_);
  if (auto found = trees_.find(name); found != trees_.end()) return found->second;
  if (auto unserved = unserved_.find(name); unserved != unserved_.end()) {
    return absl::UnimplementedError(absl::StrCat("tree ", in_quotes(name), " is a ",
                                                 unserved->second,
                                                 " tree, which this build does not serve"));
  }
  if (shut_down_) return absl::UnavailableError("the server is shutting down");
  return absl::NotFoundError(absl::StrCat("no tree named ", in_quotes(name)));
}

absl::StatusOr<TreeSummary> Engine::create_tree(const std::string& name, const std::string& scheme,
                                                int max_depth, std::uint64_t keep_versions) {
  const std::string wanted = scheme.empty() ? std::string(smt::kScheme) : scheme;
  if (wanted == "verkle") {
    return absl::UnimplementedError("scheme: the verkle scheme is not served by this build yet");
  }
  if (wanted != smt::kScheme) {
    return absl::InvalidArgumentError(
        absl::StrCat("scheme: unknown scheme ", in_quotes(wanted), " (smt or verkle)"));
  }
  smt::SmtCreateOptions create;
  create.max_depth = max_depth == 0 ? smt::kDefaultMaxDepth : max_depth;
  create.keep_versions = keep_versions;
  std::unique_lock lock(trees_mutex_);
  if (shut_down_) return absl::UnavailableError("the server is shutting down");
  smt::SmtTreeOptions tree_options;
  tree_options.node_cache_bytes = options_.node_cache_bytes;
  absl::StatusOr<std::unique_ptr<smt::SmtTree>> tree =
      smt::SmtTree::create(*store_, name, create, *backend_, tree_options);
  if (!tree.ok()) return tree.status();
  auto open = std::make_shared<OpenTree>();
  open->tree = std::move(*tree);
  open->batcher = std::make_unique<WriteBatcher>(*open->tree, options_.batcher, observer_);
  smt::SmtTree& created = *open->tree;
  trees_[name] = std::move(open);
  lock.unlock();
  spdlog::info("created tree {} (smt, max depth {}, keep {} versions)", name, create.max_depth,
               keep_versions);
  return summary(created, {});
}

absl::StatusOr<std::uint64_t> Engine::resolve(const smt::SmtTree& tree,
                                              const VersionSelector& at) const {
  if (at.version) return *at.version;
  if (at.label) {
    absl::StatusOr<std::vector<storage::VersionRecord>> versions = store_->versions(tree.name());
    if (!versions.ok()) return versions.status();
    for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
      if (it->label == *at.label) return it->version;
    }
    return absl::NotFoundError(absl::StrCat("tree ", in_quotes(tree.name()),
                                            " has no retained version labelled ",
                                            in_quotes(*at.label)));
  }
  absl::StatusOr<storage::VersionRecord> head = tree.version_record();
  if (!head.ok()) return head.status();
  return head->version;
}

absl::StatusOr<TreeSummary> Engine::summary(const smt::SmtTree& tree,
                                            const VersionSelector& at) const {
  TreeSummary summary;
  absl::StatusOr<std::uint64_t> version = resolve(tree, at);
  if (!version.ok()) return version.status();
  absl::StatusOr<storage::VersionRecord> record = tree.version_record(*version);
  if (!record.ok()) return record.status();
  summary.at = std::move(*record);
  absl::StatusOr<smt::Fr> root = tree.root(*version);
  if (!root.ok()) return root.status();
  summary.root = *root;
  absl::StatusOr<storage::TreeInfo> info = tree.info();
  if (!info.ok()) return info.status();
  summary.info = std::move(*info);
  return summary;
}

absl::StatusOr<std::vector<TreeSummary>> Engine::list_trees() const {
  std::vector<std::shared_ptr<OpenTree>> open;
  {
    std::shared_lock lock(trees_mutex_);
    for (const auto& [name, tree] : trees_) open.push_back(tree);
  }
  std::vector<TreeSummary> summaries;
  for (const auto& tree : open) {
    absl::StatusOr<TreeSummary> one = summary(*tree->tree, {});
    if (!one.ok()) return one.status();
    summaries.push_back(std::move(*one));
  }
  return summaries;
}

absl::StatusOr<TreeSummary> Engine::tree(const std::string& name, const VersionSelector& at) const {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(name);
  if (!open.ok()) return open.status();
  return summary(*(*open)->tree, at);
}

absl::StatusOr<WriteFuture> Engine::write(const std::string& tree, WriteRequest request) {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  return (*open)->batcher->submit(std::move(request));
}

absl::StatusOr<TxHandle> Engine::begin_tx(const std::string& tree, std::uint32_t timeout_ms) {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  if (timeout_ms == 0) timeout_ms = options_.tx.default_timeout_ms;
  if (timeout_ms > options_.tx.max_timeout_ms) {
    return absl::InvalidArgumentError(absl::StrCat("timeout_ms: ", timeout_ms,
                                                   " is above the server's limit of ",
                                                   options_.tx.max_timeout_ms));
  }
  absl::StatusOr<std::string> id = random_tx_id();
  if (!id.ok()) return id.status();
  std::lock_guard lock(tx_mutex_);
  if (stopping_) return absl::UnavailableError("the server is shutting down");
  if (transactions_.size() >= options_.tx.max_open) {
    return absl::ResourceExhaustedError(
        absl::StrCat("overloaded: ", transactions_.size(),
                     " transactions are open, the server's limit (max_open); commit or abort one"));
  }
  Transaction tx;
  tx.tree = tree;
  tx.timeout = std::chrono::milliseconds(timeout_ms);
  tx.expires = std::chrono::steady_clock::now() + tx.timeout;
  transactions_.emplace(*id, std::move(tx));
  return TxHandle{*id, timeout_ms};
}

absl::StatusOr<std::uint64_t> Engine::add_to_tx(const std::string& id,
                                                std::vector<smt::SmtOp> ops) {
  std::lock_guard lock(tx_mutex_);
  auto found = transactions_.find(id);
  if (found == transactions_.end()) return tx_not_open(id);
  Transaction& tx = found->second;
  if (tx.ops.size() + ops.size() > options_.tx.max_ops_per_tx) {
    return absl::ResourceExhaustedError(
        absl::StrCat("transaction ", in_quotes(id), " would hold ", tx.ops.size() + ops.size(),
                     " operations, above the limit of ", options_.tx.max_ops_per_tx,
                     " (max_ops_per_tx); these operations were not added"));
  }
  if (transaction_ops_ + ops.size() > options_.tx.max_total_ops) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "overloaded: open transactions hold ", transaction_ops_, " operations and the limit is ",
        options_.tx.max_total_ops,
        " (max_total_ops); these operations were not added, the transaction stays open"));
  }
  transaction_ops_ += ops.size();
  tx.ops.insert(tx.ops.end(), ops.begin(), ops.end());
  tx.expires = std::chrono::steady_clock::now() + tx.timeout;
  return tx.ops.size();
}

absl::StatusOr<WriteFuture> Engine::commit_tx(const std::string& id,
                                              std::optional<std::uint64_t> expected_version,
                                              std::string label, bool with_proofs) {
  std::unique_lock lock(tx_mutex_);
  auto found = transactions_.find(id);
  if (found == transactions_.end()) return tx_not_open(id);
  // Taken out while it is submitted, so a second commit of the same id finds nothing.
  auto node = transactions_.extract(found);
  lock.unlock();
  Transaction& tx = node.mapped();
  WriteRequest request;
  request.ops = std::move(tx.ops);
  request.expected_version = expected_version;
  request.label = std::move(label);
  request.with_proofs = with_proofs;
  const std::uint64_t ops = request.ops.size();
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tx.tree);
  absl::StatusOr<WriteFuture> submitted =
      open.ok() ? (*open)->batcher->submit(std::move(request)) : open.status();
  lock.lock();
  if (submitted.ok()) {
    transaction_ops_ -= ops;
    return submitted;
  }
  if (submitted.status().code() == absl::StatusCode::kResourceExhausted && !stopping_) {
    // submit() leaves a refused request untouched, so its operations are intact.
    tx.ops = std::move(request.ops);
    tx.expires = std::chrono::steady_clock::now() + tx.timeout;
    transactions_.insert(std::move(node));
  } else {
    transaction_ops_ -= ops;
  }
  return submitted.status();
}

absl::StatusOr<std::uint64_t> Engine::abort_tx(const std::string& id) {
  std::lock_guard lock(tx_mutex_);
  auto found = transactions_.find(id);
  if (found == transactions_.end()) return tx_not_open(id);
  const std::uint64_t ops = found->second.ops.size();
  transaction_ops_ -= ops;
  transactions_.erase(found);
  return ops;
}

void Engine::expire_transactions() {
  std::unique_lock lock(tx_mutex_);
  while (!stopping_) {
    tx_reaper_wake_.wait_for(lock, std::chrono::milliseconds(100));
    const auto now = std::chrono::steady_clock::now();
    for (auto it = transactions_.begin(); it != transactions_.end();) {
      if (it->second.expires <= now) {
        spdlog::info("transaction {} on tree {} idle past its {} ms timeout: discarded {} ops",
                     it->first, it->second.tree, it->second.timeout.count(), it->second.ops.size());
        transaction_ops_ -= it->second.ops.size();
        ++transactions_expired_;
        it = transactions_.erase(it);
      } else {
        ++it;
      }
    }
  }
}

absl::StatusOr<GetOutcome> Engine::get(const std::string& tree, const smt::Fr& key,
                                       const VersionSelector& at, bool with_proof) const {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  const smt::SmtTree& smt = *(*open)->tree;
  absl::StatusOr<std::uint64_t> version = resolve(smt, at);
  if (!version.ok()) return version.status();
  GetOutcome outcome;
  outcome.version = *version;
  absl::StatusOr<smt::Fr> root = smt.root(*version);
  if (!root.ok()) return root.status();
  outcome.root = *root;
  absl::StatusOr<std::optional<smt::Fr>> value = smt.get(key, *version);
  if (!value.ok()) return value.status();
  outcome.value = *value;
  if (with_proof) {
    absl::StatusOr<smt::SmtProof> proof = smt.prove(key, *version);
    if (!proof.ok()) return proof.status();
    outcome.proof = std::move(*proof);
  }
  return outcome;
}

absl::StatusOr<ProveOutcome> Engine::prove(const std::string& tree,
                                           const std::vector<smt::Fr>& keys,
                                           const VersionSelector& at) const {
  if (keys.empty()) return absl::InvalidArgumentError("keys: at least one key is needed");
  if (keys.size() > kMaxProveKeys) {
    return absl::InvalidArgumentError(
        absl::StrCat("keys: ", keys.size(), " keys, at most ", kMaxProveKeys, " per proof"));
  }
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  const smt::SmtTree& smt = *(*open)->tree;
  absl::StatusOr<std::uint64_t> version = resolve(smt, at);
  if (!version.ok()) return version.status();
  ProveOutcome outcome;
  outcome.version = *version;
  absl::StatusOr<smt::Fr> root = smt.root(*version);
  if (!root.ok()) return root.status();
  outcome.root = *root;
  if (keys.size() == 1) {
    absl::StatusOr<smt::SmtProof> proof = smt.prove(keys[0], *version);
    if (!proof.ok()) return proof.status();
    outcome.proof = std::move(*proof);
  } else {
    absl::StatusOr<smt::SmtMultiProof> proof = smt.prove_many(keys, *version);
    if (!proof.ok()) return proof.status();
    outcome.proof = std::move(*proof);
  }
  return outcome;
}

absl::StatusOr<TreeSummary> Engine::rollback(const std::string& tree, const VersionSelector& to) {
  if (!to.version && !to.label) {
    return absl::InvalidArgumentError("to: a version or a label to roll back to is required");
  }
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  smt::SmtTree& smt = *(*open)->tree;
  absl::StatusOr<storage::TreeInfo> rolled =
      (*open)->batcher->exclusive([&]() -> absl::StatusOr<storage::TreeInfo> {
        absl::StatusOr<std::uint64_t> version = resolve(smt, to);
        if (!version.ok()) return version.status();
        return smt.rollback(*version);
      });
  if (!rolled.ok()) return rolled.status();
  spdlog::info("tree {} rolled back to version {}", tree, rolled->head_version);
  return summary(smt, {});
}

absl::StatusOr<storage::PruneResult> Engine::prune(const std::string& tree,
                                                   std::uint64_t oldest_version, bool compact) {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  smt::SmtTree& smt = *(*open)->tree;
  return (*open)->batcher->exclusive([&] { return smt.prune(oldest_version, compact); });
}

absl::StatusOr<std::filesystem::path> Engine::checkpoint(const std::string& name) {
  if (!valid_checkpoint_name(name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name: ", in_quotes(name), " is not a checkpoint name (1..128 of [A-Za-z0-9._-])"));
  }
  std::error_code error;
  std::filesystem::create_directories(options_.checkpoint_dir, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create the checkpoint directory ",
                                                      options_.checkpoint_dir.string(), ": ",
                                                      error.message()));
  }
  std::filesystem::path target = std::filesystem::absolute(options_.checkpoint_dir / name, error);
  if (error) target = options_.checkpoint_dir / name;
  if (std::filesystem::exists(target, error)) {
    return absl::AlreadyExistsError(
        absl::StrCat("name: checkpoint ", target.string(), " already exists"));
  }
  if (absl::Status made = store_->checkpoint(target); !made.ok()) return made;
  spdlog::info("checkpoint written to {}", target.string());
  return target;
}

EngineStats Engine::stats() const {
  EngineStats stats;
  stats.backend = backend_->description();
  std::vector<std::pair<std::string, std::shared_ptr<OpenTree>>> open;
  {
    std::shared_lock lock(trees_mutex_);
    for (const auto& [name, tree] : trees_) open.emplace_back(name, tree);
  }
  std::map<std::string, std::uint64_t> open_per_tree;
  {
    std::lock_guard lock(tx_mutex_);
    for (const auto& [id, tx] : transactions_) ++open_per_tree[tx.tree];
    stats.open_transactions = transactions_.size();
    stats.transaction_ops = transaction_ops_;
    stats.transactions_expired = transactions_expired_;
  }
  for (const auto& [name, tree] : open) {
    TreeCounters counters;
    counters.tree = name;
    counters.batcher = tree->batcher->counters();
    counters.open_transactions = open_per_tree[name];
    if (absl::StatusOr<storage::VersionRecord> head = tree->tree->version_record(); head.ok()) {
      counters.version = head->version;
      counters.size = head->entry_count;
    }
    stats.trees.push_back(std::move(counters));
  }
  if (store_) {
    if (absl::StatusOr<storage::StoreStats> store = store_->stats(); store.ok()) {
      stats.store = std::move(*store);
    }
  }
  return stats;
}

}  // namespace arbor::service
