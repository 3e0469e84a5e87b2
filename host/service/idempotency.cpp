#include "host/service/idempotency.hpp"

#include <openssl/evp.h>

#include <array>

#include "absl/strings/str_cat.h"

namespace arbor::service {
namespace {

constexpr std::size_t kHalf = storage::kWriteIdentityBytes / 2;
static_assert(storage::kWriteIdentityBytes == 2 * kHalf);

// Length-prefixed fields, so that no two different requests hash the same bytes.
class Digest {
 public:
  Digest() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr);
  }
  Digest& field(std::string_view bytes) {
    number(bytes.size());
    EVP_DigestUpdate(context_.get(), bytes.data(), bytes.size());
    return *this;
  }
  Digest& number(std::uint64_t value) {
    std::array<unsigned char, 8> be{};
    for (int i = 0; i < 8; ++i) be[i] = static_cast<unsigned char>(value >> (56 - 8 * i));
    EVP_DigestUpdate(context_.get(), be.data(), be.size());
    return *this;
  }
  // The first kHalf bytes of the SHA-256.
  std::string finish() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned int length = 0;
    EVP_DigestFinal_ex(context_.get(), out.data(), &length);
    return std::string(reinterpret_cast<const char*>(out.data()), kHalf);
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

std::string key_hash(std::string_view tree, std::string_view key) {
  return Digest().field("arbor idempotency key").field(tree).field(key).finish();
}

void add_common(Digest& digest, std::optional<std::uint64_t> expected_version,
                std::string_view label) {
  digest.number(expected_version.has_value() ? 1 : 0).number(expected_version.value_or(0));
  digest.field(label);
}

}  // namespace

absl::Status check_idempotency_key(std::string_view key, std::string_view field) {
  if (key.size() > kMaxIdempotencyKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(field), ": ", key.size(),
                                                   " bytes, longer than the limit of ",
                                                   kMaxIdempotencyKeyBytes));
  }
  return absl::OkStatus();
}

std::string write_identity(std::string_view tree, std::string_view key,
                           std::span<const tree::Op> ops,
                           std::optional<std::uint64_t> expected_version, std::string_view label) {
  Digest digest;
  digest.field("write").number(ops.size());
  for (const tree::Op& op : ops) {
    digest.number(op.kind == tree::Op::Kind::kPut ? 1 : 2).field(op.key).field(op.value);
  }
  add_common(digest, expected_version, label);
  return key_hash(tree, key) + digest.finish();
}

std::string commit_identity(std::string_view tree, std::string_view key, std::string_view tx_id,
                            std::optional<std::uint64_t> expected_version, std::string_view label) {
  Digest digest;
  digest.field("commit").field(tx_id);
  add_common(digest, expected_version, label);
  return key_hash(tree, key) + digest.finish();
}

void IdempotencyLedger::load(const std::vector<storage::VersionRecord>& versions) {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, std::uint64_t>> newest_first;
  for (auto record = versions.rbegin(); record != versions.rend(); ++record) {
    if (record->idempotent_writes.empty()) continue;
    storage::VersionRecord kept = *record;
    kept.idempotent_writes.clear();
    auto shared = std::make_shared<const storage::VersionRecord>(std::move(kept));
    for (const std::string& identity : record->idempotent_writes) {
      std::string hash = identity.substr(0, kHalf);
      // A key applied twice (after a rollback forgot it) answers with its newest version.
      if (!entries_.emplace(hash, Entry{identity.substr(kHalf), shared}).second) continue;
      newest_first.emplace_back(std::move(hash), record->version);
      if (newest_first.size() >= capacity_) break;
    }
    if (newest_first.size() >= capacity_) break;
  }
  applied_order_.assign(std::make_move_iterator(newest_first.rbegin()),
                        std::make_move_iterator(newest_first.rend()));
}

IdempotencyLedger::ClaimResult IdempotencyLedger::lookup(const std::string& identity) const {
  auto found = entries_.find(identity.substr(0, kHalf));
  if (found == entries_.end()) return {Claim::kNew, nullptr};
  const Entry& entry = found->second;
  if (entry.digest != identity.substr(kHalf)) return {Claim::kConflict, entry.version};
  if (!entry.version) return {Claim::kInFlight, nullptr};
  return {Claim::kReplay, entry.version};
}

IdempotencyLedger::ClaimResult IdempotencyLedger::claim(const std::string& identity) {
  std::lock_guard lock(mutex_);
  ClaimResult result = lookup(identity);
  if (result.claim == Claim::kNew) {
    entries_.emplace(identity.substr(0, kHalf), Entry{identity.substr(kHalf), nullptr});
  }
  return result;
}

IdempotencyLedger::ClaimResult IdempotencyLedger::peek(const std::string& identity) const {
  std::lock_guard lock(mutex_);
  return lookup(identity);
}

void IdempotencyLedger::release(const std::string& identity) {
  std::lock_guard lock(mutex_);
  auto found = entries_.find(identity.substr(0, kHalf));
  if (found != entries_.end() && !found->second.version) entries_.erase(found);
}

void IdempotencyLedger::applied(std::span<const std::string> identities,
                                const std::shared_ptr<const storage::VersionRecord>& version) {
  std::lock_guard lock(mutex_);
  for (const std::string& identity : identities) {
    std::string hash = identity.substr(0, kHalf);
    entries_[hash] = Entry{identity.substr(kHalf), version};
    applied_order_.emplace_back(std::move(hash), version->version);
  }
  evict();
}

void IdempotencyLedger::evict() {
  while (applied_order_.size() > capacity_) {
    const auto& [hash, version] = applied_order_.front();
    auto found = entries_.find(hash);
    if (found != entries_.end() && found->second.version &&
        found->second.version->version == version) {
      entries_.erase(found);
    }
    applied_order_.pop_front();
  }
}

void IdempotencyLedger::forget_after(std::uint64_t head) {
  std::lock_guard lock(mutex_);
  // Versions grow along applied_order_: the forgotten ones are at its back.
  while (!applied_order_.empty() && applied_order_.back().second > head) applied_order_.pop_back();
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->second.version && it->second.version->version > head) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

std::size_t IdempotencyLedger::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace arbor::service
