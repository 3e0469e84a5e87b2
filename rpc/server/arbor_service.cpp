#include "rpc/server/arbor_service.hpp"

#include <openssl/crypto.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "rpc/server/wire.hpp"
#include "spdlog/spdlog.h"

namespace arbor::rpc {
namespace {

using Clock = std::chrono::steady_clock;

// Unanswered writes one StreamWrite may have queued; beyond it the server stops reading.
constexpr size_t kStreamReadAhead = 1024;

bool token_matches(std::string_view given, const std::vector<std::string>& tokens) {
  bool found = false;
  for (const std::string& token : tokens) {
    // Constant time per candidate, so a token cannot be guessed byte by byte from timings.
    found |= token.size() == given.size() &&
             CRYPTO_memcmp(token.data(), given.data(), given.size()) == 0;
  }
  return found;
}

absl::StatusOr<service::WriteRequest> decode_write(const v1::WriteRequest& request,
                                                   std::string_view prefix) {
  const std::string at = prefix.empty() ? "" : absl::StrCat(std::string(prefix), ".");
  if (absl::Status tree = check_tree_name(request.tree(), absl::StrCat(at, "tree")); !tree.ok()) {
    return tree;
  }
  if (absl::Status label = check_label(request.label(), absl::StrCat(at, "label")); !label.ok()) {
    return label;
  }
  absl::StatusOr<std::vector<tree::Op>> ops = ops_from_wire(request.ops(), absl::StrCat(at, "ops"));
  if (!ops.ok()) return ops.status();
  service::WriteRequest write;
  write.ops = std::move(*ops);
  if (request.has_expected_version()) write.expected_version = request.expected_version();
  write.label = request.label();
  write.with_proofs = request.with_proofs();
  write.idempotency_key = request.idempotency_key();
  return write;
}

// Proofs a write answer carries: one per key (smt), or one witness for all (verkle).
std::uint64_t proofs_in(const v1::WriteResponse& response) {
  if (!response.proof().empty()) return 1;
  std::uint64_t count = 0;
  for (const v1::KeyProof& proof : response.proofs()) count += proof.proof().empty() ? 0 : 1;
  return count;
}

absl::Status wait_for(service::WriteFuture future, v1::WriteResponse& response) {
  absl::StatusOr<service::WriteOutcome> outcome = future.get();
  if (!outcome.ok()) return outcome.status();
  outcome_to_wire(*outcome, response);
  return absl::OkStatus();
}

}  // namespace

ArborService::ArborService(service::AuthConfig auth, RpcObserver observer)
    : auth_(std::move(auth)), observer_(std::move(observer)) {}

absl::StatusOr<service::Engine*> ArborService::admit(const grpc::ServerContext& context,
                                                     Access access, std::string_view method) const {
  if (auth_.enabled()) {
    const auto& metadata = context.client_metadata();
    auto header = metadata.find("authorization");
    if (header == metadata.end()) {
      return absl::UnauthenticatedError(
          "this server needs a bearer token: send metadata `authorization: Bearer <token>`");
    }
    const std::string_view value(header->second.data(), header->second.size());
    constexpr std::string_view kBearer = "Bearer ";
    if (value.substr(0, kBearer.size()) != kBearer) {
      return absl::UnauthenticatedError("authorization: expected `Bearer <token>`");
    }
    const std::string_view token = value.substr(kBearer.size());
    const bool writer = token_matches(token, auth_.write_tokens);
    const bool reader = writer || token_matches(token, auth_.read_tokens);
    if (!reader) return absl::UnauthenticatedError("authorization: unknown token");
    if (access == Access::kWrite && !writer) {
      return absl::PermissionDeniedError(
          absl::StrCat("a read-only token cannot call ", std::string(method)));
    }
  }
  service::Engine* engine = engine_.load();
  if (engine == nullptr) {
    return absl::UnavailableError("the server is starting: the store is not open yet");
  }
  return engine;
}

grpc::Status ArborService::finish(std::string_view method, Clock::time_point started,
                                  const absl::Status& status, std::uint64_t proofs) const {
  const grpc::Status answer = to_grpc(status);
  if (observer_) {
    observer_(method, answer.error_code(),
              std::chrono::duration<double, std::milli>(Clock::now() - started).count(),
              status.ok() ? proofs : 0);
  }
  if (!status.ok() && status.code() != absl::StatusCode::kNotFound) {
    spdlog::debug("{}: {}", std::string(method), status.ToString());
  }
  return answer;
}

grpc::Status ArborService::CreateTree(grpc::ServerContext* context,
                                      const v1::CreateTreeRequest* request,
                                      v1::TreeInfo* response) {
  const auto started = Clock::now();
  return finish("CreateTree", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kWrite, "CreateTree");
    if (!engine.ok()) return engine.status();
    if (absl::Status name = check_tree_name(request->name(), "name"); !name.ok()) return name;
    if (request->max_depth() > 1024) {  // keeps the cast below exact; the scheme checks the rest
      return absl::InvalidArgumentError(
          absl::StrCat("max_depth: ", request->max_depth(), " is not a depth"));
    }
    tree::CreateOptions create;
    create.max_depth = static_cast<int>(request->max_depth());
    create.keep_versions = request->keep_versions();
    absl::StatusOr<service::TreeSummary> created =
        (*engine)->create_tree(request->name(), request->scheme(), create);
    if (!created.ok()) return created.status();
    summary_to_wire(*created, *response);
    return absl::OkStatus();
  }());
}

grpc::Status ArborService::ListTrees(grpc::ServerContext* context, const v1::ListTreesRequest*,
                                     v1::ListTreesResponse* response) {
  const auto started = Clock::now();
  return finish("ListTrees", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kRead, "ListTrees");
    if (!engine.ok()) return engine.status();
    absl::StatusOr<std::vector<service::TreeSummary>> trees = (*engine)->list_trees();
    if (!trees.ok()) return trees.status();
    for (const service::TreeSummary& tree : *trees) summary_to_wire(tree, *response->add_trees());
    return absl::OkStatus();
  }());
}

grpc::Status ArborService::GetTree(grpc::ServerContext* context, const v1::GetTreeRequest* request,
                                   v1::TreeInfo* response) {
  const auto started = Clock::now();
  return finish("GetTree", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kRead, "GetTree");
    if (!engine.ok()) return engine.status();
    if (absl::Status name = check_tree_name(request->tree(), "tree"); !name.ok()) return name;
    absl::StatusOr<service::VersionSelector> at = selector_from_wire(request->at(), "at");
    if (!at.ok()) return at.status();
    absl::StatusOr<service::TreeSummary> tree = (*engine)->tree(request->tree(), *at);
    if (!tree.ok()) return tree.status();
    summary_to_wire(*tree, *response);
    return absl::OkStatus();
  }());
}

grpc::Status ArborService::Write(grpc::ServerContext* context, const v1::WriteRequest* request,
                                 v1::WriteResponse* response) {
  const auto started = Clock::now();
  const absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kWrite, "Write");
    if (!engine.ok()) return engine.status();
    absl::StatusOr<service::WriteRequest> write = decode_write(*request, "");
    if (!write.ok()) return write.status();
    absl::StatusOr<service::WriteFuture> future =
        (*engine)->write(request->tree(), std::move(*write));
    if (!future.ok()) return future.status();
    return wait_for(std::move(*future), *response);
  }();
  // The count is read only after the handler ran.
  return finish("Write", started, status, proofs_in(*response));
}

grpc::Status ArborService::StreamWrite(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::StreamWriteResponse, v1::StreamWriteRequest>* stream) {
  const auto started = Clock::now();
  absl::StatusOr<service::Engine*> engine = admit(*context, Access::kWrite, "StreamWrite");
  if (!engine.ok()) return finish("StreamWrite", started, engine.status());

  // The reader (this thread) submits; an answerer thread answers accepted writes in order, as
  // each is applied. A write refused before it was queued (bad, overloaded) is answered at once
  // by the reader, ahead of earlier writes still queued: clients match answers by request_id.
  // Accepted writes are applied whatever happens to the stream, so the answerer waits for every
  // one of them.
  struct InFlight {
    std::uint64_t request_id = 0;
    service::WriteFuture future;
  };
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<InFlight> in_flight;
  bool reading_done = false;
  std::mutex write_mutex;    // one stream->Write at a time (reader and answerer both write)
  bool client_gone = false;  // guarded by write_mutex
  auto send = [&](const v1::StreamWriteResponse& response) {
    std::lock_guard lock(write_mutex);
    if (!client_gone && !stream->Write(response)) client_gone = true;
  };
  auto answer = [](std::uint64_t request_id, const absl::Status& status,
                   v1::StreamWriteResponse& response) {
    response.set_request_id(request_id);
    response.set_code(static_cast<int>(status.code()));
    response.set_message(std::string(status.message()));
    if (!status.ok()) response.clear_result();
  };
  std::uint64_t proofs = 0;  // written by the answerer only, read after it is joined
  std::thread answerer([&] {
    for (;;) {
      InFlight next;
      {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return reading_done || !in_flight.empty(); });
        if (in_flight.empty()) return;
        next = std::move(in_flight.front());
        in_flight.pop_front();
      }
      changed.notify_all();
      v1::StreamWriteResponse response;
      const absl::Status status = wait_for(std::move(next.future), *response.mutable_result());
      answer(next.request_id, status, response);
      proofs += proofs_in(response.result());
      send(response);
    }
  });

  v1::StreamWriteRequest request;
  std::uint64_t index = 0;
  std::uint64_t refused = 0;
  while (stream->Read(&request)) {
    ++index;
    absl::StatusOr<service::WriteRequest> write = decode_write(request.write(), "write");
    absl::StatusOr<service::WriteFuture> future =
        write.ok() ? (*engine)->write(request.write().tree(), std::move(*write), "write.ops")
                   : absl::StatusOr<service::WriteFuture>(write.status());
    if (!future.ok()) {
      ++refused;
      v1::StreamWriteResponse response;
      answer(request.request_id(), future.status(), response);
      send(response);
      continue;
    }
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return in_flight.size() < kStreamReadAhead; });
    in_flight.push_back(InFlight{request.request_id(), std::move(*future)});
    changed.notify_all();
  }
  {
    std::lock_guard lock(mutex);
    reading_done = true;
  }
  changed.notify_all();
  answerer.join();
  spdlog::debug("StreamWrite: {} writes on one stream, {} refused", index, refused);
  return finish("StreamWrite", started, absl::OkStatus(), proofs);
}

grpc::Status ArborService::BeginTx(grpc::ServerContext* context, const v1::BeginTxRequest* request,
                                   v1::BeginTxResponse* response) {
  const auto started = Clock::now();
  return finish("BeginTx", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kWrite, "BeginTx");
    if (!engine.ok()) return engine.status();
    if (absl::Status name = check_tree_name(request->tree(), "tree"); !name.ok()) return name;
    absl::StatusOr<service::TxHandle> tx =
        (*engine)->begin_tx(request->tree(), request->timeout_ms());
    if (!tx.ok()) return tx.status();
    response->set_tx_id(tx->id);
    response->set_timeout_ms(tx->timeout_ms);
    return absl::OkStatus();
  }());
}

grpc::Status ArborService::AddToTx(grpc::ServerContext* context, const v1::AddToTxRequest* request,
                                   v1::AddToTxResponse* response) {
  const auto started = Clock::now();
  return finish("AddToTx", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kWrite, "AddToTx");
    if (!engine.ok()) return engine.status();
    absl::StatusOr<std::vector<tree::Op>> ops = ops_from_wire(request->ops(), "ops");
    if (!ops.ok()) return ops.status();
    absl::StatusOr<std::uint64_t> pending = (*engine)->add_to_tx(request->tx_id(), std::move(*ops));
    if (!pending.ok()) return pending.status();
    response->set_pending_ops(*pending);
    return absl::OkStatus();
  }());
}

grpc::Status ArborService::CommitTx(grpc::ServerContext* context,
                                    const v1::CommitTxRequest* request,
                                    v1::WriteResponse* response) {
  const auto started = Clock::now();
  const absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kWrite, "CommitTx");
    if (!engine.ok()) return engine.status();
    if (absl::Status label = check_label(request->label(), "label"); !label.ok()) return label;
    service::CommitOptions commit;
    if (request->has_expected_version()) commit.expected_version = request->expected_version();
    commit.label = request->label();
    commit.with_proofs = request->with_proofs();
    commit.idempotency_key = request->idempotency_key();
    absl::StatusOr<service::WriteFuture> future =
        (*engine)->commit_tx(request->tx_id(), std::move(commit));
    if (!future.ok()) return future.status();
    return wait_for(std::move(*future), *response);
  }();
  // The count is read only after the handler ran.
  return finish("CommitTx", started, status, proofs_in(*response));
}

grpc::Status ArborService::AbortTx(grpc::ServerContext* context, const v1::AbortTxRequest* request,
                                   v1::AbortTxResponse* response) {
  const auto started = Clock::now();
  return finish("AbortTx", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kWrite, "AbortTx");
    if (!engine.ok()) return engine.status();
    absl::StatusOr<std::uint64_t> discarded = (*engine)->abort_tx(request->tx_id());
    if (!discarded.ok()) return discarded.status();
    response->set_discarded_ops(*discarded);
    return absl::OkStatus();
  }());
}

grpc::Status ArborService::Transaction(grpc::ServerContext* context,
                                       grpc::ServerReader<v1::TransactionRequest>* reader,
                                       v1::WriteResponse* response) {
  const auto started = Clock::now();
  const absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kWrite, "Transaction");
    if (!engine.ok()) return engine.status();
    std::optional<std::string> tx_id;
    std::string tree;
    // Whatever ends this call before the commit discards the transaction.
    auto discard = [&] {
      if (tx_id) (void)(*engine)->abort_tx(*tx_id);
    };
    v1::TransactionRequest message;
    std::uint64_t index = 0;
    while (reader->Read(&message)) {
      const std::string at = absl::StrCat("messages[", index++, "]");
      if (!tx_id) {
        tree = message.tree();
        if (absl::Status name = check_tree_name(tree, absl::StrCat(at, ".tree")); !name.ok()) {
          return name;
        }
        absl::StatusOr<service::TxHandle> begun = (*engine)->begin_tx(tree, 0);
        if (!begun.ok()) return begun.status();
        tx_id = begun->id;
      } else if (!message.tree().empty() && message.tree() != tree) {
        discard();
        return absl::InvalidArgumentError(absl::StrCat(at, ".tree: the transaction is on \"", tree,
                                                       "\"; later messages may omit the tree"));
      }
      absl::StatusOr<std::vector<tree::Op>> ops =
          ops_from_wire(message.ops(), absl::StrCat(at, ".ops"));
      if (!ops.ok()) {
        discard();
        return absl::InvalidArgumentError(
            absl::StrCat(ops.status().message(), "; the transaction was discarded"));
      }
      if (!ops->empty()) {
        absl::StatusOr<std::uint64_t> added =
            (*engine)->add_to_tx(*tx_id, std::move(*ops), absl::StrCat(at, ".ops"));
        if (!added.ok()) {
          discard();
          if (added.status().code() == absl::StatusCode::kInvalidArgument) {
            return absl::InvalidArgumentError(
                absl::StrCat(added.status().message(), "; the transaction was discarded"));
          }
          return added.status();
        }
      }
      if (message.commit()) {
        if (absl::Status label = check_label(message.label(), absl::StrCat(at, ".label"));
            !label.ok()) {
          discard();
          return label;
        }
        service::CommitOptions commit;
        if (message.has_expected_version()) commit.expected_version = message.expected_version();
        commit.label = message.label();
        commit.with_proofs = message.with_proofs();
        commit.idempotency_key = message.idempotency_key();
        commit.identify_by = service::CommitOptions::IdentifyBy::kOperations;
        absl::StatusOr<service::WriteFuture> future =
            (*engine)->commit_tx(*tx_id, std::move(commit));
        if (!future.ok()) {
          discard();
          return future.status();
        }
        return wait_for(std::move(*future), *response);
      }
    }
    discard();
    return absl::AbortedError(
        "the transaction stream ended without a commit message; nothing was applied");
  }();
  // The count is read only after the handler ran.
  return finish("Transaction", started, status, proofs_in(*response));
}

grpc::Status ArborService::Get(grpc::ServerContext* context, const v1::GetRequest* request,
                               v1::GetResponse* response) {
  const auto started = Clock::now();
  const absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kRead, "Get");
    if (!engine.ok()) return engine.status();
    if (absl::Status name = check_tree_name(request->tree(), "tree"); !name.ok()) return name;
    absl::StatusOr<service::VersionSelector> at = selector_from_wire(request->at(), "at");
    if (!at.ok()) return at.status();
    absl::StatusOr<service::GetOutcome> got =
        (*engine)->get(request->tree(), request->key(), *at, request->with_proof());
    if (!got.ok()) return got.status();
    response->set_found(got->value.has_value());
    if (got->value) response->set_value(*got->value);
    response->set_version(got->version.version);
    response->set_root(got->version.root);
    response->set_committed_unix_ms(got->version.committed_unix_ms);
    if (got->proof) {
      response->set_proof(got->proof->bytes);
      response->set_proof_format(got->proof->format);
    }
    return absl::OkStatus();
  }();
  // The count is read only after the handler ran.
  return finish("Get", started, status, response->proof().empty() ? 0 : 1);
}

grpc::Status ArborService::GetMany(grpc::ServerContext* context, const v1::GetManyRequest* request,
                                   v1::GetManyResponse* response) {
  const auto started = Clock::now();
  const absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kRead, "GetMany");
    if (!engine.ok()) return engine.status();
    if (absl::Status name = check_tree_name(request->tree(), "tree"); !name.ok()) return name;
    absl::StatusOr<service::VersionSelector> at = selector_from_wire(request->at(), "at");
    if (!at.ok()) return at.status();
    absl::StatusOr<service::GetManyOutcome> got = (*engine)->get_many(
        request->tree(), keys_from_wire(request->keys()), *at, request->with_proof());
    if (!got.ok()) return got.status();
    response->set_version(got->version.version);
    response->set_root(got->version.root);
    response->set_committed_unix_ms(got->version.committed_unix_ms);
    for (const std::optional<std::string>& value : got->values) {
      v1::ValueEntry* entry = response->add_values();
      entry->set_found(value.has_value());
      if (value) entry->set_value(*value);
    }
    if (got->proof) {
      response->set_proof(got->proof->bytes);
      response->set_proof_format(got->proof->format);
    }
    return absl::OkStatus();
  }();
  return finish("GetMany", started, status, response->proof().empty() ? 0 : 1);
}

grpc::Status ArborService::Prove(grpc::ServerContext* context, const v1::ProveRequest* request,
                                 v1::ProveResponse* response) {
  const auto started = Clock::now();
  const absl::Status status = [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kRead, "Prove");
    if (!engine.ok()) return engine.status();
    if (absl::Status name = check_tree_name(request->tree(), "tree"); !name.ok()) return name;
    absl::StatusOr<service::VersionSelector> at = selector_from_wire(request->at(), "at");
    if (!at.ok()) return at.status();
    absl::StatusOr<service::ProveOutcome> proved = (*engine)->prove(
        request->tree(), keys_from_wire(request->keys()), *at, request->encoding());
    if (!proved.ok()) return proved.status();
    response->set_version(proved->version.version);
    response->set_root(proved->version.root);
    response->set_committed_unix_ms(proved->version.committed_unix_ms);
    response->set_proof(proved->proof.bytes);
    response->set_format(proved->proof.format);
    return absl::OkStatus();
  }();
  return finish("Prove", started, status, response->proof().empty() ? 0 : 1);
}

grpc::Status ArborService::Verify(grpc::ServerContext* context, const v1::VerifyRequest* request,
                                  v1::VerifyResponse* response) {
  const auto started = Clock::now();
  return finish("Verify", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kRead, "Verify");
    if (!engine.ok()) return engine.status();
    std::optional<std::string_view> root;
    if (!request->root().empty()) root = request->root();
    // The client's deadline bounds the work (a proof's caps bound it anyway, host/smt/README.md).
    tree::VerifyOptions options;
    const auto deadline = context->deadline();
    if (deadline != std::chrono::system_clock::time_point::max()) {
      options.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                            deadline - std::chrono::system_clock::now());
    }
    absl::StatusOr<tree::VerifyOutcome> verdict =
        (*engine)->verify(request->proof(), root, options);
    if (!verdict.ok()) return verdict.status();
    response->set_valid(verdict->valid);
    response->set_reason(verdict->reason);
    response->set_root(verdict->root);
    response->set_format(verdict->format);
    return absl::OkStatus();
  }());
}

grpc::Status ArborService::Scan(grpc::ServerContext* context, const v1::ScanRequest* request,
                                v1::ScanResponse* response) {
  const auto started = Clock::now();
  return finish("Scan", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kRead, "Scan");
    if (!engine.ok()) return engine.status();
    if (absl::Status name = check_tree_name(request->tree(), "tree"); !name.ok()) return name;
    absl::StatusOr<service::VersionSelector> at = selector_from_wire(request->at(), "at");
    if (!at.ok()) return at.status();
    const std::size_t limit = request->limit() == 0 ? 1000 : request->limit();
    absl::StatusOr<service::ScanOutcome> scanned =
        (*engine)->scan(request->tree(), *at, request->after(), limit);
    if (!scanned.ok()) return scanned.status();
    response->set_version(scanned->version.version);
    response->set_root(scanned->version.root);
    for (auto& [key, value] : scanned->page.entries) {
      v1::ScanEntry* entry = response->add_entries();
      entry->set_key(std::move(key));
      entry->set_value(std::move(value));
    }
    response->set_more(scanned->page.more);
    return absl::OkStatus();
  }());
}

grpc::Status ArborService::WatchVersions(grpc::ServerContext* context,
                                         const v1::WatchVersionsRequest* request,
                                         grpc::ServerWriter<v1::VersionEvent>* writer) {
  const auto started = Clock::now();
  return finish("WatchVersions", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kRead, "WatchVersions");
    if (!engine.ok()) return engine.status();
    const std::string& tree = request->tree();
    if (absl::Status name = check_tree_name(tree, "tree"); !name.ok()) return name;
    // A state no feed has, so the first wait answers at once with the current one.
    service::FeedState seen{~0ULL, ~0ULL, ~0ULL};
    absl::StatusOr<service::FeedState> state =
        (*engine)->wait_for_versions(tree, seen, std::chrono::milliseconds(0));
    if (!state.ok()) return state.status();
    std::uint64_t next = request->has_from_version() ? request->from_version() : state->head + 1;
    std::uint64_t rollbacks = state->rollbacks;
    auto send = [&](const storage::VersionRecord& record, bool rolled_back) {
      v1::VersionEvent event;
      version_to_wire(record, rolled_back, event);
      return writer->Write(event);
    };
    while (!context->IsCancelled() && !stopping_.load()) {
      if (state->rollbacks != rollbacks) {
        rollbacks = state->rollbacks;
        // Versions above the rollback target that were reported are gone: say so once, with
        // the new head, and go on from there.
        if (next > state->last_rollback_to + 1) {
          absl::StatusOr<storage::VersionRecord> head =
              (*engine)->version_record(tree, state->last_rollback_to);
          if (head.ok()) {
            if (!send(*head, true)) return absl::OkStatus();
            next = state->last_rollback_to + 1;
          }
        }
      }
      while (next <= state->head && !context->IsCancelled()) {
        absl::StatusOr<storage::VersionRecord> record = (*engine)->version_record(tree, next);
        if (record.status().code() == absl::StatusCode::kOutOfRange) {
          // Pruned meanwhile (go on from the oldest readable version), or rolled back below it.
          absl::StatusOr<service::TreeSummary> summary = (*engine)->tree(tree);
          if (!summary.ok()) return summary.status();
          if (next > summary->at.version) break;
          if (summary->info.oldest_version <= next) return record.status();
          next = summary->info.oldest_version;
          continue;
        }
        if (!record.ok()) return record.status();
        if (!send(*record, false)) return absl::OkStatus();  // the client went away
        ++next;
      }
      state = (*engine)->wait_for_versions(tree, *state, std::chrono::milliseconds(250));
      if (!state.ok()) return state.status();
    }
    return absl::OkStatus();
  }());
}

grpc::Status ArborService::Rollback(grpc::ServerContext* context,
                                    const v1::RollbackRequest* request, v1::TreeInfo* response) {
  const auto started = Clock::now();
  return finish("Rollback", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kWrite, "Rollback");
    if (!engine.ok()) return engine.status();
    if (absl::Status name = check_tree_name(request->tree(), "tree"); !name.ok()) return name;
    if (!request->has_to() ||
        request->to().selector_case() == v1::VersionSelector::SELECTOR_NOT_SET) {
      return absl::InvalidArgumentError("to: a version or a label is required");
    }
    absl::StatusOr<service::VersionSelector> to = selector_from_wire(request->to(), "to");
    if (!to.ok()) return to.status();
    absl::StatusOr<service::TreeSummary> rolled = (*engine)->rollback(request->tree(), *to);
    if (!rolled.ok()) return rolled.status();
    summary_to_wire(*rolled, *response);
    return absl::OkStatus();
  }());
}

grpc::Status ArborService::Prune(grpc::ServerContext* context, const v1::PruneRequest* request,
                                 v1::PruneResponse* response) {
  const auto started = Clock::now();
  return finish("Prune", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kWrite, "Prune");
    if (!engine.ok()) return engine.status();
    if (absl::Status name = check_tree_name(request->tree(), "tree"); !name.ok()) return name;
    absl::StatusOr<storage::PruneResult> pruned =
        (*engine)->prune(request->tree(), request->oldest_version(), request->compact());
    if (!pruned.ok()) return pruned.status();
    response->set_oldest_version(pruned->oldest_version);
    response->set_versions_dropped(pruned->versions_dropped);
    response->set_records_deleted(pruned->records_deleted);
    return absl::OkStatus();
  }());
}

grpc::Status ArborService::Checkpoint(grpc::ServerContext* context,
                                      const v1::CheckpointRequest* request,
                                      v1::CheckpointResponse* response) {
  const auto started = Clock::now();
  return finish("Checkpoint", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kWrite, "Checkpoint");
    if (!engine.ok()) return engine.status();
    absl::StatusOr<std::filesystem::path> path = (*engine)->checkpoint(request->name());
    if (!path.ok()) return path.status();
    response->set_path(path->string());
    return absl::OkStatus();
  }());
}

grpc::Status ArborService::Stats(grpc::ServerContext* context, const v1::StatsRequest*,
                                 v1::StatsResponse* response) {
  const auto started = Clock::now();
  return finish("Stats", started, [&]() -> absl::Status {
    absl::StatusOr<service::Engine*> engine = admit(*context, Access::kRead, "Stats");
    if (!engine.ok()) return engine.status();
    const service::EngineStats stats = (*engine)->stats();
    response->set_backend(stats.backend);
    for (const service::TreeCounters& tree : stats.trees) {
      v1::TreeStats* wire = response->add_trees();
      wire->set_tree(tree.tree);
      wire->set_scheme(tree.scheme);
      wire->set_version(tree.version);
      wire->set_size(tree.size);
      wire->set_queued_writes(tree.batcher.queued_writes);
      wire->set_queued_ops(tree.batcher.queued_ops);
      wire->set_open_transactions(tree.open_transactions);
      wire->set_writes(tree.batcher.accepted_writes);
      wire->set_versions(tree.batcher.versions);
    }
    response->set_store_commits(stats.store.commits);
    response->set_store_records_committed(stats.store.records_committed);
    response->set_block_cache_usage_bytes(stats.store.block_cache_usage);
    response->set_pending_compaction_bytes(stats.store.pending_compaction_bytes);
    response->set_commit_p50_us(stats.store.commit_latency.p50_us);
    response->set_commit_p99_us(stats.store.commit_latency.p99_us);
    response->set_uptime_ms(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_).count());
    return absl::OkStatus();
  }());
}

}  // namespace arbor::rpc
