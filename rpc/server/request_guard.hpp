// Answers for requests that never reach a handler because they do not decode.
//
// gRPC answers a unary request whose bytes are not a valid message (not protobuf at all, or a
// `string` field holding invalid UTF-8) with INTERNAL and an empty message, and protobuf logs one
// line per such request. The interceptor below turns that answer into INVALID_ARGUMENT naming the
// method; the log limiter keeps a flood of bad requests from becoming a flood of log lines.
//
// Client- and bidi-streaming calls (StreamWrite, Transaction) decode inside the handler's Read(),
// where gRPC reports a bad message as the end of the stream: StreamWrite then ends after
// answering every message before it, and Transaction, which only commits on an explicit commit
// message, discards the transaction.
#pragma once

#include <memory>

#include "grpcpp/support/server_interceptor.h"

namespace arbor::rpc {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
make_undecodable_request_interceptor_factory();

// The text gRPC's INTERNAL is replaced with, for tests.
inline constexpr const char* kUndecodableRequest =
    "the request is not a valid message (not protobuf, or a string field with invalid UTF-8)";

// Sends protobuf's own log lines to spdlog, at most a burst of 10 and then one per second, with a
// count of what was dropped. Process-wide; call once before serving.
void install_protobuf_log_limiter();

}  // namespace arbor::rpc
