// File: core/stun/internal/crc32.h
//
// CRC-32 as ISO 3309 / ITU-T V.42 define it (reflected polynomial 0xEDB88320,
// initial value and final XOR 0xFFFFFFFF), which RFC 5389 §15.5 names for
// FINGERPRINT. The table is built at compile time; one byte per step is plenty
// for messages of a few dozen bytes.
//
//   uint32_t crc = fe::stun::internal::crc32(bytes);   // crc32("123456789") == 0xCBF43926
#pragma once

#include <array>
#include <cstdint>
#include <span>

namespace fe::stun::internal {

inline constexpr std::array<uint32_t, 256> kCrc32Table = [] {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int bit = 0; bit < 8; ++bit) {
            c = (c & 1) ? (0xEDB88320u ^ (c >> 1)) : (c >> 1);
        }
        table[i] = c;
    }
    return table;
}();

constexpr uint32_t crc32(std::span<const uint8_t> bytes) {
    uint32_t c = 0xFFFFFFFFu;
    for (uint8_t b : bytes) {
        c = kCrc32Table[(c ^ b) & 0xFF] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

}  // namespace fe::stun::internal
