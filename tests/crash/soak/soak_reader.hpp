// A reader of the soak, while the writers write: Get with a proof of a key some writer wrote,
// checked three ways. The proof verifies (Verify) against the root the answer reports, which is
// the root GetTree reports for that version; the version is not behind any write acknowledged
// before the Get; and where no write of the key overlapped the Get, the value is the ledger's.
#pragma once

#include <cstdint>
#include <vector>

#include "rpc/client/arbor_client.hpp"
#include "tests/crash/soak/soak_state.hpp"

namespace arbor::soak {

void read_until_stopped(rpc::ArborClient& client, const std::vector<SoakTree*>& trees,
                        std::uint64_t seed, const CycleFlags& flags, Counters& counters,
                        Failures& failures);

}  // namespace arbor::soak
