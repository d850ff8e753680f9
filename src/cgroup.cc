// SPDX-License-Identifier: BSD-3-Clause
// Cgroup CPU and memory limits, as pure logic over a filesystem root: the
// real one on Linux, a fake tree in tests (on every target).
//
// Mirrors Go 1.25's internal/runtime/cgroup/cgroup_linux.go (finding the
// cgroup through /proc/self/cgroup and /proc/self/mountinfo, reading cpu.max
// or cpu.cfs_quota_us/cpu.cfs_period_us of the leaf, descriptors kept open)
// and runtime/cgroup_linux.go (max(ceil(quota/period), 2)); the kLibuv rule
// mirrors libuv's uv_available_parallelism (tightest quota up the tree).
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "file_internal.h"
#include "gort/sysinfo.h"

namespace gort {
namespace {

using internal::File;
using internal::ReadOnce;

std::string ErrnoText(int err) {
  switch (err) {
    case ENOENT:
      return "not found";
    case EACCES:
      return "permission denied";
    case ENOTDIR:
      return "not a directory";
    case EISDIR:
      return "is a directory";
    default: {
      std::string s = "errno ";
      s += std::to_string(err);
      return s;
    }
  }
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t i = s.find(sep, start);
    if (i == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, i - start));
    start = i + 1;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' ||
                        s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  return s;
}

// A decimal integer, optionally negative, the whole of s; false otherwise.
bool ParseInt(std::string_view s, int64_t* v) {
  bool neg = false;
  if (!s.empty() && s.front() == '-') {
    neg = true;
    s.remove_prefix(1);
  }
  if (s.empty() || s.size() > 19) return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > static_cast<uint64_t>(INT64_MAX)) return false;
  *v = neg ? -static_cast<int64_t>(n) : static_cast<int64_t>(n);
  return true;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' &&
        s[i + 1] <= '3' && s[i + 2] >= '0' && s[i + 2] <= '7' &&
        s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 +
                               (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string RootPrefix(std::string_view root) {
  std::string r(root);
  while (!r.empty() && r.back() == '/') r.pop_back();
  return r;  // "" for the real root; paths are r + "/proc/..."
}

// Where a controller's cgroup directory is: the leaf and the mount point,
// both below the filesystem root, or why it could not be found.
struct CgroupDir {
  int version = 0;    // 0: not found
  std::string leaf;   // root + mountpoint + relative path
  std::string mount;  // root + mountpoint
  std::string reason;
};

// Go: FindCPURelativePath + FindCPUMountPoint (internal/runtime/cgroup).
// A v1 hierarchy carrying `controller` wins over the v2 one (hybrid mode:
// the v2 hierarchy then has no such controller).
CgroupDir FindCgroup(std::string_view root, std::string_view controller) {
  CgroupDir d;
  std::string r = RootPrefix(root);
  int err = 0;
  std::string self_cgroup = r + "/proc/self/cgroup";
  std::string cg = ReadOnce(self_cgroup, &err);
  if (err != 0) {
    d.reason = self_cgroup;
    d.reason += ": ";
    d.reason += ErrnoText(err);
    return d;
  }
  int version = 0;
  std::string rel;
  for (std::string_view line : Split(cg, '\n')) {
    line = Trim(line);
    if (line.empty()) continue;
    // hierarchy-ID:controller-list:cgroup-path (the path may hold ':').
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) continue;
    std::string_view id = line.substr(0, c1);
    std::string_view ctrls = line.substr(c1 + 1, c2 - c1 - 1);
    std::string_view path = line.substr(c2 + 1);
    if (id == "0" && ctrls.empty()) {
      if (version == 0) {
        version = 2;
        rel = std::string(path);
      }
      continue;
    }
    for (std::string_view c : Split(ctrls, ',')) {
      if (c == controller) {
        version = 1;
        rel = std::string(path);
      }
    }
    if (version == 1) break;
  }
  if (version == 0) {
    d.reason = "no ";
    d.reason += controller;
    d.reason += " cgroup in ";
    d.reason += self_cgroup;
    return d;
  }
  std::string mountinfo = r + "/proc/self/mountinfo";
  std::string mi = ReadOnce(mountinfo, &err);
  if (err != 0) {
    d.reason = mountinfo;
    d.reason += ": ";
    d.reason += ErrnoText(err);
    return d;
  }
  for (std::string_view line : Split(mi, '\n')) {
    // id parent maj:min root mountpoint options [optional...] - fstype
    // source superoptions
    std::vector<std::string_view> f = Split(Trim(line), ' ');
    size_t dash = 0;
    for (size_t i = 6; i < f.size(); ++i) {
      if (f[i] == "-") {
        dash = i;
        break;
      }
    }
    if (dash == 0 || dash + 3 >= f.size()) continue;
    std::string_view fstype = f[dash + 1];
    bool match = false;
    if (version == 2) {
      match = fstype == "cgroup2";
    } else if (fstype == "cgroup") {
      for (std::string_view o : Split(f[dash + 3], ',')) {
        if (o == controller) match = true;
      }
    }
    if (!match) continue;
    std::string mroot = Unescape(f[3]);
    std::string mpoint = Unescape(f[4]);
    // The cgroup path is relative to the hierarchy's root; the mount shows
    // the part below mroot.
    std::string below;
    if (mroot == "/") {
      below = rel == "/" ? "" : rel;
    } else if (rel.compare(0, mroot.size(), mroot) == 0 &&
               (rel.size() == mroot.size() || rel[mroot.size()] == '/')) {
      below = rel.substr(mroot.size());
    } else {
      continue;  // another mount of the hierarchy may show the cgroup
    }
    if (mpoint == "/") mpoint.clear();
    d.version = version;
    d.mount = r + mpoint;
    d.leaf = d.mount + below;
    return d;
  }
  d.reason = "no ";
  d.reason += version == 2 ? "cgroup2" : "cgroup v1 ";
  if (version == 1) d.reason += controller;
  d.reason += " mount showing ";
  d.reason += rel;
  d.reason += " in ";
  d.reason += mountinfo;
  return d;
}

// The directories from the leaf up to the mount point, leaf first.
std::vector<std::string> Levels(const CgroupDir& d, bool walk) {
  std::vector<std::string> out{d.leaf};
  if (!walk) return out;
  std::string cur = d.leaf;
  while (cur.size() > d.mount.size()) {
    size_t slash = cur.rfind('/');
    if (slash == std::string::npos || slash < d.mount.size()) break;
    cur.resize(slash);
    out.push_back(cur);
  }
  if (out.back() != d.mount) out.push_back(d.mount);
  return out;
}

// One level's CPU files, kept open.
struct CpuLevel {
  File quota;   // v2 cpu.max; v1 cpu.cfs_quota_us
  File period;  // v1 cpu.cfs_period_us
  int open_err = 0;
};

std::string Cat(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) out.append(p.data(), p.size());
  return out;
}

std::string Quoted(std::string_view s) {
  std::string out = "\"";
  out += Trim(s);
  out += "\"";
  return out;
}

// One level's limit from its open files.
Limit ReadLevel(CpuLevel* l, int version) {
  Limit lim;
  lim.cgroup_version = version;
  lim.source = l->quota.path();
  if (l->open_err != 0) {
    lim.reason = l->quota.path();
    lim.reason += ": ";
    lim.reason += ErrnoText(l->open_err);
    return lim;
  }
  std::string q, p;
  if (int err = l->quota.ReadAll(&q); err != 0) {
    lim.reason = Cat({l->quota.path(), ": ", ErrnoText(err)});
    return lim;
  }
  int64_t quota = 0, period = 0;
  if (version == 2) {
    // cpu.max: "max 100000" or "50000 100000" (Go: parseV2Limit).
    std::vector<std::string_view> f = Split(Trim(q), ' ');
    if (f.size() != 2 || (f[0] != "max" && !ParseInt(f[0], &quota)) ||
        !ParseInt(f[1], &period) || period <= 0 ||
        (f[0] != "max" && quota <= 0)) {
      lim.reason = Cat({"malformed ", l->quota.path(), ": ", Quoted(q)});
      return lim;
    }
    if (f[0] == "max") quota = -1;
  } else {
    // cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us (Go: parseV1Number).
    if (!ParseInt(Trim(q), &quota) || quota == 0 || quota < -1) {
      lim.reason = Cat({"malformed ", l->quota.path(), ": ", Quoted(q)});
      return lim;
    }
    if (quota != -1) {
      lim.source += " + ";
      lim.source += l->period.path();
      if (!l->period.is_open()) {
        lim.reason = Cat({l->period.path(), ": not open"});
        return lim;
      }
      if (int err = l->period.ReadAll(&p); err != 0) {
        lim.reason = Cat({l->period.path(), ": ", ErrnoText(err)});
        return lim;
      }
      if (!ParseInt(Trim(p), &period) || period <= 0) {
        lim.reason = Cat({"malformed ", l->period.path(), ": ", Quoted(p)});
        return lim;
      }
    }
  }
  if (quota < 0) {
    lim.state = LimitState::kNone;
    lim.reason = "no quota (";
    lim.reason += version == 2 ? "\"max\"" : "-1";
    lim.reason += ")";
    return lim;
  }
  lim.state = LimitState::kLimited;
  lim.quota_us = quota;
  lim.period_us = period;
  lim.cpus = static_cast<double>(quota) / static_cast<double>(period);
  return lim;
}

class CgroupCpuReaderImpl final : public CgroupCpuReader {
 public:
  CgroupCpuReaderImpl(std::string_view root, ParallelismRule rule)
      : rule_(rule) {
    dir_ = FindCgroup(root, "cpu");
    if (dir_.version == 0) return;
    for (const std::string& lvl :
         Levels(dir_, rule == ParallelismRule::kLibuv)) {
      CpuLevel l;
      if (dir_.version == 2) {
        l.open_err = l.quota.Open(lvl + "/cpu.max");
      } else {
        l.open_err = l.quota.Open(lvl + "/cpu.cfs_quota_us");
        if (l.open_err == 0) (void)l.period.Open(lvl + "/cpu.cfs_period_us");
      }
      levels_.push_back(std::move(l));
    }
  }

  Limit Read() override {
    if (dir_.version == 0) {
      Limit lim;
      lim.reason = dir_.reason;
      return lim;
    }
    // Go: the leaf only. libuv: the tightest limit of any level (a missing
    // ancestor file, as the v2 root's cpu.max, is skipped); with none, what
    // the leaf said.
    Limit leaf = ReadLevel(&levels_[0], dir_.version);
    if (rule_ == ParallelismRule::kGo125) return leaf;
    Limit best = leaf;
    for (size_t i = 1; i < levels_.size(); ++i) {
      Limit l = ReadLevel(&levels_[i], dir_.version);
      if (l.state == LimitState::kLimited &&
          (best.state != LimitState::kLimited || l.cpus < best.cpus)) {
        best = std::move(l);
      }
    }
    return best;
  }

 private:
  ParallelismRule rule_;
  CgroupDir dir_;
  std::vector<CpuLevel> levels_;
};

}  // namespace

std::unique_ptr<CgroupCpuReader> CgroupCpuReader::Open(std::string_view root,
                                                       ParallelismRule rule) {
  return std::make_unique<CgroupCpuReaderImpl>(root, rule);
}

Limit ReadCgroupCpuLimit(std::string_view root, ParallelismRule rule) {
  return CgroupCpuReader::Open(root, rule)->Read();
}

Limit ReadCgroupMemoryLimit(std::string_view root) {
  CgroupDir d = FindCgroup(root, "memory");
  Limit best;
  if (d.version == 0) {
    best.reason = d.reason;
    return best;
  }
  // v1's "unlimited" is PAGE_COUNTER_MAX rounded down to a page.
  constexpr int64_t kV1Unlimited = int64_t{1} << 62;
  for (const std::string& lvl : Levels(d, true)) {
    Limit l;
    l.cgroup_version = d.version;
    l.source =
        Cat({lvl, d.version == 2 ? "/memory.max" : "/memory.limit_in_bytes"});
    int err = 0;
    std::string s = ReadOnce(l.source, &err);
    int64_t v = 0;
    if (err != 0) {
      l.reason = Cat({l.source, ": ", ErrnoText(err)});
    } else if (Trim(s) == "max" && d.version == 2) {
      l.state = LimitState::kNone;
      l.reason = "no limit (\"max\")";
    } else if (!ParseInt(Trim(s), &v) || v < 0) {
      l.reason = Cat({"malformed ", l.source, ": ", Quoted(s)});
    } else if (v >= kV1Unlimited) {
      l.state = LimitState::kNone;
      l.reason = "no limit (";
      l.reason += std::to_string(v);
      l.reason += ")";
    } else {
      l.state = LimitState::kLimited;
      l.bytes = v;
    }
    // The tightest limit of any level; with none, what the leaf said.
    if (lvl == d.leaf ||
        (l.state == LimitState::kLimited &&
         (best.state != LimitState::kLimited || l.bytes < best.bytes))) {
      best = std::move(l);
    }
  }
  return best;
}

int ApplyCpuLimit(int affinity_cpus, const Limit& limit, ParallelismRule rule) {
  int n = affinity_cpus > 0 ? affinity_cpus : 1;
  if (limit.state != LimitState::kLimited || !(limit.cpus > 0)) return n;
  double c = std::ceil(limit.cpus);
  int cap = c >= 1e6 ? 1000000 : static_cast<int>(c);
  // runtime/cgroup_linux.go: never below 2, so a half-CPU container still
  // overlaps a blocked thread with a running one; libuv: at least 1.
  if (rule == ParallelismRule::kGo125) {
    if (cap < 2) cap = 2;
  } else if (cap < 1) {
    cap = 1;
  }
  return n < cap ? n : cap;
}

// Go has no such fact; /sys/devices/system/cpu/cpu0/cpufreq is absent in
// most VMs and containers, hence the reason.
Fact ReadLinuxCpuFreq(std::string_view root) {
  Fact f;
  std::string dir = RootPrefix(root) + "/sys/devices/system/cpu/cpu0/cpufreq/";
  for (std::string_view name : {"scaling_cur_freq", "cpuinfo_cur_freq"}) {
    std::string path = Cat({dir, name});
    int err = 0;
    std::string s = ReadOnce(path, &err);
    int64_t v = 0;
    if (err != 0) {
      if (!f.reason.empty()) f.reason += "; ";
      f.reason += Cat({path, ": ", ErrnoText(err)});
    } else if (!ParseInt(Trim(s), &v) || v <= 0) {
      if (!f.reason.empty()) f.reason += "; ";
      f.reason += Cat({"malformed ", path, ": ", Quoted(s)});
    } else {
      f.value = v;
      f.source = path;
      f.reason.clear();
      return f;
    }
  }
  return f;
}

}  // namespace gort
