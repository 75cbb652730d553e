// Throughput of net/mailbox.h, the MPSC queue between workers: push + pop of a
// 56-byte item on one thread (the uncontended cost a post pays), and two
// producer threads feeding one consumer (the cross-core cost, cache lines
// moving between cores).
#include <benchmark/benchmark.h>

#include <atomic>
#include <thread>

#include "net/mailbox.h"

namespace fe::net {
namespace {

void BM_MailboxPushPopSingleThread(benchmark::State& state) {
    Mailbox<MailboxItem> box(4096);
    MailboxItem item;
    MailboxItem out;
    uint64_t sequence = 0;
    for (auto _ : state) {
        item.words[0] = sequence++;
        benchmark::DoNotOptimize(box.push(item));
        benchmark::DoNotOptimize(box.pop(out));
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MailboxPushPopSingleThread);

// Pushes a batch of 256, then drains it, as a worker's turn would.
void BM_MailboxBatch256SingleThread(benchmark::State& state) {
    Mailbox<MailboxItem> box(4096);
    MailboxItem item;
    uint64_t sum = 0;
    for (auto _ : state) {
        for (uint64_t i = 0; i < 256; ++i) {
            item.words[0] = i;
            benchmark::DoNotOptimize(box.push(item));
        }
        box.clear_wake();
        box.drain([&](const MailboxItem& m) { sum += m.words[0]; }, 256);
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations() * 256);
}
BENCHMARK(BM_MailboxBatch256SingleThread);

// Two producer threads push 200k items each; the benchmark thread drains. Counts
// items per second end to end, including retries on a full mailbox.
void BM_MailboxTwoProducers(benchmark::State& state) {
    constexpr uint64_t kItemsPerProducer = 200'000;
    for (auto _ : state) {
        Mailbox<MailboxItem> box(4096);
        std::atomic<bool> go{false};
        auto produce = [&](uint32_t producer) {
            while (!go.load(std::memory_order_acquire)) {
            }
            MailboxItem item;
            item.from_worker_index = producer;
            for (uint64_t i = 0; i < kItemsPerProducer; ++i) {
                item.words[0] = i;
                while (box.push(item) == PushResult::kFull) {
                    std::this_thread::yield();  // 3 threads share 2 cores here
                }
            }
        };
        std::thread first(produce, 0);
        std::thread second(produce, 1);
        go.store(true, std::memory_order_release);
        uint64_t received = 0;
        while (received < 2 * kItemsPerProducer) {
            box.clear_wake();
            const size_t count =
                box.drain([](const MailboxItem& m) { benchmark::DoNotOptimize(m); }, 256);
            received += count;
            if (count == 0) {
                std::this_thread::yield();
            }
        }
        first.join();
        second.join();
    }
    state.SetItemsProcessed(state.iterations() * 2 * kItemsPerProducer);
}
BENCHMARK(BM_MailboxTwoProducers)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace fe::net
