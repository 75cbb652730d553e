// Test helper: a mutable copy of some bytes that ends flush against a
// PROT_NONE page, so a decoder reading or writing one byte past its input
// crashes at once (picohttpparser's test.c does the same). Mutable because
// the frame decoder unmasks payloads in place.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string_view>

namespace fe::ws::testing {

class GuardedBytes {
  public:
    explicit GuardedBytes(std::span<const uint8_t> bytes) {
        const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        const size_t data_size = (bytes.size() + page - 1) / page * page;
        map_size_ = data_size + page;
        void* base =
            mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED) {
            std::abort();
        }
        base_ = static_cast<uint8_t*>(base);
        if (mprotect(base_ + data_size, page, PROT_NONE) != 0) {
            std::abort();
        }
        begin_ = base_ + data_size - bytes.size();
        if (!bytes.empty()) {
            std::memcpy(begin_, bytes.data(), bytes.size());
        }
        size_ = bytes.size();
    }
    explicit GuardedBytes(std::string_view text)
        : GuardedBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()),
                                                text.size())) {}
    ~GuardedBytes() { munmap(base_, map_size_); }
    GuardedBytes(const GuardedBytes&) = delete;
    GuardedBytes& operator=(const GuardedBytes&) = delete;

    std::span<uint8_t> span() { return {begin_, size_}; }
    std::string_view view() const { return {reinterpret_cast<const char*>(begin_), size_}; }

  private:
    uint8_t* base_ = nullptr;
    uint8_t* begin_ = nullptr;
    size_t size_ = 0;
    size_t map_size_ = 0;
};

}  // namespace fe::ws::testing
