// File: core/ua/instance.h
//
// The +sip.instance of an emulated UA (RFC 5626 §4.1): a UUID URN in the
// RFC 4122 version 4 layout, derived deterministically from (identity seed,
// UA index). The same pair gives the same URN on every run and after every
// "reboot" (OB-UA-02/03); different indexes give different URNs (OB-UA-01).
// Keep the identity seed apart from the run seed of Rng, so a new run can
// change its randomness (Call-IDs, jitter) while the devices keep their ids.
//
//   fe::ua::InstanceId id = fe::ua::make_instance_id(identity_seed, ua_index);
//   id.urn();   // "urn:uuid:6f1c2e1a-5b0d-4c3e-9a7f-0123456789ab"
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace fe::ua {

struct InstanceId {
    // The 16 UUID octets, version nibble 4, variant bits 10 (RFC 4122 §4.4).
    std::array<uint8_t, 16> bytes{};
    // "urn:uuid:" + 36 lowercase characters (RFC 4122 §3 string form).
    std::array<char, 45> text{};

    std::string_view urn() const { return {text.data(), text.size()}; }
};

InstanceId make_instance_id(uint64_t identity_seed, uint64_t ua_index);

}  // namespace fe::ua
