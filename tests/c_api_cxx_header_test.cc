// SPDX-License-Identifier: BSD-3-Clause
// gort.h compiles as C++ on its own (included first, nothing before it).
// clang-format off
#include "gort.h"
// clang-format on

#include <type_traits>

#include "gtest/gtest.h"

namespace {

TEST(CApiHeader, CompilesAsCxxWithCLinkage) {
  static_assert(std::is_same_v<decltype(&gort_version), unsigned (*)()>);
  static_assert(GORT_VERSION_HEX == 0x000100);
  EXPECT_EQ(gort_version(), static_cast<unsigned>(GORT_VERSION_HEX));
}

}  // namespace
