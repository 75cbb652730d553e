// File: core/tls/limits.h
//
// Named limits of the RFC 5922 identity rules (core/tls/peer_identity.h), each
// with its reason (STYLE §7). A certificate is signed by a CA we trust, but its
// names are still input we did not write: these bound the work and the memory
// one peer certificate can cost.
//
//   if (names.uris.size() + names.dns_names.size() > fe::tls::kCertificateNameCountMax) ...
#pragma once

#include <cstddef>

#include "core/syntax/limits.h"

namespace fe::tls {

// Names read from one certificate: subjectAltName entries of every type we
// look at (URI, dNSName, iPAddress) plus the subject's Common Names. Multi-
// domain SIP certificates list tens of domains; public CAs cap a certificate
// at 100 SANs (CA/Browser Forum practice), so 100 is the cap. A certificate
// with more is marked truncated and yields no identity at all: keeping only
// the first names could drop the sip URIs and let dNSNames count (RFC 5922
// §7.1 lets a dNSName count only when no sip URI exists), so truncation must
// fail closed, never open.
inline constexpr size_t kCertificateNameCountMax = 100;

// Longest subjectAltName URI kept: the SIP URI limit of core/syntax. A longer
// one cannot be a SIP URI we would parse anyway.
inline constexpr size_t kCertificateUriSizeMax = syntax::kUriSizeMax;

// Longest dNSName, Common Name or IP text kept: a DNS name is at most 253
// characters in text form (RFC 1035 §2.3.4, 255 octets on the wire); we keep
// the host limit of core/syntax (255) so one trailing dot still fits.
inline constexpr size_t kCertificateDnsNameSizeMax = syntax::kHostSizeMax;

}  // namespace fe::tls
