// The soak's checks with the load stopped: after each restart through arbord, and at the end
// offline on the store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "absl/status/statusor.h"
#include "rpc/client/arbor_client.hpp"
#include "tests/crash/soak/soak_state.hpp"

namespace arbor::soak {

// GetTree's head version; DATA_LOSS when it is behind a version acknowledged before the kill.
absl::StatusOr<std::uint64_t> head_not_behind(rpc::ArborClient& client, const SoakTree& tree);

// Every key ever written, read through arbord (GetMany, one snapshot a page): each holds an
// allowed value, which then becomes the key's settled value. Returns how many keys were read.
absl::StatusOr<std::uint64_t> check_and_settle(rpc::ArborClient& client, SoakTree& tree);

// After a clean stop: the store opened read-only, each tree's head root recomputed from its
// stored values, every key's stored value allowed, no head behind an acknowledged version.
// Returns how many keys were checked.
absl::StatusOr<std::uint64_t> check_offline(const std::filesystem::path& data,
                                            const std::vector<SoakTree*>& trees);

}  // namespace arbor::soak
