#include "core/token/token_cache.h"

#include <cstring>

#include "core/base/assert.h"

namespace fe::token {
namespace {

static_assert((kTokenCacheSlots & (kTokenCacheSlots - 1)) == 0, "a power of two");

constexpr uint64_t kFnvOffset = 14695981039346656037ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;

uint64_t fnv(uint64_t h, const void* data, size_t size) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < size; ++i) {
        h = (h ^ p[i]) * kFnvPrime;
    }
    return h;
}

size_t slot_of(uint64_t h) { return static_cast<size_t>((h ^ (h >> 29)) & (kTokenCacheSlots - 1)); }

uint64_t hash_fields(const Fields& f) {
    uint64_t h = kFnvOffset;
    h = fnv(h, &f.node_id, sizeof f.node_id);
    h = fnv(h, &f.worker_index, sizeof f.worker_index);
    h = fnv(h, &f.slot, sizeof f.slot);
    h = fnv(h, &f.generation, sizeof f.generation);
    h = fnv(h, &f.transport, sizeof f.transport);
    if (!f.remote.empty()) {
        h = fnv(h, f.remote.addr.data(), f.remote.addr.size());
        h = fnv(h, &f.remote.port, sizeof f.remote.port);
        h = fnv(h, &f.local_socket_index, sizeof f.local_socket_index);
    }
    return h;
}

}  // namespace

TokenCache::TokenCache()
    : minted_(new Entry[kTokenCacheSlots]), verified_(new Entry[kTokenCacheSlots]) {}

bool TokenCache::key_holds(const KeyRing& ring, const Entry& e) {
    const Key* key = ring.find(e.key_id);
    return key != nullptr && key->fingerprint == e.fingerprint;
}

MintResult TokenCache::mint(const KeyRing& ring, const Fields& fields, std::span<char> out) {
    FE_ASSERT(out.size() >= kTokenTextSizeMax);
    const Key* current = ring.current();
    Entry& e = minted_[slot_of(hash_fields(fields))];
    if (current != nullptr && e.fingerprint == current->fingerprint && e.key_id == current->id &&
        e.fields == fields) {
        ++hits_;
        std::memcpy(out.data(), e.text, e.size);
        return MintResult{MintStatus::kOk, e.size};
    }
    ++misses_;
    const MintResult m = token::mint(ring, fields, out);
    if (m.status == MintStatus::kOk) {
        e.fingerprint = current->fingerprint;
        e.key_id = current->id;
        e.size = static_cast<uint8_t>(m.size);
        std::memcpy(e.text, out.data(), m.size);
        e.fields = fields;
    }
    return m;
}

VerifyResult TokenCache::verify(const KeyRing& ring, std::string_view text) {
    if (text.empty() || text.size() > kTokenTextSizeMax) {
        return token::verify(ring, text);  // malformed: nothing to remember
    }
    Entry& e = verified_[slot_of(fnv(kFnvOffset, text.data(), text.size()))];
    if (e.fingerprint != 0 && e.size == text.size() &&
        std::memcmp(e.text, text.data(), text.size()) == 0 && key_holds(ring, e)) {
        ++hits_;
        VerifyResult r;
        r.status = VerifyStatus::kOk;
        r.key_id = e.key_id;
        r.fields = e.fields;
        return r;
    }
    ++misses_;
    const VerifyResult v = token::verify(ring, text);
    if (v.status == VerifyStatus::kOk) {
        const Key* key = ring.find(v.key_id);
        FE_ASSERT(key != nullptr);
        e.fingerprint = key->fingerprint;
        e.key_id = v.key_id;
        e.size = static_cast<uint8_t>(text.size());
        std::memcpy(e.text, text.data(), text.size());
        e.fields = v.fields;
    }
    return v;
}

}  // namespace fe::token
