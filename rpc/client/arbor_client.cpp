#include "rpc/client/arbor_client.hpp"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace arbor::rpc {

ArborClient::ArborClient(ClientOptions options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::Arbor::NewStub(channel_)) {}

absl::StatusOr<std::unique_ptr<ArborClient>> ArborClient::connect(const ClientOptions& options) {
  if (options.address.empty()) return absl::InvalidArgumentError("--server: an address is needed");
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls) {
    grpc::SslCredentialsOptions ssl;
    if (!options.ca_file.empty()) {
      std::ifstream in(options.ca_file);
      if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", options.ca_file));
      std::stringstream pem;
      pem << in.rdbuf();
      ssl.pem_root_certs = pem.str();
    }
    credentials = grpc::SslCredentials(ssl);
  } else {
    credentials = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments arguments;
  arguments.SetMaxReceiveMessageSize(-1);
  arguments.SetMaxSendMessageSize(-1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.address, credentials, arguments);
  return std::make_unique<ArborClient>(options, std::move(channel));
}

void ArborClient::prepare(grpc::ClientContext& context) const {
  if (!options_.token.empty()) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", options_.token));
  }
  if (options_.timeout.count() > 0) {
    context.set_deadline(std::chrono::system_clock::now() + options_.timeout);
  }
}

absl::Status ArborClient::wait_connected(std::chrono::milliseconds timeout) const {
  if (channel_->WaitForConnected(std::chrono::system_clock::now() + timeout)) {
    return absl::OkStatus();
  }
  return absl::UnavailableError(absl::StrCat("cannot reach arbord at ", options_.address));
}

}  // namespace arbor::rpc
