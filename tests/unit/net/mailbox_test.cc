// Checks net/mailbox.h, the bounded MPSC queue between workers: a full mailbox
// refuses (never blocks or grows), items keep FIFO order per producer, the
// doorbell is asked for once per drain, and many producers lose nothing.
#include "net/mailbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace fe::net {
namespace {

MailboxItem item_with(uint32_t producer, uint64_t sequence) {
    MailboxItem item;
    item.kind = 1;
    item.from_worker_index = producer;
    item.words[0] = sequence;
    return item;
}

TEST(MailboxTest, FullMailboxRefusesAndKeepsItsItems) {
    Mailbox<MailboxItem> box(8);
    EXPECT_EQ(box.capacity(), 8u);
    for (uint64_t i = 0; i < 8; ++i) {
        EXPECT_NE(box.push(item_with(0, i)), PushResult::kFull) << i;
    }
    EXPECT_EQ(box.push(item_with(0, 8)), PushResult::kFull);
    MailboxItem out;
    ASSERT_TRUE(box.pop(out));
    EXPECT_EQ(out.words[0], 0u);
    // One slot freed: one more fits, the next does not.
    EXPECT_NE(box.push(item_with(0, 9)), PushResult::kFull);
    EXPECT_EQ(box.push(item_with(0, 10)), PushResult::kFull);
    std::vector<uint64_t> seen;
    box.drain([&](const MailboxItem& m) { seen.push_back(m.words[0]); }, 100);
    EXPECT_EQ(seen, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 9}));
    EXPECT_FALSE(box.pop(out));
}

TEST(MailboxTest, WakeIsRequestedOncePerDrain) {
    Mailbox<MailboxItem> box(16);
    EXPECT_EQ(box.push(item_with(0, 0)), PushResult::kPushedWake);
    EXPECT_EQ(box.push(item_with(0, 1)), PushResult::kPushed);
    EXPECT_EQ(box.push(item_with(0, 2)), PushResult::kPushed);
    box.clear_wake();
    EXPECT_EQ(box.drain([](const MailboxItem&) {}, 16), 3u);
    // After the consumer's clear, the next push must ring again.
    EXPECT_EQ(box.push(item_with(0, 3)), PushResult::kPushedWake);
}

TEST(MailboxTest, DrainStopsAtTheBatchLimit) {
    Mailbox<MailboxItem> box(16);
    for (uint64_t i = 0; i < 10; ++i) {
        (void)box.push(item_with(0, i));
    }
    uint64_t next = 0;
    EXPECT_EQ(box.drain([&](const MailboxItem& m) { EXPECT_EQ(m.words[0], next++); }, 4), 4u);
    EXPECT_EQ(box.drain([&](const MailboxItem& m) { EXPECT_EQ(m.words[0], next++); }, 100), 6u);
}

TEST(MailboxTest, WrapsAroundManyTimes) {
    Mailbox<MailboxItem> box(4);
    MailboxItem out;
    for (uint64_t i = 0; i < 1000; ++i) {
        ASSERT_NE(box.push(item_with(0, i)), PushResult::kFull);
        ASSERT_TRUE(box.pop(out));
        ASSERT_EQ(out.words[0], i);
    }
}

// Four producers push 200000 items each through a small mailbox while one
// consumer drains: every item arrives exactly once and in order per producer;
// a producer that finds the mailbox full retries (counted).
TEST(MailboxTest, ManyProducersStress) {
    constexpr uint32_t kProducerCount = 4;
    constexpr uint64_t kItemCount = 200000;
    Mailbox<MailboxItem> box(1024);
    std::atomic<uint64_t> full_count{0};
    std::vector<std::thread> producers;
    for (uint32_t p = 0; p < kProducerCount; ++p) {
        producers.emplace_back([&, p] {
            for (uint64_t i = 0; i < kItemCount; ++i) {
                while (box.push(item_with(p, i)) == PushResult::kFull) {
                    full_count.fetch_add(1, std::memory_order_relaxed);
                    std::this_thread::yield();
                }
            }
        });
    }
    std::vector<uint64_t> next(kProducerCount, 0);
    uint64_t received = 0;
    bool in_order = true;
    while (received < kProducerCount * kItemCount) {
        box.clear_wake();
        const size_t count = box.drain(
            [&](const MailboxItem& m) {
                in_order = in_order && m.from_worker_index < kProducerCount &&
                           m.words[0] == next[m.from_worker_index];
                ++next[m.from_worker_index];
            },
            256);
        received += count;
        if (count == 0) {
            std::this_thread::yield();
        }
    }
    for (auto& t : producers) {
        t.join();
    }
    EXPECT_TRUE(in_order);
    for (uint32_t p = 0; p < kProducerCount; ++p) {
        EXPECT_EQ(next[p], kItemCount);
    }
    MailboxItem out;
    EXPECT_FALSE(box.pop(out));
}

}  // namespace
}  // namespace fe::net
