// Round trips of the Redis binding store (state/redis_store.h) against a local
// redis-server started here, from one real net::Worker (its io_uring polls and
// timer wheel), with `window` calls in flight: 1 is one REGISTER at a time,
// larger windows pipeline. apply() is a REGISTER refresh of one outbound
// binding with a Path (the Lua script); lookup() is HVALS plus decoding.
// Skipped (reported as an error) when /usr/bin/redis-server is missing.
//
//   flowedge-micro --benchmark_filter=RedisStore
#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "net/workers.h"
#include "state/redis_store.h"

namespace {

using namespace fe;
using namespace std::chrono_literals;

constexpr const char* kRedisServer = "/usr/bin/redis-server";
constexpr uint32_t kKindRun = 1;
constexpr int kBatch = 5000;
constexpr int kAorCount = 1000;

class RunHandler : public net::Handler {
public:
    void on_datagram(net::Runtime&, net::UdpSocketId, const Endpoint&, std::string_view,
                     Time) override {}
    size_t on_stream_data(net::Runtime&, net::ConnectionId, std::string_view b, Time) override {
        return b.size();
    }
    void on_connection_open(net::Runtime&, net::ConnectionId, const Endpoint&, Transport,
                            Time) override {}
    void on_connection_closed(net::Runtime&, net::ConnectionId, net::CloseReason, Time) override {}
    void on_mailbox(net::Runtime& runtime, const net::MailboxItem& item, Time) override {
        net::Worker& w = static_cast<net::Worker&>(runtime);
        if (item.kind == kKindRun) {
            (*reinterpret_cast<std::function<void(net::Worker&)>*>(item.words[0]))(w);
        }
    }
};

// One redis-server and one worker holding one store, for the whole binary.
struct Rig {
    pid_t redis_pid = -1;
    uint16_t port = 0;
    RunHandler handler;
    std::unique_ptr<net::Workers> workers;
    std::unique_ptr<state::RedisStore> store;  // Worker thread only.
    std::string error;

    Rig() {
        if (access(kRedisServer, X_OK) != 0) {
            error = "redis-server is not installed";
            return;
        }
        port = free_port();
        redis_pid = fork();
        if (redis_pid == 0) {
            const int null = open("/dev/null", O_WRONLY);
            dup2(null, 1);
            dup2(null, 2);
            const std::string p = std::to_string(port);
            execl(kRedisServer, kRedisServer, "--port", p.c_str(), "--bind", "127.0.0.1", "--save",
                  "", "--appendonly", "no", static_cast<char*>(nullptr));
            _exit(127);
        }
        net::WorkerConfig config;
        config.connection_count_max = 64;
        workers = std::make_unique<net::Workers>(
            net::WorkersConfig{.worker_count = 1, .listens = {}, .worker = config},
            std::vector<net::Handler*>{&handler});
        if (!workers->start().ok()) {
            error = "workers did not start";
            return;
        }
        const auto end = std::chrono::steady_clock::now() + 5s;
        bool connected = false;
        while (!connected && std::chrono::steady_clock::now() < end) {
            std::this_thread::sleep_for(20ms);
            run([&](net::Worker& w) {
                if (!store) {
                    state::RedisStoreConfig c;
                    c.port = port;
                    c.wall_clock_offset = std::chrono::duration_cast<Duration>(
                        std::chrono::system_clock::now().time_since_epoch() -
                        std::chrono::steady_clock::now().time_since_epoch());
                    store = std::make_unique<state::RedisStore>(c, w, w.timer_wheel());
                }
                connected = store->connected();
            });
        }
        if (!connected) {
            error = "the store did not connect to redis-server";
        }
    }

    ~Rig() {
        if (workers) {
            run([&](net::Worker&) { store.reset(); });
            workers->stop();
        }
        if (redis_pid > 0) {
            kill(redis_pid, SIGKILL);
            waitpid(redis_pid, nullptr, 0);
        }
    }

    // Runs `fn` on the worker's thread and waits until it returns.
    void run(std::function<void(net::Worker&)> fn) {
        std::promise<void> ran;
        std::function<void(net::Worker&)> wrapped = [&](net::Worker& w) {
            fn(w);
            ran.set_value();
        };
        net::MailboxItem item{.kind = kKindRun};
        item.words[0] = reinterpret_cast<uint64_t>(&wrapped);
        while (workers->post(0, item) != net::PostResult::kPosted) {
            std::this_thread::yield();
        }
        ran.get_future().wait();
    }

    static uint16_t free_port() {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        (void)bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
        socklen_t size = sizeof(address);
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
        close(fd);
        return ntohs(address.sin_port);
    }
};

Rig& rig() {
    static Rig r;
    return r;
}

// Keeps `window` calls in flight until `total` have completed, on the worker.
struct Driver {
    int total = 0;
    int window = 1;
    int issued = 0;
    int completed = 0;
    int failed = 0;
    std::function<void(Driver&, int)> issue;
    std::promise<void> done;

    void pump() {
        while (issued < total && issued - completed < window) {
            issue(*this, issued++);
        }
    }
    void on_done(state::StoreStatus s) {
        failed += s == state::StoreStatus::kOk ? 0 : 1;
        if (++completed == total) {
            done.set_value();
        } else {
            pump();
        }
    }
};

const std::vector<std::string>& aors() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> v;
        for (int i = 0; i < kAorCount; ++i) {
            v.push_back("sip:user" + std::to_string(i) + "@example.com");
        }
        return v;
    }();
    return names;
}

constexpr std::string_view kPath =
    "<sip:AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_@edge1.example.com;transport=tcp;lr;ob>";
constexpr std::string_view kContact =
    "<sip:alice@192.0.2.10:5060;transport=tcp;ob>;reg-id=1;"
    "+sip.instance=\"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>\"";

uint32_t g_cseq = 0;  // Worker thread only: every refresh has a higher CSeq.

void issue_apply(Driver& d, int i) {
    const std::string& aor = aors()[static_cast<size_t>(i % kAorCount)];
    const state::BindingUpdate binding{.action = state::BindingAction::kUpsert,
                                       .instance_key =
                                           "<urn:uuid:00000000-0000-1000-8000-aabbccddeeff>",
                                       .reg_id = 1,
                                       .contact_key = "sip:alice@192.0.2.10:5060;transport=tcp;ob",
                                       .contact = kContact,
                                       .contact_uri = "sip:alice@192.0.2.10:5060;transport=tcp;ob",
                                       .expires_in = seconds(3600)};
    const std::string_view path[] = {kPath};
    const state::RegisterUpdate update{.aor_key = aor,
                                       .call_id = "a84b4c76e66710@pc33.example.com",
                                       .cseq = ++g_cseq,
                                       .path = path,
                                       .flow_token = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_",
                                       .node_id = 1,
                                       .bindings = {&binding, 1}};
    Rig& r = rig();
    r.store->apply(update, r.workers->worker(0).now(),
                   [&d](state::StoreStatus s, const state::AorView&) { d.on_done(s); });
}

void issue_lookup(Driver& d, int i) {
    Rig& r = rig();
    r.store->lookup(aors()[static_cast<size_t>(i % kAorCount)], r.workers->worker(0).now(),
                    [&d](state::StoreStatus s, const state::AorView& v) {
                        benchmark::DoNotOptimize(v.bindings.data());
                        d.on_done(s);
                    });
}

void run_batches(benchmark::State& state, void (*issue)(Driver&, int)) {
    Rig& r = rig();
    if (!r.error.empty()) {
        state.SkipWithError(r.error.c_str());
        return;
    }
    int failed = 0;
    for (auto _ : state) {
        Driver d;
        d.total = kBatch;
        d.window = static_cast<int>(state.range(0));
        d.issue = issue;
        auto finished = d.done.get_future();
        r.run([&](net::Worker&) { d.pump(); });
        finished.wait();
        failed += d.failed;
    }
    state.SetItemsProcessed(state.iterations() * kBatch);
    state.counters["failed"] = failed;
}

void BM_RedisStoreApply(benchmark::State& state) { run_batches(state, &issue_apply); }
void BM_RedisStoreLookup(benchmark::State& state) { run_batches(state, &issue_lookup); }

BENCHMARK(BM_RedisStoreApply)->Arg(1)->Arg(16)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RedisStoreLookup)->Arg(1)->Arg(16)->Arg(256)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
