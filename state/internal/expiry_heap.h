// File: state/internal/expiry_heap.h
//
// A binary min-heap of (time, item) in which every item knows its position
// (`item->heap_index`), so an item's time can be changed, and the item
// removed or replaced by another, in O(log n) without stale entries. The
// embedded store keeps one per AOR shard, an entry per AOR at its earliest
// binding expiry (state/embedded_store.h).
//
//   fe::state::internal::ExpiryHeap<AorBlock> heap;
//   heap.schedule(block, at);           // insert, or move to a new time
//   while (!heap.empty() && heap.top_at() <= now) { AorBlock* b = heap.top(); ... }
//   heap.replace(old_block, new_block); // the item moved in memory
//   heap.remove(block);
//
// Cost: 16 B per entry (plus the vector's spare capacity). The rejected
// alternative, entries that name the AOR by key and are skipped when stale,
// holds a copy of every key and an entry per reschedule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "core/base/assert.h"
#include "core/base/time.h"

namespace fe::state::internal {

// T has a `uint32_t heap_index` that is T::kNotScheduled exactly while the
// item is not in a heap.
template <typename T>
class ExpiryHeap {
public:
    bool empty() const { return entries_.empty(); }
    size_t size() const { return entries_.size(); }
    T* top() const {
        FE_ASSERT(!entries_.empty());
        return entries_.front().item;
    }
    Time top_at() const {
        FE_ASSERT(!entries_.empty());
        return entries_.front().at;
    }
    bool contains(const T* item) const { return item->heap_index != T::kNotScheduled; }
    Time at(const T* item) const {
        FE_ASSERT(contains(item));
        return entries_[item->heap_index].at;
    }

    // Puts `item` in the heap at `at`, or moves it there.
    void schedule(T* item, Time at) {
        if (!contains(item)) {
            FE_ASSERT(entries_.size() < T::kNotScheduled);
            entries_.push_back(Entry{at, item});
            item->heap_index = static_cast<uint32_t>(entries_.size() - 1);
            up(item->heap_index);
            return;
        }
        const uint32_t i = item->heap_index;
        FE_ASSERT(entries_[i].item == item);
        const Time before = entries_[i].at;
        entries_[i].at = at;
        if (at < before) {
            up(i);
        } else {
            down(i);
        }
    }

    void remove(T* item) {
        FE_ASSERT(contains(item));
        const uint32_t i = item->heap_index;
        FE_ASSERT(entries_[i].item == item);
        item->heap_index = T::kNotScheduled;
        const size_t last = entries_.size() - 1;
        if (i != last) {
            entries_[i] = entries_[last];
            entries_[i].item->heap_index = i;
            entries_.pop_back();
            // The moved entry may belong above or below its new place.
            up(i);
            down(entries_[i].item->heap_index);
        } else {
            entries_.pop_back();
        }
    }

    // `replacement` takes `item`'s place and time; `item` leaves the heap.
    void replace(T* item, T* replacement) {
        FE_ASSERT(contains(item));
        FE_ASSERT(!contains(replacement));
        const uint32_t i = item->heap_index;
        FE_ASSERT(entries_[i].item == item);
        entries_[i].item = replacement;
        replacement->heap_index = i;
        item->heap_index = T::kNotScheduled;
    }

    // Checks the heap order and every item's index (tests).
    bool valid_for_test() const {
        for (size_t i = 0; i < entries_.size(); ++i) {
            if (entries_[i].item->heap_index != i) {
                return false;
            }
            if (i > 0 && entries_[i].at < entries_[(i - 1) / 2].at) {
                return false;
            }
        }
        return true;
    }

private:
    struct Entry {
        Time at;
        T* item;
    };

    void place(size_t i, const Entry& e) {
        entries_[i] = e;
        e.item->heap_index = static_cast<uint32_t>(i);
    }

    void up(size_t i) {
        const Entry e = entries_[i];
        while (i > 0) {
            const size_t parent = (i - 1) / 2;
            if (!(e.at < entries_[parent].at)) {
                break;
            }
            place(i, entries_[parent]);
            i = parent;
        }
        place(i, e);
    }

    void down(size_t i) {
        const Entry e = entries_[i];
        const size_t n = entries_.size();
        while (true) {
            size_t child = 2 * i + 1;
            if (child >= n) {
                break;
            }
            if (child + 1 < n && entries_[child + 1].at < entries_[child].at) {
                ++child;
            }
            if (!(entries_[child].at < e.at)) {
                break;
            }
            place(i, entries_[child]);
            i = child;
        }
        place(i, e);
    }

    std::vector<Entry> entries_;
};

}  // namespace fe::state::internal
