// An LD_PRELOAD library that makes the disk misbehave for files under one directory, so tests can
// give arbord a full disk, a failing fsync or a read-only file system without mounting anything.
//
//   ARBOR_DISK_FAULT_DIR=/abs/data      files whose path starts with this are affected
//   ARBOR_DISK_FAULT_CONTROL=/abs/file  its first word is the fault now, re-read every 10 ms:
//     none       everything passes through
//     enospc     write, pwrite, fallocate on affected files fail with ENOSPC, writing nothing
//     eio-fsync  fsync, fdatasync, sync_file_range on affected files (and the directory) fail EIO
//     erofs      opening for writing, creating, renaming, linking, removing and every write or sync
//                of an affected file fail with EROFS
//
// It wraps only what librocksdb imports for its files (`nm -D librocksdb.so`): open, write, pwrite,
// fsync, fdatasync, sync_file_range, fallocate, posix_fallocate, ftruncate, rename, link, unlink,
// mkdir, rmdir, close. libfiu (Debian's fault injector) fails calls process-wide, sockets included;
// this one tracks which descriptors belong to the directory, so gRPC keeps working while the disk
// fails. It does not work under a sanitizer whose runtime is linked into the executable (the
// sanitizer's own wrappers come first), which is why its tests stay out of the sanitizer pass.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

enum Fault : int { kNone, kNoSpace, kFsyncFails, kReadOnly };

constexpr int kTrackedFds = 1 << 16;
std::atomic<bool> affected_fd[kTrackedFds];  // zero-initialized: static storage

template <typename Function>
Function next(const char* name) {
  return reinterpret_cast<Function>(dlsym(RTLD_NEXT, name));
}

using OpenFn = int (*)(const char*, int, ...);
using ReadFn = ssize_t (*)(int, void*, size_t);
using CloseFn = int (*)(int);

const char* fault_dir() {
  static const char* const dir = std::getenv("ARBOR_DISK_FAULT_DIR");
  return dir;
}

bool under_fault_dir(const char* path) {
  const char* dir = fault_dir();
  if (dir == nullptr || path == nullptr) return false;
  char full[8192];
  if (path[0] == '/') {
    std::snprintf(full, sizeof full, "%s", path);
  } else {
    if (getcwd(full, 4096) == nullptr) return false;
    const size_t used = std::strlen(full);
    std::snprintf(full + used, sizeof full - used, "/%s", path);
  }
  const size_t length = std::strlen(dir);
  return std::strncmp(full, dir, length) == 0 && (full[length] == '/' || full[length] == '\0');
}

// The control file's fault, re-read at most every 10 ms (clock_gettime is a vDSO call).
Fault current_fault() {
  static std::atomic<int> fault{kNone};
  static std::atomic<long long> read_at_ns{-1};
  const char* control = std::getenv("ARBOR_DISK_FAULT_CONTROL");
  if (control == nullptr || fault_dir() == nullptr) return kNone;
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  const long long now_ns = now.tv_sec * 1'000'000'000LL + now.tv_nsec;
  const long long last = read_at_ns.load(std::memory_order_relaxed);
  if (last >= 0 && now_ns - last < 10'000'000) return static_cast<Fault>(fault.load());
  read_at_ns.store(now_ns, std::memory_order_relaxed);
  static const OpenFn real_open = next<OpenFn>("open");
  static const ReadFn real_read = next<ReadFn>("read");
  static const CloseFn real_close = next<CloseFn>("close");
  char word[32] = {};
  const int fd = real_open(control, O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    const ssize_t got = real_read(fd, word, sizeof word - 1);
    real_close(fd);
    if (got < 0) word[0] = '\0';
  }
  Fault parsed = kNone;
  if (std::strncmp(word, "enospc", 6) == 0) parsed = kNoSpace;
  if (std::strncmp(word, "eio-fsync", 9) == 0) parsed = kFsyncFails;
  if (std::strncmp(word, "erofs", 5) == 0) parsed = kReadOnly;
  fault.store(parsed);
  return parsed;
}

bool affected(int fd) {
  return fd >= 0 && fd < kTrackedFds && affected_fd[fd].load(std::memory_order_relaxed);
}
void track(int fd, const char* path) {
  if (fd >= 0 && fd < kTrackedFds) affected_fd[fd].store(under_fault_dir(path));
}

enum class Call { kData, kSync };

// The errno a call of this kind on an affected descriptor gets under the current fault; 0: none.
int injected_error(int fd, Call call) {
  if (!affected(fd)) return 0;
  switch (current_fault()) {
    case kNoSpace:
      return call == Call::kData ? ENOSPC : 0;
    case kFsyncFails:
      return call == Call::kSync ? EIO : 0;
    case kReadOnly:
      return EROFS;
    default:
      return 0;
  }
}

// -1 with errno set when the call must fail now; 0 otherwise.
int refuse(int fd, Call call) {
  const int error = injected_error(fd, call);
  if (error == 0) return 0;
  errno = error;
  return -1;
}
int refuse_data(int fd) { return refuse(fd, Call::kData); }
int refuse_sync(int fd) { return refuse(fd, Call::kSync); }

int refuse_change(const char* path) {
  if (!under_fault_dir(path) || current_fault() != kReadOnly) return 0;
  errno = EROFS;
  return -1;
}

bool opens_for_writing(int flags) {
  return (flags & (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)) != 0;
}

int open_with(const char* name, const char* path, int flags, mode_t mode) {
  static const OpenFn real = next<OpenFn>(name);
  if (opens_for_writing(flags) && refuse_change(path) != 0) return -1;
  const int fd = real(path, flags, mode);
  track(fd, path);
  return fd;
}

mode_t mode_argument(int flags, va_list& arguments) {
  const bool takes_mode = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
  return takes_mode ? static_cast<mode_t>(va_arg(arguments, int)) : 0;
}

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  va_list arguments;
  va_start(arguments, flags);
  const mode_t mode = mode_argument(flags, arguments);
  va_end(arguments);
  return open_with("open", path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  va_list arguments;
  va_start(arguments, flags);
  const mode_t mode = mode_argument(flags, arguments);
  va_end(arguments);
  return open_with("open64", path, flags, mode);
}

int close(int fd) {
  static const CloseFn real = next<CloseFn>("close");
  if (fd >= 0 && fd < kTrackedFds) affected_fd[fd].store(false);
  return real(fd);
}

ssize_t write(int fd, const void* data, size_t size) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t)>("write");
  if (refuse_data(fd) != 0) return -1;
  return real(fd, data, size);
}

ssize_t pwrite(int fd, const void* data, size_t size, off_t offset) {
  static const auto real = next<ssize_t (*)(int, const void*, size_t, off_t)>("pwrite");
  if (refuse_data(fd) != 0) return -1;
  return real(fd, data, size, offset);
}

int fallocate(int fd, int mode, off_t offset, off_t length) {
  static const auto real = next<int (*)(int, int, off_t, off_t)>("fallocate");
  if (refuse_data(fd) != 0) return -1;
  return real(fd, mode, offset, length);
}

int posix_fallocate(int fd, off_t offset, off_t length) {
  static const auto real = next<int (*)(int, off_t, off_t)>("posix_fallocate");
  if (refuse_data(fd) != 0) return errno;  // returns the error instead of setting errno
  return real(fd, offset, length);
}

int ftruncate(int fd, off_t length) {
  static const auto real = next<int (*)(int, off_t)>("ftruncate");
  if (affected(fd) && current_fault() == kReadOnly) {
    errno = EROFS;
    return -1;
  }
  return real(fd, length);
}

int fsync(int fd) {
  static const auto real = next<int (*)(int)>("fsync");
  if (refuse_sync(fd) != 0) return -1;
  return real(fd);
}

int fdatasync(int fd) {
  static const auto real = next<int (*)(int)>("fdatasync");
  if (refuse_sync(fd) != 0) return -1;
  return real(fd);
}

int sync_file_range(int fd, off64_t offset, off64_t length, unsigned int flags) {
  static const auto real = next<int (*)(int, off64_t, off64_t, unsigned int)>("sync_file_range");
  if (refuse_sync(fd) != 0) return -1;
  return real(fd, offset, length, flags);
}

int rename(const char* from, const char* to) {
  static const auto real = next<int (*)(const char*, const char*)>("rename");
  if (refuse_change(from) != 0 || refuse_change(to) != 0) return -1;
  return real(from, to);
}

int link(const char* from, const char* to) {
  static const auto real = next<int (*)(const char*, const char*)>("link");
  if (refuse_change(to) != 0) return -1;
  return real(from, to);
}

int unlink(const char* path) {
  static const auto real = next<int (*)(const char*)>("unlink");
  if (refuse_change(path) != 0) return -1;
  return real(path);
}

int mkdir(const char* path, mode_t mode) {
  static const auto real = next<int (*)(const char*, mode_t)>("mkdir");
  if (refuse_change(path) != 0) return -1;
  return real(path, mode);
}

int rmdir(const char* path) {
  static const auto real = next<int (*)(const char*)>("rmdir");
  if (refuse_change(path) != 0) return -1;
  return real(path);
}

}  // extern "C"
