// File: net/workers.h
//
// Starts N workers (one thread each, one per core) with their listeners and
// stops them cleanly. Listen specs ({Transport, Endpoint}) are parsed
// elsewhere (cluster/); every worker gets its own socket per spec with
// SO_REUSEPORT, so the kernel spreads datagrams and connections over them.
//
// Two steps, so that a port 0 works: bind() opens every listener and
// listening() then holds the ports the kernel chose; start() runs the
// threads. Each worker's handler is made by a factory on that worker's own
// thread once its ring exists, so the handler can arm timers and open
// ring-driven clients (Redis) in its constructor.
//
//   fe::net::Workers workers({.worker_count = 2,
//                             .listens = {{Transport::kUdp, *Endpoint::parse("0.0.0.0:0")},
//                                         {Transport::kTcp, *Endpoint::parse("0.0.0.0:0")}}},
//                            [&](fe::net::Worker& w) { return std::make_unique<MyHandler>(w); });
//   if (absl::Status s = workers.bind(); !s.ok()) { die(s); }   // "address already in use"
//   uint16_t port = workers.listening()[0].endpoint.port;        // what the kernel chose
//   if (absl::Status s = workers.start(); !s.ok()) { die(s); }
//   ... on SIGTERM:
//   workers.stop();   // stop accepting, flush, close, join
#pragma once

#include <condition_variable>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "core/base/endpoint.h"
#include "net/handler.h"
#include "net/worker.h"

namespace fe::net {

struct ListenSpec {
    Transport transport = Transport::kUdp;  // kUdp, kTcp, or kTls (a TCP listener whose
                                            // connections speak TLS)
    Endpoint endpoint;  // port 0: the kernel picks one, the same for every worker
    // kTls: the server context (net/tls/tls_context.h), shared by every
    // worker; the caller keeps it alive until the workers are destroyed.
    const tls::TlsContext* tls = nullptr;
};

struct WorkersConfig {
    uint32_t worker_count = 1;
    std::vector<ListenSpec> listens;
    WorkerConfig worker;
};

class Workers {
public:
    // Makes worker `worker.index()`'s handler, on that worker's thread, after
    // its ring is set up and before its loop runs. Called from every worker
    // thread at once: it must only touch what belongs to that worker.
    using HandlerFactory = std::function<std::unique_ptr<Handler>(Worker& worker)>;

    // handlers: one per worker, owned by the caller, outliving this object.
    Workers(WorkersConfig config, std::vector<Handler*> handlers);
    // Handlers made by `make_handler`, owned here until this is destroyed.
    Workers(WorkersConfig config, HandlerFactory make_handler);
    ~Workers();  // stop()
    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;

    // Probes io_uring and binds every listener (refusing when an address is
    // taken); listening() then has the bound ports. Once only.
    absl::Status bind();
    // bind() if it was not called, then starts the threads and returns once
    // every worker's ring and handler are set up. On error nothing is left
    // running.
    absl::Status start();
    // Asks every worker to stop (stop accepting, flush, close) and joins them.
    // Idempotent.
    void stop();

    uint32_t worker_count() const { return static_cast<uint32_t>(workers_.size()); }
    Worker& worker(uint32_t index) { return *workers_[index]; }
    // Worker `index`'s handler (after start()); read it from another thread
    // only through what it makes safe to read (its counters), or after stop().
    Handler& handler(uint32_t index) { return *handlers_[index]; }
    // The listen specs as bound: a port 0 is replaced by the chosen port.
    const std::vector<ListenSpec>& listening() const { return listening_; }

    // From a thread that is not a worker (main, a signal thread, tests).
    PostResult post(uint32_t to_index, const MailboxItem& item);

private:
    absl::Status open_sockets(std::vector<std::vector<WorkerSocket>>& per_worker);
    void thread_main(uint32_t index, std::vector<WorkerSocket> sockets);

    const WorkersConfig config_;
    // One per worker: the caller's, or made by make_handler_ (then owned in
    // owned_handlers_, filled by each worker thread in its own slot).
    std::vector<Handler*> handlers_;
    HandlerFactory make_handler_;
    std::vector<std::unique_ptr<Handler>> owned_handlers_;
    // Sockets opened by bind(), per worker, until start() hands them over.
    std::vector<std::vector<WorkerSocket>> bound_;
    bool bound_done_ = false;
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
