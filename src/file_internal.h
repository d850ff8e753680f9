// SPDX-License-Identifier: BSD-3-Clause
// Reading the small files gort reads (/proc, /sys, cgroup files,
// /etc/os-release), every one opened close-on-exec: a child another thread
// forks and execs while gort reads never inherits gort's descriptors (Go
// opens every file O_CLOEXEC for the same reason). All file reading in the
// core goes through here.
#ifndef GORT_SRC_FILE_INTERNAL_H_
#define GORT_SRC_FILE_INTERNAL_H_

#include <string>

namespace gort::internal {

// A file opened once (O_RDONLY | O_CLOEXEC; _O_NOINHERIT on Windows) and
// re-read from offset 0 (pread) as often as needed. Move-only; closes on
// destruction.
class File {
 public:
  File() = default;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  File(File&& o) noexcept;
  ~File();

  // Opens `path`, closing what was open. Returns 0 or an errno value.
  int Open(std::string path);
  // Whether a file is open.
  bool is_open() const { return fd_ >= 0; }
  // The path given to Open().
  const std::string& path() const { return path_; }

  // Reads the whole file (at most 64 KiB) from its start into `*out`.
  // Returns 0 or an errno value.
  int ReadAll(std::string* out);

 private:
  void Close();

  int fd_ = -1;
  std::string path_;
};

// Reads the whole file at `path` (at most 64 KiB) once; "" with `*err` set
// to an errno value when it cannot, else `*err` = 0.
std::string ReadOnce(const std::string& path, int* err);

}  // namespace gort::internal

#endif  // GORT_SRC_FILE_INTERNAL_H_
