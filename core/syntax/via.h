// File: core/syntax/via.h
//
// One Via value (RFC 3261 §20.42, §25.1), with the parameters the edge acts
// on decoded: branch (and its RFC 3261 magic cookie), received, rport
// (RFC 3581), alias (RFC 5923), keep (RFC 6223), maddr, ttl.
//
//   SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds;rport
//
//   fe::syntax::Via via;
//   if (fe::syntax::parse_via(value, via) == fe::syntax::Error::kOk) {
//       via.transport();           // Transport::kUdp
//       via.port;                  // 5060
//       via.has_magic_cookie();    // true
//       via.rport == fe::syntax::FlagOrValue::kFlag;   // asks for rport
//   }
//
// Every view points into `value` and is valid as long as it is.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/base/endpoint.h"
#include "core/syntax/error.h"
#include "core/syntax/host.h"
#include "core/syntax/params.h"

namespace fe::syntax {

// RFC 3261 §8.1.1.7: a branch starting with this was made by an RFC 3261
// element and is unique per transaction. Compared case-sensitively.
inline constexpr std::string_view kBranchMagicCookie = "z9hG4bK";

// Parameters that are a flag in a request and carry a value in a response
// (rport, keep).
enum class FlagOrValue : uint8_t { kAbsent, kFlag, kValue };

struct Via {
    std::string_view text;              // the whole value
    std::string_view protocol_name;     // "SIP"
    std::string_view protocol_version;  // "2.0"
    std::string_view transport_text;    // "UDP", "TLS", "WSS", "SCTP" ... as written
    std::string_view sent_by;           // "host[:port]" as written (may hold LWS around ':')
    std::string_view host;              // IPv6 keeps its brackets
    HostKind host_kind = HostKind::kNone;
    uint16_t port = 0;                  // 0 when absent
    Params params;                      // all via-params (ParamSyntax::kHeader)

    std::string_view branch;            // empty when absent (RFC 2543 peers)
    std::string_view received;          // IPv4 or IPv6 address; empty when absent
    HostKind received_kind = HostKind::kNone;
    FlagOrValue rport = FlagOrValue::kAbsent;
    uint16_t rport_value = 0;           // set when rport == kValue
    // RFC 5923 alias flag. Our policy (CR-01): "alias=x" is not the flag.
    bool alias = false;
    FlagOrValue keep = FlagOrValue::kAbsent;
    uint32_t keep_value = 0;            // set when keep == kValue; 0 = no rate advice
    std::string_view maddr;             // empty when absent
    HostKind maddr_kind = HostKind::kNone;
    bool has_ttl = false;
    uint8_t ttl = 0;

    bool has_magic_cookie() const { return branch.starts_with(kBranchMagicCookie); }
    bool has_port() const { return port != 0; }
    // The sent-protocol transport when it is one we serve (case-insensitive);
    // nullopt for others such as SCTP.
    std::optional<Transport> transport() const { return transport_from_name(transport_text); }
    // True when the protocol is SIP/2.0 (both case-insensitive, §7.1).
    bool is_sip_2_0() const;
};

// Errors: kEmpty, kTooLong, kBadSentProtocol, kMissingSentBy, kBadPort,
// kPortOutOfRange, any parse_host() error for sent-by, kTrailingGarbage, any
// Params::parse() error, kBadBranch, kBadReceived, kBadRport, kBadTtl,
// kBadMaddr, kBadKeep. On error `out` is reset.
Error parse_via(std::string_view value, Via& out);

}  // namespace fe::syntax
