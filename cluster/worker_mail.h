// File: cluster/worker_mail.h
//
// Typed messages between the workers of one node, without a heap allocation
// per message: each ordered pair of workers has a net::ByteRing, and the
// sender rings the receiver's mailbox (net::Runtime::post, kind kMailParcel)
// after writing. A parcel is a fixed header followed by the SIP message it
// carries.
//
//   Parcel (record in the ring of from -> to):
//   +------------------+-------------------------------+
//   | ParcelHeader     | message bytes                 |
//   | sizeof(...) B    | up to kDeliverySizeMax        |
//   +------------------+-------------------------------+
//
//   fe::cluster::WorkerMail mail(worker_count);             // one per node
//   // sender (worker 0):
//   ParcelHeader h{.kind = ParcelKind::kDeliver, .flow = target};
//   if (mail.send(runtime, 0, 1, h, parts) != MailResult::kSent) { ++dropped; }
//   // receiver (worker 1), on a kMailParcel item from worker 0:
//   mail.receive(1, 0, [&](const ParcelHeader& h, std::string_view message) { ... });
//
// Both ends live on the node and outlive every worker thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/base/assert.h"
#include "core/token/flow_token.h"
#include "net/byte_ring.h"
#include "net/runtime.h"

namespace fe::cluster {

// Mailbox item kinds of the SIP workers.
inline constexpr uint32_t kMailParcel = 1;  // from_worker_index's ring has parcels

enum class ParcelKind : uint8_t {
    // Send `message` down the flow `flow` (a flow of the receiving worker).
    // When the flow is gone, a request is answered 430 the way a response
    // arriving from the network is routed (to the proxy branch, or back over
    // the flow its `fl` names); anything else is dropped.
    kDeliver,
    // A response to a branch of the receiver's home proxy.
    kProxyResponse,
    // A request that came in on a trunk flow (`flow`, of the sending worker;
    // its peer at `remote`) and whose Call-ID this worker owns: handle it as
    // if received here, answering through the sender's flow.
    kInbound,
    // Hold the flow `flow` (of the receiver) to a keep-alive interval of
    // flow_timer_s (OB-FT-02): the 2xx REGISTER that gave it went out from
    // the sender directly (UDP). No message.
    kFlowTimer,
};

struct ParcelHeader {
    ParcelKind kind = ParcelKind::kDeliver;
    // kDeliver: the flow now keeps alive at this interval (a 2xx REGISTER
    // with Flow-Timer going down it); 0: unchanged.
    uint32_t flow_timer_s = 0;
    token::Fields flow = {};
    // kInbound: the peer's address (received/rport; a stream token has none).
    Endpoint remote = {};
};
static_assert(std::is_trivially_copyable_v<ParcelHeader>, "copied byte-wise through the ring");

enum class [[nodiscard]] MailResult : uint8_t { kSent, kRingFull, kDoorbellFailed };

class WorkerMail {
  public:
    // ring_size: bytes of each pair's ring (a power of two).
    WorkerMail(uint32_t worker_count, uint32_t ring_size);
    WorkerMail(const WorkerMail&) = delete;
    WorkerMail& operator=(const WorkerMail&) = delete;

    // On worker `from`'s thread. kDoorbellFailed: the parcel is in the ring
    // but the receiver's mailbox was full; it goes with the next parcel's
    // doorbell, or the receiver's next sweep (receive_all()).
    MailResult send(net::Runtime& runtime, uint32_t from, uint32_t to, const ParcelHeader& header,
                    std::span<const std::string_view> message);

    // On worker `to`'s thread: every parcel waiting from `from`. `f(header,
    // message)`: the message view is valid during the call only.
    template <typename F>
    uint32_t receive(uint32_t to, uint32_t from, F&& f) {
        return ring(from, to).read_all([&](std::string_view record) {
            FE_ASSERT(record.size() >= sizeof(ParcelHeader));
            ParcelHeader header;
            std::memcpy(&header, record.data(), sizeof(header));
            f(header, record.substr(sizeof(header)));
        });
    }

    // On worker `to`'s thread: every parcel waiting from every worker (the
    // sweep's safety net for a lost doorbell).
    template <typename F>
    uint32_t receive_all(uint32_t to, F&& f) {
        uint32_t count = 0;
        for (uint32_t from = 0; from < worker_count_; ++from) {
            if (from != to) {
                count += receive(to, from, f);
            }
        }
        return count;
    }

    uint32_t worker_count() const { return worker_count_; }

  private:
    net::ByteRing& ring(uint32_t from, uint32_t to) {
        FE_ASSERT(from < worker_count_);
        FE_ASSERT(to < worker_count_);
        return *rings_[from * worker_count_ + to];
    }

    const uint32_t worker_count_;
    // [from * worker_count + to]; null on the diagonal.
    std::vector<std::unique_ptr<net::ByteRing>> rings_;
};

}  // namespace fe::cluster
