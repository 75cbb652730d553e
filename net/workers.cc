#include "net/workers.h"

#include <pthread.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "core/base/strings.h"
#include "core/base/assert.h"
#include "core/base/status.h"
#include "net/internal/socket.h"
#include "net/probe.h"

namespace fe::net {

Workers::Workers(WorkersConfig config, std::vector<Handler*> handlers)
    : config_(std::move(config)), handlers_(std::move(handlers)) {
    FE_ASSERT(config_.worker_count > 0);
    FE_ASSERT(config_.worker_count <= kWorkerCountMax);
    FE_ASSERT(handlers_.size() == config_.worker_count);
    FE_ASSERT(config_.listens.size() <= kListenerCountMax);
}

Workers::Workers(WorkersConfig config, HandlerFactory make_handler)
    : config_(std::move(config)),
      handlers_(config_.worker_count, nullptr),
      make_handler_(std::move(make_handler)),
      owned_handlers_(config_.worker_count) {
    FE_ASSERT(config_.worker_count > 0);
    FE_ASSERT(config_.worker_count <= kWorkerCountMax);
    FE_ASSERT(config_.listens.size() <= kListenerCountMax);
    FE_ASSERT(make_handler_ != nullptr);
}

Workers::~Workers() {
    stop();
    for (auto& sockets : bound_) {
        for (WorkerSocket& s : sockets) {
            ::close(s.fd);
        }
    }
    // Handlers before their workers: a handler may hold timers on its
    // worker's wheel. Every thread has ended, so this thread may touch them.
    owned_handlers_.clear();
    workers_.clear();
}

absl::Status Workers::open_sockets(std::vector<std::vector<WorkerSocket>>& per_worker) {
    per_worker.resize(config_.worker_count);
    listening_ = config_.listens;
    for (uint32_t w = 0; w < config_.worker_count; ++w) {
        for (size_t i = 0; i < listening_.size(); ++i) {
            // Worker 0 binds first; the others reuse the port it got, so that a
            // port 0 spec means one port shared by every worker.
            auto socket = internal::open_listen_socket(listening_[i].transport,
                                                       listening_[i].endpoint);
            if (!socket.ok()) {
                for (auto& sockets : per_worker) {
                    for (WorkerSocket& s : sockets) {
                        ::close(s.fd);
                    }
                }
                per_worker.clear();
                return socket.status();
            }
            if (w == 0) {
                listening_[i].endpoint = socket->local;
            }
            per_worker[w].push_back(WorkerSocket{listening_[i].transport, socket->fd,
                                                 socket->local, listening_[i].tls});
        }
    }
    return absl::OkStatus();
}

absl::Status Workers::bind() {
    FE_ASSERT(!bound_done_);
    for (const ListenSpec& spec : config_.listens) {
        const bool over_tls =
            spec.transport == Transport::kTls || spec.transport == Transport::kWss;
        if (over_tls != (spec.tls != nullptr)) {
            return absl::InvalidArgumentError(absl::StrCat(
                "listener ", to_absl(transport_param_name(spec.transport)), ":",
                spec.endpoint.to_string(),
                spec.tls == nullptr ? " needs a TLS context" : " is not tls but has a TLS context"));
        }
    }
    // The probe submits real io_uring requests; their completion task work is
    // queued to the submitting thread and interrupts that thread's next
    // blocking system call with EINTR. A throwaway thread takes it instead of
    // the caller (the node's main thread, or a test's).
    absl::StatusOr<RingFeatures> features = absl::InternalError("io_uring probe did not run");
    std::thread probe([&features] { features = probe_io_uring(); });
    probe.join();
    if (!features.ok()) {
        return features.status();
    }
    FE_RETURN_IF_ERROR(open_sockets(bound_));
    bound_done_ = true;
    return absl::OkStatus();
}

absl::Status Workers::start() {
    FE_ASSERT(workers_.empty());
    if (!bound_done_) {
        FE_RETURN_IF_ERROR(bind());
    }
    std::vector<std::vector<WorkerSocket>> per_worker = std::move(bound_);
    bound_.clear();
    for (uint32_t w = 0; w < config_.worker_count; ++w) {
        workers_.push_back(std::make_unique<Worker>(w, config_.worker, handlers_[w]));
        peers_.push_back(workers_.back().get());
    }
    for (auto& worker : workers_) {
        worker->set_peers(peers_);
    }
    for (uint32_t w = 0; w < config_.worker_count; ++w) {
        threads_.emplace_back(&Workers::thread_main, this, w, std::move(per_worker[w]));
    }
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return init_done_count_ == config_.worker_count; });
    verdict_ = init_status_.ok() ? Verdict::kRun : Verdict::kExit;
    changed_.notify_all();
    lock.unlock();
    if (verdict_ == Verdict::kExit) {
        for (std::thread& thread : threads_) {
            thread.join();
        }
        threads_.clear();
        peers_.clear();
        // Handlers before their workers: a handler may hold timers on its
        // worker's wheel.
        owned_handlers_.clear();
        workers_.clear();
        return init_status_;
    }
    return absl::OkStatus();
}

void Workers::thread_main(uint32_t index, std::vector<WorkerSocket> sockets) {
    const std::string name = absl::StrCat("fe-worker-", index);
    pthread_setname_np(pthread_self(), name.c_str());
    Worker& worker = *workers_[index];
    // The ring is created here: SINGLE_ISSUER ties it to this thread.
    absl::Status status = worker.init(std::move(sockets));
    if (status.ok() && make_handler_ != nullptr) {
        // Each thread writes only its own slot; start() reads them after the
        // handshake below.
        owned_handlers_[index] = make_handler_(worker);
        if (owned_handlers_[index] == nullptr) {
            status = absl::InternalError("could not make the worker's handler");
        } else {
            handlers_[index] = owned_handlers_[index].get();
            worker.set_handler(handlers_[index]);
        }
    }
    std::unique_lock lock(mutex_);
    if (!status.ok() && init_status_.ok()) {
        init_status_ = absl::Status(status.code(), absl::StrCat("worker ", index, ": ",
                                                                status.message()));
    }
    ++init_done_count_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return verdict_ != Verdict::kWait; });
    const bool run = verdict_ == Verdict::kRun;
    lock.unlock();
    if (run) {
        worker.run();
    }
}

void Workers::stop() {
    if (threads_.empty()) {
        return;
    }
    for (auto& worker : workers_) {
        worker->request_stop();
    }
    for (std::thread& thread : threads_) {
        thread.join();
    }
    threads_.clear();
}

PostResult Workers::post(uint32_t to_index, const MailboxItem& item) {
    if (to_index >= workers_.size()) {
        return PostResult::kNoWorker;
    }
    return workers_[to_index]->post_from_any_thread(item);
}

}  // namespace fe::net
