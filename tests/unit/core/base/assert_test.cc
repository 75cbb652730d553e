// Checks that FE_ASSERT aborts with file, line and condition, and that
// FE_BUG reports the bug to its caller.
#include "core/base/assert.h"

#include <gtest/gtest.h>

#include "core/base/status.h"

namespace fe {
namespace {

TEST(Assert, FailingAssertAbortsNamingTheCondition) {
    EXPECT_DEATH(FE_ASSERT(1 + 1 == 3), "assertion failed at .*assert_test.cc:[0-9]+: 1 \\+ 1 == 3");
}

TEST(Assert, PassingAssertDoesNothing) {
    int evaluated = 0;
    FE_ASSERT(++evaluated == 1);
    EXPECT_EQ(evaluated, 1);
}

TEST(Assert, BugReturnsFalseWhenConditionDoesNotHold) {
    EXPECT_FALSE(FE_BUG(false, "never"));
}

absl::Status fail_when(bool fail) {
    if (fail) {
        return absl::InvalidArgumentError("asked to fail");
    }
    return absl::OkStatus();
}

absl::Status chain(bool fail) {
    FE_RETURN_IF_ERROR(fail_when(fail));
    return absl::OkStatus();
}

absl::StatusOr<int> number(bool fail) {
    if (fail) {
        return absl::NotFoundError("no number");
    }
    return 7;
}

absl::StatusOr<int> doubled(bool fail) {
    FE_ASSIGN_OR_RETURN(int n, number(fail));
    return n * 2;
}

TEST(Status, ReturnIfErrorPassesTheErrorUp) {
    EXPECT_TRUE(chain(false).ok());
    EXPECT_EQ(chain(true).message(), "asked to fail");
}

TEST(Status, AssignOrReturnUnwrapsOrReturns) {
    EXPECT_EQ(*doubled(false), 14);
    EXPECT_EQ(doubled(true).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fe
