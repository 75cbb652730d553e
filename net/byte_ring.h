// File: net/byte_ring.h
//
// A bounded single-producer single-consumer ring of variable-size records:
// how one worker hands whole messages to another without allocating (the
// mailbox, net/mailbox.h, carries only fixed 56-byte items and serves as the
// doorbell). The producer copies a record in; the consumer reads it in place
// and the space is reused as soon as it moves on. A full ring refuses the
// record: backpressure, never growth.
//
//   fe::net::ByteRing ring(1 << 20);
//   // producer thread:
//   const std::string_view parts[] = {header_bytes, message};
//   if (!ring.write(parts)) { ++dropped; }
//   // consumer thread:
//   ring.read_all([&](std::string_view record) { handle(record); });
//
// Layout: records are [4-byte size][bytes], each start aligned to 8 bytes.
// A record never wraps: when it does not fit before the end, a 4-byte pad
// marker fills the rest and the record starts at 0. Positions grow without
// bound (64 bits) and are reduced modulo the capacity, a power of two.
// The producer publishes a record with a release store of head_; the
// consumer frees space with a release store of tail_.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>

#include "core/base/assert.h"
#include "net/mailbox.h"

namespace fe::net {

class ByteRing {
  public:
    // capacity: a power of two >= 64.
    explicit ByteRing(uint32_t capacity)
        : capacity_(capacity), bytes_(std::make_unique<char[]>(capacity)) {
        FE_ASSERT(capacity >= 64);
        FE_ASSERT((capacity & (capacity - 1)) == 0);
    }
    ByteRing(const ByteRing&) = delete;
    ByteRing& operator=(const ByteRing&) = delete;

    // The largest record write() can take.
    uint32_t record_size_max() const { return capacity_ / 2 - kRecordHeaderSize; }

    // Producer. Copies the parts as one record; false when it does not fit
    // now (the consumer is behind) or ever (larger than record_size_max()).
    bool write(std::span<const std::string_view> parts) {
        size_t size = 0;
        for (std::string_view part : parts) {
            size += part.size();
        }
        if (size > record_size_max()) {
            return false;
        }
        const uint64_t head = head_.load(std::memory_order_relaxed);
        const uint64_t tail = tail_.load(std::memory_order_acquire);
        const uint64_t need = padded(kRecordHeaderSize + size);
        const uint64_t offset = head & (capacity_ - 1);
        const uint64_t to_end = capacity_ - offset;
        const uint64_t skip = need > to_end ? to_end : 0;  // pad to the start
        if (head + skip + need - tail > capacity_) {
            return false;
        }
        if (skip != 0) {
            put_u32(offset, kPadMarker);
        }
        const uint64_t at = (head + skip) & (capacity_ - 1);
        put_u32(at, static_cast<uint32_t>(size));
        char* out = bytes_.get() + at + kRecordHeaderSize;
        for (std::string_view part : parts) {
            if (!part.empty()) {
                std::memcpy(out, part.data(), part.size());
                out += part.size();
            }
        }
        head_.store(head + skip + need, std::memory_order_release);
        return true;
    }

    // Consumer. Calls `f(record)` for each published record in order; the
    // view is valid during the call only. Returns how many were read.
    template <typename F>
    uint32_t read_all(F&& f) {
        uint32_t count = 0;
        uint64_t tail = tail_.load(std::memory_order_relaxed);
        const uint64_t head = head_.load(std::memory_order_acquire);
        while (tail != head) {
            const uint64_t offset = tail & (capacity_ - 1);
            const uint32_t size = get_u32(offset);
            if (size == kPadMarker) {
                tail += capacity_ - offset;
                continue;
            }
            f(std::string_view(bytes_.get() + offset + kRecordHeaderSize, size));
            tail += padded(kRecordHeaderSize + size);
            ++count;
        }
        tail_.store(tail, std::memory_order_release);
        return count;
    }

    // Any thread; a snapshot.
    bool empty() const {
        return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
    }

  private:
    static constexpr uint32_t kRecordHeaderSize = 4;
    static constexpr uint32_t kPadMarker = UINT32_MAX;
    static constexpr uint64_t kAlign = 8;

    static uint64_t padded(uint64_t size) { return (size + kAlign - 1) & ~(kAlign - 1); }
    void put_u32(uint64_t offset, uint32_t value) {
        std::memcpy(bytes_.get() + offset, &value, sizeof(value));
    }
    uint32_t get_u32(uint64_t offset) const {
        uint32_t value = 0;
        std::memcpy(&value, bytes_.get() + offset, sizeof(value));
        return value;
    }

    const uint32_t capacity_;
    std::unique_ptr<char[]> bytes_;
    // Written by the producer only; the consumer reads it.
    alignas(kCacheLineSize) std::atomic<uint64_t> head_{0};
    // Written by the consumer only; the producer reads it.
    alignas(kCacheLineSize) std::atomic<uint64_t> tail_{0};
};

}  // namespace fe::net
