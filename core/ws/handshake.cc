#include "core/ws/handshake.h"

#include <openssl/base64.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "core/base/assert.h"
#include "core/base/strings.h"

namespace fe::ws {

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kBlankLine = "\r\n\r\n";

// Appends to a caller buffer whose size the callers' limits guarantee.
class Out {
  public:
    explicit Out(std::span<char> out) : out_(out) {}
    Out& add(std::string_view s) {
        FE_ASSERT(s.size() <= out_.size() - size_);
        std::memcpy(out_.data() + size_, s.data(), s.size());
        size_ += s.size();
        return *this;
    }
    size_t size() const { return size_; }

  private:
    std::span<char> out_;
    size_t size_ = 0;  // bytes written; never above out_.size()
};

enum class BlockState : uint8_t { kFound, kNeedMore, kTooLarge };

struct BlockEnd {
    BlockState state;
    uint32_t size;  // through the blank line, when kFound
};

// Finds the blank line ending the head, resuming where the last call stopped.
BlockEnd find_block_end(std::string_view bytes, HandshakeScan& scan) {
    const size_t limit = std::min<size_t>(bytes.size(), kHandshakeSizeMax);
    FE_ASSERT(scan.scanned_size <= limit);
    // The blank line may straddle the old end: back up 3 bytes.
    const size_t from = scan.scanned_size >= 3 ? scan.scanned_size - 3 : 0;
    const size_t pos = bytes.substr(0, limit).find(kBlankLine, from);
    if (pos != std::string_view::npos) {
        scan = {};
        return {BlockState::kFound, static_cast<uint32_t>(pos + kBlankLine.size())};
    }
    if (bytes.size() >= kHandshakeSizeMax) {
        scan = {};
        return {BlockState::kTooLarge, 0};
    }
    scan.scanned_size = static_cast<uint32_t>(limit);
    return {BlockState::kNeedMore, 0};
}

// True while `bytes` could still be the start of `prefix` or starts with it.
bool could_start_with(std::string_view bytes, std::string_view prefix) {
    const size_t n = std::min(bytes.size(), prefix.size());
    return bytes.substr(0, n) == prefix.substr(0, n);
}

// RFC 7230 §3.2.6 tchar, as a table: header names are most of the bytes the
// handshake looks at one by one.
constexpr std::array<bool, 256> kTchar = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c) {
        t[static_cast<size_t>(c)] =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) !=
                std::string_view::npos;
    }
    return t;
}();

// RFC 7230 §3.2 field-vchar, SP, HTAB, obs-text: anything but other controls.
constexpr std::array<bool, 256> kValueChar = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; ++c) {
        t[static_cast<size_t>(c)] = c == '\t' || (c >= 0x20 && c != 0x7F);
    }
    return t;
}();

bool all_in(std::string_view s, const std::array<bool, 256>& table) {
    for (char c : s) {
        if (!table[static_cast<unsigned char>(c)]) {
            return false;
        }
    }
    return true;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

// True if the comma-separated list `value` holds `token` (compared exactly
// or ASCII case-insensitively).
enum class Case : uint8_t { kExact, kIgnore };
bool list_contains(std::string_view value, std::string_view token, Case match) {
    while (true) {
        const size_t comma = value.find(',');
        const std::string_view item = trim_ows(value.substr(0, comma));
        if (match == Case::kExact ? item == token : equals_ignore_case(item, token)) {
            return true;
        }
        if (comma == std::string_view::npos) {
            return false;
        }
        value.remove_prefix(comma + 1);
    }
}

enum class HeadParse : uint8_t { kOk, kBadHeader, kTooMany };

// Calls visit(name, value) for each header line of `headers` (the bytes after
// the start line, each line ending in CRLF, the blank line excluded).
template <typename Visit>
HeadParse for_each_header(std::string_view headers, Visit&& visit) {
    uint32_t count = 0;
    while (!headers.empty()) {
        const size_t eol = headers.find(kCrlf);
        FE_ASSERT(eol != std::string_view::npos);  // the head ends in CRLF CRLF
        const std::string_view line = headers.substr(0, eol);
        headers.remove_prefix(eol + kCrlf.size());
        if (++count > kHandshakeHeaderCountMax) {
            return HeadParse::kTooMany;
        }
        // No obs-fold (RFC 7230 §3.2.4), no space before the colon; a name is
        // a token, a value has no control bytes (a bare CR or LF included).
        const size_t colon = line.find(':');
        if (colon == 0 || colon == std::string_view::npos) {
            return HeadParse::kBadHeader;
        }
        const std::string_view name = line.substr(0, colon);
        const std::string_view value = trim_ows(line.substr(colon + 1));
        if (!all_in(name, kTchar) || !all_in(value, kValueChar)) {
            return HeadParse::kBadHeader;
        }
        visit(name, value);
    }
    return HeadParse::kOk;
}

// What the server needs from the request's headers.
struct RequestFields {
    std::string_view host;
    std::string_view origin;
    std::string_view key;
    std::string_view version;
    uint32_t host_count = 0;
    uint32_t origin_count = 0;
    uint32_t key_count = 0;
    uint32_t version_count = 0;
    bool upgrade_websocket = false;
    bool connection_upgrade = false;
    bool offers_sip = false;
};

void note_request_header(RequestFields& f, std::string_view name, std::string_view value) {
    if (equals_ignore_case(name, "Host")) {
        f.host = value;
        ++f.host_count;
    } else if (equals_ignore_case(name, "Upgrade")) {
        f.upgrade_websocket |= list_contains(value, "websocket", Case::kIgnore);
    } else if (equals_ignore_case(name, "Connection")) {
        f.connection_upgrade |= list_contains(value, "upgrade", Case::kIgnore);
    } else if (equals_ignore_case(name, "Sec-WebSocket-Key")) {
        f.key = value;
        ++f.key_count;
    } else if (equals_ignore_case(name, "Sec-WebSocket-Version")) {
        f.version = value;
        ++f.version_count;
    } else if (equals_ignore_case(name, "Sec-WebSocket-Protocol")) {
        // Subprotocol names are compared exactly (RFC 6455 §4.1 item 10).
        f.offers_sip |= list_contains(value, kSubprotocol, Case::kExact);
    } else if (equals_ignore_case(name, "Origin")) {
        f.origin = value;
        ++f.origin_count;
    }
}

bool is_valid_key(std::string_view key) {
    if (key.size() != kKeySize) {
        return false;
    }
    uint8_t decoded[18];
    size_t decoded_size = 0;
    return EVP_DecodeBase64(decoded, &decoded_size, sizeof decoded,
                            reinterpret_cast<const uint8_t*>(key.data()), key.size()) == 1 &&
           decoded_size == 16;
}

bool origin_allowed(const HandshakeOptions& options, std::string_view origin, bool present) {
    if (options.origins_allowed.empty()) {
        return true;
    }
    if (!present) {
        return options.origin_absent == HandshakeOptions::Absent::kAllow;
    }
    return std::any_of(
        options.origins_allowed.begin(), options.origins_allowed.end(),
        [&](std::string_view allowed) { return equals_ignore_case(allowed, origin); });
}

// Checks the fields in the order the header comment lists; kNone: accept.
HandshakeError check_request(const RequestFields& f, const HandshakeOptions& options) {
    if (f.host_count != 1 || f.host.empty()) {
        return HandshakeError::kBadHost;
    }
    if (!f.upgrade_websocket) {
        return HandshakeError::kNoUpgrade;
    }
    if (!f.connection_upgrade) {
        return HandshakeError::kNoConnectionUpgrade;
    }
    if (f.version_count != 1 || f.version != "13") {
        return HandshakeError::kBadVersion;
    }
    if (f.key_count != 1 || !is_valid_key(f.key)) {
        return HandshakeError::kBadKey;
    }
    if (f.origin_count > 1) {
        return HandshakeError::kBadOrigin;
    }
    if (!origin_allowed(options, f.origin, f.origin_count == 1)) {
        return HandshakeError::kOriginRefused;
    }
    if (!f.offers_sip) {
        return HandshakeError::kNoSip;
    }
    return HandshakeError::kNone;
}

uint16_t status_of(HandshakeError error) {
    switch (error) {
        case HandshakeError::kNone:
            return 101;
        case HandshakeError::kBadVersion:
            return 426;
        case HandshakeError::kOriginRefused:
            return 403;
        default:
            return 400;
    }
}

// "GET <target> HTTP/1.1"; the target is origin-form or absolute-form, any
// visible characters (the path is only reported, never interpreted).
bool parse_request_line(std::string_view line, std::string_view& target) {
    constexpr std::string_view kMethod = "GET ";
    constexpr std::string_view kVersion = " HTTP/1.1";
    if (!line.starts_with(kMethod) || !line.ends_with(kVersion) ||
        line.size() <= kMethod.size() + kVersion.size()) {
        return false;
    }
    target = line.substr(kMethod.size(), line.size() - kMethod.size() - kVersion.size());
    return std::all_of(target.begin(), target.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u != 0x7F;
    });
}

HandshakeResult refuse(HandshakeResult r, HandshakeError error, std::span<char> response) {
    r.verdict = HandshakeVerdict::kRefuse;
    r.error = error;
    r.status = status_of(error);
    Out out(response);
    switch (r.status) {
        case 403:
            out.add("HTTP/1.1 403 Forbidden\r\n");
            break;
        case 426:
            // RFC 6455 §4.2.2: name the versions we speak.
            out.add("HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n");
            break;
        default:
            out.add("HTTP/1.1 400 Bad Request\r\n");
            break;
    }
    out.add("Connection: close\r\nContent-Length: 0\r\n\r\n");
    r.response_size = static_cast<uint32_t>(out.size());
    return r;
}

}  // namespace

Accept accept_of(std::string_view key) {
    SHA_CTX ctx;
    SHA1_Init(&ctx);
    SHA1_Update(&ctx, key.data(), key.size());
    SHA1_Update(&ctx, kAcceptGuid.data(), kAcceptGuid.size());
    uint8_t digest[SHA_DIGEST_LENGTH];
    SHA1_Final(digest, &ctx);
    uint8_t text[kAcceptSize + 1];  // EVP_EncodeBlock adds a NUL
    const size_t size = EVP_EncodeBlock(text, digest, sizeof digest);
    FE_ASSERT(size == kAcceptSize);
    Accept accept;
    std::memcpy(accept.data(), text, kAcceptSize);
    return accept;
}

Key key_of(std::span<const uint8_t, 16> nonce) {
    uint8_t text[kKeySize + 1];  // EVP_EncodeBlock adds a NUL
    const size_t size = EVP_EncodeBlock(text, nonce.data(), nonce.size());
    FE_ASSERT(size == kKeySize);
    Key key;
    std::memcpy(key.data(), text, kKeySize);
    return key;
}

HandshakeResult read_handshake(std::string_view bytes, HandshakeScan& scan,
                               const HandshakeOptions& options,
                               std::span<char, kHandshakeResponseSizeMax> response) {
    HandshakeResult r;
    // A TLS ClientHello or a SIP request on a WS port fails here, at its
    // first byte, instead of after kHandshakeSizeMax bytes or a timeout.
    if (!could_start_with(bytes, "GET ")) {
        scan = {};
        return refuse(r, HandshakeError::kNotGet, response);
    }
    const BlockEnd end = find_block_end(bytes, scan);
    if (end.state == BlockState::kNeedMore) {
        return r;
    }
    if (end.state == BlockState::kTooLarge) {
        return refuse(r, HandshakeError::kTooLarge, response);
    }
    r.request_size = end.size;
    const std::string_view head = bytes.substr(0, end.size - kCrlf.size());
    const size_t eol = head.find(kCrlf);
    if (!parse_request_line(head.substr(0, eol), r.request.target)) {
        return refuse(r, HandshakeError::kBadRequestLine, response);
    }
    RequestFields f;
    const HeadParse parsed = for_each_header(head.substr(eol + kCrlf.size()),
                                             [&](std::string_view name, std::string_view value) {
                                                 note_request_header(f, name, value);
                                             });
    if (parsed != HeadParse::kOk) {
        return refuse(r,
                      parsed == HeadParse::kTooMany ? HandshakeError::kTooManyHeaders
                                                    : HandshakeError::kBadHeader,
                      response);
    }
    r.request.host = f.host;
    r.request.origin = f.origin;
    r.request.key = f.key;
    const HandshakeError error = check_request(f, options);
    if (error != HandshakeError::kNone) {
        return refuse(r, error, response);
    }
    const Accept accept = accept_of(f.key);
    Out out(response);
    out.add(
           "HTTP/1.1 101 Switching Protocols\r\n"
           "Upgrade: websocket\r\n"
           "Connection: Upgrade\r\n"
           "Sec-WebSocket-Accept: ")
        .add({accept.data(), accept.size()})
        .add("\r\nSec-WebSocket-Protocol: sip\r\n\r\n");
    r.verdict = HandshakeVerdict::kAccept;
    r.status = 101;
    r.response_size = static_cast<uint32_t>(out.size());
    return r;
}

namespace {

bool is_header_text(std::string_view s, size_t size_max) {
    return !s.empty() && s.size() <= size_max && std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u != 0x7F;
    });
}

// Largest request write_upgrade_request() can produce.
constexpr size_t kUpgradeRequestFixedSize = sizeof(
    "GET  HTTP/1.1\r\nHost: \r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: \r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n"
    "Origin: \r\n\r\n");
static_assert(kUpgradeRequestFixedSize + kHandshakeTargetSizeMax + 2 * kHandshakeHostSizeMax +
                      kKeySize <=
                  kHandshakeRequestSizeMax,
              "the longest request must fit the buffer");

// What the client needs from the response's headers.
struct ResponseFields {
    std::string_view accept;
    std::string_view protocol;
    uint32_t accept_count = 0;
    uint32_t protocol_count = 0;
    bool upgrade_websocket = false;
    bool connection_upgrade = false;
    bool extension = false;
};

void note_response_header(ResponseFields& f, std::string_view name, std::string_view value) {
    if (equals_ignore_case(name, "Upgrade")) {
        f.upgrade_websocket |= list_contains(value, "websocket", Case::kIgnore);
    } else if (equals_ignore_case(name, "Connection")) {
        f.connection_upgrade |= list_contains(value, "upgrade", Case::kIgnore);
    } else if (equals_ignore_case(name, "Sec-WebSocket-Accept")) {
        f.accept = value;
        ++f.accept_count;
    } else if (equals_ignore_case(name, "Sec-WebSocket-Protocol")) {
        f.protocol = value;
        ++f.protocol_count;
    } else if (equals_ignore_case(name, "Sec-WebSocket-Extensions")) {
        f.extension = true;
    }
}

UpgradeError check_response(const ResponseFields& f, std::string_view key) {
    if (!f.upgrade_websocket) {
        return UpgradeError::kNoUpgrade;
    }
    if (!f.connection_upgrade) {
        return UpgradeError::kNoConnectionUpgrade;
    }
    const Accept expected = accept_of(key);
    if (f.accept_count != 1 || f.accept != std::string_view(expected.data(), expected.size())) {
        return UpgradeError::kBadAccept;
    }
    if (f.protocol_count != 1 || f.protocol != kSubprotocol) {
        return UpgradeError::kNoSip;
    }
    if (f.extension) {
        return UpgradeError::kExtension;
    }
    return UpgradeError::kNone;
}

// "HTTP/1.1 NNN[ reason]": the status code, or 0.
uint16_t parse_status_line(std::string_view line) {
    constexpr std::string_view kVersion = "HTTP/1.1 ";
    if (!line.starts_with(kVersion) || line.size() < kVersion.size() + 3) {
        return 0;
    }
    const std::string_view digits = line.substr(kVersion.size(), 3);
    const std::string_view after = line.substr(kVersion.size() + 3);
    if (!after.empty() && after.front() != ' ') {
        return 0;
    }
    const std::optional<uint64_t> code = parse_u64(digits, 999);
    if (!code || *code < 100) {
        return 0;
    }
    return static_cast<uint16_t>(*code);
}

}  // namespace

size_t write_upgrade_request(const UpgradeRequestSpec& spec,
                             std::span<char, kHandshakeRequestSizeMax> out) {
    if (!is_header_text(spec.host, kHandshakeHostSizeMax) ||
        !is_header_text(spec.target, kHandshakeTargetSizeMax) || spec.target.front() != '/' ||
        spec.target.find(' ') != std::string_view::npos || spec.key.size() != kKeySize ||
        (!spec.origin.empty() && !is_header_text(spec.origin, kHandshakeHostSizeMax))) {
        return 0;
    }
    Out o(out);
    o.add("GET ").add(spec.target).add(" HTTP/1.1\r\nHost: ").add(spec.host);
    o.add("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ").add(spec.key);
    o.add("\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: sip\r\n");
    if (!spec.origin.empty()) {
        o.add("Origin: ").add(spec.origin).add(kCrlf);
    }
    o.add(kCrlf);
    return o.size();
}

UpgradeResult read_upgrade_response(std::string_view bytes, HandshakeScan& scan,
                                    std::string_view key) {
    UpgradeResult r;
    const auto refuse_with = [&r](UpgradeError error) {
        r.verdict = HandshakeVerdict::kRefuse;
        r.error = error;
        return r;
    };
    if (!could_start_with(bytes, "HTTP/1.1 ")) {
        scan = {};
        return refuse_with(UpgradeError::kBadStatusLine);
    }
    const BlockEnd end = find_block_end(bytes, scan);
    if (end.state == BlockState::kNeedMore) {
        return r;
    }
    if (end.state == BlockState::kTooLarge) {
        return refuse_with(UpgradeError::kTooLarge);
    }
    r.response_size = end.size;
    const std::string_view head = bytes.substr(0, end.size - kCrlf.size());
    const size_t eol = head.find(kCrlf);
    r.status = parse_status_line(head.substr(0, eol));
    if (r.status == 0) {
        return refuse_with(UpgradeError::kBadStatusLine);
    }
    if (r.status != 101) {
        return refuse_with(UpgradeError::kNotSwitching);
    }
    ResponseFields f;
    const HeadParse parsed = for_each_header(head.substr(eol + kCrlf.size()),
                                             [&](std::string_view name, std::string_view value) {
                                                 note_response_header(f, name, value);
                                             });
    if (parsed != HeadParse::kOk) {
        return refuse_with(UpgradeError::kBadHeader);
    }
    const UpgradeError error = check_response(f, key);
    if (error != UpgradeError::kNone) {
        return refuse_with(error);
    }
    r.verdict = HandshakeVerdict::kAccept;
    return r;
}

}  // namespace fe::ws
