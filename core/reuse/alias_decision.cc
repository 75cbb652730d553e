#include "core/reuse/alias_decision.h"

#include <optional>
#include <utility>

#include "core/base/assert.h"
#include "core/reuse/limits.h"

namespace fe::reuse {

std::string_view alias_verdict_name(AliasVerdict verdict) {
    switch (verdict) {
        case AliasVerdict::kAlias:
            return "alias";
        case AliasVerdict::kNoAliasParam:
            return "no-alias-param";
        case AliasVerdict::kIgnored:
            return "ignored";
        case AliasVerdict::kNotTls:
            return "not-tls";
        case AliasVerdict::kViaNotTls:
            return "via-not-tls";
        case AliasVerdict::kNoCertificate:
            return "no-certificate";
        case AliasVerdict::kUnverified:
            return "unverified";
        case AliasVerdict::kNoIdentity:
            return "no-identity";
        case AliasVerdict::kSentByNotInCertificate:
            return "sent-by-not-in-certificate";
        case AliasVerdict::kBadSentBy:
            return "bad-sent-by";
    }
    return "?";
}

std::string_view offer_verdict_name(OfferVerdict verdict) {
    switch (verdict) {
        case OfferVerdict::kOffer:
            return "offer";
        case OfferVerdict::kNotConfigured:
            return "not-configured";
        case OfferVerdict::kNotTls:
            return "not-tls";
        case OfferVerdict::kUnverified:
            return "unverified";
        case OfferVerdict::kNoMatch:
            return "no-match";
    }
    return "?";
}

namespace {

AliasVerdict authentication_verdict(PeerAuthentication authentication,
                                    const tls::SipIdentities& identities) {
    switch (authentication) {
        case PeerAuthentication::kNone:
            return AliasVerdict::kNoCertificate;
        case PeerAuthentication::kUnverified:
            return AliasVerdict::kUnverified;
        case PeerAuthentication::kVerified:
            break;
    }
    if (identities.empty()) {
        return AliasVerdict::kNoIdentity;
    }
    return AliasVerdict::kAlias;
}

AliasVerdict match_verdict(tls::MatchResult match) {
    switch (match) {
        case tls::MatchResult::kMatch:
            return AliasVerdict::kAlias;
        case tls::MatchResult::kNoMatch:
            return AliasVerdict::kSentByNotInCertificate;
        case tls::MatchResult::kNoIdentity:
            return AliasVerdict::kNoIdentity;
        case tls::MatchResult::kBadHost:
            return AliasVerdict::kBadSentBy;
    }
    return AliasVerdict::kBadSentBy;
}

}  // namespace

AliasDecision decide_alias(const syntax::Via& top_via, const ReceivedConnection& over,
                           const AliasOptions& options) {
    FE_ASSERT(over.peer_identities != nullptr);
    AliasDecision decision;
    // CR-01: only the flag (parse_via() leaves `alias` false for "alias=x").
    if (!top_via.alias) {
        decision.verdict = AliasVerdict::kNoAliasParam;
        return decision;
    }
    if (options.mode == AliasMode::kIgnore) {  // CR-23, CR-24
        decision.verdict = AliasVerdict::kIgnored;
        return decision;
    }
    // Checked before the certificate: plain TCP has none, and the verdict
    // should say why it can never have one (CR-44).
    if (over.transport != Transport::kTls) {
        decision.verdict = AliasVerdict::kNotTls;
        return decision;
    }
    if (top_via.transport() != Transport::kTls) {
        decision.verdict = AliasVerdict::kViaNotTls;
        return decision;
    }
    decision.verdict = authentication_verdict(over.peer_authentication, *over.peer_identities);
    if (decision.verdict != AliasVerdict::kAlias) {
        return decision;
    }
    // CR-48 as a rule: the sent-by host must be one of the certificate's
    // identities (RFC 5922 §7.2 comparison, CR-42).
    decision.verdict = match_verdict(tls::match_sip_identity(*over.peer_identities, top_via.host));
    if (decision.verdict != AliasVerdict::kAlias) {
        return decision;
    }
    std::optional<tls::SipIdentity> host = tls::canonical_host(top_via.host);
    // match_sip_identity() compares exactly this form, so a match has one.
    FE_ASSERT(host.has_value());
    FE_ASSERT(!host->name.empty());
    FE_ASSERT(host->name.size() <= kAliasHostSizeMax);
    decision.key.host = std::move(host->name);
    decision.key.port = top_via.has_port() ? top_via.port : kTlsDefaultPort;  // CR-27
    decision.key.transport = Transport::kTls;
    decision.key.local_identity_index = over.local_identity_index;
    return decision;
}

OfferDecision decide_offer_alias(const DialledConnection& dialled, PeerReuse peer_reuse) {
    FE_ASSERT(dialled.peer_identities != nullptr);
    OfferDecision decision;
    if (peer_reuse == PeerReuse::kOff) {
        decision.verdict = OfferVerdict::kNotConfigured;
        return decision;
    }
    if (dialled.transport != Transport::kTls) {  // CR-44
        decision.verdict = OfferVerdict::kNotTls;
        return decision;
    }
    if (dialled.peer_authentication != PeerAuthentication::kVerified) {  // CR-11
        decision.verdict = OfferVerdict::kUnverified;
        return decision;
    }
    // CR-11, CR-39: the server certificate names the host we dialled. The
    // worker closes such a connection anyway (RFC 5922 §7.3); checked here
    // again so that no `alias` is ever offered on an unmatched connection.
    if (tls::match_sip_identity(*dialled.peer_identities, dialled.dialled_host) !=
        tls::MatchResult::kMatch) {
        decision.verdict = OfferVerdict::kNoMatch;
        return decision;
    }
    std::optional<tls::SipIdentity> host = tls::canonical_host(dialled.dialled_host);
    FE_ASSERT(host.has_value());
    decision.verdict = OfferVerdict::kOffer;
    decision.key.host = std::move(host->name);
    decision.key.port = dialled.dialled_port != 0 ? dialled.dialled_port : kTlsDefaultPort;
    decision.key.transport = Transport::kTls;
    decision.key.local_identity_index = dialled.local_identity_index;
    return decision;
}

}  // namespace fe::reuse
