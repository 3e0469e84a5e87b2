#include "storage/rocks_status.hpp"

#include "absl/strings/str_cat.h"

namespace arbor::storage {

absl::Status to_status(const rocksdb::Status& status, std::string_view context) {
  std::string message = absl::StrCat(std::string(context), ": ", text(status));
  if (status.IsNotFound()) return absl::NotFoundError(message);
  if (status.IsCorruption()) return absl::DataLossError(message);
  if (status.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  if (status.IsNoSpace()) return absl::ResourceExhaustedError(message);
  if (status.IsIOError()) {
    std::string detail = text(status);
    if (detail.find("LOCK") != std::string::npos &&
        (detail.find("temporarily unavailable") != std::string::npos ||
         detail.find("lock hold") != std::string::npos)) {
      return absl::FailedPreconditionError(
          absl::StrCat(std::string(context),
                       ": the database is already open (in this or another process): ", detail));
    }
    if (detail.find("Permission denied") != std::string::npos ||
        detail.find("Read-only file system") != std::string::npos) {
      return absl::PermissionDeniedError(message);
    }
    return absl::UnavailableError(message);
  }
  if (status.IsBusy() || status.IsTryAgain() || status.IsTimedOut()) {
    return absl::UnavailableError(message);
  }
  if (status.IsNotSupported()) return absl::UnimplementedError(message);
  return absl::InternalError(message);
}

}  // namespace arbor::storage
