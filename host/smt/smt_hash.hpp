// The two hashes of the iden3/circomlib SMT, one at a time on the CPU (proof verification, small
// jobs). Bulk work goes through a ComputeBackend with the same definitions.
#pragma once

#include "kernels/field/bn254_fr.hpp"

namespace arbor::smt {

using field::Fr;

// Poseidon(key, value, 1): t = 4.
Fr leaf_hash(const Fr& key, const Fr& value);
// Poseidon(left, right): t = 3.
Fr node_hash(const Fr& left, const Fr& right);

}  // namespace arbor::smt
