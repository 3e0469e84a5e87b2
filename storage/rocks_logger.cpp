#include "storage/rocks_logger.hpp"

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "spdlog/spdlog.h"

namespace arbor::storage {
namespace {

spdlog::level::level_enum spdlog_level(rocksdb::InfoLogLevel level) {
  switch (level) {
    case rocksdb::InfoLogLevel::DEBUG_LEVEL:
      return spdlog::level::trace;
    case rocksdb::InfoLogLevel::INFO_LEVEL:
    case rocksdb::InfoLogLevel::HEADER_LEVEL:
      return spdlog::level::debug;
    case rocksdb::InfoLogLevel::WARN_LEVEL:
      return spdlog::level::warn;
    case rocksdb::InfoLogLevel::ERROR_LEVEL:
      return spdlog::level::err;
    default:
      return spdlog::level::critical;
  }
}

class SpdlogRocksLogger final : public rocksdb::Logger {
 public:
  SpdlogRocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::DEBUG_LEVEL) {}

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list arguments) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, arguments);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list arguments) override {
    spdlog::level::level_enum mapped = spdlog_level(level);
    // Files a bulk load ingested (storage/tree_loader.hpp) carry no unique ID, which RocksDB
    // says once per process at warning level; nothing is wrong with them.
    if (mapped == spdlog::level::warn && std::strstr(format, "without unique ID") != nullptr) {
      mapped = spdlog::level::debug;
    }
    if (!spdlog::should_log(mapped)) return;  // most lines: no formatting at all
    char line[2048];
    std::vsnprintf(line, sizeof line, format, arguments);
    spdlog::log(mapped, "rocksdb: {}", line);
  }
};

}  // namespace

std::shared_ptr<rocksdb::Logger> make_spdlog_rocks_logger() {
  return std::make_shared<SpdlogRocksLogger>();
}

}  // namespace arbor::storage
