// SPDX-License-Identifier: BSD-3-Clause
// Linked with the core's objects alone (target gort_core), without the C
// ABI: the core's error names and messages are its own, and it needs
// nothing from bindings/c (a reference to a gort_* function would fail to
// link this binary).
#include <gtest/gtest.h>

#include <string_view>

#include "gort/errno.h"
#include "gort/error_codes.h"
#include "gort/timer.h"

namespace {

TEST(CoreLink, ErrorNamesAndMessagesAreTheCores) {
  gort::Error e = gort::Error::FromCode(GORT_ENOENT);
  EXPECT_EQ(e.name(), "ENOENT");
  EXPECT_EQ(e.message(), "no such file or directory");
  EXPECT_EQ(std::string_view(gort::ErrorCodeName(0)), "OK");
  EXPECT_EQ(std::string_view(gort::ErrorCodeMessage(0)), "success");
  EXPECT_EQ(std::string_view(gort::ErrorCodeName(-3999)), "EUNKNOWN");
  EXPECT_EQ(std::string_view(gort::ErrorCodeMessage(-3999)), "unknown error");
  EXPECT_EQ(gort::Error::FromRaw(gort::ErrorSpace::kWindows, 10054).code(),
            GORT_ECONNRESET);
}

TEST(CoreLink, TimerHeapWorks) {
  gort::TimerHeap heap;
  gort::TimerTarget t;
  t.token = 0x10;
  absl::StatusOr<gort::TimerId> id = heap.Add(t);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(heap.Reset(*id, 5, 0).ok());
}

}  // namespace
