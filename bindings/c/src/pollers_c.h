// SPDX-License-Identifier: BSD-3-Clause
// The C ABI's pollers, shared by netpoll_c.cc (which opens and closes
// them) and fd_c.cc (whose fd handles each use one): the handle table, and
// per poller the number of fd handles that use it, so that
// gort_poller_close() refuses (GORT_EBUSY) to free a poller its fds still
// point to (an Fd keeps a Poller& and unregisters from it when it is
// destroyed). Also the calling convention of those fd-backed handles
// (fd handles, signal sources): WithPollerObject() and
// ReleasePollerObject().
#ifndef GORT_BINDINGS_C_SRC_POLLERS_C_H_
#define GORT_BINDINGS_C_SRC_POLLERS_C_H_

#include <cstdint>

#include "capi.h"
#include "gort/netpoll.h"
#include "handle_table.h"

namespace gort::capi {

// Every poller the C ABI opened (defined in netpoll_c.cc).
extern internal::HandleTable<Poller> g_pollers;

// Counts one more fd handle of poller `h`. False (nothing counted) once
// gort_poller_close() of `h` has begun. Call it with the poller pinned.
bool AddPollerFd(uint64_t h);

// An fd handle of poller `h` was released.
void RemovePollerFd(uint64_t h);

// The start of gort_poller_close(): GORT_EBUSY while fd handles of `h`
// are counted; else 0, and AddPollerFd(h) fails from now on.
int BeginPollerClose(uint64_t h);

// The end of gort_poller_close() (whether or not `h` was a poller):
// forgets `h`.
void EndPollerClose(uint64_t h);

// Frees the object of handle `h` in `table` (a C with a `poller` member,
// counted by AddPollerFd) and uncounts it from its poller; a no-op for
// every caller but the first. Remove() waits for calls still pinned.
template <typename C, uint32_t N>
void ReleasePollerObject(internal::HandleTable<C, N>& table, uint64_t h) {
  C* c = nullptr;
  if (table.Remove(h, &c) != 0 || c == nullptr) return;
  uint64_t poller = c->poller;
  delete c;  // its Fd was destroyed: closes nothing
  RemovePollerFd(poller);
}

// Runs `f(C&)` with handle `h` pinned, then releases the handle if
// `destroyed(C&)` says the object's Fd was destroyed meanwhile (closed,
// and its last operation ended: Go's FD.destroy). GORT_EBADF for a stale
// or unknown handle. Exceptions are caught here, not by the entry point's
// guard: an error status built after the call destroyed the Fd (it may
// allocate, and throw) must not keep the handle from being released.
template <typename C, uint32_t N, typename F, typename D>
int WithPollerObject(internal::HandleTable<C, N>& table, uint64_t h, F&& f,
                     D&& destroyed) {
  int rc;
  bool gone;
  {
    auto c = table.Acquire(h);
    if (!c) return GORT_EBADF;
    try {
      rc = f(*c.get());
    } catch (...) {
      rc = ExceptionToCode();
    }
    gone = destroyed(*c.get());
  }  // unpinned: Remove() waits for pins
  if (gone) ReleasePollerObject(table, h);
  return rc;
}

}  // namespace gort::capi

#endif  // GORT_BINDINGS_C_SRC_POLLERS_C_H_
