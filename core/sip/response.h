// File: core/sip/response.h
//
// Building a response to a parsed request (RFC 3261 §8.2.6) into a caller's
// buffer: status line, every Via line in order, From, To (with a tag added
// when it has none and the status is above 100), Call-ID, CSeq, Timestamp on
// a 100 (§8.2.6.1), the caller's extra headers, then Content-Type and body or
// Content-Length: 0.
//
//   char buf[1024];
//   fe::sip::Writer out(buf, sizeof(buf));
//   const std::string_view extra[] = {"Require: outbound", "Flow-Timer: 120"};
//   fe::sip::ResponseSpec spec{.status_code = 200, .to_tag = "a1b2", .extra_headers = extra};
//   if (fe::sip::build_response(request, spec, out) == fe::sip::BuildError::kOk) {
//       send(out.view());
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/sip/message.h"

namespace fe::sip {

// Appends into a fixed buffer; on overflow it stops writing and remembers.
class Writer {
public:
    Writer(char* data, size_t capacity) : data_(data), capacity_(capacity) {}
    void append(std::string_view text);
    void append_u32(uint32_t number);
    bool overflowed() const { return overflowed_; }
    size_t size() const { return size_; }
    std::string_view view() const { return std::string_view(data_, size_); }
    void clear() {
        size_ = 0;
        overflowed_ = false;
    }

private:
    char* data_;
    size_t capacity_;
    size_t size_ = 0;          // <= capacity_.
    bool overflowed_ = false;  // An append did not fit; view() is cut short.
};

// How the first Via value of a response differs from the request's (RFC
// 3581 §4): `drop`, a view into the request's bytes (a bare ";rport"), is
// left out, and `append` (";received=192.0.2.1;rport=5060") is added at the
// value's end. Both empty: the Via as received.
struct TopViaEdit {
    std::string_view drop = {};
    std::string_view append = {};
};

struct ResponseSpec {
    uint16_t status_code = 0;        // 100..699.
    std::string_view reason = {};    // Empty: default_reason(status_code).
    std::string_view to_tag = {};    // Added to To when it has no tag and status > 100.
    // Whole header lines without CRLF, e.g. "Require: outbound".
    std::span<const std::string_view> extra_headers = {};
    std::string_view content_type = {};  // Written when the body is not empty.
    // The first Via value's received/rport (outbound::via_received_of()).
    TopViaEdit top_via = {};
    std::string_view body = {};
};

enum class [[nodiscard]] BuildError : uint8_t {
    kOk = 0,
    kNotARequest,  // Responses are not answered.
    kAck,          // ACK is never answered (RFC 3261 §17.1.1.1).
    kBadStatus,    // status_code outside 100..699.
    kNoSpace,      // The Writer overflowed; nothing usable was written.
};

BuildError build_response(const Message& request, const ResponseSpec& spec, Writer& out);

// Every Via line of `message` as received, its first value edited by
// `top_via`, each ending in CRLF: the Via part of a response to it (RFC 3261
// §8.2.6.2, RFC 3581 §4).
void write_via_lines(const Message& message, const TopViaEdit& top_via, Writer& out);

// RFC 3261 §21 / RFC 5626 §11 reason phrases for the codes we send; for other
// codes the class name ("Client Error" for 4xx, ...).
std::string_view default_reason(uint16_t status_code);

// Whether a From/To value (name-addr or addr-spec with params) carries a
// `tag` header parameter. Looks only after the URI: a ";tag=" inside <...>
// or a quoted display name does not count. Without <>, URI parameters and
// header parameters cannot be told apart (RFC 3261 §20.10), so every ;param
// counts as a header parameter, as that section says.
bool has_tag_param(std::string_view value);

}  // namespace fe::sip
