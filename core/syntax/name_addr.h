// File: core/syntax/name_addr.h
//
// One value of From, To, Contact, Route, Record-Route or Path (RFC 3261 §20.10,
// §25.1): ( name-addr / addr-spec ) *( SEMI param ), in the three written forms
//
//   "Alice Smith" <sip:alice@example.com>;tag=1928      quoted display name
//   Alice <sip:alice@example.com>;tag=1928              token display name
//   <sip:alice@example.com>;tag=1928                    no display name
//   sip:alice@example.com;tag=1928                      bare addr-spec
//
// In the bare form the URI ends at the first ';' or white space: what follows
// is a header parameter, never a URI parameter (§20.10), so `tag` above is a
// header parameter in all four.
//
//   fe::syntax::NameAddr na;
//   if (fe::syntax::parse_name_addr(value, na) == fe::syntax::Error::kOk) {
//       na.uri.host;                     // "example.com"
//       na.params.find("tag")->value;    // "1928"
//   }
//
// Every view points into `value` and is valid as long as it is.
#pragma once

#include <string_view>

#include "core/syntax/error.h"
#include "core/syntax/params.h"
#include "core/syntax/uri.h"

namespace fe::syntax {

struct NameAddr {
    std::string_view text;          // the whole value
    // Display name without its quotes (quoted-pair escapes kept as written;
    // decode with unquote() on display_name_range). Empty when absent.
    std::string_view display_name;
    std::string_view display_name_range;  // as written, with quotes if quoted
    bool display_name_quoted = false;
    bool bracketed = false;         // "<uri>" form (false for a bare addr-spec)
    std::string_view uri_text;      // the URI alone, without '<' '>'
    Uri uri;                        // parsed uri_text
    Params params;                  // header parameters (ParamSyntax::kHeader)

    std::string_view tag() const { return param_value("tag"); }  // From/To tag
    // Header parameter value as written; empty when absent or a flag.
    std::string_view param_value(std::string_view name) const {
        const auto p = params.find(name);
        return p ? p->value : std::string_view();
    }
};

// Errors: kEmpty, kTooLong, kBadDisplayName, kUnterminatedQuote,
// kBadQuotedString, kUnterminatedAngle, kTrailingGarbage, any parse_uri() error,
// any Params::parse() error (kHeader grammar). On error `out` is reset.
Error parse_name_addr(std::string_view value, NameAddr& out);

}  // namespace fe::syntax
