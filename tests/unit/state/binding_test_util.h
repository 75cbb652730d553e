// File: tests/unit/state/binding_test_util.h
//
// Builders shared by the binding store tests (embedded and Redis), so both
// backends are driven with the very same updates.
#pragma once

#include <string_view>
#include <vector>

#include "core/base/time.h"
#include "state/binding_store.h"

namespace fe::state::test {

inline const Time kT0 = Time{} + hours(1);

inline BindingUpdate outbound_update(std::string_view instance, uint32_t reg_id,
                                     std::string_view contact,
                                     Duration expires_in = seconds(3600)) {
    return BindingUpdate{.action = BindingAction::kUpsert,
                         .instance_key = instance,
                         .reg_id = reg_id,
                         .contact_key = contact,
                         .contact = contact,
                         .contact_uri = contact,
                         .expires_in = expires_in};
}

inline BindingUpdate plain_update(std::string_view contact, Duration expires_in = seconds(3600)) {
    return BindingUpdate{.action = BindingAction::kUpsert,
                         .contact_key = contact,
                         .contact = contact,
                         .contact_uri = contact,
                         .expires_in = expires_in};
}

inline BindingUpdate removal(BindingUpdate u) {
    u.action = BindingAction::kRemove;
    return u;
}

// What a store's callback saw.
struct Result {
    bool called = false;
    StoreStatus status = StoreStatus::kUnavailable;
    std::vector<Binding> bindings;
};

}  // namespace fe::state::test
