// SPDX-License-Identifier: BSD-3-Clause
// Close-on-exec file reading (file_internal.h).
#include <fcntl.h>

#include <cerrno>
#include <string>
#include <utility>

#include "file_internal.h"

#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

namespace gort::internal {

File::File(File&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)) {
  o.fd_ = -1;
}

File::~File() { Close(); }

int File::Open(std::string path) {
  Close();
  path_ = std::move(path);
#if defined(_WIN32)
  fd_ = _open(path_.c_str(), _O_RDONLY | _O_BINARY | _O_NOINHERIT);
#else
  do {
    fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd_ < 0 && errno == EINTR);
#endif
  return fd_ < 0 ? errno : 0;
}

int File::ReadAll(std::string* out) {
  out->clear();
  if (fd_ < 0) return EBADF;
  char buf[4096];
#if defined(_WIN32)
  if (_lseek(fd_, 0, SEEK_SET) < 0) return errno;
#endif
  while (out->size() < 65536) {
#if defined(_WIN32)
    int n = _read(fd_, buf, sizeof(buf));
#else
    ssize_t n = pread(fd_, buf, sizeof(buf), static_cast<off_t>(out->size()));
    if (n < 0 && errno == EINTR) continue;
#endif
    if (n < 0) return errno;
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  return 0;
}

void File::Close() {
  if (fd_ >= 0) {
#if defined(_WIN32)
    _close(fd_);
#else
    close(fd_);
#endif
  }
  fd_ = -1;
}

std::string ReadOnce(const std::string& path, int* err) {
  File f;
  std::string s;
  *err = f.Open(path);
  if (*err == 0) *err = f.ReadAll(&s);
  return s;
}

}  // namespace gort::internal
