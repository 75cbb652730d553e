// flowedge: one node of the edge cluster. Parses the flags, starts the node,
// prints one "flowedge: listening on PROTO:HOST:PORT" line per bound listener
// and runs until SIGTERM or SIGINT, then stops accepting, flushes, closes and
// exits 0. Exit 2: bad flags; exit 1: the node could not start (the message
// says why, e.g. an address already in use).
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <string>

#include "absl/synchronization/mutex.h"
#include "cluster/config.h"
#include "cluster/node.h"

int main(int argc, char** argv) {
    auto config = fe::cluster::parse_args(argc, argv);
    if (!config.ok()) {
        std::fprintf(stderr, "%s\n", std::string(config.status().message()).c_str());
        return 2;
    }
    if (config->help) {
        std::fputs(fe::cluster::usage(), stdout);
        return 0;
    }
    // Block the stop signals before any worker thread exists, so every thread
    // inherits the mask and only sigwait() below takes them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    // A peer closing while we write must be an error value, not a signal.
    signal(SIGPIPE, SIG_IGN);
    // Debian's abseil records every Mutex acquisition in a lock graph to find
    // cycles: 4 % of a worker's time per REGISTER in a profile. The embedded
    // store takes at most its AOR shard then its flow shard, always in that
    // order (state/embedded_store.h), so there is no cycle to find.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

    fe::cluster::Node node(*config);
    if (absl::Status s = node.start(); !s.ok()) {
        std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
        return 1;
    }
    for (const fe::cluster::Listen& l : node.listening()) {
        std::printf("flowedge: listening on %s\n", l.to_string().c_str());
    }
    std::fflush(stdout);

    int signal_number = 0;
    while (sigwait(&stop_signals, &signal_number) != 0) {
    }
    std::printf("flowedge: %s: stopping\n", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    std::fflush(stdout);
    node.stop();
    std::printf("%s\n", node.stats_line().c_str());
    return 0;
}
