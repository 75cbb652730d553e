#include "cluster/worker_mail.h"

#include <array>

#include "net/limits.h"

namespace fe::cluster {

WorkerMail::WorkerMail(uint32_t worker_count, uint32_t ring_size)
    : worker_count_(worker_count), rings_(size_t{worker_count} * worker_count) {
    FE_ASSERT(worker_count > 0);
    for (uint32_t from = 0; from < worker_count; ++from) {
        for (uint32_t to = 0; to < worker_count; ++to) {
            if (from != to) {
                rings_[from * worker_count + to] = std::make_unique<net::ByteRing>(ring_size);
            }
        }
    }
}

MailResult WorkerMail::send(net::Runtime& runtime, uint32_t from, uint32_t to,
                            const ParcelHeader& header, std::span<const std::string_view> message) {
    FE_ASSERT(from != to);
    FE_ASSERT(message.size() <= net::kSendPartCountMax);
    std::array<std::string_view, net::kSendPartCountMax + 1> parts;
    parts[0] = std::string_view(reinterpret_cast<const char*>(&header), sizeof(header));
    for (size_t i = 0; i < message.size(); ++i) {
        parts[i + 1] = message[i];
    }
    if (!ring(from, to).write(std::span(parts.data(), message.size() + 1))) {
        return MailResult::kRingFull;
    }
    net::MailboxItem item;
    item.kind = kMailParcel;
    item.from_worker_index = from;
    if (runtime.post(to, item) != net::PostResult::kPosted) {
        return MailResult::kDoorbellFailed;
    }
    return MailResult::kSent;
}

}  // namespace fe::cluster
