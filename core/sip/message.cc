// Message parsing in place: start line, header index, message-level checks.
#include "core/sip/message.h"

#include <algorithm>
#include <cstring>

#include "core/base/assert.h"
#include "core/base/strings.h"
#include "core/sip/internal/scan.h"

namespace fe::sip {

using internal::is_lws;
using internal::is_token_char;
using internal::is_ws;
using internal::LineScan;
using internal::list_element_end;
using internal::scan_line;

namespace {

constexpr std::string_view kSipVersion = "SIP/2.0";

struct MethodName {
    std::string_view text;
    Method method;
};
constexpr MethodName kMethodNames[] = {
    {"INVITE", Method::kInvite},     {"ACK", Method::kAck},
    {"BYE", Method::kBye},           {"CANCEL", Method::kCancel},
    {"REGISTER", Method::kRegister}, {"OPTIONS", Method::kOptions},
    {"MESSAGE", Method::kMessage},   {"SUBSCRIBE", Method::kSubscribe},
    {"NOTIFY", Method::kNotify},     {"PRACK", Method::kPrack},
    {"UPDATE", Method::kUpdate},     {"REFER", Method::kRefer},
    {"INFO", Method::kInfo},         {"PUBLISH", Method::kPublish},
};

bool all_token_chars(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!is_token_char(c)) {
            return false;
        }
    }
    return true;
}

// Request-URI bytes: anything visible; SP, HTAB and controls end or break it.
bool is_uri_char(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f;
}

}  // namespace

Method method_from_text(std::string_view text) {
    // The first byte and the size pick at most one candidate.
    for (const MethodName& m : kMethodNames) {
        if (m.text.size() == text.size() && m.text[0] == text[0] && m.text == text) {
            return m.method;
        }
    }
    return Method::kOther;
}

std::string_view method_name(Method method) {
    for (const MethodName& m : kMethodNames) {
        if (m.method == method) {
            return m.text;
        }
    }
    return {};
}

std::string_view parse_error_reason(ParseError error) {
    switch (error) {
        case ParseError::kOk: return "OK";
        case ParseError::kEmpty: return "Empty Message";
        case ParseError::kMessageTooLarge: return "Message Too Large";
        case ParseError::kStartLineTooLong: return "Start Line Too Long";
        case ParseError::kBadRequestLine: return "Bad Request-Line";
        case ParseError::kBadStatusLine: return "Bad Status-Line";
        case ParseError::kBadSipVersion: return "Bad SIP Version";
        case ParseError::kBadLineEnding: return "Bad Line Ending";
        case ParseError::kMalformedHeader: return "Malformed Header";
        case ParseError::kHeaderNameTooLong: return "Header Name Too Long";
        case ParseError::kHeaderLineTooLong: return "Header Too Long";
        case ParseError::kTooManyHeaders: return "Too Many Headers";
        case ParseError::kTooManyVia: return "Too Many Via";
        case ParseError::kHeadersIncomplete: return "Incomplete Headers";
        case ParseError::kDuplicateHeader: return "Duplicate Header";
        case ParseError::kMissingVia: return "Missing Via";
        case ParseError::kMissingFrom: return "Missing From";
        case ParseError::kMissingTo: return "Missing To";
        case ParseError::kMissingCallId: return "Missing Call-ID";
        case ParseError::kMissingCSeq: return "Missing CSeq";
        case ParseError::kBadCSeq: return "Bad CSeq";
        case ParseError::kCSeqMethodMismatch: return "CSeq Method Mismatch";
        case ParseError::kBadContentLength: return "Bad Content-Length";
        case ParseError::kMissingContentLength: return "Missing Content-Length";
        case ParseError::kBodyTruncated: return "Body Truncated";
    }
    return "Bad Request";
}

uint16_t parse_error_status(ParseError error) {
    switch (error) {
        case ParseError::kOk: return 200;
        case ParseError::kBadSipVersion: return 505;
        case ParseError::kMessageTooLarge: return 513;
        default: return 400;
    }
}

std::string_view parse_error_name(ParseError error) {
    switch (error) {
        case ParseError::kOk: return "kOk";
        case ParseError::kEmpty: return "kEmpty";
        case ParseError::kMessageTooLarge: return "kMessageTooLarge";
        case ParseError::kStartLineTooLong: return "kStartLineTooLong";
        case ParseError::kBadRequestLine: return "kBadRequestLine";
        case ParseError::kBadStatusLine: return "kBadStatusLine";
        case ParseError::kBadSipVersion: return "kBadSipVersion";
        case ParseError::kBadLineEnding: return "kBadLineEnding";
        case ParseError::kMalformedHeader: return "kMalformedHeader";
        case ParseError::kHeaderNameTooLong: return "kHeaderNameTooLong";
        case ParseError::kHeaderLineTooLong: return "kHeaderLineTooLong";
        case ParseError::kTooManyHeaders: return "kTooManyHeaders";
        case ParseError::kTooManyVia: return "kTooManyVia";
        case ParseError::kHeadersIncomplete: return "kHeadersIncomplete";
        case ParseError::kDuplicateHeader: return "kDuplicateHeader";
        case ParseError::kMissingVia: return "kMissingVia";
        case ParseError::kMissingFrom: return "kMissingFrom";
        case ParseError::kMissingTo: return "kMissingTo";
        case ParseError::kMissingCallId: return "kMissingCallId";
        case ParseError::kMissingCSeq: return "kMissingCSeq";
        case ParseError::kBadCSeq: return "kBadCSeq";
        case ParseError::kCSeqMethodMismatch: return "kCSeqMethodMismatch";
        case ParseError::kBadContentLength: return "kBadContentLength";
        case ParseError::kMissingContentLength: return "kMissingContentLength";
        case ParseError::kBodyTruncated: return "kBodyTruncated";
    }
    return "?";
}

ParseError Message::parse(std::string_view buffer) {
    data_ = buffer.data();
    if (buffer.empty()) {
        return ParseError::kEmpty;
    }
    if (buffer.size() > kMessageSizeMax) {
        return ParseError::kMessageTooLarge;
    }
    buffer_size_ = static_cast<uint32_t>(buffer.size());
    field_count_ = 0;
    via_count_ = 0;
    std::memset(first_, kNoIndex, sizeof(first_));
    std::memset(last_, kNoIndex, sizeof(last_));
    std::memset(count_, 0, sizeof(count_));

    const char* end = data_ + buffer_size_;
    const char* cr = nullptr;
    switch (scan_line(data_, end, &cr)) {
        case LineScan::kFound: break;
        case LineScan::kBadLineEnding: return ParseError::kBadLineEnding;
        case LineScan::kNoLineEnd:
            return buffer_size_ >= kStartLineSizeMax ? ParseError::kStartLineTooLong
                                                     : ParseError::kHeadersIncomplete;
    }
    if (cr + 2 - data_ > static_cast<ptrdiff_t>(kStartLineSizeMax)) {
        return ParseError::kStartLineTooLong;
    }
    if (ParseError e = parse_start_line(cr); e != ParseError::kOk) {
        return e;
    }
    if (ParseError e = parse_headers(static_cast<uint32_t>(cr + 2 - data_)); e != ParseError::kOk) {
        return e;
    }
    if (ParseError e = check_mandatory(); e != ParseError::kOk) {
        return e;
    }
    const uint32_t remaining = buffer_size_ - body_begin_;
    if (has(HeaderId::kContentLength)) {
        if (content_length_ > remaining) {
            return ParseError::kBodyTruncated;
        }
        body_size_ = content_length_;
    } else {
        body_size_ = remaining;
    }
    return ParseError::kOk;
}

ParseError Message::parse_start_line(const char* line_end) {
    const std::string_view line(data_, static_cast<size_t>(line_end - data_));
    start_line_size_ = static_cast<uint32_t>(line.size());
    method_ = Method::kOther;
    cseq_method_ = Method::kOther;
    status_code_ = 0;
    method_begin_ = method_size_ = uri_begin_ = uri_size_ = reason_begin_ = reason_size_ = 0;
    if (starts_with_ignore_case(line, "SIP/")) {
        is_request_ = false;
        return parse_status_line(line);
    }
    is_request_ = true;
    return parse_request_line(line);
}

ParseError Message::parse_request_line(std::string_view line) {
    // Method SP Request-URI SP SIP-Version: exactly two single spaces
    // (RFC 4475 §3.1.2.9 and §3.1.2.10 are errors, not leniencies).
    const size_t sp1 = line.find(' ');
    const size_t sp2 = line.rfind(' ');
    if (sp1 == std::string_view::npos || sp1 == sp2) {
        return ParseError::kBadRequestLine;
    }
    const std::string_view method = line.substr(0, sp1);
    const std::string_view uri = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!all_token_chars(method) || uri.empty()) {
        return ParseError::kBadRequestLine;
    }
    for (char c : uri) {
        if (!is_uri_char(c)) {
            return ParseError::kBadRequestLine;
        }
    }
    if (!equals_ignore_case(version, kSipVersion)) {
        return starts_with_ignore_case(version, "SIP/") ? ParseError::kBadSipVersion
                                                        : ParseError::kBadRequestLine;
    }
    method_ = method_from_text(method);
    method_begin_ = 0;
    method_size_ = static_cast<uint32_t>(sp1);
    uri_begin_ = static_cast<uint32_t>(sp1 + 1);
    uri_size_ = static_cast<uint32_t>(uri.size());
    return ParseError::kOk;
}

ParseError Message::parse_status_line(std::string_view line) {
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos) {
        return ParseError::kBadStatusLine;
    }
    if (!equals_ignore_case(line.substr(0, sp), kSipVersion)) {
        return ParseError::kBadSipVersion;
    }
    // 3DIGIT, then SP and a possibly empty reason (RFC 4475 §3.1.1.13). A
    // missing SP before an empty reason is tolerated.
    const std::string_view rest = line.substr(sp + 1);
    if (rest.size() < 3 || (rest.size() > 3 && rest[3] != ' ')) {
        return ParseError::kBadStatusLine;
    }
    const std::optional<uint32_t> code = parse_u32(rest.substr(0, 3));
    if (!code || *code < 100 || *code > 699) {
        return ParseError::kBadStatusLine;
    }
    status_code_ = static_cast<uint16_t>(*code);
    reason_begin_ = static_cast<uint32_t>(sp + 1 + std::min<size_t>(rest.size(), 4));
    reason_size_ = static_cast<uint32_t>(line.size()) - reason_begin_;
    return ParseError::kOk;
}

ParseError Message::parse_headers(uint32_t pos) {
    const char* end = data_ + buffer_size_;
    for (;;) {
        const char* p = data_ + pos;
        if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') {
            headers_end_ = pos;
            body_begin_ = pos + 2;
            return ParseError::kOk;
        }
        if (p == end || (end - p == 1 && p[0] == '\r')) {
            return ParseError::kHeadersIncomplete;
        }
        if (is_ws(*p)) {
            // A continuation line with no field before it (right after the start line).
            return ParseError::kMalformedHeader;
        }
        // The field runs until a CRLF not followed by SP/HTAB (RFC 3261 §7.3.1 folding).
        const char* cr = nullptr;
        const char* scan = p;
        for (;;) {
            switch (scan_line(scan, end, &cr)) {
                case LineScan::kFound: break;
                case LineScan::kBadLineEnding: return ParseError::kBadLineEnding;
                case LineScan::kNoLineEnd:
                    return (end - p) > static_cast<ptrdiff_t>(kHeaderLineSizeMax)
                               ? ParseError::kHeaderLineTooLong
                               : ParseError::kHeadersIncomplete;
            }
            if (end - cr > 2 && is_ws(cr[2])) {
                scan = cr + 2;
                continue;
            }
            break;
        }
        const auto line_end = static_cast<uint32_t>(cr + 2 - data_);
        if (line_end - pos > kHeaderLineSizeMax) {
            return ParseError::kHeaderLineTooLong;
        }
        if (ParseError e = add_field(pos, static_cast<uint32_t>(cr - data_), line_end);
            e != ParseError::kOk) {
            return e;
        }
        pos = line_end;
    }
}

ParseError Message::add_field(uint32_t line_begin, uint32_t field_end, uint32_t line_end) {
    const char* begin = data_ + line_begin;
    const char* end = data_ + field_end;
    const char* p = begin;
    while (p < end && is_token_char(*p)) {
        ++p;
    }
    const auto name_size = static_cast<uint32_t>(p - begin);
    if (name_size == 0) {
        return ParseError::kMalformedHeader;
    }
    if (name_size > kHeaderNameSizeMax) {
        return ParseError::kHeaderNameTooLong;
    }
    while (p < end && is_ws(*p)) {
        ++p;
    }
    if (p == end || *p != ':') {
        return ParseError::kMalformedHeader;
    }
    ++p;
    while (p < end && is_lws(*p)) {
        ++p;
    }
    const char* value_end = end;
    while (value_end > p && is_lws(value_end[-1])) {
        --value_end;
    }
    if (field_count_ == kHeaderCountMax) {
        return ParseError::kTooManyHeaders;
    }
    const auto index = static_cast<uint8_t>(field_count_++);
    HeaderField& f = fields_[index];
    f.line_begin = line_begin;
    f.line_end = line_end;
    f.value_begin = static_cast<uint32_t>(p - data_);
    f.value_end = static_cast<uint32_t>(value_end - data_);
    f.name_size = static_cast<uint16_t>(name_size);
    f.id = lookup_header(std::string_view(begin, name_size));
    f.next_index = kNoIndex;
    if (f.id == HeaderId::kOther) {
        return ParseError::kOk;
    }
    const auto id = static_cast<size_t>(f.id);
    if (first_[id] == kNoIndex) {
        first_[id] = index;
    } else {
        fields_[last_[id]].next_index = index;
    }
    last_[id] = index;
    ++count_[id];
    return check_field(index);
}

ParseError Message::check_field(uint8_t index) {
    const HeaderField& f = fields_[index];
    if (count_[static_cast<size_t>(f.id)] > 1 && header_is_single_instance(f.id)) {
        return ParseError::kDuplicateHeader;
    }
    switch (f.id) {
        case HeaderId::kVia: {
            const char* p = data_ + f.value_begin;
            const char* end = data_ + f.value_end;
            while (p < end) {
                const char* e = list_element_end(p, end);
                if (std::any_of(p, e, [](char c) { return !is_lws(c); })) {
                    ++via_count_;
                }
                p = e + 1;
            }
            return via_count_ > kViaCountMax ? ParseError::kTooManyVia : ParseError::kOk;
        }
        case HeaderId::kCSeq: return parse_cseq(f);
        case HeaderId::kContentLength: return parse_content_length(f);
        default: return ParseError::kOk;
    }
}

ParseError Message::parse_cseq(const HeaderField& f) {
    // CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16); the number fits 32 bits (§8.1.1.5).
    const std::string_view v = value(f);
    size_t i = 0;
    while (i < v.size() && v[i] >= '0' && v[i] <= '9') {
        ++i;
    }
    const std::optional<uint32_t> number = parse_u32(v.substr(0, i));
    if (!number || i == v.size() || !is_lws(v[i])) {
        return ParseError::kBadCSeq;
    }
    while (i < v.size() && is_lws(v[i])) {
        ++i;
    }
    const std::string_view method = v.substr(i);
    if (!all_token_chars(method)) {
        return ParseError::kBadCSeq;
    }
    cseq_number_ = *number;
    cseq_method_begin_ = f.value_begin + static_cast<uint32_t>(i);
    cseq_method_size_ = static_cast<uint32_t>(method.size());
    cseq_method_ = method_from_text(method);
    if (is_request_) {
        if (method != method_text()) {
            return ParseError::kCSeqMethodMismatch;
        }
    } else {
        method_ = cseq_method_;
        method_begin_ = cseq_method_begin_;
        method_size_ = cseq_method_size_;
    }
    return ParseError::kOk;
}

ParseError Message::parse_content_length(const HeaderField& f) {
    const std::optional<uint32_t> length = parse_u32(value(f));
    if (!length) {
        return ParseError::kBadContentLength;
    }
    content_length_ = *length;
    return ParseError::kOk;
}

ParseError Message::check_mandatory() const {
    // RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Max-Forwards and Via; a proxy
    // adds Max-Forwards when absent (§16.6 step 3), so only five are required.
    // A Via line with no value in it ("Via: ,") is no Via: callers may take
    // *list(kVia).begin() as the top Via.
    if (!has(HeaderId::kVia) || via_count_ == 0) {
        return ParseError::kMissingVia;
    }
    if (!has(HeaderId::kFrom)) {
        return ParseError::kMissingFrom;
    }
    if (!has(HeaderId::kTo)) {
        return ParseError::kMissingTo;
    }
    if (!has(HeaderId::kCallId)) {
        return ParseError::kMissingCallId;
    }
    if (!has(HeaderId::kCSeq)) {
        return ParseError::kMissingCSeq;
    }
    return ParseError::kOk;
}

const HeaderField& Message::field(uint32_t index) const {
    FE_ASSERT(index < field_count_);
    return fields_[index];
}

std::string_view Message::header(HeaderId id) const {
    const uint8_t index = first_[static_cast<size_t>(id)];
    if (id == HeaderId::kOther || index == kNoIndex) {
        return {};
    }
    return value(fields_[index]);
}

const HeaderField* Message::find(std::string_view name) const {
    const HeaderId id = lookup_header(name);
    if (id != HeaderId::kOther) {
        const uint8_t index = first_[static_cast<size_t>(id)];
        return index == kNoIndex ? nullptr : &fields_[index];
    }
    for (uint32_t i = 0; i < field_count_; ++i) {
        if (fields_[i].id == HeaderId::kOther && equals_ignore_case(this->name(fields_[i]), name)) {
            return &fields_[i];
        }
    }
    return nullptr;
}

FieldRange Message::fields(HeaderId id) const {
    const uint8_t index = id == HeaderId::kOther ? kNoIndex : first_[static_cast<size_t>(id)];
    return FieldRange{FieldIterator(this, index), FieldIterator(this, kNoIndex)};
}

ListRange Message::list(HeaderId id) const {
    const uint8_t index = id == HeaderId::kOther ? kNoIndex : first_[static_cast<size_t>(id)];
    return ListRange{ListIterator(this, index, /*follow_lines=*/true), ListIterator()};
}

ListRange Message::list(const HeaderField& f) const {
    FE_ASSERT(&f >= fields_ && &f < fields_ + field_count_);
    const auto index = static_cast<uint8_t>(&f - fields_);
    return ListRange{ListIterator(this, index, /*follow_lines=*/false), ListIterator()};
}

uint32_t Message::offset_of(const char* p) const {
    FE_ASSERT(p >= data_);
    FE_ASSERT(p <= data_ + buffer_size_);
    return static_cast<uint32_t>(p - data_);
}

ListIterator::ListIterator(const Message* message, uint8_t header_index, bool follow_lines)
    : message_(message), header_index_(header_index), follow_lines_(follow_lines) {
    if (header_index_ != Message::kNoIndex) {
        scan_pos_ = message_->fields_[header_index_].value_begin;
    }
    find_value();
}

ListIterator& ListIterator::operator++() {
    FE_ASSERT(header_index_ != Message::kNoIndex);
    find_value();
    return *this;
}

void ListIterator::find_value() {
    while (header_index_ != Message::kNoIndex) {
        const HeaderField& f = message_->fields_[header_index_];
        const char* p = message_->data_ + scan_pos_;
        const char* end = message_->data_ + f.value_end;
        while (p < end) {
            if (is_lws(*p) || *p == ',') {
                ++p;
                continue;
            }
            const char* element_end = list_element_end(p, end);
            scan_pos_ = static_cast<uint32_t>(element_end - message_->data_) +
                        (element_end < end ? 1 : 0);
            const char* value_end = element_end;
            while (is_lws(value_end[-1])) {
                --value_end;
            }
            value_ = std::string_view(p, static_cast<size_t>(value_end - p));
            return;
        }
        header_index_ = follow_lines_ ? f.next_index : Message::kNoIndex;
        if (header_index_ != Message::kNoIndex) {
            scan_pos_ = message_->fields_[header_index_].value_begin;
        }
    }
    value_ = {};
}

}  // namespace fe::sip
