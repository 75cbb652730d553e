// File: core/ws/internal/utf8.h
//
// A streaming UTF-8 validator (Unicode 15 table 3-7, RFC 3629): text messages
// must be valid UTF-8 as a whole (RFC 6455 §8.1), and a code point may be
// split across fragments, so the state carries over between calls. Overlong
// forms, surrogates (U+D800..U+DFFF) and code points above U+10FFFF are
// invalid.
//
//   fe::ws::internal::Utf8State s;
//   if (!utf8_feed(s, fragment_a) || !utf8_feed(s, fragment_b) || !s.complete()) { fail(1007); }
#pragma once

#include <cstdint>
#include <span>

namespace fe::ws::internal {

struct Utf8State {
    // Continuation bytes still expected for the current code point; 0 between
    // code points.
    uint8_t needed = 0;
    // Bounds of the next continuation byte. Only the first continuation of a
    // sequence has tighter bounds than 0x80..0xBF (they exclude overlongs,
    // surrogates and values above U+10FFFF).
    uint8_t lower = 0x80;
    uint8_t upper = 0xBF;

    bool complete() const { return needed == 0; }
};

// Feeds `bytes`; false as soon as they cannot continue valid UTF-8 (the state
// is then meaningless). True does not mean complete: check complete() at the
// end of the message.
[[nodiscard]] bool utf8_feed(Utf8State& state, std::span<const uint8_t> bytes);

}  // namespace fe::ws::internal
