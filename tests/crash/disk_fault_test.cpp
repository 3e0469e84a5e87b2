// arbord on a disk that fails: full, failing fsync, read-only. Each refuses writes with a clear
// error, loses no acknowledged write, corrupts nothing, and recovers: a full disk by itself once
// space returns, the others at a restart.
//
// The disk: a small tmpfs mounted for the test where this process may mount (root with
// CAP_SYS_ADMIN), so "full" is a real ENOSPC; everywhere, an LD_PRELOAD shim
// (tests/support/disk_fault_shim.cpp) that fails the data directory's writes, fsyncs or opens on
// command, for what a tmpfs cannot do (a failing fsync) or where nothing can be mounted.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "rpc/server/wire.hpp"
#include "storage/store.hpp"
#include "tests/support/arbord_process.hpp"
#include "tests/support/test_support.hpp"

namespace arbor {
namespace {

using testing::ArbordProcess;
using testing::TempDir;
namespace fs = std::filesystem;

// Where arbord's data lives and how the test breaks it.
class FaultyDisk {
 public:
  // With `tmpfs`, tries a tmpfs of `bytes` at dir/mnt; falls back to a plain directory.
  FaultyDisk(const fs::path& dir, bool tmpfs, std::uint64_t bytes = 48u << 20)
      : root_(dir / "mnt"), control_(dir / "fault") {
    fs::create_directories(root_);
    if (tmpfs) {
      const std::string size = absl::StrCat("size=", bytes);
      mounted_ = mount("tmpfs", root_.c_str(), "tmpfs", 0, size.c_str()) == 0;
      if (!mounted_) {
        std::cout << "[ note ] cannot mount a tmpfs here (" << std::strerror(errno)
                  << "): the full disk is the preload shim's ENOSPC\n";
      }
    }
    set_fault("none");
  }
  ~FaultyDisk() {
    if (mounted_) umount2(root_.c_str(), MNT_DETACH);
  }

  fs::path data() const { return root_ / "data"; }
  bool real_filesystem() const { return mounted_; }
  // arbord with `args` under the shim.
  testing::ArbordLaunch launch(std::vector<std::string> args) const {
    testing::ArbordLaunch launch;
    launch.args = std::move(args);
    launch.environment = {"LD_PRELOAD=" ARBOR_DISK_FAULT_SHIM,
                          "ARBOR_DISK_FAULT_DIR=" + data().string(),
                          "ARBOR_DISK_FAULT_CONTROL=" + control_.string()};
    return launch;
  }

  // The shim's fault ("none", "enospc", "eio-fsync", "erofs"); it reads it within 10 ms.
  void set_fault(const std::string& word) {
    std::ofstream(control_, std::ios::trunc) << word << "\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }

  // The disk is full: a tmpfs is filled to the last byte; otherwise the shim refuses writes.
  void fill() {
    if (!mounted_) return set_fault("enospc");
    std::ofstream filler(root_ / "filler", std::ios::binary);
    const std::string block(1 << 16, 'x');
    while (filler.write(block.data(), static_cast<std::streamsize>(block.size()))) {
    }
  }
  void free_space() {
    if (!mounted_) return set_fault("none");
    fs::remove(root_ / "filler");
  }

 private:
  fs::path root_;
  fs::path control_;
  bool mounted_ = false;
};

// A config that makes RocksDB's recovery from a full disk wait for 1 MiB free (one memtable).
fs::path small_memtable_config(const fs::path& dir) {
  const fs::path file = dir / "arbord.toml";
  std::ofstream(file) << "[store]\nwrite_buffer_mb = 1\n";
  return file;
}

struct Answer {
  grpc::StatusCode code = grpc::StatusCode::OK;
  std::string message;
  std::string key, value;  // what was written
  bool replayed = false;
};

class Writer {
 public:
  Writer() = default;  // reconnect() before use
  explicit Writer(const ArbordProcess& server) : client_(server.client()) {}
  void reconnect(const ArbordProcess& server) { client_ = server.client(); }

  // One put of a fresh key; remembered as acknowledged or refused.
  Answer put(std::mt19937_64& rng, const std::string& idempotency_key = "") {
    return send(rpc::field_to_wire(testing::random_fr(rng)),
                rpc::field_to_wire(testing::random_fr(rng)), idempotency_key);
  }
  // The same put again.
  Answer retry(const Answer& first, const std::string& idempotency_key) {
    return send(first.key, first.value, idempotency_key);
  }

  Answer send(const std::string& key, const std::string& value,
              const std::string& idempotency_key) {
    v1::WriteRequest request;
    request.set_tree("t");
    request.set_idempotency_key(idempotency_key);
    v1::Op* op = request.add_ops();
    op->set_kind(v1::OP_KIND_PUT);
    op->set_key(key);
    op->set_value(value);
    v1::WriteResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const grpc::Status status = client_->stub().Write(&context, request, &response);
    // A write whose outcome is unknown may be there or not: neither list checks it.
    if (status.ok()) {
      acknowledged_[key] = value;
    } else if (status.error_message().find("outcome is unknown") == std::string::npos) {
      refused_.insert(key);
    }
    return {status.error_code(), status.error_message(), key, value, response.replayed()};
  }

  // Every acknowledged key holds its value; every refused key is absent.
  void expect_stored(const ArbordProcess& server, const std::string& when) const {
    auto client = server.client();
    auto found = [&](const std::string& key) -> std::optional<std::string> {
      v1::GetRequest request;
      request.set_tree("t");
      request.set_key(key);
      v1::GetResponse got;
      grpc::ClientContext context;
      const grpc::Status status = client->stub().Get(&context, request, &got);
      EXPECT_TRUE(status.ok()) << when << ": " << status.error_message();
      return got.found() ? std::optional<std::string>(got.value()) : std::nullopt;
    };
    for (const auto& [key, value] : acknowledged_) {
      EXPECT_EQ(found(key), value) << when << ": an acknowledged write is missing";
    }
    for (const std::string& key : refused_) {
      EXPECT_EQ(found(key), std::nullopt) << when << ": a write refused as not applied is there";
    }
  }

  std::size_t acknowledged() const { return acknowledged_.size(); }
  std::size_t refused() const { return refused_.size(); }

 private:
  std::unique_ptr<rpc::ArborClient> client_;
  std::map<std::string, std::string> acknowledged_;
  std::set<std::string> refused_;
};

void create_tree(const ArbordProcess& server) {
  v1::CreateTreeRequest create;
  create.set_name("t");
  v1::TreeInfo info;
  grpc::ClientContext context;
  ASSERT_TRUE(server.client()->stub().CreateTree(&context, create, &info).ok());
}

std::string healthz(const ArbordProcess& server, int* status = nullptr) {
  auto answer = testing::http_get(server.metrics_port(), "/healthz");
  EXPECT_TRUE(answer.ok()) << answer.status();
  if (!answer.ok()) return {};
  if (status != nullptr) *status = answer->status;
  return answer->body;
}

std::string metric_line(const ArbordProcess& server, const std::string& name) {
  auto metrics = testing::http_get(server.metrics_port(), "/metrics");
  if (!metrics.ok()) return {};
  std::istringstream lines(metrics->body);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name + " ", 0) == 0) return line;
  }
  return {};
}

// Puts until one is acknowledged (RocksDB polls the free space every 5 s), within `limit`.
bool wait_for_a_write(Writer& writer, std::mt19937_64& rng, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (writer.put(rng).code == grpc::StatusCode::OK) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return false;
}

// A real full tmpfs (where this process may mount one) or the shim's ENOSPC.
void full_disk_refuses_writes_loses_nothing_and_writes_resume(bool tmpfs) {
  TempDir dir("disk-full");
  auto rng = testing::seeded_rng("DiskFaultTest.Full");
  FaultyDisk disk(dir.path(), tmpfs);
  const std::vector<std::string> args = {"--sync", "full", "--config",
                                         small_memtable_config(dir.path()).string()};
  auto server = ArbordProcess::start_with(disk.data(), disk.launch(args));
  ASSERT_TRUE(server.ok()) << server.status();
  create_tree(**server);
  Writer writer(**server);
  for (int i = 0; i < 50; ++i) ASSERT_EQ(writer.put(rng).code, grpc::StatusCode::OK);

  disk.fill();
  // The memtable and the file system take writes while there is room; then RocksDB refuses.
  Answer first_refusal;
  first_refusal.code = grpc::StatusCode::OK;
  for (int i = 0; i < 20000 && first_refusal.code == grpc::StatusCode::OK; ++i) {
    first_refusal = writer.put(rng);
  }
  ASSERT_EQ(first_refusal.code, grpc::StatusCode::RESOURCE_EXHAUSTED) << first_refusal.message;
  for (int i = 0; i < 20; ++i) {
    const Answer answer = writer.put(rng, i % 2 ? absl::StrCat("full-", i) : "");
    ASSERT_EQ(answer.code, grpc::StatusCode::RESOURCE_EXHAUSTED)
        << "write " << i << " on a full disk: " << answer.message << "\n"
        << (*server)->log();
    EXPECT_NE(answer.message.find("is full"), std::string::npos) << answer.message;
    EXPECT_NE(answer.message.find("not applied"), std::string::npos) << answer.message;
  }
  int status = 0;
  const std::string health = healthz(**server, &status);
  EXPECT_EQ(status, 200) << health;  // reads go on, and it clears by itself
  EXPECT_NE(health.find("writes refused: the disk holding"), std::string::npos) << health;
  EXPECT_EQ(metric_line(**server, "arbor_store_write_state"), "arbor_store_write_state 1");
  EXPECT_EQ(*testing::health_check(*(*server)->client()), "SERVING");
  writer.expect_stored(**server, "while the disk is full");

  disk.free_space();
  ASSERT_TRUE(wait_for_a_write(writer, rng, std::chrono::seconds(30)))
      << "writes did not resume once space returned\n"
      << (*server)->log();
  for (int i = 0; i < 20; ++i) ASSERT_EQ(writer.put(rng).code, grpc::StatusCode::OK);
  EXPECT_EQ(metric_line(**server, "arbor_store_write_state"), "arbor_store_write_state 0");
  const std::string recovered = healthz(**server, &status);
  EXPECT_EQ(status, 200) << recovered;
  EXPECT_EQ(recovered.rfind("ok\n", 0), 0u) << recovered;
  EXPECT_EQ(recovered.find("writes refused"), std::string::npos) << recovered;
  writer.expect_stored(**server, "after space returned");

  // Nothing acknowledged is lost and nothing refused appears, across a SIGKILL and a reopen
  // (which verifies each tree's head).
  (*server)->kill_now();
  server = ArbordProcess::start(disk.data(), args);
  ASSERT_TRUE(server.ok()) << server.status();
  writer.expect_stored(**server, "after a SIGKILL");
  std::cout << "[ note ] " << (disk.real_filesystem() ? "tmpfs" : "shim") << ": "
            << writer.acknowledged() << " writes acknowledged, " << writer.refused()
            << " refused\n";
}

TEST(DiskFaultTest, AFullDiskRefusesWritesLosesNothingAndWritesResumeWhenSpaceReturns) {
  full_disk_refuses_writes_loses_nothing_and_writes_resume(/*tmpfs=*/true);
}

TEST(DiskFaultTest, WritesFailingWithEnospcAreRefusedLoseNothingAndResume) {
  full_disk_refuses_writes_loses_nothing_and_writes_resume(/*tmpfs=*/false);
}

// arbord under the shim, with a tree "t" and `writes` acknowledged puts.
std::unique_ptr<ArbordProcess> start_with_writes(const FaultyDisk& disk, Writer* writer_out,
                                                 std::mt19937_64& rng, int writes) {
  auto server = ArbordProcess::start_with(disk.data(), disk.launch({"--sync", "full"}));
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return nullptr;
  create_tree(**server);
  writer_out->reconnect(**server);
  for (int i = 0; i < writes; ++i) EXPECT_EQ(writer_out->put(rng).code, grpc::StatusCode::OK);
  return std::move(*server);
}

TEST(DiskFaultTest, AFailingFsyncStopsWritesUntilARestartAndLosesNothingAcknowledged) {
  TempDir dir("disk-fsync");
  auto rng = testing::seeded_rng("DiskFaultTest.Fsync");
  FaultyDisk disk(dir.path(), /*tmpfs=*/false);
  Writer writer;
  absl::StatusOr<std::unique_ptr<ArbordProcess>> server = start_with_writes(disk, &writer, rng, 30);
  ASSERT_TRUE(*server != nullptr && !::testing::Test::HasFailure());

  disk.set_fault("eio-fsync");
  // The write whose fsync failed: its record may be in the log, so its outcome is open.
  const Answer failed = writer.put(rng, "fsync-failed");
  ASSERT_EQ(failed.code, grpc::StatusCode::UNAVAILABLE) << failed.message;
  EXPECT_NE(failed.message.find("outcome is unknown"), std::string::npos) << failed.message;
  disk.set_fault("none");  // the disk works again, but this database must be reopened
  for (int i = 0; i < 5; ++i) {
    const Answer refused = writer.put(rng);
    ASSERT_EQ(refused.code, grpc::StatusCode::UNAVAILABLE) << refused.message;
    EXPECT_NE(refused.message.find("takes no writes until it is reopened"), std::string::npos)
        << refused.message;
    EXPECT_NE(refused.message.find("not applied"), std::string::npos) << refused.message;
  }
  writer.expect_stored(**server, "after the failed fsync");  // reads go on
  int status = 0;
  const std::string health = healthz(**server, &status);
  EXPECT_EQ(status, 503) << health;
  EXPECT_EQ(health.rfind("failed\nwrites refused: the store in ", 0), 0u) << health;
  EXPECT_EQ(metric_line(**server, "arbor_store_write_state"), "arbor_store_write_state 2");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (*testing::health_check(*(*server)->client()) != "NOT_SERVING" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(*testing::health_check(*(*server)->client()), "NOT_SERVING");

  // A restart recovers: what was acknowledged is there, and writes are taken again.
  EXPECT_EQ((*server)->terminate(), 0) << (*server)->log();
  server = ArbordProcess::start(disk.data(), {"--sync", "full"});
  ASSERT_TRUE(server.ok()) << server.status();
  writer.expect_stored(**server, "after the restart");
  writer.reconnect(**server);
  // The write whose outcome was open is decided now: its retry (same key) is applied once,
  // whether the log kept the first attempt (a replay) or not.
  const Answer retried = writer.retry(failed, "fsync-failed");
  EXPECT_EQ(retried.code, grpc::StatusCode::OK) << retried.message;
  std::cout << "[ note ] the write whose fsync failed was "
            << (retried.replayed ? "kept by the log (the retry is a replay)"
                                 : "not kept (the retry applied it)")
            << "\n";
  for (int i = 0; i < 10; ++i) ASSERT_EQ(writer.put(rng).code, grpc::StatusCode::OK);
  writer.expect_stored(**server, "after the retry");
}

TEST(DiskFaultTest, AReadOnlyFileSystemStopsWritesAndARestartOnAWritableOneRecovers) {
  TempDir dir("disk-readonly");
  auto rng = testing::seeded_rng("DiskFaultTest.ReadOnly");
  FaultyDisk disk(dir.path(), /*tmpfs=*/false);
  Writer writer;
  absl::StatusOr<std::unique_ptr<ArbordProcess>> server = start_with_writes(disk, &writer, rng, 30);
  ASSERT_TRUE(*server != nullptr && !::testing::Test::HasFailure());

  // The file system turns read-only under a running server (as ext4 does after an error).
  disk.set_fault("erofs");
  const Answer first = writer.put(rng);
  ASSERT_EQ(first.code, grpc::StatusCode::UNAVAILABLE) << first.message;
  EXPECT_NE(first.message.find("Read-only file system"), std::string::npos) << first.message;
  const Answer next = writer.put(rng);
  EXPECT_EQ(next.code, grpc::StatusCode::UNAVAILABLE) << next.message;
  EXPECT_NE(next.message.find("not applied"), std::string::npos) << next.message;
  writer.expect_stored(**server, "on the read-only file system");
  (*server)->kill_now();

  // Started on a read-only directory, arbord says so and exits.
  auto refused = ArbordProcess::start_with(disk.data(), disk.launch({"--sync", "full"}));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(std::string(refused.status().message()).find("Read-only file system"),
            std::string::npos)
      << refused.status();

  disk.set_fault("none");
  server = ArbordProcess::start(disk.data(), {"--sync", "full"});
  ASSERT_TRUE(server.ok()) << server.status();
  writer.expect_stored(**server, "after the restart");
  writer.reconnect(**server);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(writer.put(rng).code, grpc::StatusCode::OK);
  writer.expect_stored(**server, "after new writes");
}

}  // namespace
}  // namespace arbor
