// File: core/reuse/alias_decision.h
//
// RFC 5923 connection reuse as pure decisions, bound to the peer's TLS
// certificate (RFC 5922). No socket, clock or TLS library type: the worker
// copies what the handshake proved (net::tls::TlsSession::peer_authentication(),
// peer_identities(), served_identity_index()) into the structs below, and gets
// back a verdict and, when reuse is allowed, the alias key to put in its
// AliasTable (core/reuse/alias_table.h).
//
// Receiving side (RFC 5923 §8.2, §9.2): a request whose top Via carries `alias`
//
//   fe::reuse::ReceivedConnection over{fe::Transport::kTls,
//                                      fe::reuse::PeerAuthentication::kVerified,
//                                      &session.peer_identities(), peer_endpoint,
//                                      session.served_identity_index().value_or(0)};
//   fe::reuse::AliasDecision d = fe::reuse::decide_alias(top_via, over, options);
//   if (d.verdict == fe::reuse::AliasVerdict::kAlias) {
//       table.insert(d.key, connection);   // (p1.example.com, 5061, TLS, 0) -> connection
//   } else if (fe::reuse::alias_verdict_is_refusal(d.verdict)) {
//       ++stats.alias_refused[d.verdict];  // and the request is processed as usual (CR-24)
//   }
//
// Sending side (RFC 5923 §8.1, §9.1): may a request we send over a TLS
// connection we dialled carry `;alias` in our Via?
//
//   fe::reuse::OfferDecision o = fe::reuse::decide_offer_alias(dialled, peer_reuse);
//   if (o.verdict == fe::reuse::OfferVerdict::kOffer) { /* add ";alias" */ }
//
// The rules, with their CR-xx ids (../shared/spec/connection-reuse-requirements.md):
//   - Only TLS connections, with a Via whose sent-protocol is TLS: never UDP,
//     TCP, WS or WSS (CR-37, CR-38, CR-43, CR-44; WSS is not in RFC 5923).
//   - Only a peer whose certificate passed RFC 5280 validation (no certificate:
//     CR-37, CR-38; expired or untrusted: CR-40; no SIP identity: RFC 5922 §7.3).
//   - The sent-by host must equal one of the certificate's RFC 5922 identities
//     (§7.2 whole-name, case-insensitive comparison; CR-42). This is CR-48, our
//     hardening, taken as a rule and stricter than CR-48 itself: an IP literal
//     sent-by must match too (a sip URI identity with that address, or an
//     iPAddress SAN when the IdentityPolicy accepts them), since otherwise any
//     verified peer could claim any address and draw its traffic.
//   - The row is keyed by the sent-by (host, port or 5061, CR-27), not by the
//     connection's source endpoint: the peer's source port is ephemeral and
//     its address may be NATed (received/rport); the alias names where the
//     peer says it listens (CR-05, CR-22). The source endpoint is kept in the
//     decision for logs only.
//   - The key includes our local identity index (the virtual server that
//     served the connection by SNI): a connection is never reused across our
//     virtual server identities (RFC 5923 §9.3, CR-45..47).
//   - `alias=value` is not the flag (CR-01; syntax::Via::alias is false).
//   - Honouring is policy (CR-23); AliasMode::kIgnore makes every request be
//     handled as if it had no `alias` (CR-24).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/endpoint.h"
#include "core/reuse/alias_key.h"
#include "core/syntax/via.h"
#include "core/tls/peer_identity.h"

namespace fe::reuse {

// What the TLS handshake proved about the peer: net::tls::PeerAuthentication,
// restated because core/ cannot include net/ (same values, same meaning).
enum class PeerAuthentication : uint8_t {
    kNone,        // no certificate presented
    kVerified,    // RFC 5280 validation passed; the identities are RFC 5922's
    kUnverified,  // presented but not valid (expired, untrusted, bad EKU): as kNone (CR-40)
};

// CR-23: whether this node uses aliased connections at all.
enum class AliasMode : uint8_t {
    kHonour,
    kIgnore,
};

struct AliasOptions {
    AliasMode mode = AliasMode::kHonour;
};

// A connection a request arrived on, as the worker knows it.
struct ReceivedConnection {
    Transport transport = Transport::kUdp;
    PeerAuthentication peer_authentication = PeerAuthentication::kNone;
    // The peer's RFC 5922 identities; read only when kVerified. Not null.
    const tls::SipIdentities* peer_identities = nullptr;
    Endpoint remote;                    // the packet source (Via received/rport)
    uint32_t local_identity_index = 0;  // served_identity_index().value_or(0)
};

enum class AliasVerdict : uint8_t {
    kAlias,                   // add the row d.key -> this connection
    kNoAliasParam,            // the top Via has no `alias` flag: nothing to do, not a refusal
    kIgnored,                 // AliasMode::kIgnore (CR-23, CR-24)
    kNotTls,                  // over UDP, TCP, WS, WSS (CR-44, §1.2 of the spec)
    kViaNotTls,               // over TLS, but the Via's sent-protocol is not TLS
    kNoCertificate,           // the peer presented none (CR-37, CR-38)
    kUnverified,              // presented but failed validation (CR-40)
    kNoIdentity,              // verified, but no RFC 5922 SIP identity (§7.3)
    kSentByNotInCertificate,  // the sent-by host is none of the identities (CR-48)
    kBadSentBy,               // the sent-by host has no comparable form
};
inline constexpr size_t kAliasVerdictCount = 10;
std::string_view alias_verdict_name(AliasVerdict verdict);
// True for the verdicts a caller counts as "alias refused": all but kAlias
// and kNoAliasParam.
constexpr bool alias_verdict_is_refusal(AliasVerdict verdict) {
    return verdict != AliasVerdict::kAlias && verdict != AliasVerdict::kNoAliasParam;
}

struct [[nodiscard]] AliasDecision {
    AliasVerdict verdict = AliasVerdict::kNoAliasParam;
    // Set exactly when verdict == kAlias: (sent-by host in canonical form,
    // sent-by port or 5061, kTls, local identity index).
    AliasKey key;
};

// RFC 5923 §8.2 and §9.2 for one received request. `top_via` is the request's
// topmost Via as parsed (syntax::parse_via()); its views are read, not kept.
AliasDecision decide_alias(const syntax::Via& top_via, const ReceivedConnection& over,
                           const AliasOptions& options = AliasOptions{});

// ---- Sending side. ----

// CR-05..08: whether we want reuse with this peer (configuration per peer).
enum class PeerReuse : uint8_t {
    kOff,
    kOn,
};

// A connection this node dialled with Runtime::connect_tls(), after its
// handshake.
struct DialledConnection {
    Transport transport = Transport::kTls;
    PeerAuthentication peer_authentication = PeerAuthentication::kNone;
    const tls::SipIdentities* peer_identities = nullptr;  // not null
    // The host the server certificate had to name (connect_tls()'s peer_host,
    // the target URI's host) and the port dialled.
    std::string_view dialled_host;
    uint16_t dialled_port = 0;
    uint32_t local_identity_index = 0;  // our identity presented as client
};

enum class OfferVerdict : uint8_t {
    kOffer,          // put `alias` on our Via; d.key names the client-side row (CR-12..14)
    kNotConfigured,  // PeerReuse::kOff
    kNotTls,         // CR-44: never over another transport
    kUnverified,     // the server certificate was not verified (CR-11)
    kNoMatch,        // it does not name the dialled host (CR-11, CR-39)
};
inline constexpr size_t kOfferVerdictCount = 5;
std::string_view offer_verdict_name(OfferVerdict verdict);

struct [[nodiscard]] OfferDecision {
    OfferVerdict verdict = OfferVerdict::kNotConfigured;
    // Set exactly when kOffer: (dialled host canonical, dialled port or 5061,
    // kTls, local identity index).
    AliasKey key;
};

// RFC 5923 §8.1, §9.1: offer `alias` on requests sent over `dialled`.
OfferDecision decide_offer_alias(const DialledConnection& dialled, PeerReuse peer_reuse);

}  // namespace fe::reuse
