// File: core/sip/header_names.h
//
// The header fields core/ knows by name: one compile-time table with the full
// name, the RFC 3261 §7.3.3 compact form (if any) and flags. Lookup is
// case-insensitive and takes one hash probe (rarely two) plus one compare.
//
//   fe::sip::HeaderId id = fe::sip::lookup_header("v");          // HeaderId::kVia
//   fe::sip::header_info(id).full_name;                          // "Via"
//   fe::sip::header_is_list(HeaderId::kSupported);               // true
#pragma once

#include <cstdint>
#include <string_view>

namespace fe::sip {

// Values index fixed arrays in Message; append new ids before kCount.
enum class HeaderId : uint8_t {
    kOther = 0,  // Any header not in the table; look it up by name.
    kVia,
    kFrom,
    kTo,
    kCallId,
    kCSeq,
    kMaxForwards,
    kContact,
    kRoute,
    kRecordRoute,
    kPath,
    kSupported,
    kRequire,
    kProxyRequire,
    kUnsupported,
    kFlowTimer,
    kExpires,
    kMinExpires,
    kContentLength,
    kContentType,
    kAllow,
    kRetryAfter,
    kEvent,
    kUserAgent,
    kServer,
    kSubject,
    kContentEncoding,
    kReferTo,
    kAllowEvents,
    kReferredBy,
    kSessionExpires,
    kIdentity,
    kAcceptContact,
    kRejectContact,
    kRequestDisposition,
    kAuthorization,
    kProxyAuthorization,
    kWwwAuthenticate,
    kProxyAuthenticate,
    kTimestamp,
    kDate,
    kAccept,
    kAcceptEncoding,
    kAcceptLanguage,
    kContentDisposition,
    kContentLanguage,
    kMimeVersion,
    kWarning,
    kErrorInfo,
    kAlertInfo,
    kCallInfo,
    kInReplyTo,
    kReplyTo,
    kPriority,
    kOrganization,
    kRSeq,
    kRAck,
    kMinSE,
    kSubscriptionState,
    kPAssertedIdentity,
    kPPreferredIdentity,
    kReason,
    kSecurityClient,
    kSecurityServer,
    kSecurityVerify,
    kCount,
};

inline constexpr size_t kHeaderIdCount = static_cast<size_t>(HeaderId::kCount);

// Bit flags of a header in the table.
enum HeaderFlag : uint8_t {
    // The value is a comma-separated list (RFC 3261 §7.3.1): several lines may
    // be read as one list, and Message::list() splits it.
    kHeaderFlagCommaList = 1 << 0,
    // At most one per message; a second one is ParseError::kDuplicateHeader.
    // Only the headers whose duplication breaks transaction matching or
    // framing (RFC 4475 §3.3.8, §3.3.9) carry it.
    kHeaderFlagSingleInstance = 1 << 1,
};

struct HeaderInfo {
    std::string_view full_name;  // As RFC 3261 and the extension RFCs spell it.
    char compact_name;           // Lower case, or '\0' when there is none.
    uint8_t flags;               // HeaderFlag bits.
};

// The table row of `id`; kOther gives an empty name and no flags.
const HeaderInfo& header_info(HeaderId id);

// Case-insensitive lookup of a full or compact name. kOther when unknown.
HeaderId lookup_header(std::string_view name);

inline bool header_is_list(HeaderId id) {
    return (header_info(id).flags & kHeaderFlagCommaList) != 0;
}
inline bool header_is_single_instance(HeaderId id) {
    return (header_info(id).flags & kHeaderFlagSingleInstance) != 0;
}

}  // namespace fe::sip
