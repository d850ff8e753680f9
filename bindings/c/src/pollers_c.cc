// SPDX-License-Identifier: BSD-3-Clause
// The count of fd handles per poller (pollers_c.h). A mutex and a map:
// only opening, accepting and releasing fd handles and closing pollers
// take it, never an I/O call.
#include "pollers_c.h"

#include <cstdint>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "gort.h"

namespace gort::capi {
namespace {

struct PollerFds {
  uint64_t fds = 0;
  bool closing = false;
};

std::mutex& Mu() {
  static std::mutex* mu = new std::mutex;
  return *mu;
}

// Keyed by poller handle (generation included, so a reused slot is a new
// key). Leaked on purpose: no destructor runs at exit while other threads
// may still call in.
absl::flat_hash_map<uint64_t, PollerFds>& Counts() {
  static auto* counts = new absl::flat_hash_map<uint64_t, PollerFds>;
  return *counts;
}

}  // namespace

bool AddPollerFd(uint64_t h) {
  std::lock_guard<std::mutex> lock(Mu());
  PollerFds& e = Counts()[h];
  if (e.closing) return false;
  ++e.fds;
  return true;
}

void RemovePollerFd(uint64_t h) {
  std::lock_guard<std::mutex> lock(Mu());
  auto it = Counts().find(h);
  if (it == Counts().end()) return;
  if (--it->second.fds == 0 && !it->second.closing) Counts().erase(it);
}

int BeginPollerClose(uint64_t h) {
  std::lock_guard<std::mutex> lock(Mu());
  PollerFds& e = Counts()[h];
  if (e.fds != 0) return GORT_EBUSY;
  e.closing = true;
  return 0;
}

void EndPollerClose(uint64_t h) {
  std::lock_guard<std::mutex> lock(Mu());
  auto it = Counts().find(h);
  if (it != Counts().end() && it->second.fds == 0) Counts().erase(it);
}

}  // namespace gort::capi
