#include "host/service/write_batcher.hpp"

#include <unordered_set>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "absl/strings/str_cat.h"
#include "host/replication/entry_apply.hpp"
#include "spdlog/spdlog.h"
#include "tbb/parallel_for.h"

namespace arbor::service {
namespace {

double ms_between(std::chrono::steady_clock::time_point from,
                  std::chrono::steady_clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// The distinct keys of a write, in the order first written.
std::vector<std::string> distinct_keys(const std::vector<tree::Op>& ops) {
  std::unordered_set<std::string_view> seen;
  std::vector<std::string> keys;
  for (const tree::Op& op : ops) {
    if (seen.insert(op.key).second) keys.push_back(op.key);
  }
  return keys;
}

}  // namespace

WriteBatcher::WriteBatcher(tree::Tree& tree, BatcherOptions options, EngineObserver observer,
                           std::function<void(const storage::VersionRecord&)> on_version)
    : tree_(tree),
      options_(options),
      observer_(std::move(observer)),
      on_version_(std::move(on_version)),
      ledger_(options.idempotency_keys) {
  if (absl::StatusOr<std::vector<storage::VersionRecord>> versions = tree_.versions();
      versions.ok()) {
    ledger_.load(*versions);
  } else {
    spdlog::warn("tree {}: idempotency keys of earlier versions not loaded: {}", tree_.name(),
                 versions.status().ToString());
  }
  worker_ = std::thread([this] { run(); });
}

absl::StatusOr<std::future<absl::StatusOr<WriteOutcome>>> WriteBatcher::answer_known(
    const IdempotencyLedger::ClaimResult& known, const WriteRequest& request) {
  using Claim = IdempotencyLedger::Claim;
  if (known.claim == Claim::kConflict) {
    return absl::AlreadyExistsError(absl::StrCat(
        "idempotency_key: already used on tree \"", tree_.name(), "\" by a different write (",
        known.version ? absl::StrCat("applied as version ", known.version->version)
                      : std::string("not answered yet"),
        "); nothing was applied"));
  }
  if (known.claim == Claim::kInFlight) {
    return absl::UnavailableError(
        "idempotency_key: the first write with this key is still queued or being applied; retry "
        "to get its answer");
  }
  WriteOutcome outcome;
  outcome.version = *known.version;
  outcome.replayed = true;
  if (request.with_proofs && !request.ops.empty()) {
    absl::StatusOr<tree::Reader> reader = tree_.reader({known.version->version, std::nullopt});
    absl::StatusOr<tree::WriteProofs> proofs =
        reader.ok() ? reader->prove_written(distinct_keys(request.ops))
                    : absl::StatusOr<tree::WriteProofs>(reader.status());
    if (!proofs.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "idempotency_key: this write was applied as version ", known.version->version,
          " but its proofs cannot be made again: ", std::string(proofs.status().message())));
    }
    outcome.proofs = std::move(*proofs);
  }
  std::promise<absl::StatusOr<WriteOutcome>> ready;
  ready.set_value(std::move(outcome));
  return ready.get_future();
}

std::optional<absl::StatusOr<std::future<absl::StatusOr<WriteOutcome>>>> WriteBatcher::replay(
    const std::string& identity) {
  const IdempotencyLedger::ClaimResult known = ledger_.peek(identity);
  if (known.claim != IdempotencyLedger::Claim::kReplay &&
      known.claim != IdempotencyLedger::Claim::kInFlight) {
    return std::nullopt;
  }
  return answer_known(known, WriteRequest{});
}

void WriteBatcher::refuse(Pending& pending, absl::Status status) {
  if (!pending.request.identity.empty()) ledger_.release(pending.request.identity);
  pending.reply.set_value(std::move(status));
}

WriteBatcher::~WriteBatcher() { stop(); }

absl::StatusOr<std::future<absl::StatusOr<WriteOutcome>>> WriteBatcher::submit(
    WriteRequest&& request) {
  const std::uint64_t ops = request.ops.size();
  if (ops > options_.max_queue_ops) {
    return absl::InvalidArgumentError(
        absl::StrCat("a write of ", ops, " operations exceeds the server's limit of ",
                     options_.max_queue_ops, " (max_queue_ops); use a transaction"));
  }
  if (!request.identity.empty()) {
    const IdempotencyLedger::ClaimResult known = ledger_.claim(request.identity);
    if (known.claim != IdempotencyLedger::Claim::kNew) return answer_known(known, request);
  }
  // Every refusal below gives the claim back: nothing was queued.
  auto release = [&] {
    if (!request.identity.empty()) ledger_.release(request.identity);
  };
  std::lock_guard lock(queue_mutex_);
  if (stopping_) {
    release();
    return absl::UnavailableError(
        absl::StrCat("tree \"", tree_.name(), "\" is shutting down; the write was not accepted"));
  }
  if (options_.max_queue_delay.count() > 0 && !queue_.empty()) {
    const double expected_ms = static_cast<double>(queued_ops_ + ops) * ms_per_op();
    if (expected_ms > static_cast<double>(options_.max_queue_delay.count())) {
      release();
      ++counters_.refused_overload;
      ++counters_.refused_queue_delay;
      return absl::ResourceExhaustedError(absl::StrCat(
          "overloaded: tree \"", tree_.name(), "\" has ", queue_.size(), " writes (", queued_ops_,
          " operations) queued, about ", static_cast<std::uint64_t>(expected_ms),
          " ms of work with this one at the measured rate, above the limit of ",
          options_.max_queue_delay.count(),
          " ms (max_queue_delay_ms). Nothing was applied; retry later"));
    }
  }
  if (queue_.size() >= options_.max_queue_writes || queued_ops_ + ops > options_.max_queue_ops) {
    release();
    ++counters_.refused_overload;
    return absl::ResourceExhaustedError(absl::StrCat(
        "overloaded: tree \"", tree_.name(), "\" has ", queue_.size(), " writes (", queued_ops_,
        " operations) queued; limits are ", options_.max_queue_writes, " writes and ",
        options_.max_queue_ops, " operations. Nothing was applied; retry later"));
  }
  Pending pending{std::move(request), {}, std::chrono::steady_clock::now()};
  std::future<absl::StatusOr<WriteOutcome>> reply = pending.reply.get_future();
  queue_.push_back(std::move(pending));
  queued_ops_ += ops;
  peak_queued_ops_ = std::max(peak_queued_ops_, queued_ops_);
  ++counters_.accepted_writes;
  queue_changed_.notify_one();
  return reply;
}

void WriteBatcher::stop() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_all();
  if (worker_.joinable()) worker_.join();
}

std::uint64_t WriteBatcher::refuse_queued() {
  std::deque<Pending> refused;
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
    refused.swap(queue_);
    queued_ops_ = 0;
    counters_.refused_at_shutdown += refused.size();
  }
  queue_changed_.notify_all();
  for (Pending& pending : refused) {
    refuse(pending,
           absl::UnavailableError(absl::StrCat(
               "tree \"", tree_.name(),
               "\": the server is shutting down and this write was not applied; retry it")));
  }
  return refused.size();
}

WriteBatcher::Counters WriteBatcher::counters() const {
  std::lock_guard lock(queue_mutex_);
  Counters counters = counters_;
  counters.queued_writes = queue_.size();
  counters.queued_ops = queued_ops_;
  counters.apply_ms_per_op = ms_per_op();
  return counters;
}

double WriteBatcher::ms_per_op() const {
  std::uint64_t ops = 0;
  double ms = 0;
  for (const GroupCost& cost : recent_) {
    ops += cost.ops;
    ms += cost.ms;
  }
  // (An empty group was recorded as one operation: it costs a version too.)
  return ops == 0 ? 0 : ms / static_cast<double>(ops);
}

void WriteBatcher::trim_after_burst() {
  // Below this many queued operations at the peak, what a burst freed is not worth a trim.
  constexpr std::uint64_t kBurstOps = 100'000;
  {
    std::lock_guard lock(queue_mutex_);
    if (!queue_.empty() || peak_queued_ops_ < kBurstOps) return;
    peak_queued_ops_ = 0;
    queue_.shrink_to_fit();
  }
#if defined(__GLIBC__)
  // glibc keeps freed blocks in its arenas; a burst of queued writes would otherwise stay in the
  // process's resident memory after the load is gone.
  malloc_trim(0);
#endif
}

void WriteBatcher::run() {
  for (;;) {
    {
      std::unique_lock lock(queue_mutex_);
      queue_changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and the queue is drained
    }
    // The group is taken only once no rollback or prune runs, so writes that arrived meanwhile
    // share a version.
    std::vector<ProofWork> proof_work;
    {
      std::lock_guard apply_lock(apply_mutex_);
      std::vector<Pending> group = take_group();
      if (!group.empty()) apply_group(group);
      proof_work.swap(proof_work_);
    }
    // Proofs read their version's snapshot: rollbacks and prunes need not wait for them.
    for (ProofWork& work : proof_work) answer_with_proofs(work);
    trim_after_burst();
  }
}

std::vector<WriteBatcher::Pending> WriteBatcher::take_group() {
  std::unique_lock lock(queue_mutex_);
  if (queue_.empty()) return {};
  // Waiting for company only pays when writers are concurrent; a lone sequential writer would
  // just see its latency grow by max_delay. The previous group tells which case this is.
  if (last_group_writes_ > 1 && options_.max_delay.count() > 0) {
    const auto deadline = queue_.front().queued_at + options_.max_delay;
    queue_changed_.wait_until(lock, deadline,
                              [&] { return stopping_ || queued_ops_ >= options_.max_batch_ops; });
  }
  std::vector<Pending> group;
  std::uint64_t ops = 0;
  while (!queue_.empty()) {
    Pending& next = queue_.front();
    const std::uint64_t size = next.request.ops.size();
    if (!group.empty() && (next.request.expected_version || ops + size > options_.max_batch_ops)) {
      break;
    }
    ops += size;
    queued_ops_ -= size;
    group.push_back(std::move(next));
    queue_.pop_front();
  }
  last_group_writes_ = group.size();
  return group;
}

namespace {

// Errors that one write of a group can bring on the rest (a key past the tree's depth, an unmet
// expected version); the others come from the store or the machine and would fail alone too.
bool one_write_can_cause(const absl::Status& failed) {
  switch (failed.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kAlreadyExists:
    case absl::StatusCode::kNotFound:
      return true;
    default:
      return false;
  }
}

}  // namespace

void WriteBatcher::apply_group(std::vector<Pending>& group) {
  // Writes queued before this node stopped leading are refused without computing anything.
  if (ChangeLog* change_log = change_log_.load(std::memory_order_acquire)) {
    if (absl::Status writable = change_log->writable(); !writable.ok()) {
      for (Pending& pending : group) refuse(pending, writable);
      return;
    }
  }
  std::vector<Pending*> all;
  all.reserve(group.size());
  for (Pending& pending : group) all.push_back(&pending);
  log_refused_ = false;
  const absl::Status together = apply_together(all, group.front().queued_at);
  if (together.ok()) return;
  // A refusal of the log (no longer leading, no quorum) is no one write's doing either.
  if (group.size() == 1 || !one_write_can_cause(together) || log_refused_) {
    // A store that cannot write (a full disk, a failed fsync) fails each write alone as well.
    for (Pending& pending : group) refuse(pending, together);
    return;
  }
  // One write may have caused the failure (max depth, an unmet expected version): give each
  // write its own version so only the culprit is refused.
  spdlog::debug("tree {}: a group of {} writes failed ({}); applying them one by one", tree_.name(),
                group.size(), together.ToString());
  for (Pending& pending : group) {
    std::vector<Pending*> alone{&pending};
    if (absl::Status status = apply_together(alone, pending.queued_at); !status.ok()) {
      refuse(pending, status);
    }
  }
}

absl::Status WriteBatcher::apply_together(std::vector<Pending*>& writes,
                                          std::chrono::steady_clock::time_point queued_at) {
  const auto started = std::chrono::steady_clock::now();
  std::vector<tree::Op> merged;
  const bool alone = writes.size() == 1;
  if (!alone) {
    size_t total = 0;
    for (const Pending* pending : writes) total += pending->request.ops.size();
    merged.reserve(total);
    for (const Pending* pending : writes) {
      merged.insert(merged.end(), pending->request.ops.begin(), pending->request.ops.end());
    }
  }
  const std::vector<tree::Op>& ops = alone ? writes.front()->request.ops : merged;
  tree::ApplyOptions apply_options;
  apply_options.expected_version = writes.front()->request.expected_version;
  for (const Pending* pending : writes) {
    if (!pending->request.label.empty()) apply_options.label = pending->request.label;
    if (!pending->request.identity.empty()) {
      apply_options.idempotent_writes.push_back(pending->request.identity);
    }
  }
  if (ChangeLog* change_log = change_log_.load(std::memory_order_acquire)) {
    // The version goes to the replication log between its computing and its commit.
    apply_options.commit_gate =
        [&, change_log](
            std::uint64_t version, std::string_view root,
            tree::ApplyOptions::CommitFunction commit) -> absl::StatusOr<storage::VersionRecord> {
      const replication::LogEntry entry =
          replication::entry_for_apply(tree_.name(), ops, apply_options, version, root);
      std::optional<absl::StatusOr<storage::VersionRecord>> committed;
      absl::Status logged = change_log->log_then_commit(entry, [&](const tree::LogMark& mark) {
        committed = commit(mark);
        return committed->status();
      });
      if (!committed) log_refused_ = true;
      if (!logged.ok()) return logged;
      return std::move(*committed);
    };
  }
  absl::StatusOr<tree::ApplyResult> applied = tree_.apply(ops, apply_options);

  BatchReport report;
  report.tree = tree_.name();
  report.scheme = std::string(tree_.scheme());
  report.writes = static_cast<std::uint32_t>(writes.size());
  report.ops = ops.size();
  report.queue_wait_ms = ms_between(queued_at, started);
  report.apply_ms = ms_between(started, std::chrono::steady_clock::now());
  report.ok = applied.ok();
  if (applied.ok()) report.stats = applied->stats;
  if (observer_.on_batch) observer_.on_batch(report);
  if (!applied.ok()) return applied.status();

  {
    std::lock_guard lock(queue_mutex_);
    ++counters_.versions;
  }
  applied->version.idempotent_writes.clear();  // stored; answers and watchers need not copy it
  if (on_version_) on_version_(applied->version);
  if (!apply_options.idempotent_writes.empty()) {
    // Known before anyone is answered, so a retry that follows an answer is a replay.
    ledger_.applied(apply_options.idempotent_writes,
                    std::make_shared<const storage::VersionRecord>(applied->version));
  }
  // Writes without proofs are answered now; those with proofs once the apply lock is released
  // (run()), from one snapshot of the version taken here, before a rollback could replace it.
  const std::uint64_t group_ops = std::max<std::uint64_t>(ops.size(), 1);  // before any move
  ProofWork work;
  for (Pending* pending : writes) {
    if (pending->request.with_proofs && !pending->request.ops.empty()) {
      work.writes.push_back(std::move(*pending));
      continue;
    }
    WriteOutcome outcome;
    outcome.version = applied->version;
    outcome.coalesced_writes = static_cast<std::uint32_t>(writes.size());
    pending->reply.set_value(std::move(outcome));
  }
  if (work.writes.empty()) {
    record_cost(group_ops, ms_between(started, std::chrono::steady_clock::now()));
    return absl::OkStatus();
  }
  work.reader = tree_.reader({applied->version.version, std::nullopt});
  work.version = applied->version;
  work.coalesced_writes = static_cast<std::uint32_t>(writes.size());
  work.ops = group_ops;
  work.started = started;
  proof_work_.push_back(std::move(work));
  return absl::OkStatus();
}

void WriteBatcher::record_cost(std::uint64_t ops, double ms) {
  // What the worker spent on a group, proofs included, feeds admission (max_queue_delay).
  std::lock_guard lock(queue_mutex_);
  recent_[recent_next_] = {ops, ms};
  recent_next_ = (recent_next_ + 1) % kRateWindow;
}

void WriteBatcher::answer_with_proofs(ProofWork& work) {
  const std::uint64_t version = work.version.version;
  const std::string scheme(tree_.scheme());
  std::vector<double> proof_ms(work.writes.size(), 0);
  auto prove_and_answer = [&](std::size_t i) {
    Pending& pending = work.writes[i];
    const std::vector<std::string> keys = distinct_keys(pending.request.ops);
    const auto proof_started = std::chrono::steady_clock::now();
    absl::StatusOr<tree::WriteProofs> proofs =
        work.reader.ok() ? work.reader->prove_written(keys)
                         : absl::StatusOr<tree::WriteProofs>(work.reader.status());
    proof_ms[i] = ms_between(proof_started, std::chrono::steady_clock::now());
    if (observer_.on_proof) {
      ProofReport proof_report;
      proof_report.tree = tree_.name();
      proof_report.scheme = scheme;
      proof_report.keys = keys.size();
      proof_report.ms = proof_ms[i];
      proof_report.ok = proofs.ok();
      if (proofs.ok()) {
        for (const tree::WrittenKey& key : proofs->keys) proof_report.bytes += key.proof.size();
        if (proofs->combined) proof_report.bytes += proofs->combined->bytes.size();
      }
      observer_.on_proof(proof_report);
    }
    if (!proofs.ok()) {
      // The write is durable; say so rather than report it as refused.
      pending.reply.set_value(absl::InternalError(absl::StrCat(
          "the write was applied as version ", version,
          " but its proofs could not be made: ", std::string(proofs.status().message()))));
      return;
    }
    WriteOutcome outcome;
    outcome.version = work.version;
    outcome.coalesced_writes = work.coalesced_writes;
    outcome.proofs = std::move(*proofs);
    pending.reply.set_value(std::move(outcome));
  };
  // One task per write (a write's proofs are its own, and may be parallel inside, as Verkle's
  // multiproof is), so the writes of a version share the cores; but only where a write's proofs
  // cost more than handing them to another core does: an SMT proof of a key or two takes tens
  // of microseconds, and measured slower spread over the cores of a busy 2-core machine.
  if (work.writes.size() > 1 && proof_ms_per_write_ >= options_.parallel_proofs_above_ms) {
    tbb::parallel_for(std::size_t{0}, work.writes.size(), prove_and_answer);
  } else {
    for (std::size_t i = 0; i < work.writes.size(); ++i) prove_and_answer(i);
  }
  // Each write's own proving time, whichever way they ran.
  double per_write = 0;
  for (const double ms : proof_ms) per_write += ms / static_cast<double>(proof_ms.size());
  proof_ms_per_write_ =
      proof_ms_per_write_ == 0 ? per_write : 0.875 * proof_ms_per_write_ + 0.125 * per_write;
  record_cost(work.ops, ms_between(work.started, std::chrono::steady_clock::now()));
}

}  // namespace arbor::service
