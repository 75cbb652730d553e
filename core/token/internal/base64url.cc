#include "core/token/internal/base64url.h"

#include <array>

#include "core/base/assert.h"
#include "core/token/limits.h"

namespace fe::token::internal {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr uint8_t kInvalid = 0xFF;

constexpr std::array<uint8_t, 256> kDecodeTable = [] {
    std::array<uint8_t, 256> t{};
    t.fill(kInvalid);
    for (uint8_t i = 0; i < 64; ++i) {
        t[static_cast<uint8_t>(kAlphabet[i])] = i;
    }
    return t;
}();

}  // namespace

size_t encode_base64url(std::span<const uint8_t> bytes, std::span<char> out) {
    size_t text_size = base64url_size(bytes.size());
    FE_ASSERT(out.size() >= text_size);
    size_t o = 0;
    size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        uint32_t v = static_cast<uint32_t>(bytes[i]) << 16 |
                     static_cast<uint32_t>(bytes[i + 1]) << 8 | bytes[i + 2];
        out[o++] = kAlphabet[v >> 18];
        out[o++] = kAlphabet[(v >> 12) & 63];
        out[o++] = kAlphabet[(v >> 6) & 63];
        out[o++] = kAlphabet[v & 63];
    }
    size_t rest = bytes.size() - i;
    if (rest > 0) {
        uint32_t v = static_cast<uint32_t>(bytes[i]) << 16;
        if (rest == 2) {
            v |= static_cast<uint32_t>(bytes[i + 1]) << 8;
        }
        out[o++] = kAlphabet[v >> 18];
        out[o++] = kAlphabet[(v >> 12) & 63];
        if (rest == 2) {
            out[o++] = kAlphabet[(v >> 6) & 63];
        }
    }
    FE_ASSERT(o == text_size);
    return o;
}

Base64Error decode_base64url(std::string_view text, std::span<uint8_t> out, size_t& size) {
    size = 0;
    if (text.size() % 4 == 1) {
        return Base64Error::kBadLength;
    }
    size_t byte_size = text.size() / 4 * 3 + (text.size() % 4 == 0 ? 0 : text.size() % 4 - 1);
    if (byte_size > out.size()) {
        return Base64Error::kTooLong;
    }
    uint32_t acc = 0;
    int acc_bits = 0;
    size_t o = 0;
    for (char c : text) {
        uint8_t v = kDecodeTable[static_cast<uint8_t>(c)];
        if (v == kInvalid) {
            return Base64Error::kBadCharacter;
        }
        acc = (acc << 6) | v;
        acc_bits += 6;
        if (acc_bits >= 8) {
            acc_bits -= 8;
            out[o++] = static_cast<uint8_t>(acc >> acc_bits);
            acc &= (1u << acc_bits) - 1;
        }
    }
    // 2 or 4 bits are left over after a partial group; they must be zero.
    if (acc != 0) {
        return Base64Error::kNonCanonical;
    }
    FE_ASSERT(o == byte_size);
    size = o;
    return Base64Error::kOk;
}

}  // namespace fe::token::internal
