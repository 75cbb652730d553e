// File: core/outbound/registrar_limits.h
//
// Named limits of the registrar decision (core/outbound/registrar.h), each with
// its reason (STYLE §7). Kept in their own file so the registrar does not edit
// a limits.h the edge and proxy authors share; fold into core/outbound/limits.h
// when that exists.
//
//   static_assert(fe::outbound::kContactCountPerRegisterMax <= 64);
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/syntax/limits.h"

namespace fe::outbound {

// Contact values one REGISTER may carry. A UA registers one contact per flow
// (RFC 5626 §4.2.1: one Contact with reg-id per REGISTER) and may remove a
// few stale ones in the same request; third-party tools register a handful.
// More is abuse and gets 400 "Too Many Contacts".
inline constexpr uint32_t kContactCountPerRegisterMax = 16;

// Path values one REGISTER may carry (RFC 3327). Each proxy between the UA
// and the registrar adds one; real deployments have 1-3. The whole vector is
// stored per binding, so it is bounded.
inline constexpr uint32_t kPathCountPerRegisterMax = 8;

// Call-ID bytes we store per binding. Call-IDs are ~40-80 bytes in practice;
// a 256-byte cap keeps a binding's size predictable. Longer gets 400.
inline constexpr size_t kCallIdSizeMax = 256;

// Bytes of derived keys one decision holds (canonical AOR key, instance keys,
// plain-contact keys). Each key is never longer than the text it comes from,
// so this covers an AOR of 2 KiB plus the contacts of a normal REGISTER many
// times over; a REGISTER whose keys do not fit gets 400 "Contacts Too Large".
inline constexpr size_t kRegisterKeyArenaSizeMax = 16 * 1024;
static_assert(kRegisterKeyArenaSizeMax >= syntax::kAorKeySizeMax + syntax::kInstanceKeySizeMax,
              "the largest AOR key and one instance key must fit");

// RFC 3261 §10.3 step 7: 423 is only allowed for intervals under one hour.
inline constexpr uint32_t kIntervalTooBriefCeilingS = 3600;

// Defaults of RegistrarConfig. 60 s minimum: RFC 3261 §10.2.1.1's example
// Min-Expires, and short enough for mobile UAs that re-register often;
// 3600 s default and maximum: RFC 3261 §10.2.1.1's default registration
// lifetime.
inline constexpr uint32_t kExpiresMinDefaultS = 60;
inline constexpr uint32_t kExpiresMaxDefaultS = 3600;
inline constexpr uint32_t kExpiresDefaultS = 3600;

// Bindings a 200 can list: the store keeps at most this many per AOR
// (state::kBindingCountPerAorMax must not exceed it; checked in cluster/).
inline constexpr uint32_t kListedBindingCountMax = 64;

}  // namespace fe::outbound
