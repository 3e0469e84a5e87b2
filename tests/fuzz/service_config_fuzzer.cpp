// arbord's TOML configuration (host/service/service_config.hpp): parse_service_config on any
// text, the way `arbord --config` reads a file.
//
// Properties: a refusal is INVALID_ARGUMENT with a message (no exception escapes, no crash, no
// runaway recursion: the input is bounded by -max_len); an accepted configuration's description
// (`arbord --print-config`) is TOML that parses back to the same settings, so describing it again
// gives the same text (tokens, which are not shown, aside); validation answers OK or
// INVALID_ARGUMENT with a message.
#include <cstdint>
#include <string>
#include <vector>

#include "host/service/service_config.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace arbor::fuzz {

std::vector<std::string> seeds() {
  service::ServiceConfig config = service::default_service_config();
  return {
      service::describe_service_config(config),
      "data = \"/srv/arbor\"\nlisten = \"0.0.0.0:6000\"\nmetrics_listen = \"\"\nbackend = "
      "\"cpu\"\nlog_level = \"debug\"\nmax_message_mb = 16\n[store]\nsync = \"async\"\n"
      "async_sync_interval_ms = 50\ncompression = \"zstd\"\nblock_cache_mb = 512\n[trees]\n"
      "node_cache_mb = 8\n[batcher]\nmax_batch_ops = 5000\nmax_delay_us = 100\n"
      "[transactions]\ndefault_timeout_ms = 1000\n[auth]\nwrite_tokens = [\"a\", \"b\"]\n"
      "read_tokens = ['c']\n",
      "# comment\n[tls]\ncert_file = 'cert.pem'\nkey_file = \"\"\"key.pem\"\"\"\n",
      "store.sync = \"none\"\ntrees = { node_cache_mb = 0 }\n",
  };
}

void test_one(std::string_view input) {
  using namespace service;
  const std::string text(input);
  absl::StatusOr<ServiceConfig> config = parse_service_config(text, "fuzz.toml");
  if (!config.ok()) {
    check_refusal(config.status(), "parse_service_config", {absl::StatusCode::kInvalidArgument});
    return;
  }
  const absl::Status valid = validate_service_config(*config);
  if (!valid.ok()) {
    check_refusal(valid, "validate_service_config", {absl::StatusCode::kInvalidArgument});
  }
  ServiceConfig shown_config = *config;
  shown_config.auth = AuthConfig{};
  const std::string described = describe_service_config(shown_config);
  absl::StatusOr<ServiceConfig> again = parse_service_config(described, "described");
  check(again.ok(), "a described configuration parses",
        again.status().ToString() + "\n" + described);
  check(describe_service_config(*again) == described,
        "a described configuration reads back to the same settings", described);
}

}  // namespace arbor::fuzz
