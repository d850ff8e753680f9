// SPDX-License-Identifier: BSD-3-Clause
// The C ABI's pollers, shared by netpoll_c.cc (which opens and closes
// them) and fd_c.cc (whose fd handles each use one): the handle table, and
// per poller the number of fd handles that use it, so that
// gort_poller_close() refuses (GORT_EBUSY) to free a poller its fds still
// point to (an Fd keeps a Poller& and unregisters from it when it is
// destroyed).
#ifndef GORT_BINDINGS_C_SRC_POLLERS_C_H_
#define GORT_BINDINGS_C_SRC_POLLERS_C_H_

#include <cstdint>

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

}  // namespace gort::capi

#endif  // GORT_BINDINGS_C_SRC_POLLERS_C_H_
