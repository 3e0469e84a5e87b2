// The soak (issue 16; scripts/soak): arbord on one data directory, cycles of mixed load ended by
// a SIGKILL at a random moment, and the promises of README.md, "Reliability: what is guaranteed",
// checked throughout:
// - load: writers on their own keys of an SMT and a Verkle tree (puts, overwrites, deletes) through
//   Write, Transaction and BeginTx/AddToTx/CommitTx, half with an idempotency key; readers whose
//   proofs must verify against the root GetTree reports (soak_reader.hpp);
// - after each restart: no head behind an acknowledged version; each keyed write the kill cut off
//   retried with its key, applied exactly once (soak_writer.hpp); keyed writes acknowledged before
//   the kill answered as replays with their first version; every key ever written holding its
//   acknowledged value or one of its cut-off writes' (soak_checks.hpp);
// - at the end: a clean SIGTERM stop, then the store opened read-only: every key again, and each
//   head's root recomputed from its values (offline_check.hpp).
#pragma once

#include "tests/crash/soak/soak_options.hpp"

namespace arbor::soak {

// 0 when every check held; 1 otherwise, after printing what failed.
int run_soak(const SoakOptions& options);

}  // namespace arbor::soak
