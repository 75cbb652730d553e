// Test helper: copies bytes so that they end flush against a PROT_NONE page,
// so a parser reading one byte past the input crashes at once
// (picohttpparser's test.c does the same).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string_view>

namespace fe::sip::testing {

class GuardedBuffer {
public:
    explicit GuardedBuffer(std::string_view bytes) {
        const auto page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        data_size_ = (bytes.size() + page - 1) / page * page;
        map_size_ = data_size_ + page;
        void* base = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED) {
            std::abort();
        }
        base_ = static_cast<char*>(base);
        if (mprotect(base_ + data_size_, page, PROT_NONE) != 0) {
            std::abort();
        }
        begin_ = base_ + data_size_ - bytes.size();
        if (!bytes.empty()) {
            std::memcpy(begin_, bytes.data(), bytes.size());
        }
        size_ = bytes.size();
    }
    ~GuardedBuffer() { munmap(base_, map_size_); }
    GuardedBuffer(const GuardedBuffer&) = delete;
    GuardedBuffer& operator=(const GuardedBuffer&) = delete;

    std::string_view view() const { return std::string_view(begin_, size_); }

private:
    char* base_ = nullptr;
    char* begin_ = nullptr;
    size_t size_ = 0;
    size_t data_size_ = 0;
    size_t map_size_ = 0;
};

}  // namespace fe::sip::testing
