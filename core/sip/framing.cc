// Stream and datagram framing: header block end and Content-Length only.
#include "core/sip/framing.h"

#include <algorithm>
#include <cstring>

#include "core/base/strings.h"
#include "core/sip/internal/scan.h"

namespace fe::sip {
namespace {

using internal::is_lws;
using internal::is_ws;

constexpr FrameResult incomplete() { return {FrameKind::kIncomplete, 0, ParseError::kOk}; }
constexpr FrameResult error(ParseError e) { return {FrameKind::kError, 0, e}; }

// Does the line at `p` (of `size` bytes, without CRLF) hold Content-Length,
// full or compact form? Returns the offset of the colon within the line, or 0.
size_t content_length_colon(const char* p, size_t size) {
    size_t name_size = 0;
    if (size >= 1 && (p[0] == 'l' || p[0] == 'L')) {
        name_size = 1;
    } else if (size >= 14 && (p[0] == 'c' || p[0] == 'C') &&
               equals_ignore_case(std::string_view(p, 14), "Content-Length")) {
        name_size = 14;
    } else {
        return 0;
    }
    size_t i = name_size;
    while (i < size && is_ws(p[i])) {
        ++i;
    }
    return (i < size && p[i] == ':') ? i : 0;
}

enum class HeaderScanResult : uint8_t { kDone, kNeedMore, kError };

// Walks lines from scan.line_begin to the blank line, noting the Content-Length
// line. Each line is looked at once across calls.
HeaderScanResult scan_headers(std::string_view bytes, StreamScan& scan, ParseError* e) {
    const char* data = bytes.data();
    const size_t limit = std::min<size_t>(bytes.size(), kMessageSizeMax);
    while (scan.line_begin < limit) {
        const char* line = data + scan.line_begin;
        const auto* lf =
            static_cast<const char*>(std::memchr(line, '\n', limit - scan.line_begin));
        if (lf == nullptr) {
            break;
        }
        if (lf == line || lf[-1] != '\r') {
            *e = ParseError::kBadLineEnding;
            return HeaderScanResult::kError;
        }
        const auto line_size = static_cast<size_t>(lf - 1 - line);
        const auto next = static_cast<uint32_t>(lf + 1 - data);
        if (line_size == 0) {
            if (scan.line_begin == 0) {
                // A message cannot start with a blank line; callers strip
                // keep-alive CRLFs before framing a message.
                *e = ParseError::kBadRequestLine;
                return HeaderScanResult::kError;
            }
            scan.headers_size = next;
            return HeaderScanResult::kDone;
        }
        if (scan.line_begin != 0 && content_length_colon(line, line_size) != 0) {
            if (scan.content_length_line != 0) {
                *e = ParseError::kDuplicateHeader;
                return HeaderScanResult::kError;
            }
            scan.content_length_line = scan.line_begin;
        }
        scan.line_begin = next;
    }
    if (limit == kMessageSizeMax) {
        *e = ParseError::kMessageTooLarge;
        return HeaderScanResult::kError;
    }
    return HeaderScanResult::kNeedMore;
}

// Value of the Content-Length field at `line_begin` (folds included), or an error.
ParseError read_content_length(std::string_view bytes, uint32_t line_begin,
                               uint32_t headers_size, uint32_t* length) {
    const char* data = bytes.data();
    const char* line = data + line_begin;
    const char* headers_end = data + headers_size - 2;  // The blank line's CR.
    const char* colon = line + content_length_colon(line, static_cast<size_t>(headers_end - line));
    // The field ends at the first CRLF not followed by SP/HTAB.
    const char* end = colon;
    for (;;) {
        end = static_cast<const char*>(std::memchr(end, '\r', static_cast<size_t>(headers_end - end)));
        if (end == nullptr) {
            end = headers_end;
            break;
        }
        if (!is_ws(end[2])) {
            break;
        }
        end += 2;
    }
    const char* p = colon + 1;
    while (p < end && is_lws(*p)) {
        ++p;
    }
    while (end > p && is_lws(end[-1])) {
        --end;
    }
    const std::optional<uint32_t> value = parse_u32(std::string_view(p, static_cast<size_t>(end - p)));
    if (!value) {
        return ParseError::kBadContentLength;
    }
    *length = *value;
    return ParseError::kOk;
}

FrameResult frame_keep_alive(std::string_view bytes, KeepAliveRole role) {
    // bytes[0] == '\r'.
    if (bytes.size() < 2) {
        return incomplete();
    }
    if (bytes[1] != '\n') {
        return error(ParseError::kBadLineEnding);
    }
    if (bytes.size() >= 4 && bytes[2] == '\r' && bytes[3] == '\n') {
        return {FrameKind::kPing, 4, ParseError::kOk};
    }
    const bool may_be_ping = bytes.size() == 2 || (bytes.size() == 3 && bytes[2] == '\r');
    if (may_be_ping && role == KeepAliveRole::kResponder) {
        return incomplete();
    }
    return {FrameKind::kPong, 2, ParseError::kOk};
}

}  // namespace

FrameResult frame_stream(std::string_view bytes, StreamScan& scan, KeepAliveRole role) {
    if (bytes.empty()) {
        scan = StreamScan{};
        return incomplete();
    }
    if (scan.line_begin == 0 && bytes[0] == '\r') {
        FrameResult r = frame_keep_alive(bytes, role);
        if (r.kind != FrameKind::kIncomplete) {
            scan = StreamScan{};
        }
        return r;
    }
    if (scan.message_size == 0) {
        ParseError e = ParseError::kOk;
        switch (scan_headers(bytes, scan, &e)) {
            case HeaderScanResult::kNeedMore: return incomplete();
            case HeaderScanResult::kError: scan = StreamScan{}; return error(e);
            case HeaderScanResult::kDone: break;
        }
        if (scan.content_length_line == 0) {
            scan = StreamScan{};
            return error(ParseError::kMissingContentLength);
        }
        uint32_t length = 0;
        e = read_content_length(bytes, scan.content_length_line, scan.headers_size, &length);
        if (e != ParseError::kOk) {
            scan = StreamScan{};
            return error(e);
        }
        if (length > kMessageSizeMax - scan.headers_size) {
            scan = StreamScan{};
            return error(ParseError::kMessageTooLarge);
        }
        scan.message_size = scan.headers_size + length;
    }
    if (bytes.size() < scan.message_size) {
        return incomplete();
    }
    const uint32_t size = scan.message_size;
    scan = StreamScan{};
    return {FrameKind::kMessage, size, ParseError::kOk};
}

FrameResult frame_stream(std::string_view bytes, KeepAliveRole role) {
    StreamScan scan;
    return frame_stream(bytes, scan, role);
}

FrameResult frame_datagram(std::string_view bytes) {
    if (bytes.empty()) {
        return error(ParseError::kEmpty);
    }
    if (std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == '\r' || c == '\n'; })) {
        return {FrameKind::kIgnore, static_cast<uint32_t>(bytes.size()), ParseError::kOk};
    }
    if (bytes.size() > kMessageSizeMax) {
        return error(ParseError::kMessageTooLarge);
    }
    StreamScan scan;
    ParseError e = ParseError::kOk;
    switch (scan_headers(bytes, scan, &e)) {
        case HeaderScanResult::kNeedMore: return error(ParseError::kHeadersIncomplete);
        case HeaderScanResult::kError: return error(e);
        case HeaderScanResult::kDone: break;
    }
    if (scan.content_length_line == 0) {
        return {FrameKind::kMessage, static_cast<uint32_t>(bytes.size()), ParseError::kOk};
    }
    uint32_t length = 0;
    e = read_content_length(bytes, scan.content_length_line, scan.headers_size, &length);
    if (e != ParseError::kOk) {
        return error(e);
    }
    if (length > bytes.size() - scan.headers_size) {
        return error(ParseError::kBodyTruncated);
    }
    return {FrameKind::kMessage, scan.headers_size + length, ParseError::kOk};
}

}  // namespace fe::sip
