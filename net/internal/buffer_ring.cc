#include "net/internal/buffer_ring.h"

#include <sys/mman.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace fe::net::internal {

BufferRing::~BufferRing() {
    // The owner unregisters through destroy() while the ring is alive; the
    // memory goes either way.
    if (ring_ != nullptr) {
        munmap(ring_, ring_size_);
    }
}

absl::Status BufferRing::init(io_uring& ring, uint16_t group_id, uint32_t count, uint32_t size) {
    FE_ASSERT(ring_ == nullptr);
    FE_ASSERT(count > 0 && count <= 32768);
    FE_ASSERT((count & (count - 1)) == 0);
    FE_ASSERT(size > 0);
    ring_size_ = count * sizeof(io_uring_buf);
    void* memory = mmap(nullptr, ring_size_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                        -1, 0);
    if (memory == MAP_FAILED) {
        return absl::ResourceExhaustedError("mmap of a buffer ring failed");
    }
    ring_ = static_cast<io_uring_buf_ring*>(memory);
    buffers_ = std::make_unique<char[]>(static_cast<size_t>(count) * size);
    count_ = count;
    size_ = size;
    group_id_ = group_id;

    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(memory);
    reg.ring_entries = count;
    reg.bgid = group_id;
    const int result = io_uring_register_buf_ring(&ring, &reg, 0);
    if (result != 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "io_uring_register_buf_ring failed: ", std::strerror(-result),
            " (provided buffer rings need Linux 5.19 or newer)"));
    }
    registered_ = true;
    io_uring_buf_ring_init(ring_);
    for (uint32_t i = 0; i < count; ++i) {
        recycle(static_cast<uint16_t>(i));
    }
    publish();
    return absl::OkStatus();
}

void BufferRing::destroy(io_uring& ring) {
    if (registered_) {
        (void)io_uring_unregister_buf_ring(&ring, group_id_);
        registered_ = false;
    }
}

}  // namespace fe::net::internal
