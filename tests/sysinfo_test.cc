// SPDX-License-Identifier: BSD-3-Clause
// Available parallelism over fake cgroup trees (v1, v2, hybrid, nested,
// "max", below one CPU, malformed and missing files) on every target, the
// real cgroup v1 cpu controller where it is writable, and system facts.
#include "gort/sysinfo.h"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gort.h"
#include "gort/platform.h"
#include "gtest/gtest.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

namespace {

namespace fs = std::filesystem;
using gort::LimitState;
using gort::ParallelismRule;

constexpr ParallelismRule kGo = ParallelismRule::kGo125;
constexpr ParallelismRule kUv = ParallelismRule::kLibuv;

// A fake filesystem root under the temp directory, removed at the end.
class FakeRoot {
 public:
  FakeRoot() {
    static int n = 0;
    std::string name = "gort_sysinfo_";
#if defined(_WIN32)
    name += std::to_string(GetCurrentProcessId());
#else
    name += std::to_string(getpid());
#endif
    name += "_";
    name += std::to_string(++n);
    dir_ = fs::temp_directory_path() / name;
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~FakeRoot() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void Write(const std::string& rel, const std::string& text) {
    fs::path p = dir_ / fs::path(rel).relative_path();
    fs::create_directories(p.parent_path());
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f << text;
  }
  std::string root() const { return dir_.generic_string(); }

 private:
  fs::path dir_;
};

constexpr const char* kV2Mount =
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 "
    "rw,nsdelegate\n";
constexpr const char* kV1Mounts =
    "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup "
    "cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup "
    "rw,memory\n";

void V2(FakeRoot* r, const std::string& path) {
  std::string line = "0::";
  line += path;
  line += "\n";
  r->Write("proc/self/cgroup", line);
  r->Write("proc/self/mountinfo", kV2Mount);
}

TEST(Cgroup, V2QuotaIsRead) {
  FakeRoot r;
  V2(&r, "/kubepods/pod1");
  r.Write("sys/fs/cgroup/kubepods/pod1/cpu.max", "150000 100000\n");
  gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
  ASSERT_EQ(l.state, LimitState::kLimited) << l.reason;
  EXPECT_EQ(l.cgroup_version, 2);
  EXPECT_EQ(l.quota_us, 150000);
  EXPECT_EQ(l.period_us, 100000);
  EXPECT_DOUBLE_EQ(l.cpus, 1.5);
  EXPECT_NE(l.source.find("kubepods/pod1/cpu.max"), std::string::npos);
  EXPECT_EQ(gort::ApplyCpuLimit(8, l, kGo), 2);
  EXPECT_EQ(gort::ApplyCpuLimit(8, l, kUv), 2);
  EXPECT_EQ(gort::ApplyCpuLimit(1, l, kGo), 1);
}

TEST(Cgroup, V2MaxIsNoLimit) {
  FakeRoot r;
  V2(&r, "/user.slice");
  r.Write("sys/fs/cgroup/user.slice/cpu.max", "max 100000\n");
  gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
  EXPECT_EQ(l.state, LimitState::kNone) << l.reason;
  EXPECT_EQ(l.quota_us, -1);
  EXPECT_EQ(gort::ApplyCpuLimit(8, l, kGo), 8);
}

TEST(Cgroup, QuotaBelowOneCpu) {
  FakeRoot r;
  V2(&r, "/small");
  r.Write("sys/fs/cgroup/small/cpu.max", "50000 100000\n");
  gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
  ASSERT_EQ(l.state, LimitState::kLimited) << l.reason;
  EXPECT_DOUBLE_EQ(l.cpus, 0.5);
  // Go 1.25 never goes below 2 (but never above the affinity count); libuv
  // says 1.
  EXPECT_EQ(gort::ApplyCpuLimit(8, l, kGo), 2);
  EXPECT_EQ(gort::ApplyCpuLimit(1, l, kGo), 1);
  EXPECT_EQ(gort::ApplyCpuLimit(8, l, kUv), 1);
}

TEST(Cgroup, V1QuotaAndPeriod) {
  FakeRoot r;
  r.Write("proc/self/cgroup",
          "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n");
  // Docker without a cgroup namespace: the mount's root is the container's
  // cgroup, so its directory is the mount point itself.
  r.Write("proc/self/mountinfo",
          "32 31 0:29 /docker/abc /sys/fs/cgroup/cpu,cpuacct rw - cgroup "
          "cgroup rw,cpu,cpuacct\n");
  r.Write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "250000\n");
  r.Write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
  ASSERT_EQ(l.state, LimitState::kLimited) << l.reason;
  EXPECT_EQ(l.cgroup_version, 1);
  EXPECT_DOUBLE_EQ(l.cpus, 2.5);
  EXPECT_EQ(gort::ApplyCpuLimit(16, l, kGo), 3);
  EXPECT_EQ(gort::ApplyCpuLimit(16, l, kUv), 3);
}

TEST(Cgroup, V1MinusOneIsNoLimit) {
  FakeRoot r;
  r.Write("proc/self/cgroup", "4:cpu,cpuacct:/\n");
  r.Write("proc/self/mountinfo", kV1Mounts);
  r.Write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  r.Write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
  EXPECT_EQ(l.state, LimitState::kNone) << l.reason;
  EXPECT_EQ(l.cgroup_version, 1);
}

TEST(Cgroup, HybridPrefersTheV1CpuController) {
  FakeRoot r;
  r.Write("proc/self/cgroup",
          "4:cpu,cpuacct:/job\n1:name=systemd:/job\n0::/job\n");
  std::string mi = kV1Mounts;
  mi += "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
  r.Write("proc/self/mountinfo", mi);
  r.Write("sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_quota_us", "300000\n");
  r.Write("sys/fs/cgroup/cpu,cpuacct/job/cpu.cfs_period_us", "100000\n");
  r.Write("sys/fs/cgroup/unified/job/cpu.max", "100000 100000\n");
  gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
  ASSERT_EQ(l.state, LimitState::kLimited) << l.reason;
  EXPECT_EQ(l.cgroup_version, 1);
  EXPECT_DOUBLE_EQ(l.cpus, 3.0);
}

TEST(Cgroup, NestedLimitsGoReadsTheLeafLibuvTheTightest) {
  FakeRoot r;
  V2(&r, "/a/b/c");
  r.Write("sys/fs/cgroup/a/cpu.max", "100000 100000\n");
  r.Write("sys/fs/cgroup/a/b/cpu.max", "max 100000\n");
  r.Write("sys/fs/cgroup/a/b/c/cpu.max", "400000 100000\n");
  // The v2 root cgroup has no cpu.max: skipped.
  gort::Limit go = gort::ReadCgroupCpuLimit(r.root(), kGo);
  ASSERT_EQ(go.state, LimitState::kLimited) << go.reason;
  EXPECT_DOUBLE_EQ(go.cpus, 4.0);
  EXPECT_EQ(gort::ApplyCpuLimit(8, go, kGo), 4);
  gort::Limit uv = gort::ReadCgroupCpuLimit(r.root(), kUv);
  ASSERT_EQ(uv.state, LimitState::kLimited) << uv.reason;
  EXPECT_DOUBLE_EQ(uv.cpus, 1.0);
  EXPECT_NE(uv.source.find("/a/cpu.max"), std::string::npos) << uv.source;
  EXPECT_EQ(gort::ApplyCpuLimit(8, uv, kUv), 1);
}

TEST(Cgroup, NestedLimitOnlyAboveTheLeaf) {
  FakeRoot r;
  V2(&r, "/a/b");
  r.Write("sys/fs/cgroup/a/cpu.max", "200000 100000\n");
  r.Write("sys/fs/cgroup/a/b/cpu.max", "max 100000\n");
  EXPECT_EQ(gort::ReadCgroupCpuLimit(r.root(), kGo).state, LimitState::kNone);
  gort::Limit uv = gort::ReadCgroupCpuLimit(r.root(), kUv);
  EXPECT_EQ(uv.state, LimitState::kLimited) << uv.reason;
  EXPECT_DOUBLE_EQ(uv.cpus, 2.0);
}

TEST(Cgroup, MalformedFilesAreUnknownWithTheReason) {
  for (const char* bad : {"abc 100000\n", "100000\n", "50000 0\n",
                          "50000 100000 7\n", "-5 100000\n", ""}) {
    FakeRoot r;
    V2(&r, "/x");
    r.Write("sys/fs/cgroup/x/cpu.max", bad);
    gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
    EXPECT_EQ(l.state, LimitState::kUnknown) << bad;
    EXPECT_NE(l.reason.find("malformed"), std::string::npos) << l.reason;
    EXPECT_EQ(gort::ApplyCpuLimit(8, l, kGo), 8);
  }
  for (const char* quota : {"12x\n", "0\n", "-7\n", "\n"}) {
    FakeRoot r;
    r.Write("proc/self/cgroup", "4:cpu,cpuacct:/\n");
    r.Write("proc/self/mountinfo", kV1Mounts);
    r.Write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", quota);
    r.Write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
    EXPECT_EQ(l.state, LimitState::kUnknown) << quota;
    EXPECT_NE(l.reason.find("malformed"), std::string::npos) << l.reason;
  }
  FakeRoot r;
  r.Write("proc/self/cgroup", "4:cpu,cpuacct:/\n");
  r.Write("proc/self/mountinfo", kV1Mounts);
  r.Write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "50000\n");
  r.Write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "zero\n");
  gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
  EXPECT_EQ(l.state, LimitState::kUnknown);
  EXPECT_NE(l.reason.find("cpu.cfs_period_us"), std::string::npos) << l.reason;
}

TEST(Cgroup, MissingFilesAreUnknownWithTheReason) {
  {
    FakeRoot r;  // nothing at all: not Linux, or /proc not mounted
    gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
    EXPECT_EQ(l.state, LimitState::kUnknown);
    EXPECT_NE(l.reason.find("/proc/self/cgroup: not found"), std::string::npos)
        << l.reason;
  }
  {
    FakeRoot r;
    r.Write("proc/self/cgroup", "0::/x\n");
    gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
    EXPECT_NE(l.reason.find("/proc/self/mountinfo: not found"),
              std::string::npos)
        << l.reason;
  }
  {
    FakeRoot r;
    V2(&r, "/x");  // no cpu.max: the controller is not enabled there
    gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
    EXPECT_EQ(l.state, LimitState::kUnknown);
    EXPECT_NE(l.reason.find("cpu.max: not found"), std::string::npos)
        << l.reason;
  }
  {
    FakeRoot r;
    r.Write("proc/self/cgroup", "5:memory:/x\n");  // v1 without cpu
    r.Write("proc/self/mountinfo", kV1Mounts);
    gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
    EXPECT_NE(l.reason.find("no cpu cgroup"), std::string::npos) << l.reason;
  }
  {
    FakeRoot r;
    r.Write("proc/self/cgroup", "0::/x\n");
    r.Write("proc/self/mountinfo", kV1Mounts);  // no cgroup2 mount
    gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
    EXPECT_NE(l.reason.find("no cgroup2 mount"), std::string::npos) << l.reason;
  }
  {
    FakeRoot r;  // the mount shows another part of the hierarchy
    r.Write("proc/self/cgroup", "0::/x\n");
    r.Write("proc/self/mountinfo",
            "30 23 0:26 /y /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
    EXPECT_NE(l.reason.find("no cgroup2 mount showing /x"), std::string::npos)
        << l.reason;
  }
}

TEST(Cgroup, EscapedMountPoint) {
  FakeRoot r;
  r.Write("proc/self/cgroup", "0::/x\n");
  r.Write("proc/self/mountinfo",
          "30 23 0:26 / /cg\\040two rw - cgroup2 cgroup2 rw\n");
  r.Write("cg two/x/cpu.max", "300000 100000\n");
  gort::Limit l = gort::ReadCgroupCpuLimit(r.root(), kGo);
  EXPECT_EQ(l.state, LimitState::kLimited) << l.reason;
}

TEST(Cgroup, ReaderKeepsFilesOpenAndRereads) {
  FakeRoot r;
  V2(&r, "/x");
  r.Write("sys/fs/cgroup/x/cpu.max", "200000 100000\n");
  {
    auto reader = gort::CgroupCpuReader::Open(r.root(), kGo);
    EXPECT_DOUBLE_EQ(reader->Read().cpus, 2.0);
    // The same file, rewritten in place: the open descriptor sees it.
    r.Write("sys/fs/cgroup/x/cpu.max", "max 100000\n");
    EXPECT_EQ(reader->Read().state, LimitState::kNone);
    r.Write("sys/fs/cgroup/x/cpu.max", "700000 100000\n");
    EXPECT_DOUBLE_EQ(reader->Read().cpus, 7.0);
#if defined(__linux__)
    // Every descriptor gort opened is close-on-exec.
    int found = 0;
    for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
      std::error_code ec;
      fs::path target = fs::read_symlink(e.path(), ec);
      if (ec || target.string().find(r.root()) == std::string::npos) continue;
      int fd = std::stoi(e.path().filename().string());
      EXPECT_NE(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0) << target;
      ++found;
    }
    EXPECT_EQ(found, 1);
#endif
  }
}

TEST(Cgroup, MemoryLimitTightestUpTheTree) {
  FakeRoot r;
  V2(&r, "/a/b");
  r.Write("sys/fs/cgroup/a/memory.max", "1073741824\n");
  r.Write("sys/fs/cgroup/a/b/memory.max", "max\n");
  gort::Limit l = gort::ReadCgroupMemoryLimit(r.root());
  ASSERT_EQ(l.state, LimitState::kLimited) << l.reason;
  EXPECT_EQ(l.bytes, int64_t{1} << 30);

  FakeRoot v1;
  v1.Write("proc/self/cgroup", "5:memory:/c\n4:cpu,cpuacct:/c\n");
  v1.Write("proc/self/mountinfo", kV1Mounts);
  v1.Write("sys/fs/cgroup/memory/memory.limit_in_bytes",
           "9223372036854771712\n");
  v1.Write("sys/fs/cgroup/memory/c/memory.limit_in_bytes",
           "9223372036854771712\n");
  l = gort::ReadCgroupMemoryLimit(v1.root());
  EXPECT_EQ(l.state, LimitState::kNone) << l.reason;
  EXPECT_EQ(l.cgroup_version, 1);
  v1.Write("sys/fs/cgroup/memory/c/memory.limit_in_bytes", "lots\n");
  l = gort::ReadCgroupMemoryLimit(v1.root());
  EXPECT_EQ(l.state, LimitState::kUnknown);
  EXPECT_NE(l.reason.find("malformed"), std::string::npos) << l.reason;
}

TEST(SystemFacts, CpuFreqFromSysfsOrUnknownWithWhy) {
  FakeRoot r;
  gort::Fact f = gort::ReadLinuxCpuFreq(r.root());
  EXPECT_EQ(f.value, 0);
  EXPECT_NE(f.reason.find("scaling_cur_freq: not found"), std::string::npos);
  EXPECT_NE(f.reason.find("cpuinfo_cur_freq: not found"), std::string::npos);
  r.Write("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_cur_freq", "1800000\n");
  f = gort::ReadLinuxCpuFreq(r.root());
  EXPECT_EQ(f.value, 1800000);
  EXPECT_TRUE(f.reason.empty()) << f.reason;
  r.Write("sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "2400000\n");
  EXPECT_EQ(gort::ReadLinuxCpuFreq(r.root()).value, 2400000);
  r.Write("sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "fast\n");
  r.Write("sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_cur_freq", "\n");
  f = gort::ReadLinuxCpuFreq(r.root());
  EXPECT_EQ(f.value, 0);
  EXPECT_NE(f.reason.find("malformed"), std::string::npos) << f.reason;
}

TEST(SystemFacts, RealMachineNeverFailsAndExplainsTheUnknown) {
  gort::SystemFacts f = gort::GetSystemFacts();
  gort::PlatformInfo p = gort::GetPlatformInfo();
  EXPECT_FALSE(f.os_name.empty());
  EXPECT_EQ(f.os_version, p.os_version);
  EXPECT_GE(f.page_size, 4096);
  EXPECT_TRUE(!f.hostname.empty() || !f.hostname_reason.empty());
  EXPECT_TRUE(f.physical_memory.value > 0 || !f.physical_memory.reason.empty());
  EXPECT_TRUE((f.cpu_freq_khz.value > 0) != !f.cpu_freq_khz.reason.empty())
      << f.cpu_freq_khz.value << " " << f.cpu_freq_khz.reason;
  EXPECT_TRUE(f.memory_limit.state != LimitState::kUnknown ||
              !f.memory_limit.reason.empty());
  const gort::Parallelism& par = f.parallelism;
  EXPECT_GE(par.available, 1);
  EXPECT_LE(par.available, par.affinity_cpus);
  EXPECT_TRUE(par.cpu_limit.state != LimitState::kUnknown ||
              !par.cpu_limit.reason.empty());
  EXPECT_EQ(gort::AvailableParallelism(), par.available);
  EXPECT_GE(gort::AvailableParallelism(kUv), 1);
  std::printf("parallelism %d of %d (%s); cpu limit: %s; freq: %lld kHz %s\n",
              par.available, par.affinity_cpus, par.affinity_source.c_str(),
              par.cpu_limit.reason.c_str(),
              static_cast<long long>(f.cpu_freq_khz.value),
              f.cpu_freq_khz.reason.c_str());
}

#if defined(_WIN32)
// Windows enforces a job object's hard CPU-rate cap and reports it back;
// Wine 8.0 implements neither (ERROR_INVALID_PARAMETER, 87).
TEST(SystemFacts, JobObjectCpuRateCap) {
  HANDLE job = CreateJobObjectW(nullptr, nullptr);
  ASSERT_NE(job, nullptr);
  JOBOBJECT_CPU_RATE_CONTROL_INFORMATION rate = {};
  rate.ControlFlags =
      JOB_OBJECT_CPU_RATE_CONTROL_ENABLE | JOB_OBJECT_CPU_RATE_CONTROL_HARD_CAP;
  rate.CpuRate = 5000;  // half of the machine
  BOOL set = SetInformationJobObject(job, JobObjectCpuRateControlInformation,
                                     &rate, sizeof(rate));
  DWORD set_err = set ? 0 : GetLastError();
  JOBOBJECT_CPU_RATE_CONTROL_INFORMATION got = {};
  BOOL read = QueryInformationJobObject(job, JobObjectCpuRateControlInformation,
                                        &got, sizeof(got), nullptr);
  DWORD read_err = read ? 0 : GetLastError();
  CloseHandle(job);
  if (gort::GetPlatformInfo().emulator.rfind("wine", 0) == 0) {
    EXPECT_FALSE(set);
    EXPECT_EQ(set_err, 87u);
    EXPECT_FALSE(read);
    EXPECT_EQ(read_err, 87u);
  } else {
    EXPECT_TRUE(set) << set_err;
    EXPECT_TRUE(read) << read_err;
    EXPECT_EQ(got.CpuRate, 5000u);
  }
}

// This process in a job object (each test runs in its own process under
// ctest, so the job does not outlive the test): Windows reads the cap back
// and bounds the answer; Wine cannot read it (error 87), so the limit is
// unknown with that reason and the answer is the affinity count.
TEST(SystemFacts, JobObjectBoundsParallelism) {
  HANDLE job = CreateJobObjectW(nullptr, nullptr);
  ASSERT_NE(job, nullptr);
  ASSERT_TRUE(AssignProcessToJobObject(job, GetCurrentProcess()))
      << GetLastError();
  bool wine = gort::GetPlatformInfo().emulator.rfind("wine", 0) == 0;
  gort::Parallelism p = gort::GetParallelism();
  if (wine) {
    EXPECT_EQ(p.cpu_limit.state, LimitState::kUnknown);
    EXPECT_NE(p.cpu_limit.reason.find("error 87"), std::string::npos)
        << p.cpu_limit.reason;
    EXPECT_EQ(p.available, p.affinity_cpus);
  } else {
    EXPECT_EQ(p.cpu_limit.state, LimitState::kNone) << p.cpu_limit.reason;
    JOBOBJECT_CPU_RATE_CONTROL_INFORMATION rate = {};
    rate.ControlFlags = JOB_OBJECT_CPU_RATE_CONTROL_ENABLE |
                        JOB_OBJECT_CPU_RATE_CONTROL_HARD_CAP;
    rate.CpuRate = 100;  // 1% of the machine
    ASSERT_TRUE(SetInformationJobObject(job, JobObjectCpuRateControlInformation,
                                        &rate, sizeof(rate)));
    p = gort::GetParallelism(kUv);
    EXPECT_EQ(p.cpu_limit.state, LimitState::kLimited);
    EXPECT_EQ(p.available, 1);
  }
  gort::SystemFacts f = gort::GetSystemFacts();
  EXPECT_NE(f.memory_limit.state, LimitState::kLimited);
  std::printf("in a job object: %s\n", p.cpu_limit.reason.c_str());
  CloseHandle(job);
}
#endif

#if defined(__linux__)
// The real cgroup v1 cpu controller: a child cgroup with a half-CPU quota,
// a child process moved into it, the child's answer, then clean-up.
TEST(Cgroup, RealV1CpuControllerHalfCpuQuota) {
  gort::Limit here = gort::ReadCgroupCpuLimit("/", kGo);
  const std::string mount = "/sys/fs/cgroup/cpu";  // where Debian mounts it
  std::string self_dir;
  {
    std::ifstream cg("/proc/self/cgroup");
    std::string line;
    while (std::getline(cg, line)) {
      size_t c1 = line.find(':'), c2 = line.find(':', c1 + 1);
      if (c2 == std::string::npos) continue;
      std::string ctrls = ",";
      ctrls.append(line, c1 + 1, c2 - c1 - 1);
      ctrls += ",";
      if (ctrls.find(",cpu,") != std::string::npos) {
        self_dir = line.substr(c2 + 1);
      }
    }
  }
  if (here.cgroup_version != 1 || self_dir.empty() ||
      !fs::exists(mount + self_dir + "/cpu.cfs_quota_us")) {
    GTEST_SKIP() << "no cgroup v1 cpu controller at " << mount << " ("
                 << here.reason << ")";
  }
  std::string dir = mount + self_dir;
  if (dir.back() != '/') dir += "/";
  dir += "gort_test_";
  dir += std::to_string(getpid());
  std::error_code ec;
  if (!fs::create_directory(dir, ec)) {
    GTEST_SKIP() << "cannot create " << dir << ": " << ec.message()
                 << " (not root, or the hierarchy is read-only)";
  }
  auto write = [](const std::string& path, const std::string& v) {
    std::ofstream f(path);
    f << v;
    f.flush();
    return static_cast<bool>(f);
  };
  ASSERT_TRUE(write(dir + "/cpu.cfs_period_us", "100000"));
  ASSERT_TRUE(write(dir + "/cpu.cfs_quota_us", "50000"));
  // A forked child inherits its parent's cgroup; it moves itself into the
  // new one, then asks with fresh readers (the process-wide ones keep the
  // cgroup they found first, as Go's runtime does).
  int res[2];
  ASSERT_EQ(pipe(res), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(res[0]);
    int32_t out[4] = {-1, -1, -1, -1};
    if (write(dir + "/cgroup.procs", std::to_string(getpid()))) {
      gort::Limit go = gort::ReadCgroupCpuLimit("/", kGo);
      gort::Limit uv = gort::ReadCgroupCpuLimit("/", kUv);
      out[0] = gort::ApplyCpuLimit(64, go, kGo);
      out[1] = gort::ApplyCpuLimit(64, uv, kUv);
      out[2] = static_cast<int32_t>(go.quota_us);
      out[3] = gort::GetParallelism(kGo).affinity_cpus;
    }
    ssize_t n = ::write(res[1], out, sizeof(out));
    _exit(n == sizeof(out) ? 0 : 1);
  }
  close(res[1]);
  int32_t got[4] = {0, 0, 0, 0};
  ssize_t n = read(res[0], got, sizeof(got));
  close(res[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  // The child is gone: the cgroup is empty and can go.
  bool removed = false;
  for (int i = 0; i < 50 && !(removed = (rmdir(dir.c_str()) == 0)); ++i) {
    usleep(10000);
  }
  EXPECT_TRUE(removed) << "rmdir " << dir;
  ASSERT_EQ(n, static_cast<ssize_t>(sizeof(got)));
  EXPECT_EQ(got[2], 50000) << "the child did not see its quota";
  EXPECT_EQ(got[0], 2);  // Go 1.25: max(ceil(0.5), 2)
  EXPECT_EQ(got[1], 1);  // libuv: ceil(0.5)
  std::printf(
      "real cgroup v1 %s: quota 50000/100000 -> go %d, libuv %d "
      "(affinity %d)\n",
      dir.c_str(), got[0], got[1], got[3]);
}
#endif

TEST(CApi, SysinfoChecksArguments) {
  EXPECT_EQ(gort_sysinfo_query(nullptr), GORT_EINVAL);
  gort_sysinfo_t s = {};
  EXPECT_EQ(gort_sysinfo_query(&s), GORT_EINVAL);
  s.size = sizeof(s) - 1;
  EXPECT_EQ(gort_sysinfo_query(&s), GORT_EINVAL);
  s.size = sizeof(s);
  ASSERT_EQ(gort_sysinfo_query(&s), 0);
  EXPECT_GE(s.available_parallelism, 1);
  EXPECT_GE(s.affinity_cpus, s.available_parallelism);
  EXPECT_GT(s.page_size, 0);
  EXPECT_GT(std::string(s.os_name).size(), 0u);
  EXPECT_EQ(s.cpu_limit.size, sizeof(gort_limit_t));
  EXPECT_TRUE(s.cpu_freq_khz > 0 || s.cpu_freq_reason[0] != '\0');

  int32_t n = 0;
  EXPECT_EQ(gort_available_parallelism(GORT_PARALLELISM_GO125, nullptr),
            GORT_EINVAL);
  EXPECT_EQ(gort_available_parallelism(7, &n), GORT_EINVAL);
  EXPECT_EQ(gort_available_parallelism(-1, &n), GORT_EINVAL);
  ASSERT_EQ(gort_available_parallelism(GORT_PARALLELISM_LIBUV, &n), 0);
  EXPECT_GE(n, 1);
  ASSERT_EQ(gort_available_parallelism(GORT_PARALLELISM_GO125, &n), 0);
  EXPECT_EQ(n, s.available_parallelism);
}

TEST(CApi, CgroupLimitsCheckArgumentsAndReadFakeRoots) {
  FakeRoot r;
  V2(&r, "/x");
  r.Write("sys/fs/cgroup/x/cpu.max", "50000 100000\n");
  r.Write("sys/fs/cgroup/x/memory.max", "4096\n");
  std::string root = r.root();
  gort_limit_t l = {};
  EXPECT_EQ(gort_cgroup_cpu_limit(root.c_str(), 0, &l), GORT_EINVAL);  // size
  l.size = sizeof(l) - 1;
  EXPECT_EQ(gort_cgroup_cpu_limit(root.c_str(), 0, &l), GORT_EINVAL);
  l.size = sizeof(l);
  EXPECT_EQ(gort_cgroup_cpu_limit(nullptr, 0, &l), GORT_EINVAL);
  EXPECT_EQ(gort_cgroup_cpu_limit(root.c_str(), 0, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_cgroup_cpu_limit(root.c_str(), 2, &l), GORT_EINVAL);
  ASSERT_EQ(gort_cgroup_cpu_limit(root.c_str(), GORT_PARALLELISM_GO125, &l), 0);
  EXPECT_EQ(l.state, GORT_LIMIT_LIMITED);
  EXPECT_EQ(l.cgroup_version, 2);
  EXPECT_EQ(l.quota_us, 50000);
  EXPECT_EQ(l.period_us, 100000);
  EXPECT_DOUBLE_EQ(l.cpus, 0.5);

  gort_limit_t m = {};
  EXPECT_EQ(gort_cgroup_memory_limit(root.c_str(), &m), GORT_EINVAL);
  m.size = sizeof(m);
  EXPECT_EQ(gort_cgroup_memory_limit(nullptr, &m), GORT_EINVAL);
  EXPECT_EQ(gort_cgroup_memory_limit(root.c_str(), nullptr), GORT_EINVAL);
  ASSERT_EQ(gort_cgroup_memory_limit(root.c_str(), &m), 0);
  EXPECT_EQ(m.state, GORT_LIMIT_LIMITED);
  EXPECT_EQ(m.bytes, 4096);

  // A root with nothing in it: unknown with a reason, not an error.
  std::string missing = root + "/nothing";
  ASSERT_EQ(gort_cgroup_cpu_limit(missing.c_str(), GORT_PARALLELISM_LIBUV, &l),
            0);
  EXPECT_EQ(l.state, GORT_LIMIT_UNKNOWN);
  EXPECT_NE(std::string(l.reason).find("not found"), std::string::npos);
}

}  // namespace
