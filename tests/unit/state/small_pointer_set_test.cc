// Checks state/internal/small_pointer_set.h: the inline form (two elements),
// the spill to a hash set on the third, the way back inline, the shrink after
// mass erases, drain(), moves, and a randomised run against std::set.
#include "state/internal/small_pointer_set.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <vector>

namespace fe::state::internal {
namespace {

struct Item {
    int value = 0;
};

std::set<const Item*> contents(const SmallPointerSet<const Item>& s) {
    std::set<const Item*> out;
    s.for_each([&](const Item* p) { EXPECT_TRUE(out.insert(p).second) << "visited twice"; });
    return out;
}

TEST(SmallPointerSetTest, InlineUpToTwo) {
    Item a, b;
    SmallPointerSet<const Item> s;
    EXPECT_EQ(sizeof(s), 16u);
    EXPECT_TRUE(s.empty());
    EXPECT_TRUE(s.insert(&a));
    EXPECT_FALSE(s.insert(&a));
    EXPECT_TRUE(s.insert(&b));
    EXPECT_FALSE(s.insert(&b));
    EXPECT_FALSE(s.spilled_for_test());
    EXPECT_EQ(s.size(), 2u);
    EXPECT_TRUE(s.contains(&a));
    EXPECT_TRUE(s.contains(&b));
    // Erasing the first keeps the other findable (elements stay packed).
    EXPECT_TRUE(s.erase(&a));
    EXPECT_FALSE(s.erase(&a));
    EXPECT_FALSE(s.contains(&a));
    EXPECT_TRUE(s.contains(&b));
    EXPECT_EQ(s.size(), 1u);
    EXPECT_FALSE(s.empty());
    EXPECT_TRUE(s.erase(&b));
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.size(), 0u);
}

TEST(SmallPointerSetTest, SpillsOnTheThirdAndComesBackInlineAtOne) {
    std::vector<Item> items(3);
    SmallPointerSet<const Item> s;
    for (const Item& i : items) {
        EXPECT_TRUE(s.insert(&i));
    }
    EXPECT_TRUE(s.spilled_for_test());
    EXPECT_EQ(s.size(), 3u);
    EXPECT_FALSE(s.insert(&items[2]));
    EXPECT_EQ(contents(s), (std::set<const Item*>{&items[0], &items[1], &items[2]}));
    // Down to two it stays spilled (no allocation per insert when hovering).
    EXPECT_TRUE(s.erase(&items[0]));
    EXPECT_TRUE(s.spilled_for_test());
    EXPECT_TRUE(s.insert(&items[0]));
    EXPECT_TRUE(s.erase(&items[0]));
    EXPECT_TRUE(s.erase(&items[1]));
    EXPECT_FALSE(s.spilled_for_test());
    EXPECT_EQ(s.size(), 1u);
    EXPECT_TRUE(s.contains(&items[2]));
    EXPECT_FALSE(s.contains(&items[1]));
}

TEST(SmallPointerSetTest, ShrinksAfterMostOfALargeSetIsErased) {
    std::vector<Item> items(10'000);
    SmallPointerSet<const Item> s;
    for (const Item& i : items) {
        ASSERT_TRUE(s.insert(&i));
    }
    const size_t full_capacity = s.capacity_for_test();
    EXPECT_GE(full_capacity, items.size());
    for (size_t i = 0; i < items.size() - 50; ++i) {
        ASSERT_TRUE(s.erase(&items[i]));
    }
    EXPECT_EQ(s.size(), 50u);
    EXPECT_LE(s.capacity_for_test(), 50u * 16);
    for (size_t i = items.size() - 50; i < items.size(); ++i) {
        EXPECT_TRUE(s.contains(&items[i]));
    }
}

TEST(SmallPointerSetTest, DrainTakesAtMostCountInBothForms) {
    std::vector<Item> items(200);
    SmallPointerSet<const Item> s;
    for (const Item& i : items) {
        ASSERT_TRUE(s.insert(&i));
    }
    std::set<const Item*> seen;
    size_t rounds = 0;
    while (!s.empty()) {
        const size_t before = s.size();
        const size_t taken = s.drain(64, [&](const Item* p) {
            EXPECT_TRUE(seen.insert(p).second);
            EXPECT_FALSE(s.contains(p)) << "an element is out of the set when visited";
        });
        EXPECT_EQ(taken, std::min<size_t>(64, before));
        EXPECT_EQ(s.size(), before - taken);
        ++rounds;
    }
    EXPECT_EQ(rounds, 4u);
    EXPECT_EQ(seen.size(), items.size());
    EXPECT_FALSE(s.spilled_for_test());
    // Inline.
    ASSERT_TRUE(s.insert(&items[0]));
    ASSERT_TRUE(s.insert(&items[1]));
    EXPECT_EQ(s.drain(1, [](const Item*) {}), 1u);
    EXPECT_EQ(s.size(), 1u);
    EXPECT_EQ(s.drain(5, [](const Item*) {}), 1u);
    EXPECT_TRUE(s.empty());
}

TEST(SmallPointerSetTest, MoveLeavesTheSourceEmpty) {
    std::vector<Item> items(5);
    SmallPointerSet<const Item> a;
    for (const Item& i : items) {
        ASSERT_TRUE(a.insert(&i));
    }
    SmallPointerSet<const Item> b(std::move(a));
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): defined as empty.
    EXPECT_EQ(b.size(), 5u);
    SmallPointerSet<const Item> c;
    ASSERT_TRUE(c.insert(&items[0]));
    c = std::move(b);
    EXPECT_EQ(c.size(), 5u);
    EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

// Random inserts and erases over 40 items against std::set, in phases that
// keep the set around 3 elements (crossing the inline/spilled boundary both
// ways) and around 25.
TEST(SmallPointerSetTest, RandomisedAgainstStdSet) {
    std::mt19937 rng(20261202);
    std::vector<Item> items(40);
    SmallPointerSet<const Item> s;
    std::set<const Item*> model;
    std::uniform_int_distribution<size_t> pick(0, items.size() - 1);
    std::uniform_int_distribution<int> percent(0, 99);
    size_t spills = 0;
    bool was_spilled = false;
    for (int step = 0; step < 50'000; ++step) {
        const size_t target = (step / 5000) % 2 == 0 ? 3 : 25;
        const bool do_insert = percent(rng) < (model.size() < target ? 70 : 30);
        const Item* p = &items[pick(rng)];
        if (!do_insert && !model.empty() && percent(rng) < 80) {
            auto it = model.begin();
            std::advance(it, static_cast<long>(pick(rng) % model.size()));
            p = *it;  // Mostly erase something that is there.
        }
        if (do_insert) {
            ASSERT_EQ(s.insert(p), model.insert(p).second) << "step " << step;
        } else if (step % 97 == 0) {
            const size_t taken = s.drain(3, [&](const Item* q) { model.erase(q); });
            ASSERT_LE(taken, 3u);
        } else {
            ASSERT_EQ(s.erase(p), model.erase(p) == 1) << "step " << step;
        }
        ASSERT_EQ(s.size(), model.size()) << "step " << step;
        ASSERT_EQ(s.contains(p), model.count(p) == 1);
        spills += !was_spilled && s.spilled_for_test() ? 1 : 0;
        was_spilled = s.spilled_for_test();
        if (step % 64 == 0) {
            ASSERT_EQ(contents(s), model) << "step " << step;
        }
    }
    EXPECT_GT(spills, 100u) << "the run should cross the boundary often";
}

}  // namespace
}  // namespace fe::state::internal
