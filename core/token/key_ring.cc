#include "core/token/key_ring.h"

#include <openssl/mem.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/base/assert.h"
#include "core/base/status.h"
#include "core/base/strings.h"

namespace fe::token {
namespace {

constexpr size_t kShaBlockSize = 64;
static_assert(kKeySize <= kShaBlockSize, "keys longer than a block would be hashed first");

void precompute(Key& key) {
    uint8_t block[kShaBlockSize];
    for (uint8_t pad : {uint8_t{0x36}, uint8_t{0x5c}}) {
        std::memset(block, pad, sizeof block);
        for (size_t i = 0; i < kKeySize; ++i) {
            block[i] = static_cast<uint8_t>(key.secret[i] ^ pad);
        }
        SHA256_CTX& ctx = pad == 0x36 ? key.inner : key.outer;
        SHA256_Init(&ctx);
        SHA256_Update(&ctx, block, sizeof block);
    }
    OPENSSL_cleanse(block, sizeof block);
    key.fingerprint = uint64_t{key.inner.h[0]} << 32 | key.inner.h[1];
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

absl::Status decode_hex_key(std::string_view hex, size_t line_number,
                            std::array<uint8_t, kKeySize>& out) {
    if (hex.size() != 2 * kKeySize) {
        return absl::InvalidArgumentError(
            absl::StrCat("key file line ", line_number, ": a key is ", 2 * kKeySize,
                         " hex digits (", kKeySize, " bytes), this one has ", hex.size(),
                         "; make one with: head -c 32 /dev/urandom | xxd -p -c 64"));
    }
    for (size_t i = 0; i < kKeySize; ++i) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return absl::InvalidArgumentError(
                absl::StrCat("key file line ", line_number, ": '", to_absl(hex.substr(2 * i, 2)),
                             "' is not two hex digits"));
        }
        out[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    return absl::OkStatus();
}

absl::Status parse_line(std::string_view line, size_t line_number, KeyRing& ring) {
    size_t space = line.find_first_of(" \t");
    uint32_t key_id = 0;
    std::string_view hex = line;
    if (space != std::string_view::npos) {
        std::optional<uint32_t> id = parse_u32(line.substr(0, space), 255);
        if (!id) {
            return absl::InvalidArgumentError(
                absl::StrCat("key file line ", line_number, ": key id '",
                             to_absl(line.substr(0, space)), "' is not a number 0..255"));
        }
        key_id = *id;
        hex = trim(line.substr(space));
    }
    std::array<uint8_t, kKeySize> secret{};
    absl::Status status = decode_hex_key(hex, line_number, secret);
    if (status.ok()) {
        status = ring.add(static_cast<uint8_t>(key_id), secret);
        if (!status.ok()) {
            status = absl::InvalidArgumentError(
                absl::StrCat("key file line ", line_number, ": ", status.message()));
        }
    }
    OPENSSL_cleanse(secret.data(), secret.size());
    return status;
}

}  // namespace

KeyRing::~KeyRing() { OPENSSL_cleanse(keys_.data(), sizeof keys_); }

absl::StatusOr<KeyRing> KeyRing::parse(std::string_view text) {
    if (text.size() > kKeyFileSizeMax) {
        return absl::InvalidArgumentError(absl::StrCat(
            "key file is ", text.size(), " bytes, more than ", kKeyFileSizeMax,
            ": is this the right file?"));
    }
    KeyRing ring;
    if (text.size() == kKeySize) {
        // Raw key (head -c 32 /dev/urandom > key): a text key line is never
        // this short, so the size alone tells the formats apart.
        std::span<const uint8_t, kKeySize> raw(reinterpret_cast<const uint8_t*>(text.data()),
                                               kKeySize);
        FE_RETURN_IF_ERROR(ring.add(0, raw));
        return ring;
    }
    size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
        line = trim(line.substr(0, line.find('#')));
        if (!line.empty()) {
            FE_RETURN_IF_ERROR(parse_line(line, line_number, ring));
        }
    }
    if (ring.key_count() == 0) {
        return absl::InvalidArgumentError(
            "key file holds no key: add a line '<id> <64 hex digits>' (the last line is the "
            "current key)");
    }
    return ring;
}

KeyRing KeyRing::from_random(uint8_t key_id, std::span<const uint8_t, kKeySize> random_bytes) {
    KeyRing ring;
    absl::Status status = ring.add(key_id, random_bytes);
    FE_ASSERT(status.ok());  // an empty ring has room and no ids
    return ring;
}

absl::Status KeyRing::add(uint8_t key_id, std::span<const uint8_t, kKeySize> secret) {
    if (find(key_id) != nullptr) {
        return absl::AlreadyExistsError(
            absl::StrCat("key id ", key_id, " is already in the ring; give each key its own id"));
    }
    if (key_count_ == kKeyCountMax) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "the key ring holds ", kKeyCountMax, " keys already; retire the oldest first"));
    }
    Key& key = keys_[key_count_];
    key.id = key_id;
    std::memcpy(key.secret.data(), secret.data(), kKeySize);
    precompute(key);
    index_by_id_[key_id] = static_cast<uint8_t>(key_count_);
    ++key_count_;
    return absl::OkStatus();
}

absl::Status KeyRing::retire(uint8_t key_id) {
    const Key* key = find(key_id);
    if (key == nullptr) {
        return absl::NotFoundError(absl::StrCat("key id ", key_id, " is not in the ring"));
    }
    if (key == current()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "key id ", key_id, " is the current key; add its successor before retiring it"));
    }
    size_t index = static_cast<size_t>(key - keys_.data());
    for (size_t i = index; i + 1 < key_count_; ++i) {
        keys_[i] = keys_[i + 1];
    }
    --key_count_;
    OPENSSL_cleanse(&keys_[key_count_], sizeof(Key));
    rebuild_index();
    return absl::OkStatus();
}

void KeyRing::rebuild_index() {
    index_by_id_.fill(kNoIndex);
    for (size_t i = 0; i < key_count_; ++i) {
        index_by_id_[keys_[i].id] = static_cast<uint8_t>(i);
    }
}

std::string KeyRing::to_text() const {
    static const char* kDigits = "0123456789abcdef";
    std::string out = "# flow-token keys, oldest first; the last is current\n";
    for (size_t i = 0; i < key_count_; ++i) {
        absl::StrAppend(&out, keys_[i].id, " ");
        for (uint8_t b : keys_[i].secret) {
            out.push_back(kDigits[b >> 4]);
            out.push_back(kDigits[b & 15]);
        }
        out.push_back('\n');
    }
    return out;
}

}  // namespace fe::token
