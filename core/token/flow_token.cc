#include "core/token/flow_token.h"

#include <openssl/mem.h>

#include <cstring>

#include "core/base/assert.h"
#include "core/token/internal/base64url.h"

namespace fe::token {
namespace {

constexpr size_t kStreamTokenTextSize = base64url_size(kLayoutCommonSize + kMacSize);
constexpr size_t kUdpV4TokenTextSize = base64url_size(kLayoutUdpV4Size + kMacSize);
constexpr size_t kUdpV6TokenTextSize = base64url_size(kLayoutUdpV6Size + kMacSize);
static_assert(kStreamTokenTextSize == 35, "TCP tokens stay short");
static_assert(kUdpV6TokenTextSize == kTokenTextSizeMax);

constexpr uint8_t kFamilyByteV4 = 4;
constexpr uint8_t kFamilyByteV6 = 6;

void store_u16(uint8_t* p, uint16_t v) {
    p[0] = static_cast<uint8_t>(v >> 8);
    p[1] = static_cast<uint8_t>(v);
}
void store_u32(uint8_t* p, uint32_t v) {
    p[0] = static_cast<uint8_t>(v >> 24);
    p[1] = static_cast<uint8_t>(v >> 16);
    p[2] = static_cast<uint8_t>(v >> 8);
    p[3] = static_cast<uint8_t>(v);
}
uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint32_t load_u32(const uint8_t* p) {
    return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
           static_cast<uint32_t>(p[2]) << 8 | static_cast<uint32_t>(p[3]);
}

bool transport_is_known(uint8_t value) {
    return value >= static_cast<uint8_t>(Transport::kUdp) &&
           value <= static_cast<uint8_t>(Transport::kWss);
}

// Our own inputs: a violation is a bug in the caller, not bad traffic.
void assert_fields_valid(const Fields& f) {
    FE_ASSERT(transport_is_known(static_cast<uint8_t>(f.transport)));
    if (f.transport == Transport::kUdp) {
        FE_ASSERT(f.remote.is_v4() || f.remote.is_v6());
        FE_ASSERT(f.remote.port != 0);
    } else {
        FE_ASSERT(f.remote.empty());
        FE_ASSERT(f.local_socket_index == 0);
    }
}

size_t encode_layout(const Fields& f, uint8_t key_id, uint8_t* out) {
    out[0] = kTokenVersion;
    out[1] = key_id;
    out[2] = static_cast<uint8_t>(f.transport);
    out[3] = f.worker_index;
    store_u16(out + 4, f.node_id);
    store_u32(out + 6, f.slot);
    store_u32(out + 10, f.generation);
    size_t size = kLayoutCommonSize;
    if (f.transport != Transport::kUdp) {
        return size;
    }
    size_t address_size = f.remote.is_v4() ? 4 : 16;
    out[size++] = f.remote.is_v4() ? kFamilyByteV4 : kFamilyByteV6;
    std::memcpy(out + size, f.remote.addr.data(), address_size);
    size += address_size;
    store_u16(out + size, f.remote.port);
    store_u16(out + size + 2, f.local_socket_index);
    size += 4;
    FE_ASSERT(size == (f.remote.is_v4() ? kLayoutUdpV4Size : kLayoutUdpV6Size));
    return size;
}

// Decodes the structure of `layout` (no MAC). Untrusted: every defect has a name.
Defect decode_layout(std::span<const uint8_t> layout, Fields& f) {
    FE_ASSERT(layout.size() >= kLayoutCommonSize);
    if (layout[0] != kTokenVersion) {
        return Defect::kBadVersion;
    }
    if (!transport_is_known(layout[2])) {
        return Defect::kBadTransport;
    }
    f.transport = static_cast<Transport>(layout[2]);
    f.worker_index = layout[3];
    f.node_id = load_u16(layout.data() + 4);
    f.slot = load_u32(layout.data() + 6);
    f.generation = load_u32(layout.data() + 10);
    if (f.transport != Transport::kUdp) {
        return layout.size() == kLayoutCommonSize ? Defect::kNone : Defect::kSizeMismatch;
    }
    if (layout.size() == kLayoutCommonSize) {
        return Defect::kSizeMismatch;
    }
    uint8_t family = layout[kLayoutCommonSize];
    if (family != kFamilyByteV4 && family != kFamilyByteV6) {
        return Defect::kBadFamily;
    }
    size_t address_size = family == kFamilyByteV4 ? 4 : 16;
    if (layout.size() != kLayoutCommonSize + 1 + address_size + 4) {
        return Defect::kSizeMismatch;
    }
    const uint8_t* p = layout.data() + kLayoutCommonSize + 1;
    f.remote = Endpoint{};
    f.remote.family = family == kFamilyByteV4 ? Endpoint::Family::kV4 : Endpoint::Family::kV6;
    std::memcpy(f.remote.addr.data(), p, address_size);
    f.remote.port = load_u16(p + address_size);
    f.local_socket_index = load_u16(p + address_size + 2);
    if (f.remote.port == 0) {
        return Defect::kBadPort;
    }
    return Defect::kNone;
}

// HMAC-SHA-256 from the key's precomputed states (RFC 2104).
void compute_mac(const Key& key, std::span<const uint8_t> layout,
                 uint8_t (&mac)[SHA256_DIGEST_LENGTH]) {
    SHA256_CTX ctx = key.inner;
    SHA256_Update(&ctx, layout.data(), layout.size());
    uint8_t inner_hash[SHA256_DIGEST_LENGTH];
    SHA256_Final(inner_hash, &ctx);
    ctx = key.outer;
    SHA256_Update(&ctx, inner_hash, sizeof inner_hash);
    SHA256_Final(mac, &ctx);
}

VerifyResult malformed(Defect defect) {
    VerifyResult r;
    r.status = VerifyStatus::kMalformed;
    r.defect = defect;
    return r;
}

}  // namespace

MintResult mint(const KeyRing& ring, const Fields& fields, std::span<char> out) {
    FE_ASSERT(out.size() >= kTokenTextSizeMax);
    assert_fields_valid(fields);
    const Key* key = ring.current();
    if (key == nullptr) {
        return MintResult{MintStatus::kNoKey, 0};
    }
    uint8_t bytes[kTokenBytesSizeMax];
    size_t layout_size = encode_layout(fields, key->id, bytes);
    uint8_t mac[SHA256_DIGEST_LENGTH];
    compute_mac(*key, {bytes, layout_size}, mac);
    std::memcpy(bytes + layout_size, mac, kMacSize);
    size_t size = internal::encode_base64url({bytes, layout_size + kMacSize}, out);
    FE_ASSERT(size <= kTokenTextSizeMax);
    return MintResult{MintStatus::kOk, size};
}

VerifyResult verify(const KeyRing& ring, std::string_view text) {
    if (text.size() != kStreamTokenTextSize && text.size() != kUdpV4TokenTextSize &&
        text.size() != kUdpV6TokenTextSize) {
        return malformed(Defect::kBadLength);
    }
    uint8_t bytes[kTokenBytesSizeMax];
    size_t size = 0;
    switch (internal::decode_base64url(text, bytes, size)) {
        case internal::Base64Error::kOk:
            break;
        case internal::Base64Error::kBadCharacter:
            return malformed(Defect::kBadCharacter);
        case internal::Base64Error::kNonCanonical:
            return malformed(Defect::kNonCanonical);
        case internal::Base64Error::kBadLength:
        case internal::Base64Error::kTooLong:
            return malformed(Defect::kBadLength);  // the size check above rules these out
    }
    FE_ASSERT(size >= kLayoutCommonSize + kMacSize);
    std::span<const uint8_t> layout(bytes, size - kMacSize);
    VerifyResult result;
    Defect defect = decode_layout(layout, result.fields);
    if (defect != Defect::kNone) {
        return malformed(defect);
    }
    result.key_id = layout[1];
    const Key* key = ring.find(result.key_id);
    if (key == nullptr) {
        result.status = VerifyStatus::kUnknownKey;
        return result;
    }
    uint8_t mac[SHA256_DIGEST_LENGTH];
    compute_mac(*key, layout, mac);
    if (CRYPTO_memcmp(mac, bytes + layout.size(), kMacSize) != 0) {
        result.status = VerifyStatus::kBadMac;
        return result;
    }
    result.status = VerifyStatus::kOk;
    return result;
}

std::string_view verify_status_name(VerifyStatus status) {
    switch (status) {
        case VerifyStatus::kOk: return "ok";
        case VerifyStatus::kMalformed: return "malformed";
        case VerifyStatus::kUnknownKey: return "unknown_key";
        case VerifyStatus::kBadMac: return "bad_mac";
    }
    return "unknown";
}

std::string_view defect_name(Defect defect) {
    switch (defect) {
        case Defect::kNone: return "none";
        case Defect::kBadLength: return "bad_length";
        case Defect::kBadCharacter: return "bad_character";
        case Defect::kNonCanonical: return "non_canonical";
        case Defect::kBadVersion: return "bad_version";
        case Defect::kBadTransport: return "bad_transport";
        case Defect::kBadFamily: return "bad_family";
        case Defect::kSizeMismatch: return "size_mismatch";
        case Defect::kBadPort: return "bad_port";
    }
    return "unknown";
}

}  // namespace fe::token
