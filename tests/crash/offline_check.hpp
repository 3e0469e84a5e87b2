// After arbord has stopped: a tree's head as the store holds it, and its root recomputed by a
// fresh tree of the same scheme from the stored values alone (arbord_kill_test, arbor_soak).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "host/backend/compute_backend.hpp"
#include "storage/store.hpp"

namespace arbor::crash {

using Entries = std::map<std::string, std::string>;  // key -> value, wire form

// The values of the view's version, read straight from the store.
absl::StatusOr<Entries> stored_values(const storage::TreeView& view);

// The root (wire form) that a new `scheme` tree in a scratch store gets from putting `entries`
// in one batch. A tree with a history of deletes has the same root only where the scheme's shape
// does not depend on history (smt always; verkle while no leaf was ever emptied).
absl::StatusOr<std::string> recomputed_root(std::string_view scheme, const Entries& entries,
                                            host::ComputeBackend& backend);

struct StoredHead {
  std::uint64_t version = 0;
  Entries values;
};

// Reads `tree`'s head from `store` and checks it: the tree opens, the head's key count is the
// number of stored values, and its root is recomputed_root() of them. DATA_LOSS saying what
// differs.
absl::StatusOr<StoredHead> check_stored_head(storage::Store& store, const std::string& tree,
                                             host::ComputeBackend& backend);

}  // namespace arbor::crash
