// arbor.v1.Arbor requests through the real service: an ArborService over an Engine on a
// temporary store, served in process (grpc::Server without ports, its InProcessChannel), called
// with a generic stub so that the bytes go through gRPC's own request parsing as they would from a
// client. The first input byte picks the RPC, the rest is the serialized request (for the
// streaming RPCs: messages of one length byte each, then their bytes).
//
// Properties, for every RPC:
//  - a refusal carries a message and one of the codes a malformed or impossible request may get
//    (INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, OUT_OF_RANGE, ABORTED,
//    RESOURCE_EXHAUSTED), never INTERNAL, UNKNOWN, DATA_LOSS or a hang;
//  - a unary or server-streaming request that does not parse as its type is answered
//    INVALID_ARGUMENT by the request guard (rpc/server/request_guard.hpp), as arbord installs it;
//  - a refused request changes no tree (heads, roots, oldest versions);
//  - an answer parses as the RPC's response type; StreamWrite's refused items carry a message;
//  - a checkpoint is made inside the checkpoint directory.
// The store starts with an SMT "s" and a Verkle tree "v" and is rebuilt every kRunsPerStore
// inputs, so a crash input usually reproduces alone (state from earlier inputs can matter).
// Not covered: authentication (no tokens configured), TLS.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "arbor/v1/arbor.pb.h"
#include "host/service/engine.hpp"
#include "host/smt/smt_records.hpp"
#include "rpc/server/arbor_service.hpp"
#include "rpc/server/request_guard.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace arbor::fuzz {
namespace {

using Clock = std::chrono::system_clock;
constexpr int kRunsPerStore = 200;

enum class Shape { kUnary, kClientStream, kBidiStream, kServerStream };

struct Method {
  const char* name;
  Shape shape;
  // Parses a request of this RPC; false when the bytes are not one (not protobuf, or a string
  // field that is not UTF-8).
  bool (*request_parses)(const std::string& bytes);
  // Parses a response of this RPC; false when the bytes are not one.
  bool (*parses)(const std::string& bytes);
};

template <typename Message>
bool parses_as(const std::string& bytes) {
  Message message;
  return message.ParseFromString(bytes);
}

const std::vector<Method>& methods() {
  static const std::vector<Method> all = {
      {"CreateTree", Shape::kUnary, parses_as<v1::CreateTreeRequest>, parses_as<v1::TreeInfo>},
      {"ListTrees", Shape::kUnary, parses_as<v1::ListTreesRequest>,
       parses_as<v1::ListTreesResponse>},
      {"GetTree", Shape::kUnary, parses_as<v1::GetTreeRequest>, parses_as<v1::TreeInfo>},
      {"Write", Shape::kUnary, parses_as<v1::WriteRequest>, parses_as<v1::WriteResponse>},
      {"StreamWrite", Shape::kBidiStream, parses_as<v1::StreamWriteRequest>,
       parses_as<v1::StreamWriteResponse>},
      {"BeginTx", Shape::kUnary, parses_as<v1::BeginTxRequest>, parses_as<v1::BeginTxResponse>},
      {"AddToTx", Shape::kUnary, parses_as<v1::AddToTxRequest>, parses_as<v1::AddToTxResponse>},
      {"CommitTx", Shape::kUnary, parses_as<v1::CommitTxRequest>, parses_as<v1::WriteResponse>},
      {"AbortTx", Shape::kUnary, parses_as<v1::AbortTxRequest>, parses_as<v1::AbortTxResponse>},
      {"Transaction", Shape::kClientStream, parses_as<v1::TransactionRequest>,
       parses_as<v1::WriteResponse>},
      {"Get", Shape::kUnary, parses_as<v1::GetRequest>, parses_as<v1::GetResponse>},
      {"GetMany", Shape::kUnary, parses_as<v1::GetManyRequest>, parses_as<v1::GetManyResponse>},
      {"Prove", Shape::kUnary, parses_as<v1::ProveRequest>, parses_as<v1::ProveResponse>},
      {"Verify", Shape::kUnary, parses_as<v1::VerifyRequest>, parses_as<v1::VerifyResponse>},
      {"Scan", Shape::kUnary, parses_as<v1::ScanRequest>, parses_as<v1::ScanResponse>},
      {"WatchVersions", Shape::kServerStream, parses_as<v1::WatchVersionsRequest>,
       parses_as<v1::VersionEvent>},
      {"Rollback", Shape::kUnary, parses_as<v1::RollbackRequest>, parses_as<v1::TreeInfo>},
      {"Prune", Shape::kUnary, parses_as<v1::PruneRequest>, parses_as<v1::PruneResponse>},
      {"Checkpoint", Shape::kUnary, parses_as<v1::CheckpointRequest>,
       parses_as<v1::CheckpointResponse>},
      {"Stats", Shape::kUnary, parses_as<v1::StatsRequest>, parses_as<v1::StatsResponse>},
  };
  return all;
}

std::size_t method_index(std::string_view name) {
  for (std::size_t i = 0; i < methods().size(); ++i) {
    if (name == methods()[i].name) return i;
  }
  violation("unknown method", name);
}

std::string smt_key(std::uint64_t v) { return smt::fr_bytes(field::from_u64(v)); }
std::string verkle_key(std::uint8_t first, std::uint8_t suffix) {
  std::string key(32, '\x11');
  key[0] = static_cast<char>(first);
  key[31] = static_cast<char>(suffix);
  return key;
}

// One engine and server over a fresh store holding "s" (SMT, 2 versions) and "v" (Verkle).
class Instance {
 public:
  Instance() {
    service::EngineOptions options;
    options.data_dir = dir_.path() / "data";
    options.checkpoint_dir = dir_.path() / "checkpoints";
    options.store.sync = storage::SyncMode::kNone;
    options.backend = host::BackendChoice::kCpu;
    options.warm_up_schemes = false;
    options.batcher.max_delay = std::chrono::microseconds(0);
    options.tx.max_open = 16;
    options.tx.default_timeout_ms = 60'000;
    absl::StatusOr<std::unique_ptr<service::Engine>> engine = service::Engine::open(options);
    check(engine.ok(), "the engine opens", engine.status().ToString());
    engine_ = *std::move(engine);
    check(engine_->create_tree("s", "smt", {0, 16}).ok(), "creates s");
    check(engine_->create_tree("v", "verkle", {}).ok(), "creates v");
    write("s", {tree::Op::put(smt_key(1), smt_key(11)), tree::Op::put(smt_key(2), smt_key(22))},
          "one");
    write("s", {tree::Op::put(smt_key(5), smt_key(55)), tree::Op::erase(smt_key(2))}, "two");
    write("v",
          {tree::Op::put(verkle_key(1, 0), verkle_key(9, 9)),
           tree::Op::put(verkle_key(2, 7), verkle_key(8, 8))},
          "one");
    service_.set_engine(engine_.get());
    // As arbord serves (rpc/arbord/arbord_main.cpp): undecodable requests are answered by the
    // request guard, and protobuf's log lines are rate-limited.
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> guards;
    guards.push_back(rpc::make_undecodable_request_interceptor_factory());
    builder.experimental().SetInterceptorCreators(std::move(guards));
    static const bool limited = [] {
      rpc::install_protobuf_log_limiter();
      return true;
    }();
    (void)limited;
    server_ = builder.BuildAndStart();
    check(server_ != nullptr, "the in-process server starts");
    stub_ =
        std::make_unique<grpc::GenericStub>(server_->InProcessChannel(grpc::ChannelArguments()));
  }
  ~Instance() {
    service_.begin_shutdown();
    server_->Shutdown(Clock::now() + std::chrono::seconds(5));
    engine_->shutdown();
  }
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  service::Engine& engine() { return *engine_; }
  grpc::GenericStub& stub() { return *stub_; }
  const std::filesystem::path& dir() const { return dir_.path(); }

 private:
  void write(const std::string& tree, std::vector<tree::Op> ops, std::string label) {
    service::WriteRequest request;
    request.ops = std::move(ops);
    request.label = std::move(label);
    absl::StatusOr<service::WriteFuture> future = engine_->write(tree, std::move(request));
    check(future.ok(), "a setup write is accepted", future.status().ToString());
    absl::StatusOr<service::WriteOutcome> outcome = future->get();
    check(outcome.ok(), "a setup write applies", outcome.status().ToString());
  }

  TempDir dir_{"service"};
  std::unique_ptr<service::Engine> engine_;
  rpc::ArborService service_{service::AuthConfig{}};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<grpc::GenericStub> stub_;
};

// Replaced every kRunsPerStore inputs; the last one is never destroyed (see TempDir).
std::unique_ptr<Instance>& instance() {
  static auto* current = new std::unique_ptr<Instance>;
  return *current;
}

using TreeState = std::tuple<std::string, std::uint64_t, std::uint64_t, std::string>;

std::vector<TreeState> trees(service::Engine& engine) {
  absl::StatusOr<std::vector<service::TreeSummary>> list = engine.list_trees();
  check(list.ok(), "the engine lists its trees", list.status().ToString());
  std::vector<TreeState> out;
  for (const service::TreeSummary& summary : *list) {
    out.emplace_back(summary.info.name, summary.info.head_version, summary.info.oldest_version,
                     summary.at.root);
  }
  return out;
}

grpc::ByteBuffer buffer_of(std::string_view bytes) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

std::string bytes_of(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  check(buffer.Dump(&slices).ok(), "a response buffer reads");
  std::string out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

struct Outcome {
  grpc::Status status;
  std::vector<std::string> responses;
};

// Runs one call to completion on its own completion queue.
class Call {
 public:
  explicit Call(std::chrono::milliseconds deadline) {
    context_.set_deadline(Clock::now() + deadline);
  }
  ~Call() {
    queue_.Shutdown();
    void* tag;
    bool ok;
    while (queue_.Next(&tag, &ok)) {
    }
  }
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  Outcome unary(grpc::GenericStub& stub, const std::string& method, std::string_view request) {
    Outcome outcome;
    std::unique_ptr<grpc::GenericClientAsyncResponseReader> call =
        stub.PrepareUnaryCall(&context_, method, buffer_of(request), &queue_);
    call->StartCall();
    grpc::ByteBuffer response;
    call->Finish(&response, &outcome.status, this);
    wait();
    if (outcome.status.ok()) outcome.responses.push_back(bytes_of(response));
    return outcome;
  }

  // A bidi or client stream as a real client drives one: answers are read while requests are
  // still being written. (A client that writes everything before reading deadlocks against
  // the in-process transport, which buffers nothing: the server's answer to an early request
  // waits for a read while the client's next write waits for the server's.)
  Outcome stream(grpc::GenericStub& stub, const std::string& method,
                 const std::vector<std::string>& requests) {
    Outcome outcome;
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
        stub.PrepareCall(&context_, method, &queue_);
    call->StartCall(this);
    if (wait()) {
      grpc::ByteBuffer response;
      call->Read(&response, &read_tag_);
      bool reading = true;
      std::size_t next = 0;
      auto write_next = [&] {
        if (next < requests.size()) {
          call->Write(buffer_of(requests[next++]), &write_tag_);
        } else {
          call->WritesDone(&write_tag_);
          next = requests.size() + 1;
        }
      };
      write_next();
      bool writing = true;
      while (reading || writing) {
        void* tag = nullptr;
        bool ok = false;
        check(queue_.Next(&tag, &ok) && (tag == &read_tag_ || tag == &write_tag_),
              "the completion queue answers");
        if (tag == &read_tag_) {
          if (ok) {
            outcome.responses.push_back(bytes_of(response));
            call->Read(&response, &read_tag_);
          } else {
            reading = false;
          }
        } else if (ok && next <= requests.size()) {
          write_next();
        } else {
          writing = false;  // WritesDone answered, or the stream broke
        }
      }
    }
    call->Finish(&outcome.status, this);
    wait();
    return outcome;
  }

 private:
  bool wait() {
    void* tag = nullptr;
    bool ok = false;
    check(queue_.Next(&tag, &ok) && tag == this, "the completion queue answers");
    return ok;
  }

  char read_tag_ = 0;   // its address tags the stream's reads
  char write_tag_ = 0;  // and this one its writes
  grpc::ClientContext context_;
  grpc::CompletionQueue queue_;
};

// Length-prefixed messages (one byte each), at most 8.
std::vector<std::string> split_messages(std::string_view payload) {
  std::vector<std::string> out;
  while (!payload.empty() && out.size() < 8) {
    const std::size_t length =
        std::min<std::size_t>(static_cast<std::uint8_t>(payload[0]), payload.size() - 1);
    out.emplace_back(payload.substr(1, length));
    payload.remove_prefix(1 + length);
  }
  return out;
}

bool allowed_refusal(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return true;
    default:
      return false;
  }
}

void check_one(const Method& method, std::string_view payload) {
  Instance& server = *instance();
  const std::string path = absl::StrCat("/arbor.v1.Arbor/", method.name);
  const std::vector<TreeState> before = trees(server.engine());
  // A watch runs until its deadline; everything else must finish well within it.
  const bool watch = method.shape == Shape::kServerStream;
  Call call(watch ? std::chrono::milliseconds(100) : std::chrono::seconds(20));
  const Outcome outcome = method.shape == Shape::kUnary
                              ? call.unary(server.stub(), path, payload)
                              : call.stream(server.stub(), path,
                                            method.shape == Shape::kServerStream
                                                ? std::vector<std::string>{std::string(payload)}
                                                : split_messages(payload));
  const grpc::Status& status = outcome.status;
  const std::string shown_status =
      absl::StrCat(method.name, ": code ", static_cast<int>(status.error_code()), " \"",
                   status.error_message(), "\" for ", shown(payload));
  for (const std::string& response : outcome.responses) {
    check(method.parses(response), "an answer parses as the RPC's response", shown_status);
  }
  if (method.shape == Shape::kBidiStream) {
    for (const std::string& response : outcome.responses) {
      v1::StreamWriteResponse item;
      item.ParseFromString(response);
      check(item.code() == 0 || !item.message().empty(), "a refused stream item says why",
            shown_status);
    }
  }
  // A unary or server-streaming request that is not a message of its type never reaches the
  // handler: the request guard answers INVALID_ARGUMENT naming the method (README, "Hostile
  // input").
  if ((method.shape == Shape::kUnary || watch) && !method.request_parses(std::string(payload))) {
    check(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT &&
              status.error_message() == absl::StrCat(path, ": ", rpc::kUndecodableRequest),
          "an undecodable request is answered INVALID_ARGUMENT by the guard", shown_status);
    check(trees(server.engine()) == before, "an undecodable request changes no tree", shown_status);
    return;
  }
  if (status.ok() || (watch && status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED)) {
    if (std::string_view(method.name) == "Checkpoint") {
      v1::CheckpointResponse response;
      response.ParseFromString(outcome.responses.at(0));
      const std::filesystem::path made = std::filesystem::weakly_canonical(response.path());
      const std::filesystem::path root =
          std::filesystem::weakly_canonical(server.dir() / "checkpoints");
      check(made.string().starts_with(root.string() + "/"),
            "a checkpoint is made inside the checkpoint directory", made.string());
    }
    return;
  }
  check(allowed_refusal(status.error_code()), "a refusal has a request error's code", shown_status);
  check(!status.error_message().empty(), "a refusal says why", shown_status);
  // Streams may have applied items before one was refused; a unary refusal changes nothing.
  if (method.shape == Shape::kUnary || method.shape == Shape::kClientStream) {
    check(trees(server.engine()) == before, "a refused request changes no tree", shown_status);
  }
}

std::string with_method(std::string_view method, const google::protobuf::Message& request) {
  return with_selector(static_cast<std::uint8_t>(method_index(method)),
                       request.SerializeAsString());
}

std::string stream_of(std::string_view method,
                      const std::vector<const google::protobuf::Message*>& requests) {
  std::string out = with_selector(static_cast<std::uint8_t>(method_index(method)), "");
  for (const google::protobuf::Message* request : requests) {
    const std::string bytes = request->SerializeAsString();
    check(bytes.size() < 256, "a seed stream message fits its length byte");
    out.push_back(static_cast<char>(bytes.size()));
    out += bytes;
  }
  return out;
}

}  // namespace

std::vector<std::string> seeds() {
  std::vector<std::string> out;
  v1::CreateTreeRequest create;
  create.set_name("fresh");
  create.set_max_depth(20);
  out.push_back(with_method("CreateTree", create));
  create.set_scheme("verkle");
  create.set_max_depth(0);
  out.push_back(with_method("CreateTree", create));
  out.push_back(with_method("ListTrees", v1::ListTreesRequest()));
  v1::GetTreeRequest get_tree;
  get_tree.set_tree("s");
  get_tree.mutable_at()->set_version(1);
  out.push_back(with_method("GetTree", get_tree));
  v1::WriteRequest write;
  write.set_tree("s");
  v1::Op* op = write.add_ops();
  op->set_kind(v1::OP_KIND_PUT);
  op->set_key(smt_key(7));
  op->set_value(smt_key(77));
  op = write.add_ops();
  op->set_kind(v1::OP_KIND_DELETE);
  op->set_key(smt_key(1));
  write.set_expected_version(2);
  write.set_label("three");
  write.set_with_proofs(true);
  out.push_back(with_method("Write", write));
  v1::WriteRequest verkle_write;
  verkle_write.set_tree("v");
  op = verkle_write.add_ops();
  op->set_kind(v1::OP_KIND_PUT);
  op->set_key(verkle_key(3, 1));
  op->set_value(verkle_key(4, 4));
  verkle_write.set_with_proofs(true);
  out.push_back(with_method("Write", verkle_write));
  v1::StreamWriteRequest streamed;
  streamed.set_request_id(9);
  *streamed.mutable_write() = write;
  streamed.mutable_write()->clear_expected_version();
  out.push_back(stream_of("StreamWrite", {&streamed, &streamed}));
  v1::BeginTxRequest begin;
  begin.set_tree("s");
  begin.set_timeout_ms(1000);
  out.push_back(with_method("BeginTx", begin));
  v1::AddToTxRequest add;
  add.set_tx_id("no-such-tx");
  *add.mutable_ops() = write.ops();
  out.push_back(with_method("AddToTx", add));
  v1::CommitTxRequest commit;
  commit.set_tx_id("no-such-tx");
  out.push_back(with_method("CommitTx", commit));
  v1::AbortTxRequest abort;
  abort.set_tx_id("no-such-tx");
  out.push_back(with_method("AbortTx", abort));
  v1::TransactionRequest first, last;
  first.set_tree("s");
  *first.mutable_ops() = write.ops();
  last.set_commit(true);
  last.set_label("tx");
  out.push_back(stream_of("Transaction", {&first, &last}));
  v1::GetRequest get;
  get.set_tree("s");
  get.set_key(smt_key(5));
  get.set_with_proof(true);
  out.push_back(with_method("Get", get));
  get.set_tree("v");
  get.set_key(verkle_key(1, 0));
  get.mutable_at()->set_label("one");
  out.push_back(with_method("Get", get));
  v1::GetManyRequest many;
  many.set_tree("s");
  many.add_keys(smt_key(1));
  many.add_keys(smt_key(3));
  many.set_with_proof(true);
  out.push_back(with_method("GetMany", many));
  v1::ProveRequest prove;
  prove.set_tree("v");
  prove.add_keys(verkle_key(1, 0));
  prove.add_keys(verkle_key(5, 5));
  out.push_back(with_method("Prove", prove));
  prove.set_tree("s");
  prove.clear_keys();
  prove.add_keys(smt_key(2));
  prove.set_encoding("json");
  out.push_back(with_method("Prove", prove));
  v1::VerifyRequest verify;
  verify.set_proof("AS\x01\x00\x00" + smt_key(3));
  out.push_back(with_method("Verify", verify));
  v1::ScanRequest scan;
  scan.set_tree("s");
  scan.set_limit(1);
  scan.set_after(smt_key(1));
  out.push_back(with_method("Scan", scan));
  v1::WatchVersionsRequest watch;
  watch.set_tree("s");
  watch.set_from_version(1);
  out.push_back(with_method("WatchVersions", watch));
  v1::RollbackRequest rollback;
  rollback.set_tree("s");
  rollback.mutable_to()->set_label("one");
  out.push_back(with_method("Rollback", rollback));
  v1::PruneRequest prune;
  prune.set_tree("s");
  prune.set_oldest_version(2);
  prune.set_compact(true);
  out.push_back(with_method("Prune", prune));
  v1::CheckpointRequest checkpoint;
  checkpoint.set_name("cp-1");
  out.push_back(with_method("Checkpoint", checkpoint));
  out.push_back(with_method("Stats", v1::StatsRequest()));
  return out;
}

void test_one(std::string_view input) {
  static int runs = 0;
  const std::optional<Selected> in = split_selector(input);
  if (!in) return;
  if (!instance() || ++runs % kRunsPerStore == 0) {
    instance().reset();
    instance() = std::make_unique<Instance>();
  }
  check_one(methods()[in->selector % methods().size()], in->rest);
}

}  // namespace arbor::fuzz
