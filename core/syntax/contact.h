// File: core/syntax/contact.h
//
// One Contact value (RFC 3261 §20.10) with the RFC 5626 §10 parameters the
// registrar and edge act on: expires, q, +sip.instance (the URN extracted from
// its quotes and angle brackets), reg-id (1 .. 2^31-1), and the ob URI flag.
//
//   <sip:alice@192.0.2.4;ob>;reg-id=1;
//       +sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"
//
//   fe::syntax::Contact c;
//   if (fe::syntax::parse_contact(value, c) == fe::syntax::Error::kOk) {
//       c.instance;         // "urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF"
//       c.reg_id;           // 1
//       c.has_ob();         // true
//       c.is_outbound();    // true: instance and reg-id (OB-INST-04)
//   }
//
// Instance ids compare with instance_equal() (the URN's equality, OB-INST-03),
// never by their quoted text. Every view points into `value`.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/syntax/error.h"
#include "core/syntax/name_addr.h"

namespace fe::syntax {

struct Contact {
    bool is_star = false;        // "Contact: *" (REGISTER removing all bindings)
    NameAddr address;            // empty when is_star
    bool has_expires = false;
    uint32_t expires_s = 0;
    bool has_q = false;
    uint16_t q_thousandths = 0;  // q=0.5 -> 500; 0 .. kQValueMax
    // The URN inside +sip.instance="<...>", e.g. "urn:uuid:f81d4fae-...".
    // Empty when absent.
    std::string_view instance;
    uint32_t reg_id = 0;         // 0 when absent (0 itself is refused, OB-INST-01)

    bool has_instance() const { return !instance.empty(); }
    bool has_reg_id() const { return reg_id != 0; }
    bool has_ob() const { return address.uri.has_ob(); }
    // RFC 5626 §6 / OB-INST-04: an outbound binding needs both; a reg-id
    // without an instance is ignored, an instance alone is a GRUU-style binding.
    bool is_outbound() const { return has_instance() && has_reg_id(); }
};

// Errors: kEmpty, kBadStar, any parse_name_addr() error, kBadExpires,
// kBadQValue, kBadInstance, kBadRegId. On error `out` is reset.
Error parse_contact(std::string_view value, Contact& out);

// Validates a URN (RFC 2141: "urn:" NID ":" NSS, %XX escapes). Errors:
// kBadInstance.
Error check_urn(std::string_view urn);

// URN equality (RFC 2141 §5; RFC 4122 §3 for urn:uuid), for OB-INST-03:
// "urn" and the NID ignore case, %XX escapes ignore hex case, and for the uuid
// namespace the whole NSS ignores case. Both must have passed check_urn().
bool instance_equal(std::string_view a, std::string_view b);

// A canonical form for storage keys, equal exactly when instance_equal():
// "urn:" + lower-case NID + ":" + NSS with lower-case escapes (whole NSS lower
// case for uuid). Errors: kBufferTooSmall (a buffer of urn.size() bytes
// always suffices, at most kInstanceKeySizeMax).
Error write_instance_key(std::string_view urn, char* buffer, size_t buffer_size,
                         std::string_view& key);

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in thousandths.
// Errors: kBadQValue.
Error parse_qvalue(std::string_view text, uint16_t& thousandths);

}  // namespace fe::syntax
