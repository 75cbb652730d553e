// Transaction layer costs per message: one machine input (a retransmission
// answered, a timer fired) and one table round trip (insert, match a
// retransmission and its ACK, erase) in a table holding 10k live entries.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/txn/client_transaction.h"
#include "core/txn/server_transaction.h"
#include "core/txn/txn_table.h"

namespace {

using fe::txn::ActionList;
using fe::txn::Reliability;
using fe::txn::TimerConfig;

fe::Time at_ms(int64_t ms) { return fe::Time{} + fe::milliseconds(ms); }

// A REGISTER over UDP: start, 200 from the TU, one retransmission answered,
// Timer J.
void BM_ServerNonInviteLifecycle(benchmark::State& state) {
    TimerConfig config;
    for (auto _ : state) {
        fe::txn::ServerNonInviteTransaction txn(config, Reliability::kUnreliable);
        ActionList a = txn.start(at_ms(0));
        benchmark::DoNotOptimize(a);
        a = txn.on_tu_response(at_ms(1), 200);
        benchmark::DoNotOptimize(a);
        a = txn.on_request_retransmission(at_ms(500));
        benchmark::DoNotOptimize(a);
        a = txn.on_timer(*txn.next_deadline());
        benchmark::DoNotOptimize(a);
    }
}
BENCHMARK(BM_ServerNonInviteLifecycle);

// An unanswered INVITE over UDP: start, six Timer A firings, Timer B.
void BM_ClientInviteTimeoutSchedule(benchmark::State& state) {
    TimerConfig config;
    for (auto _ : state) {
        fe::txn::ClientInviteTransaction txn(config, Reliability::kUnreliable);
        ActionList a = txn.start(at_ms(0));
        while (!a.terminates()) {
            a = txn.on_timer(*txn.next_deadline());
            benchmark::DoNotOptimize(a);
        }
    }
}
BENCHMARK(BM_ClientInviteTimeoutSchedule);

// Insert a server INVITE transaction, match its retransmission and its ACK,
// erase it, with 10k other live transactions in the table.
void BM_TableServerRoundTrip(benchmark::State& state) {
    constexpr int kBackground = 10000;
    fe::txn::TxnTable table(fe::txn::kTransactionCountMax);
    std::string sent_by = "198.51.100.23:5060";
    for (int i = 0; i < kBackground; ++i) {
        std::string branch = "z9hG4bK.bg" + std::to_string(i) + "a8f3c2d1e0";
        (void)table.insert_server({branch, sent_by, "REGISTER"});
    }
    std::vector<std::string> branches;
    for (int i = 0; i < 1024; ++i) {
        branches.push_back("z9hG4bK.Kx" + std::to_string(i * 31337) + "c0ffee77");
    }
    size_t next = 0;
    for (auto _ : state) {
        const std::string& branch = branches[next++ & 1023];
        fe::txn::TxnInsertResult r = table.insert_server({branch, sent_by, "INVITE"});
        benchmark::DoNotOptimize(r);
        auto retransmission = table.find_server({branch, sent_by, "INVITE"});
        benchmark::DoNotOptimize(retransmission);
        auto ack = table.find_server({branch, sent_by, "ACK"});
        benchmark::DoNotOptimize(ack);
        bool erased = table.erase(r.id);
        benchmark::DoNotOptimize(erased);
    }
}
BENCHMARK(BM_TableServerRoundTrip);

// A response matched to its client transaction (the commonest lookup).
void BM_TableFindClient(benchmark::State& state) {
    fe::txn::TxnTable table(fe::txn::kTransactionCountMax);
    std::vector<std::string> branches;
    for (int i = 0; i < 10000; ++i) {
        branches.push_back("z9hG4bK-fe-" + std::to_string(i * 7919) + "-0");
        (void)table.insert_client({branches.back(), "INVITE"});
    }
    size_t next = 0;
    for (auto _ : state) {
        auto id = table.find_client({branches[next], "INVITE"});
        benchmark::DoNotOptimize(id);
        next = next + 1 == branches.size() ? 0 : next + 1;
    }
}
BENCHMARK(BM_TableFindClient);

}  // namespace
