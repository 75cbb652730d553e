// Test helper: copies an input so that its last byte sits flush against an
// inaccessible page, so a parser that reads even one byte past the view
// crashes at once (picohttpparser's test.c trick, STYLE §12).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "core/syntax/error.h"
#include "gtest/gtest.h"

namespace fe::syntax {
// gtest prints an Error by its name ("bad port"), not as a byte.
inline void PrintTo(Error e, std::ostream* os) { *os << error_text(e); }
}  // namespace fe::syntax

namespace fe::syntax::testing {

class Guarded {
public:
    explicit Guarded(std::string_view text) {
        page_size_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        map_size_ = ((text.size() + page_size_ - 1) / page_size_ + 1) * page_size_;
        void* m = mmap(nullptr, map_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                       -1, 0);
        if (m == MAP_FAILED) {
            ADD_FAILURE() << "mmap failed";
            return;
        }
        base_ = static_cast<char*>(m);
        char* guard = base_ + map_size_ - page_size_;
        if (mprotect(guard, page_size_, PROT_NONE) != 0) {
            ADD_FAILURE() << "mprotect failed";
        }
        char* start = guard - text.size();
        if (!text.empty()) {
            std::memcpy(start, text.data(), text.size());
        }
        view_ = std::string_view(start, text.size());
    }
    ~Guarded() {
        if (base_ != nullptr) {
            munmap(base_, map_size_);
        }
    }
    Guarded(const Guarded&) = delete;
    Guarded& operator=(const Guarded&) = delete;

    std::string_view view() const { return view_; }

private:
    char* base_ = nullptr;
    size_t page_size_ = 0;
    size_t map_size_ = 0;
    std::string_view view_;
};

// True when `part` lies inside `whole` (views point into the input).
inline bool is_within(std::string_view part, std::string_view whole) {
    return part.empty() ||
           (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace fe::syntax::testing
