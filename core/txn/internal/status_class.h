// File: core/txn/internal/status_class.h
//
// Status-code classes and deadline arithmetic shared by the four machines.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "core/base/time.h"

namespace fe::txn::internal {

// A disarmed timer: fe::txn::kNever, spelled here so internal/ needs no public header.
inline constexpr Time kNeverTime = Time::max();

constexpr bool is_valid_status(uint16_t code) { return code >= 100 && code <= 699; }
constexpr bool is_provisional(uint16_t code) { return code >= 100 && code <= 199; }
constexpr bool is_success(uint16_t code) { return code >= 200 && code <= 299; }

// The earlier of two deadlines; nullopt when both are disarmed.
inline std::optional<Time> earliest(Time a, Time b) {
    Time t = std::min(a, b);
    if (t == kNeverTime) {
        return std::nullopt;
    }
    return t;
}

}  // namespace fe::txn::internal
