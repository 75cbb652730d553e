// Checks state/internal/expiry_heap.h: order, rescheduling earlier and
// later, removal from any position, replacing an item in place, and a
// randomised run against a std::multimap model, with the heap's own index
// check after every step.
#include "state/internal/expiry_heap.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <vector>

namespace fe::state::internal {
namespace {

struct Item {
    static constexpr uint32_t kNotScheduled = UINT32_MAX;
    uint32_t heap_index = kNotScheduled;
};

const Time kT0 = Time{} + hours(1);

TEST(ExpiryHeapTest, OrderRescheduleRemoveReplace) {
    Item a, b, c, d;
    ExpiryHeap<Item> heap;
    EXPECT_TRUE(heap.empty());
    heap.schedule(&a, kT0 + seconds(30));
    heap.schedule(&b, kT0 + seconds(10));
    heap.schedule(&c, kT0 + seconds(20));
    EXPECT_TRUE(heap.valid_for_test());
    EXPECT_EQ(heap.top(), &b);
    EXPECT_EQ(heap.top_at(), kT0 + seconds(10));
    heap.schedule(&b, kT0 + seconds(40));  // Later.
    EXPECT_EQ(heap.top(), &c);
    heap.schedule(&a, kT0 + seconds(5));  // Earlier.
    EXPECT_EQ(heap.top(), &a);
    EXPECT_EQ(heap.at(&b), kT0 + seconds(40));
    heap.replace(&a, &d);
    EXPECT_FALSE(heap.contains(&a));
    EXPECT_TRUE(heap.contains(&d));
    EXPECT_EQ(heap.top(), &d);
    EXPECT_EQ(heap.top_at(), kT0 + seconds(5));
    heap.remove(&c);
    EXPECT_FALSE(heap.contains(&c));
    EXPECT_EQ(heap.size(), 2u);
    EXPECT_TRUE(heap.valid_for_test());
    heap.remove(&d);
    EXPECT_EQ(heap.top(), &b);
    heap.remove(&b);
    EXPECT_TRUE(heap.empty());
}

TEST(ExpiryHeapTest, RandomisedAgainstAModel) {
    std::mt19937 rng(7);
    constexpr size_t kItems = 300;
    std::vector<std::unique_ptr<Item>> items;
    for (size_t i = 0; i < kItems; ++i) {
        items.push_back(std::make_unique<Item>());
    }
    std::map<Item*, Time> model;
    ExpiryHeap<Item> heap;
    for (int step = 0; step < 20000; ++step) {
        Item* item = items[rng() % kItems].get();
        const Time at = kT0 + seconds(rng() % 1000);
        switch (rng() % 4) {
            case 0:
            case 1:
                heap.schedule(item, at);
                model[item] = at;
                break;
            case 2:
                if (heap.contains(item)) {
                    heap.remove(item);
                    model.erase(item);
                }
                break;
            case 3:
                if (!model.empty()) {
                    // Pop the earliest.
                    Item* top = heap.top();
                    Time earliest = model.begin()->second;
                    for (const auto& [p, t] : model) {
                        earliest = std::min(earliest, t);
                    }
                    ASSERT_EQ(heap.top_at(), earliest);
                    ASSERT_EQ(model.at(top), earliest);
                    heap.remove(top);
                    model.erase(top);
                }
                break;
        }
        ASSERT_EQ(heap.size(), model.size());
        ASSERT_TRUE(heap.valid_for_test()) << step;
    }
    for (const auto& item : items) {
        EXPECT_EQ(heap.contains(item.get()), model.count(item.get()) == 1);
    }
}

}  // namespace
}  // namespace fe::state::internal
