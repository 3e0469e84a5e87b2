#include "host/replication/replicator.hpp"

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace arbor::replication {
namespace {

// After the log could not be reached: how long before trying again.
constexpr std::chrono::milliseconds kUnreachablePause{500};

bool fatal_to_replica(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kDataLoss:            // a wrong root, a log not written in order
    case absl::StatusCode::kFailedPrecondition:  // a gap, a store ahead of the log
    case absl::StatusCode::kOutOfRange:          // retention dropped what this replica needs
    case absl::StatusCode::kInvalidArgument:     // an entry this build cannot read
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string_view to_string(ReplicaState state) {
  switch (state) {
    case ReplicaState::kCatchingUp:
      return "catching-up";
    case ReplicaState::kLeading:
      return "leading";
    case ReplicaState::kFollowing:
      return "following";
    case ReplicaState::kFailed:
      return "failed";
  }
  return "unknown";
}

Replicator::Replicator(ConstructionKey, service::Engine& engine, ReplicatorOptions options,
                       std::unique_ptr<JetStreamLog> log)
    : engine_(engine), options_(std::move(options)), log_(std::move(log)) {}

absl::StatusOr<std::unique_ptr<Replicator>> Replicator::start(service::Engine& engine,
                                                              ReplicatorOptions options) {
  absl::StatusOr<std::unique_ptr<JetStreamLog>> log = JetStreamLog::open(options.log);
  if (!log.ok()) return log.status();
  auto replicator =
      std::make_unique<Replicator>(ConstructionKey(), engine, std::move(options), std::move(*log));
  if (absl::Status loaded = replicator->load_unreplicated(); !loaded.ok()) return loaded;
  engine.attach_change_log(replicator.get());
  replicator->loop_ = std::thread([raw = replicator.get()] { raw->run(); });
  replicator->appender_ = std::thread([raw = replicator.get()] { raw->run_appender(); });
  return replicator;
}

Replicator::~Replicator() {
  stop();
  {
    std::lock_guard lock(unreplicated_mutex_);
    appender_stopping_ = true;
    appender_deadline_ = std::chrono::steady_clock::now() + options_.retry_for;
  }
  unreplicated_changed_.notify_all();
  if (appender_.joinable()) appender_.join();
  engine_.attach_change_log(nullptr);
}

void Replicator::stop() {
  {
    std::lock_guard lock(state_mutex_);
    stopping_ = true;
  }
  state_changed_.notify_all();
  if (loop_.joinable()) loop_.join();
}

void Replicator::set_state(ReplicaState state) {
  {
    std::lock_guard lock(state_mutex_);
    if (state_ == ReplicaState::kFailed) return;  // for good
    if (state_ != state) {
      spdlog::info("replication: {} -> {}", to_string(state_), to_string(state));
    }
    state_ = state;
    reader_stale_ = true;  // every change of state re-reads from the store's position
  }
  state_changed_.notify_all();
}

void Replicator::fail(const absl::Status& why) {
  {
    std::lock_guard lock(state_mutex_);
    if (state_ == ReplicaState::kFailed) return;
    state_ = ReplicaState::kFailed;
    failure_ = std::string(why.message());
  }
  spdlog::error(
      "replication stopped: {}. This node serves reads of what it holds and applies "
      "nothing more; health is NOT_SERVING",
      why.ToString());
  state_changed_.notify_all();
}

absl::Status Replicator::writable() const {
  // Not refused after stop(): a shutting-down engine still logs and applies what it accepted.
  std::lock_guard lock(state_mutex_);
  switch (state_) {
    case ReplicaState::kLeading:
      return absl::OkStatus();
    case ReplicaState::kFollowing: {
      const std::string& leader =
          lease_holder_.empty() || !options_.use_lease ? options_.leader_address : lease_holder_;
      return absl::FailedPreconditionError(absl::StrCat(
          "this node is a replica that follows the leader; send writes to the leader",
          leader.empty() ? "" : absl::StrCat(" at ", leader), " (nothing was applied)"));
    }
    case ReplicaState::kCatchingUp:
      return absl::UnavailableError(
          absl::StrCat("this node is catching up with the replication log (the log ends at ",
                       log_last_, "); nothing was applied, retry shortly"));
    case ReplicaState::kFailed:
      return absl::UnavailableError(
          absl::StrCat("replication stopped: ", failure_, " (nothing was applied)"));
  }
  return absl::InternalError("unknown replication state");
}

absl::Status Replicator::check_lease() const {
  if (!options_.use_lease) return absl::OkStatus();
  std::lock_guard lock(state_mutex_);
  // A leader that was paused past its lease must not append on the strength of it.
  if (std::chrono::steady_clock::now() > lease_valid_until_) {
    return absl::UnavailableError(
        "this node's leadership lease ran out before it could be refreshed; nothing was "
        "applied, retry shortly");
  }
  return absl::OkStatus();
}

void Replicator::on_append_failure(const absl::Status& why) {
  writer_.reset();
  if (why.code() == absl::StatusCode::kFailedPrecondition) {
    spdlog::warn("replication: fenced ({}): another node leads now; following",
                 std::string(why.message()));
    {
      std::lock_guard lock(state_mutex_);
      demoted_ = true;
      holds_lease_ = false;  // whoever appended believes it leads: the lease says who
      lease_holder_.clear();
    }
    set_state(ReplicaState::kFollowing);
    return;
  }
  spdlog::warn("replication: an append's outcome is unknown ({}); reading the log again",
               why.ToString());
  set_state(ReplicaState::kCatchingUp);
}

absl::Status Replicator::log_then_commit(
    const LogEntry& entry, absl::FunctionRef<absl::Status(const tree::LogMark&)> commit) {
  std::lock_guard order(order_mutex_);
  if (absl::Status may = writable(); !may.ok()) return may;
  if (absl::Status lease = check_lease(); !lease.ok()) return lease;
  if (options_.ack == ReplicatorOptions::Ack::kLeader && entry.kind == LogEntry::Kind::kApply) {
    return commit_then_log(entry, commit);
  }
  // Logged first, so after every change committed before it.
  if (absl::Status drained = wait_until_replicated(); !drained.ok()) return drained;
  std::lock_guard writing(writer_mutex_);
  if (!writer_) return absl::UnavailableError("replication: not leading (nothing was applied)");
  absl::StatusOr<std::uint64_t> appended = writer_->append(entry, [this] { return may_lead(); });
  if (!appended.ok()) {
    const absl::Status& why = appended.status();
    if (why.code() == absl::StatusCode::kInvalidArgument) return why;  // this entry only
    on_append_failure(why);
    if (why.code() == absl::StatusCode::kFailedPrecondition) {
      return absl::FailedPreconditionError(absl::StrCat(
          "this node no longer leads (another node extended the replication log): nothing was "
          "applied; send writes to the new leader"));
    }
    return absl::UnavailableError(absl::StrCat(
        "the replication log did not answer (", why.message(),
        "): the outcome is unknown until this node has read the log again; retry with the same "
        "idempotency key to learn it"));
  }
  entries_appended_.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(state_mutex_);
    log_last_ = *appended;
  }
  tree::LogMark mark;
  mark.log_position = *appended;
  if (absl::Status committed = commit(mark); !committed.ok()) {
    // The log has it and this store does not: catching up applies it from the log.
    writer_.reset();
    set_state(ReplicaState::kCatchingUp);
    return absl::UnavailableError(absl::StrCat(
        "the change is in the replication log (sequence ", *appended,
        ") but was not committed here (", committed.message(),
        "); this node applies it from the log when it can, retry with the same idempotency key "
        "to learn its version"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::uint64_t> Replicator::check_log_tail() {
  absl::StatusOr<JetStreamLog::Bounds> bounds = log_->bounds();
  if (!bounds.ok()) return bounds.status();
  absl::StatusOr<std::uint64_t> position = engine_.log_position();
  if (!position.ok()) return position.status();
  if (*position > bounds->last) {
    return absl::FailedPreconditionError(absl::StrCat(
        "this store holds the replication log up to sequence ", *position, " but stream ",
        options_.log.stream, " ends at ", bounds->last,
        ": the store was replicated through another log (start it from a checkpoint of this "
        "log's leader, or point it at its own log)"));
  }
  std::lock_guard lock(state_mutex_);
  log_last_ = bounds->last;
  return bounds->last;
}

absl::StatusOr<std::size_t> Replicator::apply_next(std::chrono::milliseconds wait) {
  bool stale;
  {
    std::lock_guard lock(state_mutex_);
    stale = reader_stale_;
    reader_stale_ = false;
  }
  if (stale || !reader_) {
    absl::StatusOr<std::uint64_t> position = engine_.log_position();
    if (!position.ok()) return position.status();
    if (reader_) entries_abandoned_.fetch_add(reader_->abandoned_entries());
    reader_ = std::make_unique<LogReader>(*log_, *position + 1);
  }
  const std::uint64_t from = reader_->next_read();
  absl::StatusOr<std::vector<LogReader::Read>> reads = reader_->next(options_.read_batch, wait);
  if (!reads.ok()) return reads.status();
  for (const LogReader::Read& read : *reads) {
    absl::StatusOr<bool> settled = settle_unreplicated(read.entry, read.resume_after);
    if (!settled.ok()) {
      reader_.reset();
      return absl::Status(settled.status().code(), absl::StrCat("log sequence ", read.resume_after,
                                                                ": ", settled.status().message()));
    }
    if (*settled) continue;  // this node's own change, committed here before the log had it
    absl::StatusOr<EntryOutcome> applied = engine_.apply_replicated(read.entry, read.resume_after);
    if (!applied.ok()) {
      reader_.reset();  // nothing after it was applied: read again from the store's position
      return absl::Status(applied.status().code(), absl::StrCat("log sequence ", read.resume_after,
                                                                ": ", applied.status().message()));
    }
    entries_applied_.fetch_add(1, std::memory_order_relaxed);
  }
  return reader_->next_read() - from;
}

absl::Status Replicator::try_to_lead() {
  // Not under order_mutex_ while applying: a batcher holds its tree's exclusion while it waits
  // for that mutex, and applying an entry takes the exclusion. No node of ours appends until
  // writer_ is set; if another node appends meanwhile, our first append is fenced.
  absl::StatusOr<std::unique_ptr<LogWriter>> writer = LogWriter::open(*log_, options_.retry_for);
  if (!writer.ok()) return writer.status();
  while (reader_ && reader_->next_read() <= (*writer)->tail()) {
    absl::StatusOr<std::size_t> read = apply_next(std::chrono::milliseconds(0));
    if (!read.ok()) return read.status();
    if (*read == 0) break;
  }
  if (!reader_ || reader_->next_read() <= (*writer)->tail()) return absl::OkStatus();  // again
  std::lock_guard writing(writer_mutex_);
  writer_ = std::move(*writer);
  set_state(ReplicaState::kLeading);
  spdlog::info("replication: leading, appending after log sequence {}", writer_->tail());
  return absl::OkStatus();
}

bool Replicator::may_lead() const {
  std::lock_guard lock(state_mutex_);
  if (options_.use_lease) return holds_lease_;
  return options_.role == ReplicatorOptions::Role::kLeader && !demoted_;
}

void Replicator::give_up_leading(std::string_view why) {
  spdlog::warn("replication: giving up the lead: {}", std::string(why));
  {
    // First, so that an append retrying for an answer stops (may_lead()).
    std::lock_guard lock(state_mutex_);
    holds_lease_ = false;
    lease_holder_.clear();  // not us any more; the next look at the lease says who
  }
  {
    std::lock_guard writing(writer_mutex_);
    writer_.reset();
  }
  next_lease_check_ = std::chrono::steady_clock::now();
  set_state(ReplicaState::kFollowing);
}

void Replicator::tend_lease() {
  if (!options_.use_lease) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_lease_check_) return;
  const auto ttl = options_.log.lease_ttl;
  next_lease_check_ = now + ttl / 4;
  bool holds;
  std::uint64_t revision;
  {
    std::lock_guard lock(state_mutex_);
    if (state_ == ReplicaState::kFailed) return;  // a failed node lets its lease expire
    holds = holds_lease_;
    revision = lease_revision_;
  }
  const std::string& me = options_.advertise_address;
  if (holds) {
    absl::StatusOr<std::uint64_t> refreshed = log_->refresh_lease(me, revision);
    {
      std::lock_guard lock(state_mutex_);
      if (refreshed.ok()) {
        lease_revision_ = *refreshed;
        // NATS counts the TTL from its write, after `now`; a quarter is kept as margin.
        lease_valid_until_ = now + ttl * 3 / 4;
        return;
      }
      if (refreshed.status().code() != absl::StatusCode::kFailedPrecondition &&
          std::chrono::steady_clock::now() < lease_valid_until_) {
        return;  // not answered; still ours for a while
      }
    }
    give_up_leading(absl::StrCat("the leadership lease was lost or not refreshed in time (",
                                 refreshed.status().ToString(), ")"));
    return;
  }
  absl::StatusOr<JetStreamLog::Lease> lease = log_->read_lease();
  if (!lease.ok()) return;
  {
    std::lock_guard lock(state_mutex_);
    lease_holder_ = lease->holder;
  }
  if (!lease->holder.empty() && lease->holder == me) {
    // Ours from before a restart, still within its TTL: refreshed at the next check, before any
    // append (lease_valid_until_ is now).
    std::lock_guard lock(state_mutex_);
    holds_lease_ = true;
    lease_revision_ = lease->revision;
    lease_valid_until_ = now;
    next_lease_check_ = now;
    return;
  }
  if (!lease->holder.empty()) {
    lease_free_since_.reset();
    return;
  }
  if (!lease_free_since_) lease_free_since_ = now;
  if (options_.role == ReplicatorOptions::Role::kFollower && now - *lease_free_since_ < ttl) {
    return;  // a leader starting with us takes it first
  }
  absl::StatusOr<std::uint64_t> taken = log_->take_lease(me);
  if (!taken.ok()) return;
  spdlog::info("replication: took the leadership lease as {}; catching up, then leading", me);
  {
    std::lock_guard lock(state_mutex_);
    holds_lease_ = true;
    lease_revision_ = *taken;
    lease_valid_until_ = now + ttl * 3 / 4;
    lease_holder_ = me;
    demoted_ = false;
  }
  lease_free_since_.reset();
  set_state(ReplicaState::kCatchingUp);
}

void Replicator::run() {
  bool reported_unreachable = false;
  while (true) {
    tend_lease();
    ReplicaState state;
    {
      std::unique_lock lock(state_mutex_);
      if (stopping_) return;
      state = state_;
      if (state == ReplicaState::kLeading || state == ReplicaState::kFailed) {
        // Awake for the lease's next refresh (a failed node stops refreshing: it expires).
        const auto until = state == ReplicaState::kLeading && options_.use_lease
                               ? next_lease_check_
                               : std::chrono::steady_clock::now() + std::chrono::hours(1);
        state_changed_.wait_until(lock, until, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return stopping_ || state_ != state;
        });
        continue;
      }
    }
    absl::Status step = [&]() -> absl::Status {
      absl::StatusOr<std::uint64_t> tail = check_log_tail();
      if (!tail.ok()) return tail.status();
      const bool leads = may_lead();
      absl::StatusOr<std::size_t> read =
          apply_next(leads ? std::chrono::milliseconds(0) : options_.poll);
      if (!read.ok()) return read.status();
      // Not yet at the tail the log had before this read.
      if (reader_->next_read() <= *tail) return absl::OkStatus();
      if (leads) return try_to_lead();
      if (state == ReplicaState::kCatchingUp) set_state(ReplicaState::kFollowing);
      return absl::OkStatus();
    }();
    if (step.ok()) {
      reported_unreachable = false;
      continue;
    }
    if (fatal_to_replica(step)) {
      fail(step);
      continue;
    }
    if (!reported_unreachable) {
      spdlog::warn("replication: the log cannot be read now ({}); retrying", step.ToString());
      reported_unreachable = true;
    }
    std::unique_lock lock(state_mutex_);
    state_changed_.wait_for(lock, kUnreachablePause,
                            [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return stopping_; });
  }
}

ReplicaStatus Replicator::status() const {
  ReplicaStatus status;
  {
    std::lock_guard lock(state_mutex_);
    status.state = state_;
    status.failure = failure_;
    status.log_last = log_last_;
    status.lease_holder = lease_holder_;
  }
  if (absl::StatusOr<std::uint64_t> position = engine_.log_position(); position.ok()) {
    status.position = *position;
  }
  status.entries_applied = entries_applied_.load();
  status.entries_appended = entries_appended_.load();
  status.entries_abandoned = entries_abandoned_.load();
  status.entries_discarded = entries_discarded_.load();
  {
    std::lock_guard lock(unreplicated_mutex_);
    status.unreplicated = unreplicated_.size();
  }
  return status;
}

absl::Status Replicator::health() const {
  std::lock_guard lock(state_mutex_);
  if (state_ != ReplicaState::kFailed) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat("replication stopped: ", failure_));
}

ReplicaState Replicator::wait_for(ReplicaState state, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_mutex_);
  state_changed_.wait_for(lock, timeout, [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    return state_ == state || state_ == ReplicaState::kFailed;
  });
  return state_;
}

}  // namespace arbor::replication
