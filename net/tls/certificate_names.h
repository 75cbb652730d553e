// File: net/tls/certificate_names.h
//
// The glue between BoringSSL's X.509 types and the pure RFC 5922 rules of
// core/tls/peer_identity.h: copies the subjectAltName entries (URI, dNSName,
// iPAddress) and the subject Common Names of a certificate into a
// fe::tls::CertificateNames, which find_sip_identities() then reads.
//
//   bssl::UniquePtr<X509> leaf(X509_parse_from_buffer(buffer));
//   fe::tls::CertificateNames names = fe::net::tls::certificate_names(*leaf);
//   fe::tls::SipIdentities ids = fe::tls::find_sip_identities(names);
//
// Bounded (core/tls/limits.h): at most kCertificateNameCountMax names are
// copied; a certificate with more, or with a name over its size limit, comes
// back with `truncated` set and then yields no identity (fail closed). A
// subjectAltName extension that is present but does not decode (or appears
// twice) sets has_subject_alt_name with no entries, so neither its entries nor
// the Common Name give an identity.
#pragma once

#include <openssl/base.h>

#include "core/tls/peer_identity.h"

namespace fe::net::tls {

fe::tls::CertificateNames certificate_names(const X509& certificate);

// The same from DER bytes (as BoringSSL keeps peer certificates); a DER that
// does not parse gives empty names. `der` is not taken (X509_parse_from_buffer
// adds its own reference).
fe::tls::CertificateNames certificate_names_from_der(CRYPTO_BUFFER* der);

}  // namespace fe::net::tls
