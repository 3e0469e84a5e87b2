// One write of the soak's load, in one of the API's four forms, and how it is sent and sent again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "grpcpp/support/status.h"
#include "rpc/client/arbor_client.hpp"
#include "tests/crash/write_ledger.hpp"

namespace arbor::soak {

enum class WriteKind {
  kWrite,        // Write
  kTransaction,  // a Transaction stream of two messages
  kTx,           // BeginTx, AddToTx twice, CommitTx
};

struct Attempt {
  WriteKind kind = WriteKind::kWrite;
  std::string tree;
  std::vector<crash::Mutation> ops;  // distinct keys; with a key, ops[0] is a put
  std::string idempotency_key;       // empty: never sent again
  std::string tx_id;                 // kTx, once begun
  std::uint64_t version = 0;         // once acknowledged
};

struct Answer {
  grpc::Status status;
  v1::WriteResponse response;
  // kTx: false when it failed before CommitTx was sent, so nothing was applied.
  bool commit_sent = true;
};

// Sends a new attempt.
Answer send(rpc::ArborClient& client, Attempt& attempt);
// Sends it again with the same idempotency key: the same Write or Transaction, or kTx's CommitTx
// with the same transaction id (the transaction is gone; its key is not).
Answer resend(rpc::ArborClient& client, const Attempt& attempt);

const char* kind_name(WriteKind kind);

}  // namespace arbor::soak
