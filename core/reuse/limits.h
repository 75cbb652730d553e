// File: core/reuse/limits.h
//
// Named limits of RFC 5923 connection reuse (core/reuse), each with its reason
// (STYLE §7). An alias is created from what a verified peer wrote in its Via,
// so a peer proxy still decides how many rows it asks for: these bound what one
// peer, and all of them together, can make a worker hold.
//
//   fe::reuse::AliasTable table(fe::reuse::kAliasCountMax);
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/syntax/limits.h"

namespace fe::reuse {

// Alias rows per worker, by default. A row names one peer proxy's advertised
// (host, port) per virtual server of ours; a carrier edge peers with tens of
// proxies, each over a few connections per worker. 1024 rows is two orders of
// magnitude over that and costs ~100 kB per worker (a row is ~64 bytes plus
// its host and two hash slots). When full, a new alias is refused (counted),
// existing rows stay: the request is processed as if it had no `alias` (CR-24),
// and the only cost is that we connect out ourselves later (CR-25, CR-26).
inline constexpr size_t kAliasCountMax = 1024;

// Alias rows per connection. One peer proxy writes one sent-by per connection,
// two or three when it is multi-homed or runs several listeners (one per
// port). Without this cap one verified peer could spend the whole table by
// varying the sent-by port on one connection (65535 ports, every one of them
// "matching" its certificate, since the port is not in a certificate).
inline constexpr size_t kAliasPerConnectionCountMax = 8;
static_assert(kAliasPerConnectionCountMax <= kAliasCountMax, "one connection fits the table");

// The port of a sent-by without one on TLS (RFC 3261 §19.1.2, RFC 5923 §8.2,
// CR-27).
inline constexpr uint16_t kTlsDefaultPort = 5061;

// Longest host in a row: the host limit of core/syntax; a longer sent-by could
// not have been parsed.
inline constexpr size_t kAliasHostSizeMax = syntax::kHostSizeMax;

}  // namespace fe::reuse
