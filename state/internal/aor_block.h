// File: state/internal/aor_block.h
//
// One AOR of the embedded store (state/embedded_store.h) in one allocation: a
// 16-byte header, the AOR key, then its bindings in the compact form of
// state/internal/binding_codec.h.
//
//   AorBlock* block = AorBlock::create(aor_key, encoded);
//   if (!block->assign_body(re_encoded)) {        // does not fit: move
//       AorBlock* moved = AorBlock::create(block->key(), re_encoded);
//       ... re-point the indexes at `moved` ...
//       AorBlock::destroy(block);
//   }
//
//   offset  size
//   0       4     heap_index   position in the shard's expiry heap (ExpiryHeap)
//   4       4     key_size
//   8       4     body_size    bytes of encoded bindings after the key
//   12      4     capacity     bytes after the header (key and body fit in it)
//   16      key_size            the AOR key
//   ..      body_size           the bindings
//
// The size asked of malloc is rounded up to what glibc hands out anyway (16 B
// granules with an 8 B header), so that room is usable: a refresh whose
// varints grow by a byte usually stays in place.
//
// Concurrency: the key and key_size never change after create(), so another
// thread holding only the flow index's lock may read them while the owner
// (under the AOR shard's lock) rewrites the body (see embedded_store.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <string_view>

#include "core/base/assert.h"

namespace fe::state::internal {

struct AorBlock {
    static constexpr uint32_t kNotScheduled = UINT32_MAX;

    uint32_t heap_index = kNotScheduled;
    uint32_t key_size = 0;
    uint32_t body_size = 0;
    uint32_t capacity = 0;

    std::string_view key() const { return {data(), key_size}; }
    std::string_view body() const { return {data() + key_size, body_size}; }
    // For rewriting parts of the body in place (patch_fields()).
    std::span<char> mutable_body() { return {data() + key_size, body_size}; }

    // A new block, not in any heap.
    static AorBlock* create(std::string_view key, std::string_view body) {
        FE_ASSERT(key.size() <= UINT32_MAX);
        const size_t need = key.size() + body.size();
        FE_ASSERT(need <= UINT32_MAX - 64);
        // glibc: a chunk of n bytes serves requests up to n - 8, n a multiple of 16.
        const size_t total = ((sizeof(AorBlock) + need + 8 + 15) & ~size_t{15}) - 8;
        void* memory = ::operator new(total);
        auto* block = new (memory) AorBlock;
        block->key_size = static_cast<uint32_t>(key.size());
        block->capacity = static_cast<uint32_t>(total - sizeof(AorBlock));
        std::memcpy(block->data(), key.data(), key.size());
        block->set_body(body);
        return block;
    }

    static void destroy(AorBlock* block) {
        FE_ASSERT(block->heap_index == kNotScheduled);
        block->~AorBlock();
        ::operator delete(block);
    }

    // Rewrites the body in place; false (and no change) when it does not fit.
    bool assign_body(std::string_view body) {
        if (key_size + body.size() > capacity) {
            return false;
        }
        set_body(body);
        return true;
    }

private:
    char* data() { return reinterpret_cast<char*>(this + 1); }
    const char* data() const { return reinterpret_cast<const char*>(this + 1); }

    void set_body(std::string_view body) {
        FE_ASSERT(key_size + body.size() <= capacity);
        if (!body.empty()) {
            std::memcpy(data() + key_size, body.data(), body.size());
        }
        body_size = static_cast<uint32_t>(body.size());
    }
};
static_assert(sizeof(AorBlock) == 16, "the header's layout is drawn above");

}  // namespace fe::state::internal
