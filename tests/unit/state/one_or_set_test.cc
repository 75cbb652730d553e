// Checks state/internal/one_or_set.h: the inline form (one element), the
// move to a SmallPointerSet on the second and back at one, drain() in both
// forms, moves, and a randomised run against std::set.
#include "state/internal/one_or_set.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

namespace fe::state::internal {
namespace {

struct alignas(8) Item {
    int value = 0;
};

std::set<const Item*> contents(const OneOrSet<const Item>& s) {
    std::set<const Item*> out;
    s.for_each([&](const Item* p) { EXPECT_TRUE(out.insert(p).second) << "visited twice"; });
    return out;
}

TEST(OneOrSetTest, OneInlineThenASetThenBack) {
    Item a, b, c;
    OneOrSet<const Item> s;
    EXPECT_EQ(sizeof(s), 8u);
    EXPECT_TRUE(s.empty());
    EXPECT_FALSE(s.erase(&a));
    EXPECT_TRUE(s.insert(&a));
    EXPECT_FALSE(s.insert(&a));
    EXPECT_FALSE(s.spilled_for_test());
    EXPECT_EQ(s.size(), 1u);
    EXPECT_TRUE(s.contains(&a));
    EXPECT_FALSE(s.contains(&b));
    EXPECT_TRUE(s.insert(&b));
    EXPECT_TRUE(s.spilled_for_test());
    EXPECT_TRUE(s.insert(&c));
    EXPECT_EQ(contents(s), (std::set<const Item*>{&a, &b, &c}));
    EXPECT_TRUE(s.erase(&a));
    EXPECT_TRUE(s.spilled_for_test());
    EXPECT_TRUE(s.erase(&c));
    EXPECT_FALSE(s.spilled_for_test());  // Back inline at one.
    EXPECT_EQ(contents(s), (std::set<const Item*>{&b}));
    EXPECT_FALSE(s.erase(&c));
    EXPECT_TRUE(s.erase(&b));
    EXPECT_TRUE(s.empty());
}

TEST(OneOrSetTest, DrainAndMove) {
    std::vector<Item> items(10);
    OneOrSet<const Item> s;
    for (const Item& item : items) {
        ASSERT_TRUE(s.insert(&item));
    }
    std::set<const Item*> seen;
    EXPECT_EQ(s.drain(4, [&](const Item* p) { seen.insert(p); }), 4u);
    EXPECT_EQ(s.size(), 6u);
    EXPECT_EQ(s.drain(5, [&](const Item* p) { seen.insert(p); }), 5u);
    EXPECT_FALSE(s.spilled_for_test());  // One left: inline.
    OneOrSet<const Item> moved(std::move(s));
    EXPECT_TRUE(s.empty());  // NOLINT(bugprone-use-after-move): moves leave it empty.
    EXPECT_EQ(moved.size(), 1u);
    EXPECT_EQ(moved.drain(0, [&](const Item*) {}), 0u);
    EXPECT_EQ(moved.drain(3, [&](const Item* p) { seen.insert(p); }), 1u);
    EXPECT_TRUE(moved.empty());
    EXPECT_EQ(seen.size(), items.size());
    // A spilled set moves too, and a move-assign frees what it replaces.
    OneOrSet<const Item> big, other;
    for (const Item& item : items) {
        ASSERT_TRUE(big.insert(&item));
    }
    ASSERT_TRUE(other.insert(&items[0]));
    ASSERT_TRUE(other.insert(&items[1]));
    other = std::move(big);
    EXPECT_EQ(other.size(), items.size());
    EXPECT_EQ(other.drain(100, [](const Item*) {}), items.size());
    EXPECT_TRUE(other.empty());
}

TEST(OneOrSetTest, RandomisedAgainstStdSet) {
    std::mt19937 rng(11);
    std::vector<Item> items(12);
    OneOrSet<const Item> s;
    std::set<const Item*> model;
    for (int step = 0; step < 20000; ++step) {
        const Item* p = &items[rng() % items.size()];
        switch (rng() % 3) {
            case 0:
                ASSERT_EQ(s.insert(p), model.insert(p).second);
                break;
            case 1:
                ASSERT_EQ(s.erase(p), model.erase(p) == 1);
                break;
            case 2: {
                const size_t want = rng() % 3;
                const size_t taken = s.drain(want, [&](const Item* q) {
                    ASSERT_EQ(model.erase(q), 1u);
                });
                ASSERT_LE(taken, want);
                break;
            }
        }
        ASSERT_EQ(s.size(), model.size());
        ASSERT_EQ(s.contains(p), model.count(p) == 1);
        ASSERT_EQ(s.spilled_for_test(), model.size() >= 2);
        ASSERT_EQ(contents(s), model) << step;
    }
}

}  // namespace
}  // namespace fe::state::internal
