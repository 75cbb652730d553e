// File: net/internal/buffer_ring.h
//
// A provided-buffer ring registered by hand (liburing 2.3 has no
// io_uring_setup_buf_ring): `count` buffers of `size` bytes that the kernel
// picks from for multishot receives (IOSQE_BUFFER_SELECT with this group id).
// A buffer comes back to the kernel with recycle(), made visible in batches by
// publish() once per loop turn.
//
//   BufferRing ring;
//   FE_RETURN_IF_ERROR(ring.init(uring, /*group_id=*/0, 1024, 4096));
//   char* data = ring.buffer(cqe_flags >> IORING_CQE_BUFFER_SHIFT);
//   ... handler runs ...
//   ring.recycle(buffer_id);
//   ring.publish();   // end of the loop turn
#pragma once

#include <liburing.h>

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "core/base/assert.h"

namespace fe::net::internal {

class BufferRing {
public:
    BufferRing() = default;
    ~BufferRing();
    BufferRing(const BufferRing&) = delete;
    BufferRing& operator=(const BufferRing&) = delete;

    // count: a power of two <= 32768. Registers with `ring` and hands every
    // buffer to the kernel.
    absl::Status init(io_uring& ring, uint16_t group_id, uint32_t count, uint32_t size);
    // Unregisters (the ring must have no receive in flight using this group).
    void destroy(io_uring& ring);

    uint16_t group_id() const { return group_id_; }
    uint32_t buffer_size() const { return size_; }

    char* buffer(uint16_t buffer_id) {
        FE_ASSERT(buffer_id < count_);
        return buffers_.get() + static_cast<size_t>(buffer_id) * size_;
    }

    void recycle(uint16_t buffer_id) {
        FE_ASSERT(buffer_id < count_);
        io_uring_buf_ring_add(ring_, buffer(buffer_id), size_, buffer_id,
                              io_uring_buf_ring_mask(count_), static_cast<int>(pending_));
        ++pending_;
        FE_ASSERT(pending_ <= count_);
    }

    void publish() {
        if (pending_ != 0) {
            io_uring_buf_ring_advance(ring_, static_cast<int>(pending_));
            pending_ = 0;
        }
    }

private:
    io_uring_buf_ring* ring_ = nullptr;  // mmap'd, page aligned as the kernel requires
    size_t ring_size_ = 0;
    std::unique_ptr<char[]> buffers_;
    uint32_t count_ = 0;
    uint32_t size_ = 0;
    // Buffers recycled since the last publish(); they sit after the ring's
    // tail and the kernel does not see them yet.
    uint32_t pending_ = 0;
    uint16_t group_id_ = 0;
    bool registered_ = false;
};

}  // namespace fe::net::internal
