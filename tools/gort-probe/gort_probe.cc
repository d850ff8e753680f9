// SPDX-License-Identifier: BSD-3-Clause
// gort-probe: the platform report.
//
//   gort-probe            the report, as text
//   gort-probe --json     the same, as one JSON object
//   gort-probe errnos OS  the error table of OS (linux, darwin, windows) as
//                         NAME<TAB>value lines, whatever machine this runs on,
//                         then its aliases as NAME<TAB>value<TAB>alias of X
//   gort-probe syscalls T the system call table of target T (linux-amd64,
//                         linux-arm64, linux-riscv64, linux-386, linux-arm) as
//                         name<TAB>number lines, whatever machine this runs on
//
// It grows with every capability gort gains.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gort.h"
#include "gort/errno.h"
#include "gort/netpoll.h"
#include "gort/platform.h"
#include "gort/signal.h"
#include "gort/syscall.h"
#include "gort/sysinfo.h"
#include "gort/time.h"

namespace {

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// One line of the report: a key and its value, already JSON-encoded.
struct Fact {
  std::string key;
  std::string text;  // for the text report
  std::string json;  // for --json
};

// What the clock really does here: the smallest step two reads show, the
// cost of one read, and how late a 1 ms sleep wakes (median of 9).
struct ClockFacts {
  int64_t step_ns;
  int64_t read_ns;
  int64_t sleep_late_us;
};

ClockFacts MeasureClock() {
  ClockFacts f;
  f.step_ns = INT64_MAX;
  for (int i = 0; i < 200; ++i) {
    int64_t a = gort::Nanotime();
    int64_t b;
    while ((b = gort::Nanotime()) == a) {
    }
    f.step_ns = std::min(f.step_ns, b - a);
  }
  constexpr int kReads = 100000;
  int64_t t0 = gort::Nanotime();
  for (int i = 0; i < kReads; ++i) gort::Nanotime();
  f.read_ns = (gort::Nanotime() - t0) / kReads;
  std::vector<int64_t> late;
  for (int i = 0; i < 9; ++i) {
    int64_t s0 = gort::Nanotime();
    (void)gort::Sleep(1000000);
    late.push_back((gort::Nanotime() - s0 - 1000000) / 1000);
  }
  std::sort(late.begin(), late.end());
  f.sleep_late_us = late[late.size() / 2];
  return f;
}

const char* LimitStateName(gort::LimitState s) {
  switch (s) {
    case gort::LimitState::kLimited:
      return "limited";
    case gort::LimitState::kNone:
      return "none";
    case gort::LimitState::kUnknown:
      break;
  }
  return "unknown";
}

// A CPU or memory limit, as text and as a JSON object.
Fact LimitFact(std::string key, const gort::Limit& l, bool cpu) {
  std::string text;
  if (l.state == gort::LimitState::kLimited) {
    if (cpu) {
      text = absl::StrFormat("%.2f CPUs", l.cpus);
      if (l.period_us > 0) {
        absl::StrAppend(&text, " (quota ", l.quota_us, "/", l.period_us,
                        " us)");
      }
    } else {
      text = absl::StrCat(l.bytes, " bytes");
    }
    if (l.cgroup_version > 0)
      absl::StrAppend(&text, ", cgroup v", l.cgroup_version);
    absl::StrAppend(&text, ", ", l.source);
  } else {
    text = absl::StrCat(LimitStateName(l.state), ": ", l.reason);
  }
  std::string json =
      absl::StrCat("{\"state\": ", JsonString(LimitStateName(l.state)),
                   ", \"cgroup_version\": ", l.cgroup_version);
  if (cpu) {
    absl::StrAppend(&json, ", \"cpus\": ", absl::StrFormat("%.4f", l.cpus),
                    ", \"quota_us\": ", l.quota_us,
                    ", \"period_us\": ", l.period_us);
  } else {
    absl::StrAppend(&json, ", \"bytes\": ", l.bytes);
  }
  absl::StrAppend(&json, ", \"source\": ", JsonString(l.source),
                  ", \"reason\": ", JsonString(l.reason), "}");
  return {std::move(key), text, json};
}

// A number the OS may not tell: the value, or "unknown (why)".
Fact NumberFact(std::string key, const gort::Fact& f, std::string_view unit) {
  std::string text =
      f.value > 0
          ? absl::StrCat(f.value, unit.empty() ? "" : " ", std::string(unit))
          : absl::StrCat("unknown (", f.reason, ")");
  std::string json = absl::StrCat("{\"value\": ", f.value,
                                  ", \"source\": ", JsonString(f.source),
                                  ", \"reason\": ", JsonString(f.reason), "}");
  return {std::move(key), text, json};
}

// How late a poller's 1 ms timed wait returns here (median of 9): Go's
// epoll rounding gives >= 1 ms; a completion port without high-resolution
// wait packets waits whole timer ticks. -1 if no poller opens.
int64_t MeasurePollTimeoutLateUs() {
  absl::StatusOr<std::unique_ptr<gort::Poller>> p = gort::Poller::Open();
  if (!p.ok()) return -1;
  std::vector<int64_t> late;
  for (int i = 0; i < 9; ++i) {
    gort::PollEvent ev[1];
    int64_t t0 = gort::Nanotime();
    if (!(*p)->Poll(1000000, ev, 1).ok()) return -1;
    late.push_back((gort::Nanotime() - t0 - 1000000) / 1000);
  }
  std::sort(late.begin(), late.end());
  return late[late.size() / 2];
}

std::vector<Fact> CollectFacts() {
  gort::PlatformInfo p = gort::GetPlatformInfo();
  std::vector<Fact> facts;
  auto str = [&](std::string key, std::string v) {
    std::string shown = v.empty() ? "unknown" : v;
    facts.push_back({std::move(key), shown, JsonString(v)});
  };
  auto num = [&](std::string key, int64_t v) {
    facts.push_back(
        {std::move(key), v > 0 ? absl::StrCat(v) : "unknown", absl::StrCat(v)});
  };
  str("gort_version", gort_version_string());
  str("compiler", std::string(gort::CompilerVersion()));
  str("os", p.os);
  str("arch", p.arch);
  str("os_version", p.os_version);
  str("machine", p.machine);
  facts.push_back({"emulator", p.emulator.empty() ? "none" : p.emulator,
                   JsonString(p.emulator)});
  num("page_size", p.page_size);
  num("cpu_count", p.cpu_count);
  gort::SystemFacts sys = gort::GetSystemFacts();
  const gort::Parallelism& par = sys.parallelism;
  num("available_parallelism", par.available);
  num("parallelism_libuv",
      gort::AvailableParallelism(gort::ParallelismRule::kLibuv));
  num("affinity_cpus", par.affinity_cpus);
  str("affinity_source", par.affinity_source);
  facts.push_back(LimitFact("cpu_limit", par.cpu_limit, true));
  facts.push_back(LimitFact(
      "cpu_limit_libuv",
      gort::GetParallelism(gort::ParallelismRule::kLibuv).cpu_limit, true));
  facts.push_back(NumberFact("physical_memory", sys.physical_memory, "bytes"));
  facts.push_back(LimitFact("memory_limit", sys.memory_limit, false));
  facts.push_back(NumberFact("cpu_freq_khz", sys.cpu_freq_khz, "kHz"));
  str("os_name", sys.os_name);
  if (sys.hostname.empty()) {
    facts.push_back({"hostname",
                     absl::StrCat("unknown (", sys.hostname_reason, ")"),
                     JsonString("")});
  } else {
    str("hostname", sys.hostname);
  }
  gort::SignalFacts sig = gort::GetSignalFacts();
  num("signals", sig.count > 0 ? sig.count - 1 : 0);
  facts.push_back(
      {"signal_rt_range",
       sig.rt_max > 0 ? absl::StrCat(sig.rt_min, "..", sig.rt_max) : "none",
       sig.rt_max > 0 ? absl::StrCat("[", sig.rt_min, ", ", sig.rt_max, "]")
                      : "null"});
  facts.push_back({"signal_min_altstack",
                   sig.min_altstack > 0
                       ? absl::StrCat(sig.min_altstack, " bytes (",
                                      sig.min_altstack_source, ")")
                       : "n/a",
                   absl::StrCat(sig.min_altstack)});
  str("signal_delivery", sig.delivery);
  // The dispositions this process started with (gort-probe installs
  // nothing): why a signal an embedder notifies may never arrive.
  auto signal_list = [&](std::string key, auto pick) {
    std::string text, json = "[";
    for (const gort::SignalState& st : gort::SignalStates()) {
      if (!pick(st)) continue;
      if (!text.empty()) text += " ";
      if (json.size() > 1) json += ", ";
      text += st.name;
      json += JsonString(st.name);
    }
    facts.push_back({std::move(key), text.empty() ? "none" : text, json + "]"});
  };
  signal_list("signals_ignored", [](const gort::SignalState& st) {
    return st.disposition == gort::SignalDisposition::kIgnored;
  });
  signal_list("signals_foreign_handler", [](const gort::SignalState& st) {
    return st.disposition == gort::SignalDisposition::kForeign;
  });
  signal_list("signals_blocked",
              [](const gort::SignalState& st) { return st.blocked; });
  str("error_space",
      std::string(gort::ErrorSpaceName(gort::NativeErrorSpace())));
  ClockFacts clock = MeasureClock();
  str("clock_source", std::string(gort::ClockSource()));
  num("clock_step_ns", clock.step_ns);
  num("clock_read_ns", clock.read_ns);
  num("sleep_1ms_late_us", clock.sleep_late_us);
  str("netpoll_backend", gort::Poller::BackendName());
  num("netpoll_polldesc_bytes",
      static_cast<int64_t>(gort::Poller::PollDescBytes()));
  int64_t poll_late = MeasurePollTimeoutLateUs();
  facts.push_back({"poll_1ms_late_us",
                   poll_late >= 0 ? absl::StrCat(poll_late) : "unknown",
                   absl::StrCat(poll_late)});
  std::string text, json = "[";
  for (std::string_view f : gort::BackendFiles()) {
    if (!text.empty()) text += ", ";
    if (json.size() > 1) json += ", ";
    text += f;
    json += JsonString(f);
  }
  facts.push_back({"backend_files", text, json + "]"});
  return facts;
}

// The kernel feature probes: each newer system call with "available",
// "ENOSYS" or "blocked" for the running kernel ("n/a" off Linux).
std::vector<std::pair<std::string, std::string>> KernelFeatures() {
  std::vector<std::pair<std::string, std::string>> out;
  for (std::string_view name : gort::ProbedSyscalls()) {
    absl::StatusOr<gort::SyscallProbe> p = gort::ProbeSyscall(name);
    out.emplace_back(std::string(name),
                     p.ok() ? std::string(gort::SyscallSupportName(p->support))
                            : std::string("n/a"));
  }
  return out;
}

// The native system call table's version, and the calls the running kernel
// serves beyond it ("n/a" off Linux).
std::vector<std::pair<std::string, std::string>> TableSkew() {
  std::vector<std::pair<std::string, std::string>> out;
  absl::StatusOr<gort::SyscallTableInfo> t =
      gort::DescribeSyscallTable(gort::NativeSyscallTarget());
  out.emplace_back("syscall_table",
                   t.ok() ? absl::StrFormat("%d calls, current to Linux %s "
                                            "(%s headers), highest %d",
                                            t->count, std::string(t->kernel),
                                            std::string(t->headers), t->highest)
                          : std::string("n/a"));
  absl::StatusOr<gort::SyscallSkew> skew = gort::ProbeBeyondTable();
  out.emplace_back("beyond_table",
                   skew.ok() ? gort::SyscallSkewLine(*skew) : "n/a");
  out.emplace_back("after_headers",
                   skew.ok() ? gort::SyscallLaterLine(*skew) : "n/a");
  return out;
}

int Report(bool json) {
  std::vector<Fact> facts = CollectFacts();
  std::vector<std::pair<std::string, std::string>> features = KernelFeatures();
  for (auto& f : TableSkew()) features.push_back(std::move(f));
  if (json) {
    std::string out = "{";
    for (size_t i = 0; i < facts.size(); ++i) {
      absl::StrAppend(&out, i ? ", " : "", JsonString(facts[i].key), ": ",
                      facts[i].json);
    }
    out += ", \"kernel_features\": {";
    for (size_t i = 0; i < features.size(); ++i) {
      if (i) out += ", ";
      out += JsonString(features[i].first);
      out += ": ";
      out += JsonString(features[i].second);
    }
    out += "}";
    std::printf("%s}\n", out.c_str());
  } else {
    std::printf("gort platform report\n");
    for (const Fact& f : facts) {
      std::printf("  %-22s %s\n", f.key.c_str(), f.text.c_str());
    }
    std::printf("kernel features (%s)\n",
                std::string(gort::NativeSyscallTarget()).c_str());
    for (const auto& [name, support] : features) {
      std::printf("  %-22s %s\n", name.c_str(), support.c_str());
    }
  }
  return 0;
}

int Errnos(std::string_view os) {
  int space;
  if (os == "linux") {
    space = GORT_ERRSPACE_LINUX;
  } else if (os == "darwin") {
    space = GORT_ERRSPACE_DARWIN;
  } else if (os == "windows") {
    space = GORT_ERRSPACE_WINDOWS;
  } else {
    std::fprintf(stderr,
                 "gort-probe: unknown OS %.*s (linux, darwin, windows)\n",
                 static_cast<int>(os.size()), os.data());
    return 2;
  }
  gort_syserr_t e = {};
  e.size = sizeof(e);
  for (size_t i = 0; gort_syserr_at(space, i, &e) == 0; ++i) {
    std::printf("%s\t%lld\n", e.name, static_cast<long long>(e.raw));
  }
  // Then the aliases, with the name they stand for in a third column.
  gort_syserr_t canonical = {};
  canonical.size = sizeof(canonical);
  for (size_t i = 0; gort_syserr_alias_at(space, i, &e) == 0; ++i) {
    gort_syserr_lookup(space, e.raw, &canonical);
    std::printf("%s\t%lld\talias of %s\n", e.name,
                static_cast<long long>(e.raw), canonical.name);
  }
  return 0;
}

int Syscalls(std::string_view target) {
  absl::StatusOr<std::vector<gort::SyscallInfo>> all =
      gort::ListSyscalls(target);
  if (!all.ok()) {
    std::string known;
    for (std::string_view t : gort::SyscallTargets()) {
      if (!known.empty()) known += ", ";
      known += t;
    }
    std::fprintf(stderr, "gort-probe: no system call table for %.*s (%s)\n",
                 static_cast<int>(target.size()), target.data(), known.c_str());
    return 2;
  }
  absl::StatusOr<gort::SyscallTableInfo> t = gort::DescribeSyscallTable(target);
  if (t.ok()) {  // stderr: stdout stays name<TAB>number lines
    std::fprintf(stderr,
                 "gort-probe: %s: %llu calls, current to Linux %s "
                 "(%s headers)\n",
                 std::string(t->target).c_str(),
                 static_cast<unsigned long long>(t->count),
                 std::string(t->kernel).c_str(),
                 std::string(t->headers).c_str());
  }
  for (const gort::SyscallInfo& s : *all) {
    std::printf("%.*s\t%lld\n", static_cast<int>(s.name.size()), s.name.data(),
                static_cast<long long>(s.number));
  }
  return 0;
}

constexpr char kUsage[] =
    "usage: gort-probe [--json]\n"
    "       gort-probe errnos linux|darwin|windows\n"
    "       gort-probe syscalls linux-amd64|linux-arm64|"
    "linux-riscv64|linux-386|linux-arm\n"
    "       gort-probe --help\n";

// A bad command line: the usage on stderr, status 2.
int Usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

// --help / -h: what it prints, on stdout, status 0.
int Help() {
  std::fputs(kUsage, stdout);
  std::fputs(
      "\n"
      "Prints what gort sees on this machine: the OS, arch, emulator, page\n"
      "size, CPUs and available parallelism with the container limits and\n"
      "their sources, memory, clocks, the backends built in, and which newer\n"
      "system calls the running kernel serves.\n"
      "\n"
      "  --json            the same report as one JSON object\n"
      "  errnos OS         an OS's error table: name, raw value, portable "
      "code\n"
      "  syscalls TARGET   a Linux arch's system call numbers (any arch, on\n"
      "                    any machine)\n"
      "  --help, -h        this text\n",
      stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return Report(false);
  if (args.size() == 1 && args[0] == "--json") return Report(true);
  if (args.size() == 1 && (args[0] == "--help" || args[0] == "-h"))
    return Help();
  if (args.size() == 2 && args[0] == "errnos") return Errnos(args[1]);
  if (args.size() == 2 && args[0] == "syscalls") return Syscalls(args[1]);
  return Usage();
}
