// File: state/internal/small_pointer_set.h
//
// A set of pointers that keeps up to two inline in 16 bytes and moves them to
// the heap when a third arrives. The embedded store's flow index holds one
// per flow token (state/embedded_store.h): almost every flow carries one or
// two AORs, and a trunk (a PBX, an edge in front of this registrar, a load
// generator on one socket) carries thousands, so the common case must stay
// small and the rare one must not be a linear scan.
//
//   fe::state::internal::SmallPointerSet<const Record> set;
//   set.insert(&a);                          // O(1); false if already there
//   set.erase(&a);                           // O(1); false if absent
//   set.drain(64, [](const Record* r) { ... });   // removes and visits up to 64
//
// Spilled form: the elements in a vector plus a hash map from element to
// its position, so erase() swaps the last element into the hole and drain()
// pops from the back, each O(1). (An absl::flat_hash_set alone is ~2.5x
// smaller, but draining it batch after batch from begin() rescans the erased
// slots at its front every time: quadratic in the set's size.)
//
// Cost: 16 bytes inline. Spilled: a 64 B header (vector, map) plus, per
// element, 8 B in the vector (up to 16 B after growth) and a 16 B map slot
// with its control byte at a load of 7/16 to 7/8 (19-39 B): ~27-55 B per
// element, e.g. ~4 MB for a trunk of 100,000 AORs, against ~1.2 kB per binding.
// Inserts, erases, lookups and pops are O(1) (expected) in both forms.
//
// Form, by size: 0-2 elements are inline except after a spill; a spilled set
// goes back inline when an erase leaves it with one element (not two, so a set
// that hovers at 2-3 elements does not allocate on every insert), and its
// storage is shrunk when it falls below 1/16 of its capacity, so a trunk that
// shrank from 100,000 AORs to 50 does not keep megabytes. Shrinking costs
// O(size) and happens only after ~15/16 of the storage was emptied: O(1)
// amortized per erase.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "core/base/assert.h"

namespace fe::state::internal {

template <typename T>
class SmallPointerSet {
public:
    SmallPointerSet() = default;
    ~SmallPointerSet() { delete spilled(); }
    SmallPointerSet(const SmallPointerSet&) = delete;
    SmallPointerSet& operator=(const SmallPointerSet&) = delete;
    // Moves leave `other` empty: flat_hash_map moves its values on rehash.
    SmallPointerSet(SmallPointerSet&& other) noexcept : words_(other.words_) { other.words_ = {}; }
    SmallPointerSet& operator=(SmallPointerSet&& other) noexcept {
        if (this != &other) {
            delete spilled();
            words_ = other.words_;
            other.words_ = {};
        }
        return *this;
    }

    // False when `p` was already in the set. `p` is not null.
    bool insert(T* p) {
        FE_ASSERT(p != nullptr);
        if (Big* big = spilled()) {
            return big->insert(p);
        }
        const auto word = to_word(p);
        if (words_[0] == word || words_[1] == word) {
            return false;
        }
        for (uintptr_t& slot : words_) {
            if (slot == 0) {
                slot = word;
                return true;
            }
        }
        spill(p);
        return true;
    }

    // False when `p` was not in the set.
    bool erase(T* p) {
        if (Big* big = spilled()) {
            if (!big->erase(p)) {
                return false;
            }
            after_big_erase(*big);
            return true;
        }
        const auto word = to_word(p);
        if (words_[1] == word) {
            words_[1] = 0;
            return true;
        }
        if (words_[0] == word) {
            words_[0] = words_[1];  // Inline elements stay at the front.
            words_[1] = 0;
            return true;
        }
        return false;
    }

    bool contains(T* p) const {
        if (const Big* big = spilled()) {
            return big->positions.contains(p);
        }
        const auto word = to_word(p);
        return words_[0] == word || words_[1] == word;
    }

    size_t size() const {
        if (const Big* big = spilled()) {
            return big->elements.size();
        }
        return static_cast<size_t>(words_[0] != 0) + static_cast<size_t>(words_[1] != 0);
    }
    bool empty() const { return words_[0] == 0; }

    // Calls fn(T*) for every element, in no particular order. `fn` must not
    // change the set.
    template <typename Fn>
    void for_each(Fn&& fn) const {
        if (const Big* big = spilled()) {
            for (T* p : big->elements) {
                fn(p);
            }
            return;
        }
        for (uintptr_t word : words_) {
            if (word != 0) {
                fn(reinterpret_cast<T*>(word));
            }
        }
    }

    // Removes up to `count` elements, calling fn(T*) for each as it goes, and
    // returns how many. O(count).
    template <typename Fn>
    size_t drain(size_t count, Fn&& fn) {
        size_t taken = 0;
        if (Big* big = spilled()) {
            for (; taken < count && !big->elements.empty(); ++taken) {
                T* p = big->elements.back();
                big->elements.pop_back();
                big->positions.erase(p);
                fn(p);
            }
            if (taken > 0) {
                after_big_erase(*big);
            }
            return taken;
        }
        while (taken < count && words_[0] != 0) {
            T* p = reinterpret_cast<T*>(words_[0]);
            words_[0] = words_[1];
            words_[1] = 0;
            ++taken;
            fn(p);
        }
        return taken;
    }

    bool spilled_for_test() const { return spilled() != nullptr; }
    // Element slots held: inline 2; spilled, the larger of the vector's and
    // the map's capacity.
    size_t capacity_for_test() const {
        const Big* big = spilled();
        return big == nullptr ? words_.size() : big->capacity();
    }

private:
    // The spilled form: elements[positions[p]] == p for every element p.
    struct Big {
        std::vector<T*> elements;
        absl::flat_hash_map<T*, uint32_t> positions;

        bool insert(T* p) {
            FE_ASSERT(elements.size() < UINT32_MAX);
            if (!positions.try_emplace(p, static_cast<uint32_t>(elements.size())).second) {
                return false;
            }
            elements.push_back(p);
            return true;
        }
        bool erase(T* p) {
            auto it = positions.find(p);
            if (it == positions.end()) {
                return false;
            }
            const uint32_t hole = it->second;
            positions.erase(it);
            T* last = elements.back();
            elements.pop_back();
            if (last != p) {
                elements[hole] = last;  // The last element fills the hole.
                positions[last] = hole;
            }
            return true;
        }
        size_t capacity() const { return std::max(elements.capacity(), positions.capacity()); }
        void shrink() {
            elements.shrink_to_fit();
            positions.rehash(0);  // absl: shrink to fit the current size.
        }
    };

    // A set word with this bit holds the Big*; element pointers never have it.
    static constexpr uintptr_t kSpilledBit = 1;
    static_assert(alignof(Big) > 1, "the spilled bit needs an aligned Big");

    // Shrink the spilled storage when fewer than 1/kShrinkRatio of its slots
    // hold elements, and only past this capacity (below it the storage is a
    // few hundred bytes: not worth the rehash).
    static constexpr size_t kShrinkRatio = 16;
    static constexpr size_t kShrinkCapacityMin = 64;

    static uintptr_t to_word(T* p) {
        const auto word = reinterpret_cast<uintptr_t>(p);
        FE_ASSERT((word & kSpilledBit) == 0);  // T must be at least 2-byte aligned.
        return word;
    }

    Big* spilled() const {
        if ((words_[0] & kSpilledBit) == 0) {
            return nullptr;
        }
        return reinterpret_cast<Big*>(words_[0] & ~kSpilledBit);
    }

    // Moves the two inline elements and `p` into a new Big.
    void spill(T* p) {
        FE_ASSERT(words_[0] != 0);
        FE_ASSERT(words_[1] != 0);
        auto* big = new Big();
        big->elements.reserve(4);
        big->positions.reserve(4);
        (void)big->insert(reinterpret_cast<T*>(words_[0]));
        (void)big->insert(reinterpret_cast<T*>(words_[1]));
        (void)big->insert(p);
        words_[0] = reinterpret_cast<uintptr_t>(big) | kSpilledBit;
        words_[1] = 0;
    }

    void after_big_erase(Big& big) {
        const size_t size = big.elements.size();
        if (size <= 1) {
            std::array<uintptr_t, 2> inline_words{};
            if (size == 1) {
                inline_words[0] = to_word(big.elements.front());
            }
            delete &big;
            words_ = inline_words;
            return;
        }
        if (big.capacity() >= kShrinkCapacityMin && size * kShrinkRatio < big.capacity()) {
            big.shrink();
        }
    }

    // Inline: words_[i] != 0 are the elements, packed at the front.
    // Spilled: words_[0] is the Big* with kSpilledBit set, words_[1] is 0.
    std::array<uintptr_t, 2> words_{};
};

}  // namespace fe::state::internal
