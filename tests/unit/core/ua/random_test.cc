// Checks the caller-seeded generator: same (seed, stream) gives the same
// sequence, different streams differ, bounded draws stay in range and cover
// it, and uniform_duration includes both ends of a tiny range.

#include "core/ua/random.h"

#include <set>

#include <gtest/gtest.h>

namespace fe::ua {
namespace {

TEST(RandomTest, SameSeedSameSequenceAndStreamsDiffer) {
    Rng a(123, 4);
    Rng b(123, 4);
    Rng c(123, 5);
    Rng d(124, 4);
    int equal_c = 0;
    int equal_d = 0;
    for (int i = 0; i < 1000; ++i) {
        const uint64_t x = a.next_u64();
        EXPECT_EQ(x, b.next_u64());
        equal_c += x == c.next_u64() ? 1 : 0;
        equal_d += x == d.next_u64() ? 1 : 0;
    }
    EXPECT_EQ(equal_c, 0);
    EXPECT_EQ(equal_d, 0);
}

TEST(RandomTest, BoundedDrawsCoverTheRange) {
    Rng rng(9);
    std::set<uint64_t> seen;
    for (int i = 0; i < 10000; ++i) {
        const uint64_t x = rng.uniform_below(10);
        ASSERT_LT(x, 10u);
        seen.insert(x);
    }
    EXPECT_EQ(seen.size(), 10u);
    std::set<int64_t> ends;
    for (int i = 0; i < 1000; ++i) {
        const Duration d = rng.uniform_duration(nanoseconds(5), nanoseconds(6));
        ASSERT_GE(d, nanoseconds(5));
        ASSERT_LE(d, nanoseconds(6));
        ends.insert(d.count());
    }
    EXPECT_EQ(ends.size(), 2u);
    EXPECT_EQ(rng.uniform_duration(seconds(3), seconds(3)), seconds(3));
}

}  // namespace
}  // namespace fe::ua
