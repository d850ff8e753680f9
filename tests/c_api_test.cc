// SPDX-License-Identifier: BSD-3-Clause
// Every C entry point checks its arguments: NULL, bad sizes and out-of-range
// values give an error code, never a crash.
#include <cstring>
#include <string>

#include "gort.h"
#include "gtest/gtest.h"

namespace {

gort_syserr_t Syserr() {
  gort_syserr_t e;
  std::memset(&e, 0, sizeof(e));
  e.size = sizeof(e);
  return e;
}

TEST(CApi, Version) {
  EXPECT_EQ(gort_version(), static_cast<unsigned>(GORT_VERSION_HEX));
  EXPECT_STREQ(gort_version_string(), "0.1.0");
}

TEST(CApi, StrerrorAndNameNeverNull) {
  EXPECT_STREQ(gort_err_name(0), "OK");
  EXPECT_STREQ(gort_strerror(0), "success");
  EXPECT_STREQ(gort_err_name(GORT_ECONNRESET), "ECONNRESET");
  EXPECT_STREQ(gort_strerror(GORT_ECONNRESET), "connection reset by peer");
  EXPECT_STREQ(gort_err_name(GORT_EOF), "EOF");
  EXPECT_STREQ(gort_err_name(GORT_EUNKNOWN), "EUNKNOWN");
  for (int bad : {1, 12345, -4000, -99999, INT32_MIN, INT32_MAX}) {
    EXPECT_STREQ(gort_err_name(bad), "EUNKNOWN") << bad;
    EXPECT_STREQ(gort_strerror(bad), "unknown error") << bad;
  }
}

TEST(CApi, LookupChecksArguments) {
  gort_syserr_t e = Syserr();
  EXPECT_EQ(gort_syserr_lookup(GORT_ERRSPACE_LINUX, 2, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_syserr_lookup(-1, 2, &e), GORT_EINVAL);
  EXPECT_EQ(gort_syserr_lookup(4, 2, &e), GORT_EINVAL);
  e.size = sizeof(e) - 1;
  EXPECT_EQ(gort_syserr_lookup(GORT_ERRSPACE_LINUX, 2, &e), GORT_EINVAL);
  e = Syserr();
  EXPECT_EQ(gort_syserr_lookup(GORT_ERRSPACE_LINUX, 77777, &e), GORT_ENOENT);
  EXPECT_EQ(e.code, GORT_EUNKNOWN);
  EXPECT_STREQ(e.name, "EUNKNOWN");
  EXPECT_EQ(gort_syserr_lookup(GORT_ERRSPACE_LINUX, 0, &e), 0);
  EXPECT_EQ(e.code, GORT_OK);
}

TEST(CApi, LookupBothDirections) {
  gort_syserr_t e = Syserr();
  ASSERT_EQ(gort_syserr_lookup(GORT_ERRSPACE_DARWIN, 35, &e), 0);
  EXPECT_STREQ(e.name, "EAGAIN");
  EXPECT_EQ(e.code, GORT_EAGAIN);
  ASSERT_EQ(
      gort_syserr_by_name(GORT_ERRSPACE_WINDOWS, "ERROR_ACCESS_DENIED", &e), 0);
  EXPECT_EQ(e.raw, 5);
  EXPECT_EQ(e.code, GORT_EACCES);
  ASSERT_EQ(gort_syserr_by_name(GORT_ERRSPACE_PORTABLE, "ENOENT", &e), 0);
  EXPECT_EQ(e.raw, GORT_ENOENT);
}

TEST(CApi, ByNameChecksArguments) {
  gort_syserr_t e = Syserr();
  EXPECT_EQ(gort_syserr_by_name(GORT_ERRSPACE_LINUX, nullptr, &e), GORT_EINVAL);
  EXPECT_EQ(gort_syserr_by_name(GORT_ERRSPACE_LINUX, "ENOENT", nullptr),
            GORT_EINVAL);
  EXPECT_EQ(gort_syserr_by_name(42, "ENOENT", &e), GORT_EINVAL);
  EXPECT_EQ(gort_syserr_by_name(GORT_ERRSPACE_LINUX, "", &e), GORT_ENOENT);
  EXPECT_EQ(gort_syserr_by_name(GORT_ERRSPACE_LINUX, "enoent", &e),
            GORT_ENOENT);
}

TEST(CApi, AtWalksATableAndStopsWithERANGE) {
  gort_syserr_t e = Syserr();
  size_t n = 0;
  int64_t last = INT64_MIN;
  while (gort_syserr_at(GORT_ERRSPACE_LINUX, n, &e) == 0) {
    EXPECT_GT(e.raw, last);
    last = e.raw;
    ++n;
  }
  EXPECT_GE(n, 130u);
  EXPECT_EQ(gort_syserr_at(GORT_ERRSPACE_LINUX, n, &e), GORT_ERANGE);
  EXPECT_EQ(gort_syserr_at(GORT_ERRSPACE_LINUX, SIZE_MAX, &e), GORT_ERANGE);
  EXPECT_EQ(gort_syserr_at(GORT_ERRSPACE_LINUX, 0, nullptr), GORT_EINVAL);
  EXPECT_EQ(gort_syserr_at(7, 0, &e), GORT_EINVAL);
}

TEST(CApi, PlatformInfoChecksArguments) {
  EXPECT_EQ(gort_platform_query(nullptr), GORT_EINVAL);
  gort_platform_info_t p;
  std::memset(&p, 0, sizeof(p));
  EXPECT_EQ(gort_platform_query(&p), GORT_EINVAL);
  p.size = sizeof(p) - 1;
  EXPECT_EQ(gort_platform_query(&p), GORT_EINVAL);
  p.size = sizeof(p);
  ASSERT_EQ(gort_platform_query(&p), 0);
  EXPECT_GT(std::strlen(p.os), 0u);
  EXPECT_LT(std::strlen(p.os_version), sizeof(p.os_version));
}

}  // namespace
