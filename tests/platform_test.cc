// SPDX-License-Identifier: BSD-3-Clause
// The platform report's basic facts, and how they differ per platform.
#include "gort/platform.h"

#include <cstdio>
#include <string>

#include "gort/sysinfo.h"
#include "gtest/gtest.h"

namespace {

TEST(Platform, BuildTargetIsReported) {
  gort::PlatformInfo p = gort::GetPlatformInfo();
#if defined(_WIN32)
  EXPECT_EQ(p.os, "windows");
  EXPECT_EQ(p.os_version.rfind("Windows ", 0), 0u) << p.os_version;
#elif defined(__APPLE__)
  EXPECT_EQ(p.os, "darwin");
#else
  EXPECT_EQ(p.os, "linux");
  EXPECT_EQ(p.os_version.rfind("Linux ", 0), 0u) << p.os_version;
#endif
#if defined(__x86_64__) || defined(_M_X64)
  EXPECT_EQ(p.arch, "amd64");
#elif defined(__aarch64__) || defined(_M_ARM64)
  EXPECT_EQ(p.arch, "arm64");
#elif defined(__riscv)
  EXPECT_EQ(p.arch, "riscv64");
#endif
}

TEST(Platform, PageSizeAndCpus) {
  gort::PlatformInfo p = gort::GetPlatformInfo();
  // 4 KiB on every target run here; Apple silicon uses 16 KiB pages.
  EXPECT_GE(p.page_size, 4096);
  EXPECT_EQ(p.page_size & (p.page_size - 1), 0) << "not a power of two";
  EXPECT_GT(p.cpu_count, 0);
}

TEST(Platform, EmulatorIsDetected) {
  gort::PlatformInfo p = gort::GetPlatformInfo();
  // Under Wine the report says "wine <version>"; under qemu-user (no vDSO)
  // "qemu-user"; natively nothing. Which one this run is depends on how the
  // test was started, so only the form is checked.
  if (!p.emulator.empty()) {
#if defined(_WIN32)
    EXPECT_EQ(p.emulator.rfind("wine ", 0), 0u) << p.emulator;
#else
    EXPECT_EQ(p.emulator, "qemu-user");
#endif
  }
  std::printf("emulator: %s\n",
              p.emulator.empty() ? "none" : p.emulator.c_str());
}

TEST(Platform, BackendFilesNameTheOsFolder) {
  const auto& files = gort::BackendFiles();
  ASSERT_FALSE(files.empty());
  for (std::string_view f : files) {
#if defined(_WIN32)
    EXPECT_EQ(f.rfind("src/windows/", 0), 0u) << f;
#elif defined(__APPLE__)
    EXPECT_TRUE(f.rfind("src/darwin/", 0) == 0 || f.rfind("src/posix/", 0) == 0)
        << f;
#else
    EXPECT_TRUE(f.rfind("src/linux/", 0) == 0 || f.rfind("src/posix/", 0) == 0)
        << f;
#endif
  }
}

}  // namespace

namespace {

// Signal facts, and how they differ per platform.
TEST(SignalFacts, PerPlatform) {
  gort::SignalFacts f = gort::GetSignalFacts();
#if defined(_WIN32)
  // The C runtime numbers a handful of signals; console control events are
  // what really arrives, and there are no real-time signals.
  EXPECT_GT(f.count, 1);
  EXPECT_EQ(f.rt_max, 0);
  EXPECT_NE(f.delivery.find("CTRL_C"), std::string::npos);
#elif defined(__APPLE__)
  EXPECT_EQ(f.count, 32);  // no real-time signals on macOS
  EXPECT_EQ(f.rt_max, 0);
  EXPECT_GT(f.min_altstack, 0);
#else
  // Linux: 64 signals; the C library keeps the first real-time ones for
  // itself (glibc 32-33, musl 32-34), and the kernel may require a larger
  // sigaltstack than the header's MINSIGSTKSZ (AT_MINSIGSTKSZ; qemu-user
  // reports none).
  EXPECT_EQ(f.count, 65);
  EXPECT_EQ(f.rt_max, 64);
  EXPECT_GE(f.rt_min, 34);
  EXPECT_LE(f.rt_min, 35);
  EXPECT_GE(f.min_altstack, 2048);
  std::printf("signals: rt %d..%d, min sigaltstack %lld bytes (%s)\n", f.rt_min,
              f.rt_max, static_cast<long long>(f.min_altstack),
              f.min_altstack_source.c_str());
#endif
}

}  // namespace
