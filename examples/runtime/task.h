// SPDX-License-Identifier: BSD-3-Clause
// A task: a fire-and-forget C++20 coroutine the scheduler runs, Go's
// goroutine in this example (`go f()` is `Spawn(sched, F(...))`).
//
// A Task starts suspended; Spawn() queues it and counts it, and it frees
// its own frame when it returns. The frame is the task's only allocation:
// awaiting I/O or a sleep allocates nothing.
#ifndef GORT_EXAMPLES_RUNTIME_TASK_H_
#define GORT_EXAMPLES_RUNTIME_TASK_H_

#include <coroutine>
#include <exception>

#include "scheduler.h"

namespace rt {

class Task {
 public:
  struct promise_type : Waiter {
    Scheduler* sched = nullptr;
    // The frame's handle, kept so that Start() is a load and a jump (GCC
    // makes four instructions of from_promise() there).
    std::coroutine_handle<> self;

    // Waiter: running it resumes the coroutine. The first run starts it;
    // an awaitable with nothing to do but resume parks it as its token
    // (readable.h).
    promise_type() : Waiter(&Start) {}
    static void Start(Waiter* w) {
      static_cast<promise_type*>(w)->self.resume();
    }

    Task get_return_object() {
      auto h = std::coroutine_handle<promise_type>::from_promise(*this);
      self = h;
      return Task(h);
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    // Frees the frame, then tells the scheduler (which may end Run()).
    struct Final {
      bool await_ready() noexcept { return false; }
      void await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        Scheduler* s = h.promise().sched;
        h.destroy();
        s->TaskFinished();
      }
      void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };

  Task(Task&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  // A task never spawned is freed here.
  ~Task() {
    if (h_) h_.destroy();
  }

 private:
  friend void Spawn(Scheduler& s, Task t);
  explicit Task(std::coroutine_handle<promise_type> h) : h_(h) {}
  std::coroutine_handle<promise_type> h_;
};

// Queues `t` to run on `s`; Run() will not return before it has finished.
inline void Spawn(Scheduler& s, Task t) {
  std::coroutine_handle<Task::promise_type> h = t.h_;
  t.h_ = nullptr;
  h.promise().sched = &s;
  s.TaskStarted();
  s.Ready(&h.promise());
}

}  // namespace rt

#endif  // GORT_EXAMPLES_RUNTIME_TASK_H_
