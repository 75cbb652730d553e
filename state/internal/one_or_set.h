// File: state/internal/one_or_set.h
//
// A set of pointers in one word: empty, one pointer held inline, or (from
// the second element on) a SmallPointerSet on the heap. The embedded store's
// flow index holds one per token hash (state/embedded_store.h): almost every
// flow carries one AOR, so the common entry is a 16-byte map slot (hash and
// this word) instead of 24 with a SmallPointerSet inline.
//
//   fe::state::internal::OneOrSet<const Record> set;
//   set.insert(&a);                            // inline
//   set.insert(&b);                            // moves to a SmallPointerSet
//   set.erase(&b);                             // back inline at one element
//   set.drain(64, [](const Record* r) { ... });
//
// Pointers must be at least 2-aligned: the low bit tells the forms apart.
// Operations are O(1) (expected) in both forms; going back inline when an
// erase leaves one element frees the heap set, so a flow hovering between
// one and two AORs allocates on every second insert (rare: a phone with two
// AORs on one flow stays at two).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/base/assert.h"
#include "state/internal/small_pointer_set.h"

namespace fe::state::internal {

template <typename T>
class OneOrSet {
public:
    OneOrSet() = default;
    ~OneOrSet() { delete many(); }
    OneOrSet(const OneOrSet&) = delete;
    OneOrSet& operator=(const OneOrSet&) = delete;
    // Moves leave `other` empty: flat_hash_map moves its values on rehash.
    OneOrSet(OneOrSet&& other) noexcept : word_(other.word_) { other.word_ = 0; }
    OneOrSet& operator=(OneOrSet&& other) noexcept {
        if (this != &other) {
            delete many();
            word_ = other.word_;
            other.word_ = 0;
        }
        return *this;
    }

    // False when `p` was already in the set. `p` is not null.
    bool insert(T* p) {
        FE_ASSERT(p != nullptr);
        FE_ASSERT((reinterpret_cast<uintptr_t>(p) & kManyBit) == 0);
        if (Set* set = many()) {
            return set->insert(p);
        }
        if (word_ == 0) {
            word_ = reinterpret_cast<uintptr_t>(p);
            return true;
        }
        if (one() == p) {
            return false;
        }
        auto* set = new Set;
        (void)set->insert(one());
        (void)set->insert(p);
        word_ = reinterpret_cast<uintptr_t>(set) | kManyBit;
        return true;
    }

    // False when `p` was not in the set.
    bool erase(T* p) {
        if (Set* set = many()) {
            if (!set->erase(p)) {
                return false;
            }
            collapse_if_one();
            return true;
        }
        if (word_ != 0 && one() == p) {
            word_ = 0;
            return true;
        }
        return false;
    }

    bool contains(T* p) const {
        if (const Set* set = many()) {
            return set->contains(p);
        }
        return word_ != 0 && one() == p;
    }

    size_t size() const {
        if (const Set* set = many()) {
            return set->size();
        }
        return word_ == 0 ? 0 : 1;
    }
    bool empty() const { return word_ == 0; }

    template <typename Fn>
    void for_each(Fn&& fn) const {
        if (const Set* set = many()) {
            set->for_each(fn);
        } else if (word_ != 0) {
            fn(one());
        }
    }

    // Removes up to `count` elements, calling fn(T*) for each; returns how
    // many it removed.
    template <typename Fn>
    size_t drain(size_t count, Fn&& fn) {
        if (Set* set = many()) {
            const size_t taken = set->drain(count, fn);
            if (set->empty()) {
                delete set;
                word_ = 0;
            } else {
                collapse_if_one();
            }
            return taken;
        }
        if (count == 0 || word_ == 0) {
            return 0;
        }
        T* p = one();
        word_ = 0;
        fn(p);
        return 1;
    }

    bool spilled_for_test() const { return many() != nullptr; }

private:
    using Set = SmallPointerSet<T>;
    static constexpr uintptr_t kManyBit = 1;

    T* one() const { return reinterpret_cast<T*>(word_); }
    Set* many() const {
        return (word_ & kManyBit) != 0 ? reinterpret_cast<Set*>(word_ & ~kManyBit) : nullptr;
    }
    void collapse_if_one() {
        Set* set = many();
        if (set == nullptr || set->size() != 1) {
            return;
        }
        T* last = nullptr;
        set->for_each([&last](T* p) { last = p; });
        delete set;
        word_ = reinterpret_cast<uintptr_t>(last);
    }

    // 0: empty; a pointer with the low bit clear: the one element; with it
    // set: the Set holding two or more.
    uintptr_t word_ = 0;
};

}  // namespace fe::state::internal
