// `arbor watch` (WatchVersions: one line per version as it is committed) and `arbor scan` (Scan:
// a tree's keys and values at one version, page by page), for trees of any scheme, on --data or
// --server.
#pragma once

#include "CLI/CLI.hpp"

namespace arbor::cli {

void add_watch_scan_commands(CLI::App& app, int& exit_code);

}  // namespace arbor::cli
