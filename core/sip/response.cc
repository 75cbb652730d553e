// Response building from a request.
#include "core/sip/response.h"

#include <charconv>
#include <cstring>

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/sip/internal/scan.h"

namespace fe::sip {

using internal::is_lws;

void Writer::append(std::string_view text) {
    if (overflowed_ || text.size() > capacity_ - size_) {
        overflowed_ = true;
        return;
    }
    if (text.empty()) {
        return;  // an empty view may have a null data(): memcpy must not see it
    }
    std::memcpy(data_ + size_, text.data(), text.size());
    size_ += text.size();
}

void Writer::append_u32(uint32_t number) {
    char digits[10];
    const auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), number);
    FE_ASSERT(ec == std::errc());
    append(std::string_view(digits, static_cast<size_t>(end - digits)));
}

std::string_view default_reason(uint16_t status_code) {
    switch (status_code) {
        case 100: return "Trying";
        case 180: return "Ringing";
        case 181: return "Call Is Being Forwarded";
        case 182: return "Queued";
        case 183: return "Session Progress";
        case 200: return "OK";
        case 202: return "Accepted";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 407: return "Proxy Authentication Required";
        case 408: return "Request Timeout";
        case 416: return "Unsupported URI Scheme";
        case 420: return "Bad Extension";
        case 421: return "Extension Required";
        case 423: return "Interval Too Brief";
        case 430: return "Flow Failed";
        case 439: return "First Hop Lacks Outbound Support";
        case 480: return "Temporarily Unavailable";
        case 481: return "Call/Transaction Does Not Exist";
        case 482: return "Loop Detected";
        case 483: return "Too Many Hops";
        case 486: return "Busy Here";
        case 487: return "Request Terminated";
        case 488: return "Not Acceptable Here";
        case 500: return "Server Internal Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Server Time-out";
        case 505: return "Version Not Supported";
        case 513: return "Message Too Large";
        case 603: return "Decline";
        default: break;
    }
    switch (status_code / 100) {
        case 1: return "Provisional";
        case 2: return "Success";
        case 3: return "Redirection";
        case 4: return "Client Error";
        case 5: return "Server Error";
        default: return "Global Failure";
    }
}

bool has_tag_param(std::string_view value) {
    const char* p = value.data();
    const char* end = p + value.size();
    // Skip the display name and the <URI> if there is one.
    const char* after_uri = p;
    for (const char* q = p; q < end; ++q) {
        if (*q == '"') {
            ++q;
            while (q < end && *q != '"') {
                q += (*q == '\\' && end - q >= 2) ? 2 : 1;
            }
        } else if (*q == '<') {
            const auto* close = static_cast<const char*>(std::memchr(q, '>', static_cast<size_t>(end - q)));
            after_uri = close == nullptr ? end : close + 1;
            break;
        }
    }
    for (const char* q = after_uri; q < end; ++q) {
        if (*q != ';') {
            continue;
        }
        ++q;
        while (q < end && is_lws(*q)) {
            ++q;
        }
        if (end - q >= 3 && equals_ignore_case(std::string_view(q, 3), "tag")) {
            const char* r = q + 3;
            while (r < end && is_lws(*r)) {
                ++r;
            }
            if (r == end || *r == '=' || *r == ';') {
                return true;
            }
        }
    }
    return false;
}

namespace {

// Name through trimmed value as received (compact names stay valid); the
// caller ends the line.
void copy_field_text(const Message& m, const HeaderField& f, Writer& out) {
    out.append(std::string_view(m.data() + f.line_begin, f.value_end - f.line_begin));
}

void copy_field(const Message& m, const HeaderField& f, Writer& out) {
    copy_field_text(m, f, out);
    out.append("\r\n");
}

}  // namespace

void write_via_lines(const Message& message, const TopViaEdit& top_via, Writer& out) {
    bool top = true;
    for (const HeaderField& via : message.fields(HeaderId::kVia)) {
        if (top && (!top_via.append.empty() || !top_via.drop.empty())) {
            // "Via: a;rport, b" -> "Via: a;received=X;rport=P, b".
            const std::string_view line(message.data() + via.line_begin,
                                        via.value_end - via.line_begin);
            const std::string_view first = *message.list(HeaderId::kVia).begin();
            const auto offset = [&](const char* p) { return static_cast<size_t>(p - line.data()); };
            const size_t split = offset(first.data() + first.size());
            size_t drop_begin = split;
            size_t drop_end = split;
            if (!top_via.drop.empty() && top_via.drop.data() >= first.data() &&
                top_via.drop.data() + top_via.drop.size() <= first.data() + first.size()) {
                drop_begin = offset(top_via.drop.data());
                drop_end = drop_begin + top_via.drop.size();
            }
            out.append(line.substr(0, drop_begin));
            out.append(line.substr(drop_end, split - drop_end));
            out.append(top_via.append);
            out.append(line.substr(split));
            out.append("\r\n");
        } else {
            copy_field(message, via, out);
        }
        top = false;
    }
}

BuildError build_response(const Message& request, const ResponseSpec& spec, Writer& out) {
    if (!request.is_request()) {
        return BuildError::kNotARequest;
    }
    if (request.method() == Method::kAck) {
        return BuildError::kAck;
    }
    if (spec.status_code < 100 || spec.status_code > 699) {
        return BuildError::kBadStatus;
    }
    out.append("SIP/2.0 ");
    out.append_u32(spec.status_code);
    out.append(" ");
    out.append(spec.reason.empty() ? default_reason(spec.status_code) : spec.reason);
    out.append("\r\n");
    write_via_lines(request, spec.top_via, out);
    // Mandatory at parse, so present.
    copy_field(request, request.field(request.first_index(HeaderId::kFrom)), out);
    const HeaderField& to = request.field(request.first_index(HeaderId::kTo));
    copy_field_text(request, to, out);
    if (spec.status_code > 100 && !spec.to_tag.empty() && !has_tag_param(request.value(to))) {
        out.append(";tag=");
        out.append(spec.to_tag);
    }
    out.append("\r\n");
    copy_field(request, request.field(request.first_index(HeaderId::kCallId)), out);
    copy_field(request, request.field(request.first_index(HeaderId::kCSeq)), out);
    if (spec.status_code == 100 && request.has(HeaderId::kTimestamp)) {
        copy_field(request, request.field(request.first_index(HeaderId::kTimestamp)), out);
    }
    for (std::string_view line : spec.extra_headers) {
        out.append(line);
        out.append("\r\n");
    }
    if (!spec.body.empty() && !spec.content_type.empty()) {
        out.append("Content-Type: ");
        out.append(spec.content_type);
        out.append("\r\n");
    }
    out.append("Content-Length: ");
    out.append_u32(static_cast<uint32_t>(spec.body.size()));
    out.append("\r\n\r\n");
    out.append(spec.body);
    return out.overflowed() ? BuildError::kNoSpace : BuildError::kOk;
}

}  // namespace fe::sip
