// SPDX-License-Identifier: BSD-3-Clause
// The C ABI for child processes (include/gort/process.h).
//
// A process handle names a Process and the poller handle it was made with;
// it counts as one of that poller's fd handles (pollers_c.h), so the poller
// cannot be closed under it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "capi.h"
#include "gort.h"
#include "gort/netpoll.h"
#include "gort/process.h"
#include "handle_table.h"
#include "pollers_c.h"

namespace {

using gort::IoState;
using gort::Process;
using gort::ProcessResult;
using gort::capi::ExceptionToCode;

struct CProcess {
  std::unique_ptr<Process> proc;
  uint64_t poller;
};

gort::internal::HandleTable<CProcess> g_processes;

int Code(const absl::Status& s) { return gort::capi::StatusToCode(s); }

template <typename F>
int WithProcess(gort_process_t h, F&& f) {
  auto c = g_processes.Acquire(h);
  if (!c) return GORT_EBADF;
  return f(*c->proc);
}

void ToC(const ProcessResult& r, gort_exit_status* st) {
  st->exited = r.status.exited ? 1 : 0;
  st->signal = r.status.signal;
  st->code = r.status.code;
  st->ended_by = static_cast<int32_t>(r.ended_by);
  st->reserved = 0;
}

int Result(const absl::Status& s, const ProcessResult& r,
           gort_exit_status* st) {
  if (!s.ok()) return Code(s);
  if (r.state == IoState::kParked) return GORT_POLL_PARKED;
  ToC(r, st);
  return 0;
}

}  // namespace

extern "C" {

int gort_process_spawn(gort_poller_t poller, const gort_spawn_attr* attr,
                       gort_process_t* out) try {
  auto p = gort::capi::g_pollers.Acquire(poller);
  if (!p) return GORT_EBADF;
  if (attr == nullptr || out == nullptr) return GORT_EINVAL;
  if (attr->size < sizeof(gort_spawn_attr) || attr->path == nullptr ||
      attr->path[0] == '\0') {
    return GORT_EINVAL;
  }
  if ((attr->flags &
       ~(GORT_SPAWN_NEW_PROCESS_GROUP | GORT_SPAWN_NEW_SESSION)) != 0) {
    return GORT_EINVAL;
  }
  gort::SpawnOptions o;
  o.path = attr->path;
  if (attr->argv != nullptr) {
    for (const char* const* a = attr->argv; *a != nullptr; a++) {
      o.argv.emplace_back(*a);
    }
  }
  if (attr->env != nullptr) {
    for (const char* const* e = attr->env; *e != nullptr; e++) {
      o.env.emplace_back(*e);
    }
  }
  o.inherit_env = attr->inherit_env != 0;
  if (attr->dir != nullptr) o.dir = attr->dir;
  for (int i = 0; i < 3; i++) o.stdio[i] = attr->stdio[i];
  o.new_process_group = (attr->flags & GORT_SPAWN_NEW_PROCESS_GROUP) != 0;
  o.new_session = (attr->flags & GORT_SPAWN_NEW_SESSION) != 0;
  if (!gort::capi::AddPollerFd(poller)) return GORT_EBADF;
  absl::StatusOr<std::unique_ptr<Process>> proc = Process::Spawn(*p.get(), o);
  if (!proc.ok()) {
    gort::capi::RemovePollerFd(poller);
    return Code(proc.status());
  }
  CProcess* c = new (std::nothrow) CProcess{std::move(*proc), poller};
  uint64_t h = c != nullptr ? g_processes.Insert(c) : 0;
  if (h == 0) {
    int err = c == nullptr ? GORT_ENOMEM : GORT_EMFILE;
    delete c;  // the child runs on, unwatched (a zombie once it ends)
    gort::capi::RemovePollerFd(poller);
    return err;
  }
  *out = h;
  return 0;
} catch (...) {
  return ExceptionToCode();
}

int gort_process_wait(gort_process_t proc, uintptr_t token,
                      gort_exit_status* st) try {
  return WithProcess(proc, [&](Process& p) -> int {
    if (st == nullptr) return GORT_EINVAL;
    ProcessResult r;
    absl::Status s = p.Wait(token, &r);
    return Result(s, r, st);
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_process_terminate(gort_process_t proc, int64_t grace_ns,
                           uintptr_t token, gort_exit_status* st) try {
  return WithProcess(proc, [&](Process& p) -> int {
    if (st == nullptr) return GORT_EINVAL;
    ProcessResult r;
    absl::Status s = p.Terminate(absl::Nanoseconds(grace_ns), token, &r);
    return Result(s, r, st);
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_process_signal(gort_process_t proc, int sig) try {
  return WithProcess(proc, [&](Process& p) -> int {
    if (sig < 1 || sig > 64) return GORT_EINVAL;
    return Code(p.Signal(sig));
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_process_set_deadline(gort_process_t proc, int64_t d) try {
  return WithProcess(proc,
                     [&](Process& p) -> int { return Code(p.SetDeadline(d)); });
} catch (...) {
  return ExceptionToCode();
}

int gort_process_pid(gort_process_t proc, int64_t* pid) try {
  return WithProcess(proc, [&](Process& p) -> int {
    if (pid == nullptr) return GORT_EINVAL;
    *pid = p.Pid();
    return 0;
  });
} catch (...) {
  return ExceptionToCode();
}

int gort_process_close(gort_process_t proc) try {
  {
    auto c = g_processes.Acquire(proc);
    if (!c) return GORT_EBADF;
    if (c->proc->Busy()) return GORT_EBUSY;
  }
  CProcess* c = nullptr;
  if (g_processes.Remove(proc, &c) != 0 || c == nullptr) return GORT_EBADF;
  uint64_t poller = c->poller;
  delete c;
  gort::capi::RemovePollerFd(poller);
  return 0;
} catch (...) {
  return ExceptionToCode();
}

}  // extern "C"
