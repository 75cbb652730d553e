// File: core/token/key_ring.h
//
// The cluster's flow-token keys (DESIGN.md "Flow tokens"). Every key has a
// one-byte id that tokens carry; the newest key is the current one and mints;
// older keys keep verifying until retired, so tokens in live registrations
// survive a rotation. The HMAC-SHA-256 inner and outer hash states are
// computed once per key, so verifying a token costs two SHA-256 blocks and
// never rehashes the key.
//
// Loading and rotating keys is control-plane work (absl::Status); find() and
// current() are the data-plane side and never fail loudly.
//
//   // Key file text (core does no file I/O): oldest first, the last is current.
//   //   # rotated 2024-05-01
//   //   1 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//   //   2 60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
//   FE_ASSIGN_OR_RETURN(fe::token::KeyRing ring, fe::token::KeyRing::parse(text));
//   ring.current_key_id();                                   // 2
//
//   // Or a fresh single key from the caller's randomness:
//   fe::token::KeyRing ring = fe::token::KeyRing::from_random(0, random_32_bytes);
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <openssl/sha.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/token/limits.h"

namespace fe::token {

// One key with its precomputed HMAC states (RFC 2104: H(K^opad, H(K^ipad, m))).
struct Key {
    uint8_t id = 0;
    std::array<uint8_t, kKeySize> secret{};
    // SHA-256 after absorbing the 64-byte block key^ipad / key^opad; copied,
    // never updated in place.
    SHA256_CTX inner{};
    SHA256_CTX outer{};
    // 64 bits of the inner state: names this secret without revealing it, so
    // a TokenCache can tell a key from a later one that reuses its id.
    uint64_t fingerprint = 0;
};

class KeyRing {
  public:
    KeyRing() = default;  // no keys: mint() reports kNoKey, verify() kUnknownKey
    ~KeyRing();           // wipes the secrets
    KeyRing(const KeyRing&) = default;
    KeyRing& operator=(const KeyRing&) = default;

    // Key file text: either exactly kKeySize raw bytes (key id 0), or lines
    // of "<id> <64 hex digits>" or a lone "<64 hex digits>" (id 0), with '#'
    // comments and blank lines. Keys are listed oldest first; the last one is
    // current. Errors name the line and the fix.
    static absl::StatusOr<KeyRing> parse(std::string_view text);

    // A ring holding one key made of caller-provided random bytes (core/ does
    // not read /dev/urandom).
    static KeyRing from_random(uint8_t key_id, std::span<const uint8_t, kKeySize> random_bytes);

    // Adds a key and makes it current (rotation). Fails when the id is taken
    // or kKeyCountMax keys exist.
    absl::Status add(uint8_t key_id, std::span<const uint8_t, kKeySize> secret);
    // Stops a key from verifying. The current key cannot be retired: add its
    // successor first, so minting never stops.
    absl::Status retire(uint8_t key_id);

    // The key file text that parse() reads back to an equal ring.
    std::string to_text() const;

    // The key with this id, or nullptr when unknown or retired.
    const Key* find(uint8_t key_id) const {
        uint8_t index = index_by_id_[key_id];
        return index == kNoIndex ? nullptr : &keys_[index];
    }
    // The minting key, or nullptr on an empty ring.
    const Key* current() const { return key_count_ == 0 ? nullptr : &keys_[key_count_ - 1]; }
    size_t key_count() const { return key_count_; }

  private:
    static constexpr uint8_t kNoIndex = 0xFF;
    static_assert(kKeyCountMax < kNoIndex, "indices must not collide with kNoIndex");

    void rebuild_index();

    // keys_[0, key_count_) oldest first; the last is current.
    std::array<Key, kKeyCountMax> keys_{};
    size_t key_count_ = 0;
    // key id -> index into keys_, kNoIndex when absent. Kept in step by add()
    // and retire().
    std::array<uint8_t, 256> index_by_id_ = [] {
        std::array<uint8_t, 256> a{};
        a.fill(kNoIndex);
        return a;
    }();
};

}  // namespace fe::token
