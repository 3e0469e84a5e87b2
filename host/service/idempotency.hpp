// Idempotency keys: a write (or a transaction's commit) that carries a key is applied at most
// once. A retry with the same key — after an answer was lost to a network fault or a crash — is
// answered with the version the first attempt made, and makes no second version.
//
// Contract:
// - A key is identified by a hash of (tree, key); its write by a digest of what the request asks
//   for (a Write's operations, expected version and label; a commit's transaction id, expected
//   version and label). The same key with a different request is refused (ALREADY_EXISTS), never
//   silently answered with another write's version.
// - The identity (key hash + digest) is stored in the version record of the version that applied
//   it, in the same atomic commit, so a retry after a crash or restart is recognised too.
// - A tree remembers the keys of its newest `capacity` keyed writes among its retained versions
//   (rebuilt at open from the version records). A rollback forgets the keys of the versions it
//   removed: their writes no longer exist, so a retry applies again. Pruning keeps the keys (the
//   answer needs only the version record, which is remembered with them).
// - While the first attempt is queued or being applied, a retry gets UNAVAILABLE (retry later);
//   when the first attempt is refused or fails, its key is released and a retry applies anew.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "host/tree/tree.hpp"
#include "storage/store.hpp"

namespace arbor::service {

// Longest idempotency key accepted (bytes; any bytes).
inline constexpr std::size_t kMaxIdempotencyKeyBytes = 256;

// INVALID_ARGUMENT naming `field` for a key longer than kMaxIdempotencyKeyBytes.
absl::Status check_idempotency_key(std::string_view key, std::string_view field);

// The identity stored in a version record (storage::kWriteIdentityBytes): 16 bytes of
// SHA-256(tree, key), then 16 bytes of SHA-256 of the request's content.
std::string write_identity(std::string_view tree, std::string_view key,
                           std::span<const tree::Op> ops,
                           std::optional<std::uint64_t> expected_version, std::string_view label);
std::string commit_identity(std::string_view tree, std::string_view key, std::string_view tx_id,
                            std::optional<std::uint64_t> expected_version, std::string_view label);

class IdempotencyLedger {
 public:
  explicit IdempotencyLedger(std::size_t capacity) : capacity_(capacity) {}

  // Remembers the writes recorded in `versions` (oldest first), newest first up to capacity.
  void load(const std::vector<storage::VersionRecord>& versions);

  enum class Claim {
    kNew,       // unknown: now in flight; applied() or release() must follow
    kReplay,    // applied before: `version` is its version
    kInFlight,  // the first attempt has not been answered yet
    kConflict,  // the key was used by a different request
  };
  struct ClaimResult {
    Claim claim = Claim::kNew;
    std::shared_ptr<const storage::VersionRecord> version;  // kReplay, kConflict: its version
  };
  ClaimResult claim(const std::string& identity);
  // As claim(), without claiming an unknown identity (kNew then means "not known").
  ClaimResult peek(const std::string& identity) const;
  // The in-flight write was not applied: a retry may apply it.
  void release(const std::string& identity);
  // The in-flight writes were applied as `version`.
  void applied(std::span<const std::string> identities,
               const std::shared_ptr<const storage::VersionRecord>& version);
  // A rollback made `head` the head: forget the writes of every later version.
  void forget_after(std::uint64_t head);

  std::size_t size() const;

 private:
  struct Entry {
    std::string digest;
    std::shared_ptr<const storage::VersionRecord> version;  // null while in flight
  };
  ClaimResult lookup(const std::string& identity) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);
  void evict() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_ ABSL_GUARDED_BY(mutex_);  // by key hash
  // (key hash, version) in the order applied, oldest first; an entry is evicted only while it
  // still names that version (a key forgotten by a rollback may be applied again later).
  std::deque<std::pair<std::string, std::uint64_t>> applied_order_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace arbor::service
