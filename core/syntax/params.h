// File: core/syntax/params.h
//
// `;name[=value]` parameter lists, in the two grammars SIP uses:
//
//   - ParamSyntax::kUri    (RFC 3261 §19.1.1 uri-parameters): no white space,
//     names and values are 1*paramchar with %XX escapes, no quoted strings.
//   - ParamSyntax::kHeader (RFC 3261 §7.3.1 generic-param): token names,
//     values are token / host (incl. "[v6]") / quoted-string, and linear white
//     space is allowed around ';' and '='.
//
// Params::parse() validates the whole list once (at most kParamCountMax, no
// name twice). A Params is then just the validated text and a count: lookup and
// iteration rescan it, which for the usual 2-6 parameters is cheaper than
// storing an index, and keeps the type two words and allocation-free.
//
//   fe::syntax::Params params;
//   if (fe::syntax::Params::parse(";transport=tcp;lr", fe::syntax::ParamSyntax::kUri,
//                                 params) == fe::syntax::Error::kOk) {
//       params.has("LR");                    // true: names are case-insensitive
//       params.find("transport")->value;     // "tcp"
//       for (const fe::syntax::Param& p : params) { ... }
//   }
//
// Every view points into the parsed text and lives as long as it does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string_view>

#include "core/syntax/error.h"

namespace fe::syntax {

enum class ParamSyntax : uint8_t { kUri, kHeader };

struct Param {
    std::string_view name;   // as written (escapes in URI names are not decoded)
    std::string_view value;  // as written: a quoted value keeps its quotes; empty for a flag
    std::string_view range;  // ";name=value" from the ';' to the end of the value
    bool has_value = false;  // false for a flag (";lr"); "name=" is never valid

    bool is_quoted() const { return value.size() >= 2 && value.front() == '"'; }
    // The value without its quotes (quoted-pair escapes are kept as written).
    std::string_view unquoted_value() const {
        return is_quoted() ? value.substr(1, value.size() - 2) : value;
    }
};

class Params {
public:
    class Iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = Param;
        using difference_type = std::ptrdiff_t;
        using pointer = const Param*;
        using reference = const Param&;

        Iterator() = default;
        const Param& operator*() const { return current_; }
        const Param* operator->() const { return &current_; }
        Iterator& operator++();
        Iterator operator++(int) {
            Iterator old = *this;
            ++*this;
            return old;
        }
        friend bool operator==(const Iterator& a, const Iterator& b) {
            return a.text_.data() == b.text_.data() && a.pos_ == b.pos_;
        }

    private:
        friend class Params;
        Iterator(std::string_view text, ParamSyntax syntax, size_t pos);

        std::string_view text_;
        ParamSyntax syntax_ = ParamSyntax::kUri;
        // Index just past current_ in text_; text_.size() + 1 marks the end.
        size_t pos_ = 0;
        Param current_;
    };

    // Validates `text`, which must be entirely parameters: empty, or starting
    // with ';' (after white space, for kHeader). On error `out` is empty.
    [[nodiscard]] static Error parse(std::string_view text, ParamSyntax syntax, Params& out);

    std::string_view text() const { return text_; }
    ParamSyntax syntax() const { return syntax_; }
    size_t count() const { return count_; }
    bool empty() const { return count_ == 0; }

    // First parameter whose name equals `name` ignoring ASCII case.
    std::optional<Param> find(std::string_view name) const;
    bool has(std::string_view name) const { return find(name).has_value(); }

    Iterator begin() const;
    Iterator end() const;

private:
    std::string_view text_;
    ParamSyntax syntax_ = ParamSyntax::kUri;
    uint8_t count_ = 0;
};

// RFC 3261 token (§25.1): 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~").
bool is_token(std::string_view text);

// Decodes %XX escapes of an already-validated escaped string into `buffer`.
// `result` is a view of the decoded bytes inside `buffer`. Errors: kBadEscape,
// kBufferTooSmall (the decoded form is never longer than the input, so a
// buffer of escaped.size() bytes always suffices).
[[nodiscard]] Error unescape(std::string_view escaped, char* buffer, size_t buffer_size,
                             std::string_view& result);

// Compares two escaped strings by their decoded bytes without a buffer:
// "%61lice" equals "alice". The _ignore_case form folds ASCII letters after
// decoding (for URI parameters and host-like fields).
bool equals_unescaped(std::string_view a, std::string_view b);
bool equals_unescaped_ignore_case(std::string_view a, std::string_view b);

// Removes the quotes and quoted-pair backslashes of a validated quoted-string
// into `buffer`; `result` views the decoded text. Errors: kBadQuotedString,
// kBufferTooSmall.
[[nodiscard]] Error unquote(std::string_view quoted, char* buffer, size_t buffer_size,
                           std::string_view& result);

}  // namespace fe::syntax
