// File: core/sip/message.h
//
// A SIP message (RFC 3261 §7) parsed in place: Message keeps offsets into the
// caller's buffer and never copies or allocates. parse() reads the start line,
// indexes every header line (name, trimmed value, full line range including
// CRLF and folded continuation lines), enforces the message-level rules
// (mandatory headers, single-instance headers, CSeq, Content-Length, limits)
// and finds the body. Header VALUES are not parsed here beyond CSeq and
// Content-Length: core/syntax/ does URIs, Via, Contact and friends on demand.
//
//   fe::sip::Message m;
//   if (fe::sip::ParseError e = m.parse(bytes); e != fe::sip::ParseError::kOk) {
//       reply_400(fe::sip::parse_error_reason(e));   // e.g. "Missing Call-ID"
//   }
//   if (m.method() == fe::sip::Method::kRegister) { ... m.request_uri() ... }
//   std::string_view call_id = m.header(fe::sip::HeaderId::kCallId);
//   for (std::string_view option : m.list(fe::sip::HeaderId::kSupported)) { ... }
//
// Every std::string_view a Message returns points into the parsed buffer and
// is valid while that buffer is. The buffer must outlive the Message's use.
//
// Line ends must be CRLF: a bare CR or LF is refused (ParseError::kBadLineEnding)
// because intermediaries that split lines differently can be made to disagree
// about where a header ends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "core/sip/header_names.h"
#include "core/sip/limits.h"

namespace fe::sip {

enum class Method : uint8_t {
    kOther = 0,  // An extension method; method_text() has its name.
    kInvite,
    kAck,
    kBye,
    kCancel,
    kRegister,
    kOptions,
    kMessage,
    kSubscribe,
    kNotify,
    kPrack,
    kUpdate,
    kRefer,
    kInfo,
    kPublish,
};

// Case-sensitive, as RFC 3261 §7.1 says methods are. kOther when unknown.
Method method_from_text(std::string_view text);
// "INVITE" ...; empty for kOther.
std::string_view method_name(Method method);

// Why a message was refused. Each defect has its own value so that it can be
// counted and named in the 400 reason phrase (parse_error_reason()).
enum class [[nodiscard]] ParseError : uint8_t {
    kOk = 0,
    kEmpty,               // No bytes at all.
    kMessageTooLarge,     // More than kMessageSizeMax bytes.
    kStartLineTooLong,    // Start line longer than kStartLineSizeMax.
    kBadRequestLine,      // Not `Method SP Request-URI SP SIP-Version CRLF`.
    kBadStatusLine,       // Not `SIP-Version SP 3DIGIT SP Reason-Phrase CRLF`.
    kBadSipVersion,       // "SIP/x.y" other than SIP/2.0 (answer 505).
    kBadLineEnding,       // A bare CR or LF.
    kMalformedHeader,     // No colon, empty or non-token name, fold right after start line.
    kHeaderNameTooLong,   // Name longer than kHeaderNameSizeMax.
    kHeaderLineTooLong,   // Field (with folds) longer than kHeaderLineSizeMax.
    kTooManyHeaders,      // More than kHeaderCountMax header lines.
    kTooManyVia,          // More than kViaCountMax Via values.
    kHeadersIncomplete,   // The buffer ends before the blank line.
    kDuplicateHeader,     // Second Call-ID, CSeq, From, To, Max-Forwards or Content-Length.
    kMissingVia,
    kMissingFrom,
    kMissingTo,
    kMissingCallId,
    kMissingCSeq,
    kBadCSeq,             // Not `1*DIGIT LWS Method`, or the number exceeds 32 bits.
    kCSeqMethodMismatch,  // CSeq method differs from the Request-Line method.
    kBadContentLength,    // Not a decimal number, or beyond 32 bits.
    kMissingContentLength,  // Streams only (RFC 3261 §18.3); see framing.h.
    kBodyTruncated,       // Content-Length larger than the bytes present.
};

// Reason phrase for the 400 (or 505/513) answer that names the defect, e.g.
// "Missing Call-ID". Never empty.
std::string_view parse_error_reason(ParseError error);
// Status code to answer a request with: 505 for kBadSipVersion, 513 for
// kMessageTooLarge, 400 otherwise. (Malformed responses are dropped.)
uint16_t parse_error_status(ParseError error);
// The enumerator name ("kBadCSeq") for logs and test output.
std::string_view parse_error_name(ParseError error);

// One header line of a message: offsets into the buffer.
struct HeaderField {
    uint32_t line_begin;   // First byte of the name.
    uint32_t line_end;     // One past the CRLF ending the field (after folds).
    uint32_t value_begin;  // First byte of the value, leading LWS skipped.
    uint32_t value_end;    // One past its last byte, trailing LWS trimmed (>= value_begin).
    uint16_t name_size;
    HeaderId id;
    // Index of the next header line with the same id, or Message::kNoIndex.
    // Not linked for HeaderId::kOther.
    uint8_t next_index;
};

class Message;

// Iterates the comma-separated values of a list header across all its lines,
// in order (RFC 3261 §7.3.1). Commas inside quoted strings (with \-escapes)
// and inside <...> do not split. Values are trimmed; empty elements (",,")
// are skipped. An unterminated quote or bracket runs to the end of its line.
class ListIterator {
public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = std::string_view;
    using difference_type = std::ptrdiff_t;
    using pointer = const std::string_view*;
    using reference = const std::string_view&;

    ListIterator() = default;
    const std::string_view& operator*() const { return value_; }
    const std::string_view* operator->() const { return &value_; }
    ListIterator& operator++();
    ListIterator operator++(int) {
        ListIterator old = *this;
        ++*this;
        return old;
    }
    friend bool operator==(const ListIterator& a, const ListIterator& b) {
        return a.header_index_ == b.header_index_ && a.value_.data() == b.value_.data();
    }

    // Index (Message::field()) of the header line holding the current value.
    uint8_t header_index() const { return header_index_; }

private:
    friend class Message;
    ListIterator(const Message* message, uint8_t header_index, bool follow_lines);
    void find_value();  // From scan_pos_ on, the next non-empty element.

    const Message* message_ = nullptr;
    uint8_t header_index_ = 0xff;  // 0xff at the end.
    bool follow_lines_ = false;    // Continue on the next line of the same id.
    uint32_t scan_pos_ = 0;        // Buffer offset where the next element scan starts.
    std::string_view value_;
};

struct ListRange {
    ListIterator first;
    ListIterator last;
    ListIterator begin() const { return first; }
    ListIterator end() const { return last; }
    bool empty() const { return first == last; }
};

// Iterates the header lines of one id in message order.
class FieldIterator {
public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = HeaderField;
    using difference_type = std::ptrdiff_t;
    using pointer = const HeaderField*;
    using reference = const HeaderField&;

    FieldIterator() = default;
    FieldIterator(const Message* message, uint8_t index) : message_(message), index_(index) {}
    const HeaderField& operator*() const;
    const HeaderField* operator->() const { return &**this; }
    FieldIterator& operator++();
    friend bool operator==(const FieldIterator& a, const FieldIterator& b) {
        return a.index_ == b.index_;
    }

private:
    const Message* message_ = nullptr;
    uint8_t index_ = 0xff;
};

struct FieldRange {
    FieldIterator first;
    FieldIterator last;
    FieldIterator begin() const { return first; }
    FieldIterator end() const { return last; }
};

class Message {
public:
    static constexpr uint8_t kNoIndex = 0xff;

    // Parses `buffer`, which holds one message and possibly trailing bytes
    // after a Content-Length body (ignored, RFC 3261 §18.3). Without
    // Content-Length the body is the rest of the buffer. On an error the
    // Message's accessors must not be used.
    ParseError parse(std::string_view buffer);

    // Start line.
    bool is_request() const { return is_request_; }
    Method method() const { return method_; }
    // Request: the Request-Line method. Response: the CSeq method.
    std::string_view method_text() const { return view(method_begin_, method_size_); }
    // Raw Request-URI bytes; core/syntax parses them.
    std::string_view request_uri() const { return view(uri_begin_, uri_size_); }
    uint16_t status_code() const { return status_code_; }
    std::string_view reason() const { return view(reason_begin_, reason_size_); }
    // Start line without its CRLF.
    std::string_view start_line() const { return view(0, start_line_size_); }

    // CSeq, decoded at parse (the header is mandatory, so always present).
    uint32_t cseq_number() const { return cseq_number_; }
    std::string_view cseq_method_text() const { return view(cseq_method_begin_, cseq_method_size_); }
    Method cseq_method() const { return cseq_method_; }

    // Headers. Indexes are 0-based in message order.
    uint32_t field_count() const { return field_count_; }
    const HeaderField& field(uint32_t index) const;
    std::string_view name(const HeaderField& f) const { return view(f.line_begin, f.name_size); }
    std::string_view value(const HeaderField& f) const {
        return view(f.value_begin, f.value_end - f.value_begin);
    }
    // The whole field: name through the CRLF, folds included.
    std::string_view line(const HeaderField& f) const {
        return view(f.line_begin, f.line_end - f.line_begin);
    }

    // Lines of `id` (not kOther) in this message.
    uint32_t header_count(HeaderId id) const { return count_[static_cast<size_t>(id)]; }
    bool has(HeaderId id) const { return header_count(id) != 0; }
    // Index of the first line of `id`, or kNoIndex.
    uint8_t first_index(HeaderId id) const { return first_[static_cast<size_t>(id)]; }
    // Value of the first line of `id`; an empty view with data() == nullptr
    // when absent (a present but empty header gives a non-null empty view).
    std::string_view header(HeaderId id) const;
    // First line whose name matches case-insensitively (full or compact form
    // for known names); nullptr when absent. Linear: for kOther headers.
    const HeaderField* find(std::string_view name) const;
    FieldRange fields(HeaderId id) const;
    // Comma-separated values of a list header across all its lines.
    ListRange list(HeaderId id) const;
    // Comma-separated values of one header line.
    ListRange list(const HeaderField& f) const;
    // Via values in the message (counted at parse).
    uint32_t via_count() const { return via_count_; }

    // Offset of the blank line ending the headers (where a header appended at
    // the end is inserted).
    uint32_t headers_end() const { return headers_end_; }
    std::string_view body() const { return view(body_begin_, body_size_); }
    bool has_content_length() const { return has(HeaderId::kContentLength); }
    // Bytes of this message: start line to end of body. Trailing datagram
    // bytes past Content-Length are not included.
    uint32_t size() const { return body_begin_ + body_size_; }
    // The message's bytes (size() of them) and the offset of a view into them.
    std::string_view bytes() const { return view(0, size()); }
    const char* data() const { return data_; }
    uint32_t offset_of(const char* p) const;

private:
    friend class ListIterator;
    std::string_view view(uint32_t begin, uint32_t size) const {
        return std::string_view(data_ + begin, size);
    }
    ParseError parse_start_line(const char* line_end);
    ParseError parse_request_line(std::string_view line);
    ParseError parse_status_line(std::string_view line);
    ParseError parse_headers(uint32_t pos);
    ParseError add_field(uint32_t line_begin, uint32_t field_end, uint32_t line_end);
    ParseError check_field(uint8_t index);
    ParseError parse_cseq(const HeaderField& f);
    ParseError parse_content_length(const HeaderField& f);
    ParseError check_mandatory() const;

    const char* data_ = nullptr;
    uint32_t buffer_size_ = 0;
    bool is_request_ = false;
    Method method_ = Method::kOther;
    Method cseq_method_ = Method::kOther;
    uint16_t status_code_ = 0;
    uint32_t start_line_size_ = 0;
    uint32_t method_begin_ = 0;
    uint32_t method_size_ = 0;
    uint32_t uri_begin_ = 0;
    uint32_t uri_size_ = 0;
    uint32_t reason_begin_ = 0;
    uint32_t reason_size_ = 0;
    uint32_t cseq_number_ = 0;
    uint32_t cseq_method_begin_ = 0;
    uint32_t cseq_method_size_ = 0;
    uint32_t content_length_ = 0;  // Valid when has(kContentLength).
    uint32_t via_count_ = 0;
    uint32_t headers_end_ = 0;
    uint32_t body_begin_ = 0;
    uint32_t body_size_ = 0;
    uint32_t field_count_ = 0;
    // Per id: first and last line index (kNoIndex when none) and line count.
    // Entry 0 (kOther) is never linked.
    uint8_t first_[kHeaderIdCount] = {};
    uint8_t last_[kHeaderIdCount] = {};
    uint8_t count_[kHeaderIdCount] = {};
    // Only the first field_count_ entries are meaningful.
    HeaderField fields_[kHeaderCountMax];
};

inline const HeaderField& FieldIterator::operator*() const {
    return message_->field(index_);
}
inline FieldIterator& FieldIterator::operator++() {
    index_ = message_->field(index_).next_index;
    return *this;
}

}  // namespace fe::sip
