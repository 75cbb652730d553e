// File: core/txn/action.h
//
// What a transaction machine asks its owner to do. Every input returns an
// ActionList; the owner carries the actions out in order (send first, then
// destroy on kTerminated), then re-arms its one wheel timer at
// next_deadline().
//
//   fe::txn::ActionList actions = txn.on_timer(now);
//   for (const fe::txn::Action& a : actions) {
//       switch (a.kind) {
//           case fe::txn::ActionKind::kRetransmitRequest: resend(stored_request); break;
//           case fe::txn::ActionKind::kTerminated: table.erase(id); break;
//           ...
//       }
//   }
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/base/assert.h"
#include "core/txn/limits.h"

namespace fe::txn {

enum class ActionKind : uint8_t {
    // Client: pass the request to the transport for its first transmission;
    // the owner keeps the bytes for retransmissions.
    kSendRequest,
    // Client: pass the kept request to the transport once more (Timer A / E).
    kRetransmitRequest,
    // INVITE client: build the ACK of §17.1.1.3 (Via, From, Call-ID,
    // Request-URI, Route and CSeq number from the request, To from the
    // response, method ACK), send it where the INVITE went, and keep it.
    kSendAck,
    // INVITE client: a final response was retransmitted; resend the kept ACK.
    kRetransmitAck,
    // Server: pass the request up to the TU.
    kPassRequestToTu,
    // INVITE server: build a 100 Trying (§8.2.6, no To tag added: §17.2.1)
    // and send it; it becomes the last response sent.
    kSendTrying,
    // Server: send the response the TU just passed (status_code); it becomes
    // the last response sent.
    kSendResponse,
    // Server: send the last response sent once more (status_code says which):
    // a request retransmission arrived, or Timer G fired.
    kRetransmitResponse,
    // Client: pass the response (status_code) up to the TU.
    kPassResponseToTu,
    // Inform the TU that the transaction failed: no final response before
    // Timer B / F (the TU answers 408 upstream), or no ACK before Timer H.
    kTimeout,
    // Inform the TU that the transport reported a failure sending (§17.1.4,
    // §17.2.4).
    kTransportError,
    // The machine reached Terminated: destroy it now (erase it from the table
    // and cancel its timer). Always the last action of a list.
    kTerminated,
};

std::string_view action_kind_name(ActionKind kind);

struct Action {
    ActionKind kind = ActionKind::kTerminated;
    // The response in question for kSendResponse, kRetransmitResponse and
    // kPassResponseToTu (100 for kSendTrying); 0 for every other kind.
    uint16_t status_code = 0;

    friend bool operator==(const Action&, const Action&) = default;
};

// A fixed-capacity list: an input never allocates.
class ActionList {
public:
    void push(ActionKind kind, uint16_t status_code = 0) {
        FE_ASSERT(count_ < kActionCountMax);
        actions_[count_] = Action{kind, status_code};
        ++count_;
    }

    size_t size() const { return count_; }
    bool empty() const { return count_ == 0; }
    const Action& operator[](size_t index) const {
        FE_ASSERT(index < count_);
        return actions_[index];
    }
    const Action* begin() const { return actions_.data(); }
    const Action* end() const { return actions_.data() + count_; }

    bool contains(ActionKind kind) const {
        for (const Action& a : *this) {
            if (a.kind == kind) {
                return true;
            }
        }
        return false;
    }
    // True when the list ends the transaction.
    bool terminates() const { return count_ > 0 && actions_[count_ - 1].kind == ActionKind::kTerminated; }

private:
    std::array<Action, kActionCountMax> actions_{};
    // Entries [0, count_) are set; count_ <= kActionCountMax.
    size_t count_ = 0;
};

}  // namespace fe::txn
