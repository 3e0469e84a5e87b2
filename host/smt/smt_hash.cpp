#include "host/smt/smt_hash.hpp"

#include "kernels/poseidon/poseidon_hash.hpp"
#include "kernels/poseidon/poseidon_params.hpp"

namespace arbor::smt {

Fr leaf_hash(const Fr& key, const Fr& value) {
  static const poseidon::PoseidonTables tables = poseidon::poseidon_params(4).tables();
  Fr state[4] = {Fr::zero(), key, value, Fr::one()};
  poseidon::permute_fastest<4>(state, tables);
  return state[0];
}

Fr node_hash(const Fr& left, const Fr& right) {
  static const poseidon::PoseidonTables tables = poseidon::poseidon_params(3).tables();
  Fr state[3] = {Fr::zero(), left, right};
  poseidon::permute_fastest<3>(state, tables);
  return state[0];
}

}  // namespace arbor::smt
