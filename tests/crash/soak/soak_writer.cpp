#include "tests/crash/soak/soak_writer.hpp"

#include <set>
#include <thread>

#include "absl/strings/str_cat.h"

namespace arbor::soak {
namespace {

constexpr std::size_t kMaxOpsPerWrite = 8;
constexpr std::size_t kReplaysPerRestart = 8;

std::string describe(const grpc::Status& status) {
  return absl::StrCat("code ", static_cast<int>(status.error_code()), " \"", status.error_message(),
                      "\"");
}

}  // namespace

Writer::Writer(int id, SoakTree& tree, std::uint64_t seed, int max_keys, Counters& counters,
               Failures& failures)
    : id_(id),
      tree_(tree),
      rng_(seed),
      max_keys_(static_cast<std::size_t>(max_keys)),
      counters_(counters),
      failures_(failures),
      key_space_(make_key_space(tree.scheme)) {}

void Writer::fail(const Attempt& attempt, const std::string& what) {
  failures_.add(absl::StrCat("writer ", id_, " (", tree_.name, ", ", kind_name(attempt.kind),
                             attempt.idempotency_key.empty() ? "" : " keyed", "): ", what));
}

// Puts of new keys, overwrites and deletes of this writer's own keys; no key twice.
std::vector<crash::Mutation> Writer::next_ops() {
  std::vector<crash::Mutation> ops;
  std::set<std::string> used;
  const std::size_t count = 1 + rng_() % kMaxOpsPerWrite;
  while (ops.size() < count) {
    const bool room = mine_.size() < max_keys_;
    if (room && (mine_.empty() || rng_() % 2 == 0)) {
      mine_.push_back(key_space_->new_key(rng_));
      used.insert(mine_.back());
      ops.push_back({mine_.back(), key_space_->new_value(rng_)});
      continue;
    }
    const std::string& key = mine_[rng_() % mine_.size()];
    if (!used.insert(key).second) {
      if (!room) break;  // a small write then; a full writer may have few keys left to pick
      continue;
    }
    // The first operation stays a put: a keyed write's retry reads it to see whether it applied.
    if (!ops.empty() && key_space_->deletable(key) && rng_() % 4 == 0) {
      ops.push_back({key, std::nullopt});
    } else {
      ops.push_back({key, key_space_->new_value(rng_)});
    }
  }
  return ops;
}

Attempt Writer::next_attempt() {
  Attempt attempt;
  attempt.tree = tree_.name;
  const std::uint64_t draw = rng_() % 4;
  attempt.kind = draw < 2    ? WriteKind::kWrite
                 : draw == 2 ? WriteKind::kTransaction
                             : WriteKind::kTx;
  if (rng_() % 2 == 0) attempt.idempotency_key = absl::StrCat("soak-w", id_, "-", sent_);
  ++sent_;
  attempt.ops = next_ops();
  return attempt;
}

void Writer::run(rpc::ArborClient& client, const CycleFlags& flags) {
  while (!flags.stop && !failures_.any()) {
    Attempt attempt = next_attempt();
    tree_.ledger.sent(attempt.ops);
    const Answer answer = send(client, attempt);
    if (answer.status.ok()) {
      on_acknowledged(client, flags, attempt, answer.response);
      continue;
    }
    const bool overloaded = answer.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
    if (overloaded || !answer.commit_sent) {
      tree_.ledger.refused(attempt.ops);  // refused means unchanged
      if (flags.killing) return;
      if (!overloaded) return fail(attempt, absl::StrCat("refused: ", describe(answer.status)));
      ++counters_.overloaded;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    tree_.ledger.unknown(attempt.ops);
    ++counters_.unknown;
    if (!flags.killing) {
      fail(attempt, absl::StrCat("failed while arbord was up: ", describe(answer.status)));
    }
    if (!attempt.idempotency_key.empty()) cut_off_ = std::move(attempt);
    return;  // arbord is gone; this writer's keys are in doubt until the restart's check
  }
}

void Writer::on_acknowledged(rpc::ArborClient& client, const CycleFlags& flags, Attempt& attempt,
                             const v1::WriteResponse& response) {
  if (response.replayed()) fail(attempt, "a first attempt was answered as a replay");
  if (response.version() <= last_version_) {
    fail(attempt,
         absl::StrCat("version ", response.version(), " after this writer's ", last_version_));
  }
  last_version_ = response.version();
  attempt.version = response.version();
  tree_.acked_version(response.version());
  tree_.ledger.acknowledged(attempt.ops);
  key_space_->acknowledged(attempt.ops);
  ++counters_.acked;
  ++tree_.acked_writes;
  if (attempt.idempotency_key.empty()) return;
  // Now and then the same write again at once: it must change nothing.
  if (rng_() % 8 == 0) {
    const Answer again = resend(client, attempt);
    if (!again.status.ok()) {
      if (!flags.killing) fail(attempt, absl::StrCat("replay: ", describe(again.status)));
    } else if (!again.response.replayed() || again.response.version() != attempt.version) {
      fail(attempt, absl::StrCat("replay answered version ", again.response.version(),
                                 again.response.replayed() ? " replayed" : " applied again",
                                 "; the first was version ", attempt.version));
    } else {
      ++counters_.replays;
    }
  }
  if (acknowledged_keyed_.size() < kReplaysPerRestart) {
    acknowledged_keyed_.push_back(std::move(attempt));
  } else if (rng_() % 4 == 0) {
    acknowledged_keyed_[rng_() % kReplaysPerRestart] = std::move(attempt);
  }
}

// The cut-off write applied before the kill or not at all; its retry must say which, and apply
// it only in the second case. Its first operation, a put of a fresh value, tells.
void Writer::retry_cut_off(rpc::ArborClient& client, std::uint64_t head) {
  const Attempt attempt = *std::move(cut_off_);
  cut_off_.reset();
  v1::GetRequest get;
  get.set_tree(tree_.name);
  get.set_key(attempt.ops[0].key);
  v1::GetResponse got;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  const grpc::Status read = client.stub().Get(&context, get, &got);
  if (!read.ok()) return fail(attempt, absl::StrCat("Get before the retry: ", describe(read)));
  const bool applied = got.found() && got.value() == *attempt.ops[0].value;
  ++counters_.retried;
  if (applied) ++counters_.retried_applied;

  const Answer answer = resend(client, attempt);
  if (attempt.kind == WriteKind::kTx && !applied) {
    // Its transaction died with arbord and its commit never applied: nothing to replay.
    if (answer.status.ok()) fail(attempt, "a commit of a transaction lost in the kill succeeded");
    return;
  }
  if (!answer.status.ok()) return fail(attempt, absl::StrCat("retry: ", describe(answer.status)));
  const std::uint64_t version = answer.response.version();
  if (answer.response.replayed() != applied) {
    return fail(attempt, applied ? "applied before the kill, and again by its retry"
                                 : "its retry was answered as a replay of a write never applied");
  }
  if (applied ? (version <= last_version_ || version > head) : version <= head) {
    fail(attempt, absl::StrCat("retry answered version ", version, " (head at restart ", head,
                               ", this writer's last ", last_version_, ")"));
  }
  last_version_ = version;
  tree_.acked_version(version);
  tree_.ledger.acknowledged(attempt.ops);
  key_space_->acknowledged(attempt.ops);
  if (!applied) {
    ++counters_.acked;
    ++tree_.acked_writes;
  }
}

void Writer::recover(rpc::ArborClient& client, std::uint64_t head) {
  if (cut_off_) retry_cut_off(client, head);
  // Keyed writes of the last cycle only: a tree remembers its newest 100 000 keys.
  for (const Attempt& attempt : acknowledged_keyed_) {
    const Answer answer = resend(client, attempt);
    if (!answer.status.ok()) {
      fail(attempt, absl::StrCat("replay after the restart: ", describe(answer.status)));
    } else if (!answer.response.replayed() || answer.response.version() != attempt.version) {
      fail(attempt,
           absl::StrCat("replay after the restart answered version ", answer.response.version(),
                        answer.response.replayed() ? " replayed" : " applied again",
                        "; the first was version ", attempt.version));
    } else {
      ++counters_.replays;
    }
  }
  acknowledged_keyed_.clear();
}

}  // namespace arbor::soak
