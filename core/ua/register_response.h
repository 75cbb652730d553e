// File: core/ua/register_response.h
//
// Decodes a parsed response to one of our REGISTERs into the RegisterResponse
// the flow machine (flow_fsm.h) takes: status, `outbound` in Require,
// Flow-Timer, the expiry granted to OUR binding, Retry-After, Min-Expires.
// The registrar lists every binding of the AOR in its 200 (RFC 3261
// §10.3 step 8); ours is the Contact with our +sip.instance and reg-id
// (RFC 5626 §6), or, for a plain registration, the only one with our
// instance. Malformed header values count as absent: the flow machine then
// treats the 2xx as not granting a binding, which fails the flow.
//
//   fe::sip::Message m;
//   if (m.parse(bytes) == fe::sip::ParseError::kOk && !m.is_request()) {
//       fe::ua::RegisterResponse r =
//           fe::ua::read_register_response(m, instance.urn(), /*reg_id=*/1);
//       ua.on_register_response(flow_index, now, r, actions);
//   }
#pragma once

#include <cstdint>
#include <string_view>

#include "core/sip/message.h"
#include "core/ua/flow_fsm.h"

namespace fe::ua {

// `reg_id` 0 matches the Contact with our instance and no reg-id.
RegisterResponse read_register_response(const sip::Message& response,
                                        std::string_view instance_urn, uint32_t reg_id);

}  // namespace fe::ua
