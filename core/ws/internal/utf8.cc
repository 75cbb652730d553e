#include "core/ws/internal/utf8.h"

#include <cstring>

namespace fe::ws::internal {

namespace {

// True when the 8 bytes at `p` are all ASCII (the common case in SIP text).
inline bool ascii8(const uint8_t* p) {
    uint64_t word;
    std::memcpy(&word, p, sizeof word);
    return (word & 0x8080808080808080ull) == 0;
}

// Starts a sequence with lead byte `b`; false if `b` cannot start one.
inline bool lead(Utf8State& s, uint8_t b) {
    if (b < 0x80) {
        return true;
    }
    if (b >= 0xC2 && b <= 0xDF) {
        s = {.needed = 1, .lower = 0x80, .upper = 0xBF};
    } else if (b == 0xE0) {
        s = {.needed = 2, .lower = 0xA0, .upper = 0xBF};  // no overlong 3-byte form
    } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
        s = {.needed = 2, .lower = 0x80, .upper = 0xBF};
    } else if (b == 0xED) {
        s = {.needed = 2, .lower = 0x80, .upper = 0x9F};  // no surrogates
    } else if (b == 0xF0) {
        s = {.needed = 3, .lower = 0x90, .upper = 0xBF};  // no overlong 4-byte form
    } else if (b >= 0xF1 && b <= 0xF3) {
        s = {.needed = 3, .lower = 0x80, .upper = 0xBF};
    } else if (b == 0xF4) {
        s = {.needed = 3, .lower = 0x80, .upper = 0x8F};  // nothing above U+10FFFF
    } else {
        return false;  // 0x80..0xC1 (continuation or overlong 2-byte), 0xF5..0xFF
    }
    return true;
}

}  // namespace

bool utf8_feed(Utf8State& state, std::span<const uint8_t> bytes) {
    const uint8_t* p = bytes.data();
    const uint8_t* const end = p + bytes.size();
    while (p < end) {
        if (state.needed == 0) {
            while (end - p >= 8 && ascii8(p)) {
                p += 8;
            }
            if (p == end) {
                break;
            }
            if (!lead(state, *p++)) {
                return false;
            }
            continue;
        }
        const uint8_t b = *p++;
        if (b < state.lower || b > state.upper) {
            return false;
        }
        --state.needed;
        state.lower = 0x80;
        state.upper = 0xBF;
    }
    return true;
}

}  // namespace fe::ws::internal
