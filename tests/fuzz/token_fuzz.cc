// Fuzzes flow-token verification (core/token) with a fixed two-key ring:
// verify() must never crash on arbitrary text, and anything that verifies must
// re-mint, with its own key, to exactly the same text (one text per flow).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/token/flow_token.h"
#include "core/token/key_ring.h"

namespace {

fe::token::KeyRing make_ring(uint8_t last_key_id) {
    std::array<uint8_t, fe::token::kKeySize> key{};
    for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
    fe::token::KeyRing ring = fe::token::KeyRing::from_random(1, key);
    if (last_key_id != 1) {
        key[0] = 0xAA;
        if (!ring.add(last_key_id, key).ok()) abort();
    }
    return ring;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const fe::token::KeyRing ring = make_ring(2);
    std::string_view text(reinterpret_cast<const char*>(data), size);
    fe::token::VerifyResult v = fe::token::verify(ring, text);
    if (v.status != fe::token::VerifyStatus::kOk) {
        return 0;
    }
    // Re-mint with a ring whose current key is the one that verified.
    fe::token::KeyRing signer = v.key_id == 1 ? make_ring(1) : make_ring(v.key_id);
    std::array<char, fe::token::kTokenTextSizeMax> out{};
    fe::token::MintResult m = fe::token::mint(signer, v.fields, out);
    if (m.status != fe::token::MintStatus::kOk || m.size != size ||
        std::memcmp(out.data(), data, size) != 0) {
        abort();
    }
    return 0;
}
