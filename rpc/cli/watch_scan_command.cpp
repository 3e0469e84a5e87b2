#include "rpc/cli/watch_scan_command.hpp"

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "nlohmann/json.hpp"
#include "rpc/cli/cli_support.hpp"
#include "rpc/cli/connection.hpp"
#include "rpc/cli/scheme_text.hpp"

namespace arbor::cli {
namespace {

using Stub = v1::Arbor::StubInterface;

struct FeedCli {
  ConnectionOptions connection;
  std::string tree;
  bool json = false;
  // watch
  std::optional<std::uint64_t> from_version;
  std::uint64_t count = 0;  // 0: until interrupted
  // scan
  std::optional<std::uint64_t> version;
  std::string at_label;
  std::uint32_t limit = 0;  // per page; 0: the service's default
};

// The tree's head, and the text form of its scheme's keys and values.
struct TreeText {
  v1::TreeInfo info;
  std::string (*format)(std::string_view wire) = hex_text;
};

int tree_text(Connection& c, const std::string& tree, TreeText& out) {
  v1::GetTreeRequest request;
  request.set_tree(tree);
  if (grpc::Status s = call(c, &Stub::GetTree, request, out.info); !s.ok()) return grpc_exit(s);
  // A scheme this CLI does not know still prints, as hex.
  if (const SchemeText* text = find_scheme_text(out.info.scheme())) out.format = text->format;
  return kExitOk;
}

void print_event(const FeedCli& o, const TreeText& text, const v1::VersionEvent& event) {
  if (o.json) {
    std::cout << nlohmann::json{{"version", event.version()},
                                {"root", text.format(event.root())},
                                {"label", event.label()},
                                {"committed_unix_ms", event.committed_unix_ms()},
                                {"size", event.size()},
                                {"rolled_back", event.rolled_back()}}
                     .dump();
  } else {
    std::cout << "version " << event.version() << " root " << text.format(event.root()) << " size "
              << event.size() << " committed_unix_ms " << event.committed_unix_ms()
              << " rolled_back " << (event.rolled_back() ? "true" : "false");
    if (!event.label().empty()) std::cout << " label " << event.label();  // last: any bytes
  }
  std::cout << std::endl;  // a line as soon as it happens, also into a pipe
}

int run_watch(const FeedCli& o) {
  absl::StatusOr<std::unique_ptr<Connection>> c =
      open_connection(o.connection, Access::kRead, /*compute=*/false);
  if (!c.ok()) return status_exit(c.status());
  TreeText text;
  if (int found = tree_text(**c, o.tree, text); found != kExitOk) return found;
  // --data opens the store read-only in this process: nothing new can arrive, so the watch ends
  // at the head instead of waiting for ever.
  const bool ends_at_head = (*c)->local();
  const std::uint64_t head = text.info.version();
  if (ends_at_head && (!o.from_version || *o.from_version > head)) return kExitOk;

  v1::WatchVersionsRequest request;
  request.set_tree(o.tree);
  if (o.from_version) request.set_from_version(*o.from_version);
  grpc::ClientContext context;
  (*c)->prepare(context);
  std::unique_ptr<grpc::ClientReaderInterface<v1::VersionEvent>> stream =
      (*c)->stub().WatchVersions(&context, request);
  v1::VersionEvent event;
  std::uint64_t seen = 0;
  bool done = false;
  while (!done && stream->Read(&event)) {
    print_event(o, text, event);
    ++seen;
    done = (o.count > 0 && seen >= o.count) || (ends_at_head && event.version() >= head);
  }
  if (done) {
    context.TryCancel();
    while (stream->Read(&event)) {
    }  // what was in flight
  }
  const grpc::Status status = stream->Finish();
  if (done) return kExitOk;
  if (!status.ok()) return grpc_exit(status);
  return fail(kExitFailure, "the service ended the watch (shutting down?)");
}

void print_entry(const FeedCli& o, const TreeText& text, const v1::ScanEntry& entry) {
  if (o.json) {
    std::cout << nlohmann::json{{"key", text.format(entry.key())},
                                {"value", text.format(entry.value())}}
                     .dump()
              << "\n";
  } else {
    std::cout << text.format(entry.key()) << " " << text.format(entry.value()) << "\n";
  }
}

int run_scan(const FeedCli& o) {
  absl::StatusOr<std::unique_ptr<Connection>> c =
      open_connection(o.connection, Access::kRead, /*compute=*/false);
  if (!c.ok()) return status_exit(c.status());
  TreeText text;
  if (int found = tree_text(**c, o.tree, text); found != kExitOk) return found;
  v1::ScanRequest request;
  request.set_tree(o.tree);
  if (!o.at_label.empty()) {
    request.mutable_at()->set_label(o.at_label);
  } else if (o.version) {
    request.mutable_at()->set_version(*o.version);
  }
  request.set_limit(o.limit);
  for (;;) {
    v1::ScanResponse page;
    if (grpc::Status s = call(**c, &Stub::Scan, request, page); !s.ok()) return grpc_exit(s);
    for (const v1::ScanEntry& entry : page.entries()) print_entry(o, text, entry);
    if (!page.more() || page.entries().empty()) break;
    // Every later page from the first page's version, whatever is committed meanwhile.
    request.mutable_at()->set_version(page.version());
    request.set_after(page.entries().rbegin()->key());
  }
  return std::cout.flush() ? kExitOk : kExitFailure;
}

}  // namespace

void add_watch_scan_commands(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<FeedCli>();
  auto common = [options, &exit_code](CLI::App* command, int (*run)(const FeedCli&)) {
    add_connection_options(command, options->connection, Where::kDataOrServer);
    command->add_option("--tree", options->tree, "Tree name")->required();
    command->add_flag("--json", options->json, "Print JSON lines");
    command->callback([options, &exit_code, run] {
      require_location(options->connection);
      exit_code = run(*options);
    });
  };

  CLI::App* watch = app.add_subcommand(
      "watch",
      "Print a line per version of a tree (version, root, size, commit time, rolled_back, label) "
      "as it is committed, and one per rollback. With --data only the versions already written "
      "(to the head)");
  common(watch, run_watch);
  watch->add_option("--from-version", options->from_version,
                    "Report retained versions from this one on first (default: only new ones)");
  watch->add_option("--count", options->count, "Stop after this many lines (0: never)")
      ->capture_default_str();

  CLI::App* scan = app.add_subcommand(
      "scan", "Print a tree's keys and values (`KEY VALUE` lines, key order) at one version");
  common(scan, run_scan);
  scan->add_option("--version", options->version, "A retained version (default: the head)");
  scan->add_option("--at-label", options->at_label, "The newest version with this label");
  scan->add_option("--limit", options->limit, "Entries per page (1..10000; 0: the service's 1000)")
      ->capture_default_str();
}

}  // namespace arbor::cli
