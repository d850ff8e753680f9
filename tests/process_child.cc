// SPDX-License-Identifier: BSD-3-Clause
// The child the process tests start (tests/process_test.cc): a tiny program
// without gort, told what to do by argv[1]. Output goes to stdout.
//   exit N          exits with N
//   args A...       prints each argument as "<length>:<bytes>\n"
//   env NAME        prints NAME's value, or "<unset>"
//   cwd             prints the working directory
//   fds             Unix: prints the open descriptors (but the listing's own)
//   handles H...    Windows: prints "open" or "closed" for each handle value
//   term-clean      on SIGTERM (Windows: CTRL_BREAK/CTRL_C) exits with 42
//   term-ignore     ignores SIGTERM (Windows: console events) and sleeps
//   sleep MS        sleeps MS ms, then exits with 0
//   cat             copies stdin to stdout until end of stream, then exits
//                   with the byte count modulo 256
// "term-*" print "ready\n" once their handler is in.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#if defined(_WIN32)
#include <windows.h>
#else
#include <dirent.h>
#include <signal.h>
#include <unistd.h>
#endif

namespace {

std::atomic<int> g_term{0};

#if defined(_WIN32)
BOOL WINAPI OnCtrl(DWORD event) {
  if (event == CTRL_BREAK_EVENT || event == CTRL_C_EVENT) {
    g_term.store(1);
    return TRUE;
  }
  return FALSE;
}
BOOL WINAPI Swallow(DWORD) { return TRUE; }
#else
void OnTerm(int) { g_term.store(1); }
#endif

void Ready() {
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
}

void SleepMs(long ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return 100;
  std::string mode = argv[1];
  if (mode == "exit" && argc > 2) return std::atoi(argv[2]);
  if (mode == "args") {
    for (int i = 2; i < argc; i++) {
      std::printf("%zu:%s\n", std::strlen(argv[i]), argv[i]);
    }
    return 0;
  }
  if (mode == "env" && argc > 2) {
    const char* v = std::getenv(argv[2]);
    std::printf("%s\n", v != nullptr ? v : "<unset>");
    return 0;
  }
  if (mode == "cwd") {
#if defined(_WIN32)
    char buf[1024];
    DWORD n = GetCurrentDirectoryA(sizeof(buf), buf);
    if (n == 0 || n >= sizeof(buf)) return 101;
#else
    char buf[4096];
    if (getcwd(buf, sizeof(buf)) == nullptr) return 101;
#endif
    std::printf("%s\n", buf);
    return 0;
  }
#if defined(_WIN32)
  if (mode == "handles") {
    for (int i = 2; i < argc; i++) {
      HANDLE h = reinterpret_cast<HANDLE>(
          static_cast<uintptr_t>(std::strtoull(argv[i], nullptr, 10)));
      DWORD flags = 0;
      std::printf("%s\n", GetHandleInformation(h, &flags) ? "open" : "closed");
    }
    return 0;
  }
  if (mode == "term-clean") {
    SetConsoleCtrlHandler(OnCtrl, TRUE);
    Ready();
    for (int i = 0; i < 3000 && g_term.load() == 0; i++) SleepMs(10);
    return g_term.load() != 0 ? 42 : 3;
  }
  if (mode == "term-ignore") {
    SetConsoleCtrlHandler(Swallow, TRUE);
    Ready();
    SleepMs(30000);
    return 4;
  }
#else
  if (mode == "fds") {
    DIR* d = opendir("/proc/self/fd");
    if (d == nullptr) d = opendir("/dev/fd");
    if (d == nullptr) return 102;
    int own = dirfd(d);
    while (struct dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      int fd = std::atoi(e->d_name);
      if (fd != own) std::printf("%d\n", fd);
    }
    closedir(d);
    return 0;
  }
  if (mode == "term-clean") {
    struct sigaction sa;
    std::memset(&sa, 0, sizeof(sa));
    sa.sa_handler = OnTerm;
    sigaction(SIGTERM, &sa, nullptr);
    Ready();
    for (int i = 0; i < 3000 && g_term.load() == 0; i++) SleepMs(10);
    return g_term.load() != 0 ? 42 : 3;
  }
  if (mode == "term-ignore") {
    signal(SIGTERM, SIG_IGN);
    Ready();
    SleepMs(30000);
    return 4;
  }
#endif
  if (mode == "sleep" && argc > 2) {
    SleepMs(std::atol(argv[2]));
    return 0;
  }
  if (mode == "cat") {
    // Raw reads and writes: no stdio buffering or text-mode translation.
    char buf[4096];
    unsigned long total = 0;
    for (;;) {
#if defined(_WIN32)
      DWORD n = 0;
      if (!ReadFile(GetStdHandle(STD_INPUT_HANDLE), buf, sizeof(buf), &n,
                    nullptr) ||
          n == 0) {
        break;
      }
      DWORD put = 0;
      if (!WriteFile(GetStdHandle(STD_OUTPUT_HANDLE), buf, n, &put, nullptr) ||
          put != n) {
        return 101;
      }
#else
      ssize_t n = read(0, buf, sizeof(buf));
      if (n <= 0) break;
      for (ssize_t off = 0; off < n;) {
        ssize_t put = write(1, buf + off, static_cast<size_t>(n - off));
        if (put <= 0) return 101;
        off += put;
      }
#endif
      total += static_cast<unsigned long>(n);
    }
    return static_cast<int>(total % 256);
  }
  return 100;
}
