// File: net/tls/internal/pem.h
//
// Reading the PEM files of a TLS configuration, with errors that name the
// file and say what to do (control plane, STYLE §6).
//
//   FE_ASSIGN_OR_RETURN(std::string pem, read_pem_file("TLS certificate chain", path));
//   FE_ASSIGN_OR_RETURN(auto certs, parse_certificates("TLS certificate chain", path, pem));
#pragma once

#include <openssl/base.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace fe::net::tls::internal {

// The whole file (at most kTlsPemFileSizeMax bytes). `what` names the file's
// role in messages ("TLS CA file").
absl::StatusOr<std::string> read_pem_file(std::string_view what, const std::string& path);

// Every CERTIFICATE block, in file order; an error when there is none or one
// does not parse.
absl::StatusOr<std::vector<bssl::UniquePtr<X509>>> parse_certificates(std::string_view what,
                                                                      const std::string& path,
                                                                      std::string_view pem);

// The first private key (PKCS#8 "PRIVATE KEY", "RSA PRIVATE KEY" or "EC
// PRIVATE KEY"); encrypted keys are refused.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> parse_private_key(const std::string& path,
                                                            std::string_view pem);

}  // namespace fe::net::tls::internal
