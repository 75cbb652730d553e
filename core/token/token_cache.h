// File: core/token/token_cache.h
//
// A worker's memory of the flow tokens it minted and verified lately. Every
// message of a call carries or needs a token (the Route and Record-Route of
// each request, the fl= of our Via in each response) and each costs an
// HMAC-SHA-256: about 4,500 instructions, a fifth of a call's work. The same
// few tokens come back again and again (one per flow), so the cache answers
// a token text it has seen verify, and a flow it has minted for, without the
// MAC.
//
//   fe::token::TokenCache cache;                  // one per worker, not shared
//   fe::token::MintResult m = cache.mint(ring, fields, out);  // as token::mint()
//   fe::token::VerifyResult v = cache.verify(ring, text);    // as token::verify()
//
// Exactness: an entry is used only when its whole token text (verify) or all
// of its fields (mint) equal the request's, and the key that made it is
// still in the ring with the same secret (Key::fingerprint): a retired or
// replaced key never verifies through the cache. Only kOk results are kept;
// anything else is computed every time. Direct-mapped, kTokenCacheSlots
// slots each: no allocation after construction, a collision replaces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "core/token/flow_token.h"
#include "core/token/key_ring.h"
#include "core/token/limits.h"

namespace fe::token {

class TokenCache {
public:
    TokenCache();
    TokenCache(const TokenCache&) = delete;
    TokenCache& operator=(const TokenCache&) = delete;

    // token::mint(), from the cache when this flow's token under the ring's
    // current key is in it.
    MintResult mint(const KeyRing& ring, const Fields& fields, std::span<char> out);
    // token::verify(), from the cache when this text verified before under
    // a key the ring still holds.
    VerifyResult verify(const KeyRing& ring, std::string_view text);

    uint64_t hits() const { return hits_; }
    uint64_t misses() const { return misses_; }

private:
    struct Entry {
        uint64_t fingerprint = 0;  // Key::fingerprint; 0: empty slot
        uint8_t key_id = 0;
        uint8_t size = 0;
        char text[kTokenTextSizeMax];
        Fields fields;
    };
    static bool key_holds(const KeyRing& ring, const Entry& e);

    std::unique_ptr<Entry[]> minted_;
    std::unique_ptr<Entry[]> verified_;
    uint64_t hits_ = 0;
    uint64_t misses_ = 0;
};

}  // namespace fe::token
