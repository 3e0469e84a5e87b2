#include "tests/crash/write_ledger.hpp"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "arbor/v1/arbor.grpc.pb.h"

namespace arbor::crash {
namespace {

std::string describe(const Value& value) {
  return value ? absl::StrCat("0x", absl::BytesToHexString(*value)) : "absent";
}

}  // namespace

WriteLedger::Entry& WriteLedger::entry(const std::string& key) {
  auto [it, inserted] = entries_.try_emplace(key);
  if (inserted) order_.push_back(key);
  return it->second;
}

void WriteLedger::sent(const std::vector<Mutation>& ops) {
  std::lock_guard lock(mutex_);
  for (const Mutation& op : ops) {
    Entry& e = entry(op.key);
    ++e.in_flight;
    ++e.changes;
  }
}

void WriteLedger::acknowledged(const std::vector<Mutation>& ops) {
  std::lock_guard lock(mutex_);
  for (const Mutation& op : ops) {
    Entry& e = entry(op.key);
    e.acknowledged = op.value;
    e.unknown.clear();
    if (e.in_flight > 0) --e.in_flight;
    ++e.changes;
  }
}

void WriteLedger::unknown(const std::vector<Mutation>& ops) {
  std::lock_guard lock(mutex_);
  for (const Mutation& op : ops) {
    Entry& e = entry(op.key);
    e.unknown.insert(op.value);
    if (e.in_flight > 0) --e.in_flight;
    ++e.changes;
  }
}

void WriteLedger::refused(const std::vector<Mutation>& ops) {
  std::lock_guard lock(mutex_);
  for (const Mutation& op : ops) {
    Entry& e = entry(op.key);
    if (e.in_flight > 0) --e.in_flight;
    ++e.changes;
  }
}

absl::Status WriteLedger::check(const std::string& key, const Value& found) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  const Value absent;
  const Value& acknowledged = it == entries_.end() ? absent : it->second.acknowledged;
  if (found == acknowledged) return absl::OkStatus();
  if (it != entries_.end() && it->second.unknown.count(found) > 0) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat("key 0x", absl::BytesToHexString(key), " holds ", describe(found),
                   "; acknowledged: ", describe(acknowledged), " (and ",
                   it == entries_.end() ? 0 : it->second.unknown.size(), " unknown outcomes)"));
}

void WriteLedger::settle(const std::string& key, const Value& found) {
  std::lock_guard lock(mutex_);
  Entry& e = entry(key);
  e.acknowledged = found;
  e.unknown.clear();
  ++e.changes;
}

std::vector<std::string> WriteLedger::keys() const {
  std::lock_guard lock(mutex_);
  return order_;
}

std::size_t WriteLedger::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

std::size_t WriteLedger::present() const {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (const auto& [key, e] : entries_) count += e.acknowledged.has_value() ? 1 : 0;
  return count;
}

std::optional<WriteLedger::Sample> WriteLedger::sample(std::mt19937_64& rng) const {
  std::lock_guard lock(mutex_);
  if (order_.empty()) return std::nullopt;
  Sample sample;
  sample.key = order_[rng() % order_.size()];
  const Entry& e = entries_.at(sample.key);
  sample.token = e.changes;
  sample.quiet = e.in_flight == 0;
  return sample;
}

bool WriteLedger::stable(const Sample& sample) const {
  std::lock_guard lock(mutex_);
  return sample.quiet && entries_.at(sample.key).changes == sample.token;
}

absl::Status check_every_key(rpc::ArborClient& client, const std::string& tree,
                             const WriteLedger& ledger) {
  for (const std::string& key : ledger.keys()) {
    v1::GetRequest request;
    request.set_tree(tree);
    request.set_key(key);
    v1::GetResponse got;
    grpc::ClientContext context;
    client.prepare(context);
    if (const grpc::Status read = client.stub().Get(&context, request, &got); !read.ok()) {
      return absl::UnavailableError(
          absl::StrCat("Get of key 0x", absl::BytesToHexString(key), ": ", read.error_message()));
    }
    if (absl::Status allowed = ledger.check(key, got.found() ? Value(got.value()) : std::nullopt);
        !allowed.ok()) {
      return allowed;
    }
  }
  return absl::OkStatus();
}

}  // namespace arbor::crash
