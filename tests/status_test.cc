// SPDX-License-Identifier: BSD-3-Clause
// gort::Error <-> absl::Status: the code follows the portable error, the raw
// value survives as payload.
#include "absl/status/status.h"

#include <optional>

#include "gort/errno.h"
#include "gtest/gtest.h"

namespace {

using gort::Error;
using gort::ErrorSpace;

TEST(Status, OkForNoError) {
  EXPECT_TRUE(Error().ToStatus("open").ok());
  EXPECT_TRUE(Error::FromRaw(ErrorSpace::kLinux, 0).ok());
}

TEST(Status, CodeMessageAndPayload) {
  Error e = Error::FromRaw(ErrorSpace::kWindows, 3);
  absl::Status s = e.ToStatus("open C:\\x\\y");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "open C:\\x\\y: no such file or directory (ENOENT; windows "
            "ERROR_PATH_NOT_FOUND=3)");
  std::optional<Error> back = Error::FromStatus(s);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, e);
  EXPECT_EQ(back->raw(), 3);
  EXPECT_EQ(back->space(), ErrorSpace::kWindows);
}

TEST(Status, PortableOnlyErrors) {
  Error e = Error::FromCode(GORT_EINVAL);
  EXPECT_EQ(e.ToString(), "invalid argument (EINVAL)");
  absl::Status s = e.ToStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Error::FromStatus(s), e);
}

TEST(Status, CodesFollowThePortableError) {
  EXPECT_EQ(gort::StatusCodeFor(GORT_EACCES),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(gort::StatusCodeFor(GORT_ETIMEDOUT),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(gort::StatusCodeFor(GORT_ECONNRESET),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(gort::StatusCodeFor(GORT_EUNKNOWN), absl::StatusCode::kUnknown);
}

TEST(Status, ForeignStatusHasNoError) {
  EXPECT_FALSE(Error::FromStatus(absl::InternalError("x")).has_value());
  absl::Status bad = absl::InternalError("x");
  bad.SetPayload(gort::kErrorPayloadUrl, absl::Cord("nonsense"));
  EXPECT_FALSE(Error::FromStatus(bad).has_value());
  bad.SetPayload(gort::kErrorPayloadUrl, absl::Cord("linux:12x"));
  EXPECT_FALSE(Error::FromStatus(bad).has_value());
}

}  // namespace
