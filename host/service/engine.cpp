#include "host/service/engine.hpp"

#include <openssl/rand.h>

#include <algorithm>
#include <set>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace arbor::service {
namespace {

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

// A creation refused for what it asks (a bad name or shape, a name taken) is refused the same way
// on every replica, so its log entry changes nothing but the position.
bool refused_alike(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
         status.code() == absl::StatusCode::kAlreadyExists;
}

absl::Status record_create_position(const absl::Status& created, storage::Store& store,
                                    std::uint64_t position) {
  if (!created.ok() && !refused_alike(created)) return created;
  return store.record_log_position(position);
}

}  // namespace

Engine::Engine(ConstructionKey, EngineOptions options, EngineObserver observer)
    : options_(std::move(options)), observer_(std::move(observer)) {}

absl::StatusOr<std::unique_ptr<Engine>> Engine::open(const EngineOptions& options,
                                                     EngineObserver observer) {
  auto engine = std::make_unique<Engine>(ConstructionKey(), options, std::move(observer));
  absl::StatusOr<std::unique_ptr<host::ComputeBackend>> backend =
      host::make_backend(options.backend);
  if (!backend.ok()) return backend.status();
  engine->backend_ = std::move(*backend);
  if (options.data_dir.empty()) {
    spdlog::info("engine: stateless (no data directory), backend {}",
                 engine->backend_->description());
    return engine;
  }
  absl::StatusOr<std::unique_ptr<storage::Store>> store =
      options.read_only ? storage::Store::open_read_only(options.data_dir, options.store)
                        : storage::Store::open(options.data_dir, options.store);
  if (!store.ok()) return store.status();
  engine->store_ = std::move(*store);
  absl::StatusOr<std::vector<storage::TreeInfo>> trees = engine->store_->list_trees();
  if (!trees.ok()) return trees.status();
  std::set<const tree::Scheme*> in_use;
  for (const storage::TreeInfo& info : *trees) {
    const tree::Scheme* scheme = tree::find_scheme(info.scheme);
    if (scheme == nullptr) {
      spdlog::warn("tree {} is a {} tree, which this build does not serve; it is left untouched",
                   info.name, info.scheme);
      std::unique_lock lock(engine->trees_mutex_);
      engine->unserved_[info.name] = info.scheme;
      continue;
    }
    absl::StatusOr<std::unique_ptr<tree::Tree>> opened =
        scheme->open(*engine->store_, info.name, *engine->backend_, options.tree);
    if (!opened.ok()) return opened.status();
    std::shared_ptr<OpenTree> served = engine->serve(std::move(*opened));
    in_use.insert(scheme);
    std::unique_lock lock(engine->trees_mutex_);
    engine->trees_[info.name] = std::move(served);
  }
  // Before the engine is handed out, so a service answers its first request at full speed.
  if (options.warm_up_schemes) {
    for (const tree::Scheme* scheme : in_use) scheme->warm_up(*engine->backend_);
  }
  engine->tx_reaper_ = std::thread([raw = engine.get()] { raw->expire_transactions(); });
  spdlog::info("engine: {} trees open in {}, backend {}", engine->trees_.size(),
               options.data_dir.string(), engine->backend_->description());
  return engine;
}

Engine::~Engine() { shutdown(); }

std::uint64_t Engine::refuse_queued_writes() {
  std::shared_lock lock(trees_mutex_);
  std::uint64_t refused = 0;
  for (const auto& [name, open] : trees_) refused += open->batcher->refuse_queued();
  return refused;
}

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
  // Drain every batcher before any tree or the store goes away; wake watchers so they end.
  for (auto& [name, open] : trees) {
    open->batcher->stop();
    open->feed.changed.notify_all();
  }
  trees.clear();
  store_.reset();
}

void Engine::VersionFeed::publish(std::uint64_t head, bool rolled_back) {
  {
    std::lock_guard lock(mutex);
    state.head = head;
    if (rolled_back) {
      ++state.rollbacks;
      state.last_rollback_to = head;
    }
  }
  changed.notify_all();
}

std::shared_ptr<Engine::OpenTree> Engine::serve(std::unique_ptr<tree::Tree> tree) {
  auto open = std::make_shared<OpenTree>();
  open->tree = std::move(tree);
  if (absl::StatusOr<storage::TreeInfo> info = open->tree->info(); info.ok()) {
    open->feed.publish(info->head_version, false);
  }
  VersionFeed* feed = &open->feed;
  open->batcher = std::make_unique<WriteBatcher>(
      *open->tree, options_.batcher, observer_,
      [feed](const storage::VersionRecord& record) { feed->publish(record.version, false); });
  open->batcher->set_change_log(change_log_.load(std::memory_order_acquire));
  return open;
}

absl::Status Engine::check_answer_fits(const tree::Tree& tree, std::span<const tree::Op> ops,
                                       std::string_view what) const {
  if (options_.max_answer_bytes == 0) return absl::OkStatus();
  // The proofs, plus each KeyProof's framing, key and value, plus the answer's other fields.
  constexpr std::uint64_t kFixedBytes = 4096, kPerKeyBytes = 96;
  auto bound = [&](std::uint64_t keys) {
    return kFixedBytes + keys * kPerKeyBytes + tree.max_written_proof_bytes(keys);
  };
  // One key per operation is the most there can be: the usual small write stops here.
  if (bound(ops.size()) <= options_.max_answer_bytes) return absl::OkStatus();
  std::unordered_set<std::string_view> distinct;
  for (const tree::Op& op : ops) distinct.insert(op.key);
  const std::uint64_t keys = distinct.size();
  if (bound(keys) <= options_.max_answer_bytes) return absl::OkStatus();
  std::uint64_t fitting = 0;  // the largest count whose bound fits: bound() only grows
  for (std::uint64_t step = std::uint64_t{1} << 40; step > 0; step >>= 1) {
    if (fitting + step < keys && bound(fitting + step) <= options_.max_answer_bytes) {
      fitting += step;
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "with_proofs: the proofs of ", keys, " keys could take up to ", bound(keys),
      " bytes, above the server's answer limit of ", options_.max_answer_bytes,
      " (max_message_mb); ", std::string(what), ". On tree ", in_quotes(tree.name()), " at most ",
      fitting,
      " keys fit in one write with proofs: split the write, or write without proofs and "
      "call Prove"));
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
                                                const tree::CreateOptions& create) {
  const std::string wanted = scheme.empty() ? "smt" : scheme;
  const tree::Scheme* found = tree::find_scheme(wanted);
  if (found == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("scheme: unknown scheme ", in_quotes(wanted),
                                                   " (", tree::scheme_names(), ")"));
  }
  if (shut_down_) return absl::UnavailableError("the server is shutting down");
  if (!store_) return absl::FailedPreconditionError("no data directory: trees cannot be created");
  if (absl::Status writable = refuse_unless_writable(); !writable.ok()) return writable;
  if (name.size() > storage::kMaxTreeNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("name: ", name.size(), " bytes, at most ", storage::kMaxTreeNameBytes));
  }
  {
    // Checked before the creation is logged; the store checks again (a concurrent create).
    std::shared_lock lock(trees_mutex_);
    if (trees_.contains(name) || unserved_.contains(name)) {
      return absl::AlreadyExistsError(absl::StrCat("tree ", in_quotes(name), " already exists"));
    }
  }
  replication::LogEntry entry;
  entry.kind = replication::LogEntry::Kind::kCreate;
  entry.tree = name;
  entry.scheme = wanted;
  entry.create = create;
  absl::StatusOr<std::unique_ptr<tree::Tree>> made = absl::InternalError("the tree was not made");
  // Not under trees_mutex_: reads go on while the creation waits for the log.
  absl::Status logged = log_then_commit(entry, [&](std::optional<std::uint64_t> position) {
    made = found->create(*store_, name, create, *backend_, options_.tree);
    return position ? record_create_position(made.status(), *store_, *position) : absl::OkStatus();
  });
  if (!logged.ok()) return logged;
  if (!made.ok()) return made.status();
  std::unique_lock lock(trees_mutex_);
  if (shut_down_) {
    return absl::UnavailableError(absl::StrCat("tree ", in_quotes(name),
                                               " was created, but the server is shutting down; "
                                               "it is served after the restart"));
  }
  std::shared_ptr<OpenTree> served = serve(std::move(*made));
  const tree::Tree& created = *served->tree;
  trees_[name] = served;
  lock.unlock();
  // Outside the lock; once per process, later calls return at once.
  if (options_.warm_up_schemes) found->warm_up(*backend_);
  spdlog::info("created tree {} ({}, keep {} versions)", name, wanted, create.keep_versions);
  return summary(created, {});
}

absl::StatusOr<TreeSummary> Engine::summary(const tree::Tree& tree,
                                            const VersionSelector& at) const {
  absl::StatusOr<tree::Reader> reader = tree.reader(at);
  if (!reader.ok()) return reader.status();
  TreeSummary summary;
  summary.info = reader->view().tree();
  summary.at = reader->version();
  return summary;
}

absl::StatusOr<std::vector<TreeSummary>> Engine::list_trees() const {
  std::vector<std::shared_ptr<OpenTree>> open;  // taken out so summaries read without the lock
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

absl::Status Engine::store_health() const {
  return store_ ? store_->write_health() : absl::OkStatus();
}

// A store that failed refuses every write at once. A full disk does not: RocksDB resumes by
// itself when space returns, and only a write that goes through shows that it has.
absl::Status Engine::refuse_if_store_failed() const {
  absl::Status health = store_health();
  return health.code() == absl::StatusCode::kUnavailable ? health : absl::OkStatus();
}

absl::Status Engine::refuse_unless_writable() const {
  if (absl::Status failed = refuse_if_store_failed(); !failed.ok()) return failed;
  if (ChangeLog* change_log = change_log_.load(std::memory_order_acquire)) {
    return change_log->writable();
  }
  if (options_.replicated) {
    return absl::UnavailableError(
        "replication is starting: this node takes no writes until it knows whether it leads "
        "(nothing was applied)");
  }
  return absl::OkStatus();
}

absl::Status Engine::log_then_commit(
    const replication::LogEntry& entry,
    absl::FunctionRef<absl::Status(std::optional<std::uint64_t>)> commit) {
  ChangeLog* change_log = change_log_.load(std::memory_order_acquire);
  if (change_log == nullptr) return commit(std::nullopt);
  // Only writes are ever committed ahead of the log (ack = "leader"): these have a position.
  return change_log->log_then_commit(
      entry, [&](const tree::LogMark& mark) { return commit(mark.log_position); });
}

void Engine::attach_change_log(ChangeLog* change_log) {
  change_log_.store(change_log, std::memory_order_release);
  std::shared_lock lock(trees_mutex_);
  for (const auto& [name, open] : trees_) open->batcher->set_change_log(change_log);
}

absl::StatusOr<std::uint64_t> Engine::log_position() const {
  if (!store_) return absl::FailedPreconditionError("no data directory");
  return store_->log_position();
}

absl::StatusOr<std::vector<storage::UnreplicatedEntry>> Engine::unreplicated_entries() const {
  if (!store_) return absl::FailedPreconditionError("no data directory");
  return store_->unreplicated_entries();
}

absl::Status Engine::mark_replicated(std::uint64_t id, std::uint64_t position) {
  if (!store_) return absl::FailedPreconditionError("no data directory");
  return store_->mark_replicated(id, position);
}

absl::Status Engine::forget_unreplicated(std::span<const std::uint64_t> ids) {
  if (!store_) return absl::FailedPreconditionError("no data directory");
  return store_->forget_unreplicated(ids);
}

absl::StatusOr<WriteFuture> Engine::write(const std::string& tree, WriteRequest request,
                                          std::string_view ops_field) {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  if (absl::Status writable = refuse_unless_writable(); !writable.ok()) return writable;
  if (absl::Status checked = (*open)->tree->check_ops(request.ops, ops_field); !checked.ok()) {
    return checked;
  }
  if (request.with_proofs) {
    if (absl::Status fits = check_answer_fits(*(*open)->tree, request.ops, "nothing was applied");
        !fits.ok()) {
      return fits;
    }
  }
  if (!request.idempotency_key.empty()) {
    if (absl::Status key = check_idempotency_key(request.idempotency_key, "idempotency_key");
        !key.ok()) {
      return key;
    }
    request.identity = write_identity(tree, request.idempotency_key, request.ops,
                                      request.expected_version, request.label);
  }
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

absl::StatusOr<std::uint64_t> Engine::add_to_tx(const std::string& id, std::vector<tree::Op> ops,
                                                std::string_view ops_field) {
  std::string tree_name;
  {
    std::lock_guard lock(tx_mutex_);
    auto found = transactions_.find(id);
    if (found == transactions_.end()) return tx_not_open(id);
    tree_name = found->second.tree;
  }
  // Checked outside the lock: the ops' cost is theirs, not every other transaction's.
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree_name);
  if (!open.ok()) return open.status();
  if (absl::Status checked = (*open)->tree->check_ops(ops, ops_field); !checked.ok()) {
    return checked;
  }
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
  tx.ops.insert(tx.ops.end(), std::make_move_iterator(ops.begin()),
                std::make_move_iterator(ops.end()));
  tx.expires = std::chrono::steady_clock::now() + tx.timeout;
  return tx.ops.size();
}

absl::StatusOr<WriteFuture> Engine::commit_tx(const std::string& id, CommitOptions options) {
  const bool keyed = !options.idempotency_key.empty();
  if (keyed) {
    if (absl::Status key = check_idempotency_key(options.idempotency_key, "idempotency_key");
        !key.ok()) {
      return key;
    }
  }
  if (absl::Status writable = refuse_unless_writable(); !writable.ok()) return writable;
  std::unique_lock lock(tx_mutex_);
  auto found = transactions_.find(id);
  if (found == transactions_.end()) {
    lock.unlock();
    if (keyed && options.identify_by == CommitOptions::IdentifyBy::kTransactionId) {
      // A retry after a lost answer: the transaction is gone, its commit may be known. The id
      // does not say which tree it was on, so every tree is asked.
      std::shared_lock trees_lock(trees_mutex_);
      for (const auto& [name, open] : trees_) {
        const std::string identity = commit_identity(name, options.idempotency_key, id,
                                                     options.expected_version, options.label);
        if (auto replayed = open->batcher->replay(identity)) return std::move(*replayed);
      }
    }
    return tx_not_open(id);
  }
  // Taken out while it is submitted, so a second commit of the same id finds nothing.
  auto node = transactions_.extract(found);
  lock.unlock();
  Transaction& tx = node.mapped();
  WriteRequest request;
  request.ops = std::move(tx.ops);
  request.expected_version = options.expected_version;
  request.label = std::move(options.label);
  request.with_proofs = options.with_proofs;
  if (keyed) {
    request.identity = options.identify_by == CommitOptions::IdentifyBy::kTransactionId
                           ? commit_identity(tx.tree, options.idempotency_key, id,
                                             request.expected_version, request.label)
                           : write_identity(tx.tree, options.idempotency_key, request.ops,
                                            request.expected_version, request.label);
  }
  const std::uint64_t ops = request.ops.size();
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tx.tree);
  bool keep_open = false;  // refused in a way a later commit can avoid: the transaction stays
  absl::StatusOr<WriteFuture> submitted = [&]() -> absl::StatusOr<WriteFuture> {
    if (!open.ok()) return open.status();
    if (request.with_proofs) {
      absl::Status fits = check_answer_fits(*(*open)->tree, request.ops,
                                            "nothing was applied and the transaction stays open "
                                            "(commit it without proofs, or abort it)");
      keep_open = !fits.ok();
      if (!fits.ok()) return fits;
    }
    return (*open)->batcher->submit(std::move(request));
  }();
  lock.lock();
  if (submitted.ok()) {
    transaction_ops_ -= ops;
    return submitted;
  }
  // Overload, or an idempotency key already used by another write: the client can fix either.
  if (submitted.status().code() == absl::StatusCode::kResourceExhausted ||
      submitted.status().code() == absl::StatusCode::kAlreadyExists) {
    keep_open = true;
  }
  if (keep_open && !stopping_) {
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

void Engine::report_proof(const tree::Tree& tree, std::size_t keys,
                          const absl::StatusOr<tree::Proof>& proof,
                          std::chrono::steady_clock::time_point started) const {
  if (!observer_.on_proof) return;
  ProofReport report;
  report.tree = tree.name();
  report.scheme = std::string(tree.scheme());
  report.keys = keys;
  report.ok = proof.ok();
  if (proof.ok()) report.bytes = proof->bytes.size();
  report.ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  observer_.on_proof(report);
}

absl::StatusOr<GetOutcome> Engine::get(const std::string& tree, const std::string& key,
                                       const VersionSelector& at, bool with_proof) const {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  const tree::Tree& served = *(*open)->tree;
  if (absl::Status checked = served.check_key(key, "key"); !checked.ok()) return checked;
  absl::StatusOr<tree::Reader> reader = served.reader(at);
  if (!reader.ok()) return reader.status();
  GetOutcome outcome;
  outcome.version = reader->version();
  absl::StatusOr<std::optional<std::string>> value = reader->get(key);
  if (!value.ok()) return value.status();
  outcome.value = std::move(*value);
  if (with_proof) {
    const auto started = std::chrono::steady_clock::now();
    absl::StatusOr<tree::Proof> proof = reader->prove(std::span(&key, 1), "key");
    report_proof(served, 1, proof, started);
    if (!proof.ok()) return proof.status();
    outcome.proof = std::move(*proof);
  }
  return outcome;
}

absl::StatusOr<GetManyOutcome> Engine::get_many(const std::string& tree,
                                                const std::vector<std::string>& keys,
                                                const VersionSelector& at, bool with_proof) const {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  const tree::Tree& served = *(*open)->tree;
  absl::StatusOr<tree::Reader> reader = served.reader(at);
  if (!reader.ok()) return reader.status();
  GetManyOutcome outcome;
  outcome.version = reader->version();
  absl::StatusOr<std::vector<std::optional<std::string>>> values = reader->get_many(keys);
  if (!values.ok()) return values.status();
  outcome.values = std::move(*values);
  if (with_proof) {
    const auto started = std::chrono::steady_clock::now();
    absl::StatusOr<tree::Proof> proof = reader->prove(keys);
    report_proof(served, keys.size(), proof, started);
    if (!proof.ok()) return proof.status();
    outcome.proof = std::move(*proof);
  }
  return outcome;
}

absl::StatusOr<ProveOutcome> Engine::prove(const std::string& tree,
                                           const std::vector<std::string>& keys,
                                           const VersionSelector& at,
                                           std::string_view encoding) const {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  const tree::Tree& served = *(*open)->tree;
  absl::StatusOr<tree::Reader> reader = served.reader(at);
  if (!reader.ok()) return reader.status();
  const auto started = std::chrono::steady_clock::now();
  absl::StatusOr<tree::Proof> proof = reader->prove(keys, "keys", encoding);
  report_proof(served, keys.size(), proof, started);
  if (!proof.ok()) return proof.status();
  return ProveOutcome{reader->version(), std::move(*proof)};
}

absl::StatusOr<ScanOutcome> Engine::scan(const std::string& tree, const VersionSelector& at,
                                         const std::string& after, std::size_t limit) const {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  absl::StatusOr<tree::Reader> reader = (*open)->tree->reader(at);
  if (!reader.ok()) return reader.status();
  absl::StatusOr<tree::ScanPage> page = reader->scan(after, limit);
  if (!page.ok()) return page.status();
  return ScanOutcome{reader->version(), std::move(*page)};
}

absl::StatusOr<tree::VerifyOutcome> Engine::verify(std::string_view proof,
                                                   std::optional<std::string_view> root,
                                                   const tree::VerifyOptions& options) const {
  return tree::verify_any(proof, root, *backend_, options);
}

absl::StatusOr<storage::VersionRecord> Engine::version_record(const std::string& tree,
                                                              std::uint64_t version) const {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  return (*open)->tree->version_record(version);
}

absl::StatusOr<FeedState> Engine::wait_for_versions(const std::string& tree, const FeedState& seen,
                                                    std::chrono::milliseconds timeout) const {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  const VersionFeed& feed = (*open)->feed;
  std::unique_lock lock(feed.mutex);
  feed.changed.wait_for(lock, timeout, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return !(feed.state == seen) || shut_down_;
  });
  return feed.state;
}

absl::StatusOr<TreeSummary> Engine::rollback(const std::string& tree, const VersionSelector& to) {
  if (!to.version && !to.label) {
    return absl::InvalidArgumentError("to: a version or a label to roll back to is required");
  }
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  if (absl::Status writable = refuse_unless_writable(); !writable.ok()) return writable;
  tree::Tree& served = *(*open)->tree;
  absl::StatusOr<storage::TreeInfo> rolled =
      (*open)->batcher->exclusive([&]() -> absl::StatusOr<storage::TreeInfo> {
        absl::StatusOr<std::uint64_t> version = served.resolve(to);
        if (!version.ok()) return version.status();
        absl::StatusOr<storage::VersionRecord> target = served.version_record(*version);
        if (!target.ok()) return target.status();
        absl::StatusOr<storage::TreeInfo> info = served.info();
        if (!info.ok() || info->head_version == *version) return info;  // nothing to log
        replication::LogEntry entry;
        entry.kind = replication::LogEntry::Kind::kRollback;
        entry.tree = tree;
        entry.version = *version;
        entry.root = target->root;
        absl::StatusOr<storage::TreeInfo> result = absl::InternalError("not rolled back");
        absl::Status logged = log_then_commit(entry, [&](std::optional<std::uint64_t> position) {
          result = served.rollback(*version, position);
          return result.status();
        });
        if (!logged.ok()) return logged;
        return result;
      });
  if (!rolled.ok()) return rolled.status();
  // The removed versions' writes no longer exist: a retry of one applies again.
  (*open)->batcher->ledger().forget_after(rolled->head_version);
  (*open)->feed.publish(rolled->head_version, true);
  spdlog::info("tree {} rolled back to version {}", tree, rolled->head_version);
  return summary(served, {});
}

absl::StatusOr<storage::PruneResult> Engine::prune(const std::string& tree,
                                                   std::uint64_t oldest_version, bool compact) {
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(tree);
  if (!open.ok()) return open.status();
  if (absl::Status writable = refuse_unless_writable(); !writable.ok()) return writable;
  tree::Tree& served = *(*open)->tree;
  absl::StatusOr<storage::PruneResult> pruned =
      (*open)->batcher->exclusive([&]() -> absl::StatusOr<storage::PruneResult> {
        absl::StatusOr<storage::TreeInfo> info = served.info();
        if (!info.ok()) return info.status();
        // Past the head (refused) or below the oldest (nothing to do): nothing to log.
        if (oldest_version > info->head_version || oldest_version <= info->oldest_version) {
          return served.prune(oldest_version);
        }
        replication::LogEntry entry;
        entry.kind = replication::LogEntry::Kind::kPrune;
        entry.tree = tree;
        entry.version = oldest_version;
        absl::StatusOr<storage::PruneResult> result = absl::InternalError("not pruned");
        absl::Status logged = log_then_commit(entry, [&](std::optional<std::uint64_t> position) {
          result = served.prune(oldest_version, false, position);
          return result.status();
        });
        if (!logged.ok()) return logged;
        return result;
      });
  if (!pruned.ok() || !compact) return pruned;
  // Compaction is local and slow: outside the log's order and the batcher's exclusion.
  if (absl::Status compacted = store_->compact(tree); !compacted.ok()) return compacted;
  return pruned;
}

absl::StatusOr<replication::EntryOutcome> Engine::apply_replicated_create(
    const replication::LogEntry& entry, std::uint64_t position) {
  const tree::Scheme* scheme = tree::find_scheme(entry.scheme);
  {
    std::shared_lock lock(trees_mutex_);
    if (auto found = trees_.find(entry.tree); found != trees_.end()) {
      // The leader's creation was refused as "exists" too, or this replica replays it.
      if (absl::Status recorded = store_->record_log_position(position); !recorded.ok()) {
        return recorded;
      }
      return replication::EntryOutcome::kAlreadyApplied;
    }
  }
  if (scheme == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("the log creates tree ", in_quotes(entry.tree), " of scheme ",
                     in_quotes(entry.scheme), ", which this build does not serve"));
  }
  absl::StatusOr<std::unique_ptr<tree::Tree>> made =
      scheme->create(*store_, entry.tree, entry.create, *backend_, options_.tree);
  if (absl::Status recorded = record_create_position(made.status(), *store_, position);
      !recorded.ok()) {
    return recorded;
  }
  if (!made.ok()) return replication::EntryOutcome::kAlreadyApplied;  // refused alike
  std::unique_lock lock(trees_mutex_);
  if (shut_down_) return absl::UnavailableError("the server is shutting down");
  trees_[entry.tree] = serve(std::move(*made));
  lock.unlock();
  if (options_.warm_up_schemes) scheme->warm_up(*backend_);
  spdlog::info("replica: created tree {} ({}) from the log at {}", entry.tree, entry.scheme,
               position);
  return replication::EntryOutcome::kApplied;
}

absl::StatusOr<replication::EntryOutcome> Engine::apply_replicated(
    const replication::LogEntry& entry, std::uint64_t position) {
  if (!store_) return absl::FailedPreconditionError("no data directory");
  if (entry.kind == replication::LogEntry::Kind::kCreate) {
    return apply_replicated_create(entry, position);
  }
  absl::StatusOr<std::shared_ptr<OpenTree>> open = find(entry.tree);
  if (!open.ok()) {
    if (open.status().code() != absl::StatusCode::kNotFound) return open.status();
    return absl::DataLossError(absl::StrCat(
        "the log changes tree ", in_quotes(entry.tree),
        ", which this replica does not have: it was made before the log began (start this "
        "replica from a checkpoint of the leader)"));
  }
  OpenTree& served = **open;
  absl::StatusOr<replication::EntryOutcome> outcome = served.batcher->exclusive(
      [&] { return replication::apply_entry(*served.tree, entry, position); });
  if (!outcome.ok() || *outcome != replication::EntryOutcome::kApplied) return outcome;
  switch (entry.kind) {
    case replication::LogEntry::Kind::kApply: {
      absl::StatusOr<storage::VersionRecord> record = served.tree->version_record(entry.version);
      if (record.ok()) {
        // Remembered so that, should this replica lead, a retry of the write is a replay.
        if (!record->idempotent_writes.empty()) {
          std::vector<std::string> identities = std::move(record->idempotent_writes);
          record->idempotent_writes.clear();
          served.batcher->ledger().applied(
              identities, std::make_shared<const storage::VersionRecord>(std::move(*record)));
        }
      }
      served.feed.publish(entry.version, false);
      break;
    }
    case replication::LogEntry::Kind::kRollback:
      served.batcher->ledger().forget_after(entry.version);
      served.feed.publish(entry.version, true);
      break;
    default:
      break;
  }
  return outcome;
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
  if (!store_) return absl::FailedPreconditionError("no data directory to checkpoint");
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
    counters.scheme = std::string(tree->tree->scheme());
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
