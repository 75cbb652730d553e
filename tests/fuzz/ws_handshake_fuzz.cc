// Fuzzes the WebSocket opening handshake (core/ws/handshake.h), both sides,
// on one input. Checks: read_handshake() gives the same verdict, status and
// sizes when the request arrives all at once and a byte at a time with one
// scan; sizes stay inside the input and the response buffer; the response
// starts with the status line for its status; an accepted request's views lie
// inside the input; and the client side accepts the server's 101 for the
// request's own key. read_upgrade_response() gets the same input as a
// response, all at once and byte by byte.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/assert.h"
#include "core/ws/handshake.h"

namespace {

using fe::ws::HandshakeVerdict;

void assert_inside(std::string_view part, std::string_view whole) {
    if (!part.empty()) {
        FE_ASSERT(part.data() >= whole.data());
        FE_ASSERT(part.data() + part.size() <= whole.data() + whole.size());
    }
}

void server_side(std::string_view bytes) {
    static const std::string_view kAllowed[] = {"https://app.example.com"};
    const fe::ws::HandshakeOptions options{.origins_allowed = kAllowed};
    std::array<char, fe::ws::kHandshakeResponseSizeMax> response{};
    fe::ws::HandshakeScan scan;
    const fe::ws::HandshakeResult r = fe::ws::read_handshake(bytes, scan, options, response);
    FE_ASSERT(r.request_size <= bytes.size());
    FE_ASSERT(r.response_size <= response.size());
    const std::string_view out(response.data(), r.response_size);
    switch (r.verdict) {
        case HandshakeVerdict::kNeedMore:
            FE_ASSERT(r.response_size == 0);
            FE_ASSERT(bytes.size() < fe::ws::kHandshakeSizeMax);
            break;
        case HandshakeVerdict::kAccept: {
            FE_ASSERT(r.status == 101);
            FE_ASSERT(out.starts_with("HTTP/1.1 101 "));
            FE_ASSERT(r.request_size > 0);
            const std::string_view request = bytes.substr(0, r.request_size);
            assert_inside(r.request.target, request);
            assert_inside(r.request.host, request);
            assert_inside(r.request.key, request);
            assert_inside(r.request.origin, request);
            // The client side accepts our answer for its own key.
            fe::ws::HandshakeScan client_scan;
            const fe::ws::UpgradeResult u =
                fe::ws::read_upgrade_response(out, client_scan, r.request.key);
            FE_ASSERT(u.verdict == HandshakeVerdict::kAccept);
            FE_ASSERT(u.response_size == out.size());
            break;
        }
        case HandshakeVerdict::kRefuse:
            FE_ASSERT(r.status == 400 || r.status == 403 || r.status == 426);
            FE_ASSERT(out.starts_with("HTTP/1.1 " + std::to_string(r.status) + " "));
            FE_ASSERT(out.ends_with("\r\n\r\n"));
            break;
    }

    // A byte at a time with one scan: the same answer at the same length.
    if (bytes.size() <= fe::ws::kHandshakeSizeMax + 16) {
        fe::ws::HandshakeScan resumed;
        std::array<char, fe::ws::kHandshakeResponseSizeMax> again{};
        for (size_t n = 1; n <= bytes.size(); ++n) {
            const fe::ws::HandshakeResult p =
                fe::ws::read_handshake(bytes.substr(0, n), resumed, options, again);
            if (p.verdict == HandshakeVerdict::kNeedMore) {
                continue;
            }
            FE_ASSERT(p.verdict == r.verdict);
            FE_ASSERT(p.error == r.error);
            FE_ASSERT(p.status == r.status);
            FE_ASSERT(p.request_size == r.request_size);
            FE_ASSERT(std::string_view(again.data(), p.response_size) == out);
            return;
        }
        FE_ASSERT(r.verdict == HandshakeVerdict::kNeedMore);
    }
}

void client_side(std::string_view bytes) {
    constexpr std::string_view kKey = "dGhlIHNhbXBsZSBub25jZQ==";
    fe::ws::HandshakeScan scan;
    const fe::ws::UpgradeResult r = fe::ws::read_upgrade_response(bytes, scan, kKey);
    FE_ASSERT(r.response_size <= bytes.size());
    if (r.verdict == HandshakeVerdict::kAccept) {
        FE_ASSERT(r.status == 101);
    }
    if (bytes.size() <= 2048) {
        fe::ws::HandshakeScan resumed;
        for (size_t n = 1; n <= bytes.size(); ++n) {
            const fe::ws::UpgradeResult p =
                fe::ws::read_upgrade_response(bytes.substr(0, n), resumed, kKey);
            if (p.verdict == HandshakeVerdict::kNeedMore) {
                continue;
            }
            FE_ASSERT(p.verdict == r.verdict);
            FE_ASSERT(p.error == r.error);
            FE_ASSERT(p.status == r.status);
            FE_ASSERT(p.response_size == r.response_size);
            return;
        }
        FE_ASSERT(r.verdict == HandshakeVerdict::kNeedMore);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    server_side(bytes);
    client_side(bytes);
    return 0;
}
