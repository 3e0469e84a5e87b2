#include "tests/crash/soak/soak_attempt.hpp"

#include <chrono>
#include <span>

namespace arbor::soak {
namespace {

// Long enough for any version under load; a kill ends a call at once.
constexpr std::chrono::seconds kDeadline{30};

void prepare(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() + kDeadline);
}

void add_ops(std::span<const crash::Mutation> ops,
             google::protobuf::RepeatedPtrField<v1::Op>* out) {
  for (const crash::Mutation& mutation : ops) {
    v1::Op* op = out->Add();
    op->set_key(mutation.key);
    if (mutation.value) {
      op->set_kind(v1::OP_KIND_PUT);
      op->set_value(*mutation.value);
    } else {
      op->set_kind(v1::OP_KIND_DELETE);
    }
  }
}

Answer send_write(rpc::ArborClient& client, const Attempt& attempt) {
  v1::WriteRequest request;
  request.set_tree(attempt.tree);
  add_ops(attempt.ops, request.mutable_ops());
  request.set_idempotency_key(attempt.idempotency_key);
  Answer answer;
  grpc::ClientContext context;
  prepare(context);
  answer.status = client.stub().Write(&context, request, &answer.response);
  return answer;
}

// The operations in two messages, the second with the commit.
Answer send_transaction(rpc::ArborClient& client, const Attempt& attempt) {
  const std::span<const crash::Mutation> ops(attempt.ops);
  const std::size_t half = ops.size() / 2;
  v1::TransactionRequest first;
  first.set_tree(attempt.tree);
  add_ops(ops.first(half), first.mutable_ops());
  v1::TransactionRequest last;
  add_ops(ops.subspan(half), last.mutable_ops());
  last.set_commit(true);
  last.set_idempotency_key(attempt.idempotency_key);
  Answer answer;
  grpc::ClientContext context;
  prepare(context);
  std::unique_ptr<grpc::ClientWriter<v1::TransactionRequest>> stream =
      client.stub().Transaction(&context, &answer.response);
  // A failed Write shows in Finish's status.
  if (stream->Write(first)) stream->Write(last);
  stream->WritesDone();
  answer.status = stream->Finish();
  return answer;
}

Answer commit_tx(rpc::ArborClient& client, const Attempt& attempt) {
  v1::CommitTxRequest request;
  request.set_tx_id(attempt.tx_id);
  request.set_idempotency_key(attempt.idempotency_key);
  Answer answer;
  grpc::ClientContext context;
  prepare(context);
  answer.status = client.stub().CommitTx(&context, request, &answer.response);
  return answer;
}

Answer send_tx(rpc::ArborClient& client, Attempt& attempt) {
  Answer answer;
  answer.commit_sent = false;
  {
    v1::BeginTxRequest request;
    request.set_tree(attempt.tree);
    v1::BeginTxResponse begun;
    grpc::ClientContext context;
    prepare(context);
    answer.status = client.stub().BeginTx(&context, request, &begun);
    if (!answer.status.ok()) return answer;
    attempt.tx_id = begun.tx_id();
  }
  const std::span<const crash::Mutation> ops(attempt.ops);
  const std::size_t half = ops.size() / 2;
  for (std::span<const crash::Mutation> part : {ops.first(half), ops.subspan(half)}) {
    v1::AddToTxRequest request;
    request.set_tx_id(attempt.tx_id);
    add_ops(part, request.mutable_ops());
    v1::AddToTxResponse added;
    grpc::ClientContext context;
    prepare(context);
    answer.status = client.stub().AddToTx(&context, request, &added);
    if (!answer.status.ok()) return answer;
  }
  return commit_tx(client, attempt);
}

}  // namespace

Answer send(rpc::ArborClient& client, Attempt& attempt) {
  switch (attempt.kind) {
    case WriteKind::kWrite:
      return send_write(client, attempt);
    case WriteKind::kTransaction:
      return send_transaction(client, attempt);
    case WriteKind::kTx:
      return send_tx(client, attempt);
  }
  return {};
}

Answer resend(rpc::ArborClient& client, const Attempt& attempt) {
  switch (attempt.kind) {
    case WriteKind::kWrite:
      return send_write(client, attempt);
    case WriteKind::kTransaction:
      return send_transaction(client, attempt);
    case WriteKind::kTx:
      return commit_tx(client, attempt);
  }
  return {};
}

const char* kind_name(WriteKind kind) {
  switch (kind) {
    case WriteKind::kWrite:
      return "Write";
    case WriteKind::kTransaction:
      return "Transaction";
    case WriteKind::kTx:
      return "BeginTx/AddToTx/CommitTx";
  }
  return "?";
}

}  // namespace arbor::soak
