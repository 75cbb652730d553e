// File: net/workers.h
//
// Starts N workers (one thread each, one per core) with their listeners and
// stops them cleanly. Listen specs ({Transport, Endpoint}) are parsed
// elsewhere (cluster/); every worker gets its own socket per spec with
// SO_REUSEPORT, so the kernel spreads datagrams and connections over them.
//
//   std::vector<fe::net::Handler*> handlers = ...;      // one per worker
//   fe::net::Workers workers({.worker_count = 2,
//                             .listens = {{Transport::kUdp, *Endpoint::parse("0.0.0.0:5060")},
//                                         {Transport::kTcp, *Endpoint::parse("0.0.0.0:5060")}}},
//                            handlers);
//   if (absl::Status s = workers.start(); !s.ok()) { die(s); }  // "address already in use"
//   ... on SIGTERM:
//   workers.stop();   // stop accepting, flush, close, join
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "core/base/endpoint.h"
#include "net/handler.h"
#include "net/worker.h"

namespace fe::net {

struct ListenSpec {
    Transport transport = Transport::kUdp;
    Endpoint endpoint;  // port 0: the kernel picks one, the same for every worker
};

struct WorkersConfig {
    uint32_t worker_count = 1;
    std::vector<ListenSpec> listens;
    WorkerConfig worker;
};

class Workers {
public:
    // handlers: one per worker, owned by the caller, outliving this object.
    Workers(WorkersConfig config, std::vector<Handler*> handlers);
    ~Workers();  // stop()
    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;

    // Probes io_uring, binds every listener (refusing when an address is
    // taken), starts the threads and returns once every worker's ring is set
    // up. On error nothing is left running.
    absl::Status start();
    // Asks every worker to stop (stop accepting, flush, close) and joins them.
    // Idempotent.
    void stop();

    uint32_t worker_count() const { return static_cast<uint32_t>(workers_.size()); }
    Worker& worker(uint32_t index) { return *workers_[index]; }
    // The listen specs as bound: a port 0 is replaced by the chosen port.
    const std::vector<ListenSpec>& listening() const { return listening_; }

    // From a thread that is not a worker (main, a signal thread, tests).
    PostResult post(uint32_t to_index, const MailboxItem& item);

private:
    absl::Status open_sockets(std::vector<std::vector<WorkerSocket>>& per_worker);
    void thread_main(uint32_t index, std::vector<WorkerSocket> sockets);

    const WorkersConfig config_;
    const std::vector<Handler*> handlers_;
    std::vector<ListenSpec> listening_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<Worker*> peers_;
    std::vector<std::thread> threads_;

    // Startup handshake (control plane only): each thread reports its init
    // result, then waits for the verdict to run or to exit.
    std::mutex mutex_;
    std::condition_variable changed_;
    uint32_t init_done_count_ = 0;
    absl::Status init_status_;
    enum class Verdict : uint8_t { kWait, kRun, kExit } verdict_ = Verdict::kWait;
};

}  // namespace fe::net
