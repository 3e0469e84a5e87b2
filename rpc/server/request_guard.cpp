#include "rpc/server/request_guard.hpp"

#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace arbor::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

class UndecodableRequestInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit UndecodableRequestInterceptor(std::string method) : method_(std::move(method)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    // The sync server deserializes a unary or server-streaming request before the handler and
    // hands interceptors a null message when that failed.
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      undecodable_ = true;
    }
    if (undecodable_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        methods->GetSendStatus().error_code() == grpc::StatusCode::INTERNAL) {
      methods->ModifySendStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                             absl::StrCat(method_, ": ", kUndecodableRequest)));
    }
    methods->Proceed();
  }

 private:
  const std::string method_;
  bool undecodable_ = false;
};

class UndecodableRequestInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    using Type = grpc::experimental::ServerRpcInfo::Type;
    if (info->type() != Type::UNARY && info->type() != Type::SERVER_STREAMING) return nullptr;
    // gRPC takes ownership of the interceptor (its interface returns a raw pointer).
    return std::make_unique<UndecodableRequestInterceptor>(info->method()).release();
  }
};

// A token bucket for log lines: a burst, then a steady rate; what is dropped is counted and
// reported with the next line let through.
class LogLimiter {
 public:
  // True if this line may be written; `dropped` is then the number suppressed before it.
  bool admit(std::uint64_t& dropped) {
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    tokens_ =
        std::min(kBurst, tokens_ + std::chrono::duration<double>(now - last_).count() * kPerSecond);
    last_ = now;
    if (tokens_ < 1) {
      ++dropped_;
      return false;
    }
    tokens_ -= 1;
    dropped = dropped_;
    dropped_ = 0;
    return true;
  }

 private:
  static constexpr double kBurst = 10;
  static constexpr double kPerSecond = 1;
  std::mutex mutex_;
  double tokens_ = kBurst;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  std::uint64_t dropped_ = 0;
};

LogLimiter& protobuf_log_limiter() {
  static LogLimiter limiter;
  return limiter;
}

void log_protobuf_line(google::protobuf::LogLevel level, const char* filename, int line,
                       const std::string& message) {
  std::uint64_t dropped = 0;
  if (!protobuf_log_limiter().admit(dropped)) return;
  const std::string suppressed =
      dropped == 0 ? "" : absl::StrCat(" (", dropped, " earlier protobuf lines suppressed)");
  switch (level) {
    case google::protobuf::LOGLEVEL_INFO:
      spdlog::info("protobuf {}:{}: {}{}", filename, line, message, suppressed);
      break;
    case google::protobuf::LOGLEVEL_WARNING:
      spdlog::warn("protobuf {}:{}: {}{}", filename, line, message, suppressed);
      break;
    default:
      spdlog::error("protobuf {}:{}: {}{}", filename, line, message, suppressed);
      break;
  }
}

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
make_undecodable_request_interceptor_factory() {
  return std::make_unique<UndecodableRequestInterceptorFactory>();
}

void install_protobuf_log_limiter() { google::protobuf::SetLogHandler(&log_protobuf_line); }

}  // namespace arbor::rpc
