#include "storage/tree_loader.hpp"

#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/sst_file_writer.h"
#include "storage/store_core.hpp"

namespace arbor::storage {

// The files of one space: the one being written and those finished.
struct TreeLoader::SpaceFiles {
  Family family;
  std::unique_ptr<rocksdb::SstFileWriter> writer;  // null between files
  std::vector<std::string> finished;
  std::string last_key;  // the space's previous key, unframed
  bool any = false;
};

absl::StatusOr<std::unique_ptr<TreeLoader>> Store::load_tree(const TreeSpec& spec) {
  if (auto writable = core_->require_writable(); !writable.ok()) return writable;
  if (auto checked = check_tree_spec(spec, false); !checked.ok()) return checked;
  std::string ns = codec::tree_namespace(spec.name);
  {
    std::shared_lock lock(core_->registry_mutex);
    if (auto free = core_->check_name_free(spec.name, ns); !free.ok()) return free;
  }
  if (core_->loading.exchange(true)) {
    return absl::FailedPreconditionError(
        absl::StrCat("another bulk load into ", core_->dir.string(), " is under way"));
  }
  std::unique_ptr<TreeLoader> loader(new TreeLoader(core_, spec, std::move(ns)));
  std::error_code error;
  std::filesystem::remove_all(loader->directory_, error);
  if (!error) std::filesystem::create_directories(loader->directory_, error);
  if (error) {
    return absl::PermissionDeniedError(absl::StrCat("cannot create the bulk load directory ",
                                                    loader->directory_.string(), ": ",
                                                    error.message()));
  }
  return loader;
}

TreeLoader::TreeLoader(std::shared_ptr<StoreCore> core, TreeSpec spec, std::string ns)
    : core_(std::move(core)),
      spec_(std::move(spec)),
      ns_(std::move(ns)),
      directory_(core_->dir / kLoadDirectoryName) {
  files_[0] = std::make_unique<SpaceFiles>(SpaceFiles{kNodesFamily, nullptr, {}, {}, false});
  files_[1] = std::make_unique<SpaceFiles>(SpaceFiles{kValuesFamily, nullptr, {}, {}, false});
}

TreeLoader::~TreeLoader() {
  for (auto& files : files_) files->writer.reset();
  std::error_code error;
  std::filesystem::remove_all(directory_, error);
  core_->loading = false;
}

absl::Status TreeLoader::add(Space space, std::string_view key, std::string_view value) {
  if (spent_) return absl::FailedPreconditionError("this bulk load has finished");
  const uint32_t key_bytes = space == Space::kNodes ? spec_.node_key_bytes : spec_.value_key_bytes;
  if (key.size() != key_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("a ", std::string(to_string(space)), " key of ",
                                                   key.size(), " bytes; tree ",
                                                   in_quotes(spec_.name), " takes ", key_bytes));
  }
  if (value.size() > kMaxRecordBytes) {
    return absl::InvalidArgumentError(absl::StrCat("a ", std::string(to_string(space)),
                                                   " record of ", value.size(), " bytes exceeds ",
                                                   kMaxRecordBytes));
  }
  SpaceFiles& files = *files_[static_cast<int>(space)];
  if (files.any && key <= std::string_view(files.last_key)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bulk load of tree ", in_quotes(spec_.name), ": ", std::string(to_string(space)),
        " keys must come in increasing order, each once"));
  }
  if (!files.writer) {
    rocksdb::ColumnFamilyHandle* family = core_->family(files.family);
    // The page cache keeps what was written (RocksDB's default drops it as it goes), so the
    // first reads after a load come from memory where the kernel can hold it.
    files.writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(),
                                                            core_->db->GetOptions(family), family,
                                                            /*invalidate_page_cache=*/false);
    std::string path =
        (directory_ / absl::StrCat(kFamilyNames[files.family], "-", files.finished.size(), ".sst"))
            .string();
    if (rocksdb::Status opened = files.writer->Open(path); !opened.ok()) {
      files.writer.reset();
      return to_status(opened, "starting a bulk load file");
    }
    files.finished.push_back(std::move(path));
  }
  std::string framed(1 + value.size(), codec::kLiveTag);
  framed.replace(1, value.size(), value);
  if (rocksdb::Status put =
          files.writer->Put(slice(codec::record_key(ns_, key, spec_.base_version)), slice(framed));
      !put.ok()) {
    return to_status(put, "writing a bulk load file");
  }
  files.last_key.assign(key);
  files.any = true;
  if (files.writer->FileSize() >= kLoadFileBytes) return finish_file(files);
  return absl::OkStatus();
}

absl::Status TreeLoader::finish_file(SpaceFiles& files) {
  rocksdb::ExternalSstFileInfo info;
  rocksdb::Status finished = files.writer->Finish(&info);
  files.writer.reset();
  if (!finished.ok()) return to_status(finished, "finishing a bulk load file");
  file_bytes_ += info.file_size;
  return absl::OkStatus();
}

absl::StatusOr<std::string> TreeLoader::write_single_record_file(int family, std::string_view name,
                                                                 std::string_view key,
                                                                 std::string_view value) {
  rocksdb::ColumnFamilyHandle* handle = core_->family(static_cast<Family>(family));
  rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), core_->db->GetOptions(handle), handle);
  std::string path = (directory_ / absl::StrCat(std::string(name), ".sst")).string();
  rocksdb::Status written = writer.Open(path);
  if (written.ok()) written = writer.Put(slice(key), slice(value));
  rocksdb::ExternalSstFileInfo info;
  if (written.ok()) written = writer.Finish(&info);
  if (!written.ok()) return to_status(written, "writing a bulk load file");
  file_bytes_ += info.file_size;
  return path;
}

absl::StatusOr<TreeInfo> TreeLoader::finish(const FirstVersion& version) {
  if (spent_) return absl::FailedPreconditionError("this bulk load has finished");
  spent_ = true;
  if (version.root.size() > kMaxRootBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a root of ", version.root.size(), " bytes exceeds ", kMaxRootBytes));
  }
  if (version.label.size() > kMaxLabelBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("a label of ", version.label.size(), " bytes exceeds ", kMaxLabelBytes));
  }
  for (auto& files : files_) {
    if (files->writer) {
      if (auto finished = finish_file(*files); !finished.ok()) return finished;
    }
  }
  const codec::TreeRecord record = new_tree_record(spec_, ns_, version.root);
  VersionRecord first;
  first.version = spec_.base_version;
  first.root = version.root;
  first.root_node_key = version.root_node_key;
  first.label = version.label;
  first.committed_unix_ms = record.info.created_unix_ms;
  first.entry_count = version.entry_count;

  absl::StatusOr<std::string> roots_file =
      write_single_record_file(kRootsFamily, "roots", codec::root_key(ns_, spec_.base_version),
                               codec::encode_version_record(first));
  if (!roots_file.ok()) return roots_file.status();
  absl::StatusOr<std::string> meta_file = write_single_record_file(
      kMetaFamily, "meta", codec::tree_meta_key(spec_.name), codec::encode_tree_record(record));
  if (!meta_file.ok()) return meta_file.status();

  std::vector<rocksdb::IngestExternalFileArg> args;
  auto ingest = [&](Family family, std::vector<std::string> paths) {
    if (paths.empty()) return;
    rocksdb::IngestExternalFileArg arg;
    arg.column_family = core_->family(family);
    arg.external_files = std::move(paths);
    arg.options.move_files = true;  // hard links: the files are ours and on the same disk
    args.push_back(std::move(arg));
  };
  for (auto& files : files_) ingest(files->family, std::move(files->finished));
  ingest(kRootsFamily, {*roots_file});
  ingest(kMetaFamily, {*meta_file});

  std::unique_lock lock(core_->registry_mutex);
  if (auto free = core_->check_name_free(spec_.name, ns_); !free.ok()) return free;
  if (auto writable = core_->health->check_before_write(); !writable.ok()) return writable;
  rocksdb::Status ingested = core_->db->IngestExternalFiles(args);
  if (!ingested.ok()) {
    return core_->health->on_failure(
        ingested, absl::StrCat("ingesting the bulk load of tree ", in_quotes(spec_.name)));
  }
  core_->health->on_success();
  auto state = std::make_shared<TreeState>();
  state->ns = ns_;
  state->info = record.info;
  core_->trees.emplace(spec_.name, std::move(state));
  return record.info;
}

}  // namespace arbor::storage
