#include "core/txn/action.h"

namespace fe::txn {

std::string_view action_kind_name(ActionKind kind) {
    switch (kind) {
        case ActionKind::kSendRequest: return "send-request";
        case ActionKind::kRetransmitRequest: return "retransmit-request";
        case ActionKind::kSendAck: return "send-ack";
        case ActionKind::kRetransmitAck: return "retransmit-ack";
        case ActionKind::kPassRequestToTu: return "pass-request-to-tu";
        case ActionKind::kSendTrying: return "send-trying";
        case ActionKind::kSendResponse: return "send-response";
        case ActionKind::kRetransmitResponse: return "retransmit-response";
        case ActionKind::kPassResponseToTu: return "pass-response-to-tu";
        case ActionKind::kTimeout: return "timeout";
        case ActionKind::kTransportError: return "transport-error";
        case ActionKind::kTerminated: return "terminated";
    }
    return "unknown";
}

}  // namespace fe::txn
