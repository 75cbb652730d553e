// File: net/mailbox.h
//
// A bounded lock-free multi-producer single-consumer queue of fixed-size items:
// how workers talk to each other (STYLE §8). Producers are any threads; the
// consumer is the owning worker. It never blocks and never grows: a full
// mailbox fails the push, and the sender counts and handles that.
//
// The doorbell: a push that finds the consumer not yet woken returns kPushedWake,
// and the producer then wakes the consumer (a worker sends an IORING_OP_MSG_RING
// to the consumer's ring; another thread writes the consumer's eventfd). A
// consumer calls clear_wake() before draining, so one wake covers any number of
// pushes until the next drain.
//
//   fe::net::Mailbox<fe::net::MailboxItem> box(4096);
//   switch (box.push(item)) {
//       case PushResult::kPushedWake: ring_doorbell(); break;
//       case PushResult::kPushed: break;
//       case PushResult::kFull: ++stats.mailbox_full; break;
//   }
//   // consumer:
//   box.clear_wake();
//   box.drain([&](MailboxItem& m) { handle(m); }, kBatch);
//
// Algorithm: Dmitry Vyukov's bounded queue (a sequence number per cell), with
// the consumer side single-threaded.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>

#include "core/base/assert.h"

namespace fe::net {

inline constexpr size_t kCacheLineSize = 64;

// What workers send each other: 56 bytes so that a cell (with its sequence
// number) is exactly one cache line. Meaning of the fields belongs to the layer
// above; `words` may carry ids or a pointer to a task the receiver now owns.
struct MailboxItem {
    uint32_t kind = 0;
    uint32_t from_worker_index = 0;
    uint64_t words[6] = {};
};
static_assert(sizeof(MailboxItem) == 56, "a mailbox cell is one cache line");
static_assert(std::is_trivially_copyable_v<MailboxItem>);

enum class [[nodiscard]] PushResult : uint8_t {
    kPushed,      // queued; the consumer is already woken
    kPushedWake,  // queued; the caller must ring the consumer's doorbell
    kFull,        // not queued: the mailbox holds capacity() items
};

template <typename T>
class Mailbox {
    static_assert(std::is_trivially_copyable_v<T>, "items are copied by value across threads");

public:
    // capacity: a power of two >= 2.
    explicit Mailbox(uint32_t capacity)
        : mask_(capacity - 1), cells_(std::make_unique<Cell[]>(capacity)) {
        FE_ASSERT(capacity >= 2);
        FE_ASSERT((capacity & (capacity - 1)) == 0);
        for (uint64_t i = 0; i < capacity; ++i) {
            cells_[i].sequence.store(i, std::memory_order_relaxed);
        }
    }
    Mailbox(const Mailbox&) = delete;
    Mailbox& operator=(const Mailbox&) = delete;

    uint32_t capacity() const { return static_cast<uint32_t>(mask_ + 1); }

    // Any thread. Never blocks (a producer that loses a race retries, bounded
    // by the number of concurrent producers).
    PushResult push(const T& item) {
        uint64_t position = tail_.load(std::memory_order_relaxed);
        Cell* cell;
        for (;;) {
            cell = &cells_[position & mask_];
            const uint64_t sequence = cell->sequence.load(std::memory_order_acquire);
            const auto diff = static_cast<int64_t>(sequence - position);
            if (diff == 0) {
                if (tail_.compare_exchange_weak(position, position + 1,
                                                std::memory_order_relaxed)) {
                    break;
                }
            } else if (diff < 0) {
                return PushResult::kFull;
            } else {
                position = tail_.load(std::memory_order_relaxed);
            }
        }
        cell->item = item;
        cell->sequence.store(position + 1, std::memory_order_release);
        // Pairs with the fence in clear_wake(): either the consumer's drain sees
        // this item, or this exchange sees the consumer's clear and we wake it.
        std::atomic_thread_fence(std::memory_order_seq_cst);
        if (!wake_pending_.exchange(true, std::memory_order_seq_cst)) {
            return PushResult::kPushedWake;
        }
        return PushResult::kPushed;
    }

    // Consumer only. Pops one item; false when empty (or when the oldest
    // producer has claimed a cell but not filled it yet: it will wake us).
    bool pop(T& out) {
        Cell& cell = cells_[head_ & mask_];
        const uint64_t sequence = cell.sequence.load(std::memory_order_acquire);
        if (sequence != head_ + 1) {
            return false;
        }
        out = cell.item;
        cell.sequence.store(head_ + mask_ + 1, std::memory_order_release);
        ++head_;
        return true;
    }

    // Consumer only: call before draining after a doorbell, so that a push
    // racing with the drain rings again.
    void clear_wake() {
        wake_pending_.store(false, std::memory_order_seq_cst);
        std::atomic_thread_fence(std::memory_order_seq_cst);
    }

    // Consumer only. Pops up to count_max items into fn(T&); returns how many.
    template <typename Fn>
    size_t drain(Fn&& fn, size_t count_max) {
        size_t count = 0;
        T item;
        while (count < count_max && pop(item)) {
            fn(item);
            ++count;
        }
        return count;
    }

private:
    struct alignas(kCacheLineSize) Cell {
        std::atomic<uint64_t> sequence{0};
        T item{};
    };

    // Read-only after construction.
    const uint64_t mask_;
    const std::unique_ptr<Cell[]> cells_;
    // Written by producers only.
    alignas(kCacheLineSize) std::atomic<uint64_t> tail_{0};
    // True from the push that asked for a wake until the consumer's
    // clear_wake(); while true, pushes do not ring again.
    alignas(kCacheLineSize) std::atomic<bool> wake_pending_{false};
    // Consumer-owned: the next position to pop.
    alignas(kCacheLineSize) uint64_t head_ = 0;
};

}  // namespace fe::net
