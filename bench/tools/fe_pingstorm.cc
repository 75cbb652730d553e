// File: bench/tools/fe_pingstorm.cc
//
// A small epoll client for keep-alive load that flowedge-bench does not do:
//
//   tcp   closed-loop CRLF ping storm: N TCP connections, each with one
//         "\r\n\r\n" outstanding; every "\r\n" pong sends the next ping
//         (RFC 5626 §4.4.1 keep-alives answered by the edge, OB-EDGE-17).
//   stun  closed-loop STUN Binding storm over UDP: N sockets, each with one
//         Binding request outstanding (RFC 5389; OB-STUN-*); a request with no
//         answer in 200 ms is sent again and counted as lost.
//   hold  opens N TCP connections, sends one CRLF ping on each (a "flow only":
//         no REGISTER), then keeps them idle, pinging every --ping-every s so
//         the server's Flow-Timer does not close them, until --duration ends.
//
// It prints one result line. For storms it also reads the server's CPU
// (utime+stime of every PID in --server-pids, /proc/PID/stat) at the start
// and end of the measured window, so server CPU per operation comes from the
// same interval as the rate (TESTING.md: /proc/stat under-counts on these VMs).
//
//   fe-pingstorm --mode tcp --target 127.0.0.1:5060 --conns 1000 --threads 1
//       --warmup 2 --duration 10 --server-pids 1234
//   -> pingstorm mode=tcp conns=1000 threads=1 secs=10.00 ops=2500000 rate=250000/s
//      lost=0 server_cpu_s=9.30 server_us_per_op=3.72 client_cpu_s=...
//
// Connections bind to many loopback sources (--source-net, default
// 127.9.0.0/16, IP_BIND_ADDRESS_NO_PORT) so one process can open more
// connections than one source address has ephemeral ports. One process holds
// at most ~19,900 descriptors here (RLIMIT_NOFILE 20000): run several for more.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Events taken per epoll_wait: a whole closed-loop round of 1,000 connections
// in one or two calls keeps the client's syscall count per ping near two.
constexpr int kEpollEventCountMax = 1024;
// A STUN request unanswered for this long is sent again (UDP may drop it when
// the server's socket buffer is full); far above a loopback round trip.
constexpr auto kStunRetransmitAfter = std::chrono::milliseconds(200);
// Connections per process: RLIMIT_NOFILE is 20000 on these machines, minus
// room for stdio, epoll and /proc reads.
constexpr uint32_t kConnectionCountMax = 19'900;

struct Options {
    std::string mode = "tcp";
    sockaddr_in target{};
    uint32_t conns = 1000;
    uint32_t threads = 1;
    double warmup_s = 2;
    double duration_s = 10;
    double ping_every_s = 30;
    uint32_t source_base = 0;  // host order
    uint32_t source_count = 65536;
    std::vector<int> server_pids;
};

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true); }

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "fe-pingstorm: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

bool parse_endpoint(const char* text, sockaddr_in& out) {
    std::string s(text);
    const size_t colon = s.rfind(':');
    if (colon == std::string::npos) {
        return false;
    }
    out.sin_family = AF_INET;
    out.sin_port = htons(static_cast<uint16_t>(std::atoi(s.c_str() + colon + 1)));
    return inet_pton(AF_INET, s.substr(0, colon).c_str(), &out.sin_addr) == 1;
}

bool parse_net(const char* text, uint32_t& base, uint32_t& count) {
    std::string s(text);
    const size_t slash = s.find('/');
    if (slash == std::string::npos) {
        return false;
    }
    in_addr a{};
    if (inet_pton(AF_INET, s.substr(0, slash).c_str(), &a) != 1) {
        return false;
    }
    const int prefix = std::atoi(s.c_str() + slash + 1);
    if (prefix < 8 || prefix > 32) {
        return false;
    }
    count = prefix == 32 ? 1 : (1u << (32 - prefix)) - 2;  // skip .0 and broadcast
    base = ntohl(a.s_addr) + (prefix == 32 ? 0 : 1);
    return true;
}

void usage() {
    std::fprintf(stderr,
                 "usage: fe-pingstorm --mode tcp|stun|hold --target HOST:PORT [--conns N]\n"
                 "       [--threads T] [--warmup S] [--duration S] [--ping-every S]\n"
                 "       [--source-net A.B.C.D/P] [--server-pids P1,P2,...]\n");
    std::exit(2);
}

Options parse_options(int argc, char** argv) {
    Options o;
    parse_endpoint("127.0.0.1:5060", o.target);
    parse_net("127.9.0.0/16", o.source_base, o.source_count);
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (i + 1 >= argc) {
            usage();
        }
        const char* v = argv[++i];
        if (a == "--mode") {
            o.mode = v;
        } else if (a == "--target") {
            if (!parse_endpoint(v, o.target)) usage();
        } else if (a == "--conns") {
            o.conns = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
        } else if (a == "--threads") {
            o.threads = static_cast<uint32_t>(std::strtoul(v, nullptr, 10));
        } else if (a == "--warmup") {
            o.warmup_s = std::atof(v);
        } else if (a == "--duration") {
            o.duration_s = std::atof(v);
        } else if (a == "--ping-every") {
            o.ping_every_s = std::atof(v);
        } else if (a == "--source-net") {
            if (!parse_net(v, o.source_base, o.source_count)) usage();
        } else if (a == "--server-pids") {
            for (char* p = const_cast<char*>(v); *p != '\0';) {
                o.server_pids.push_back(static_cast<int>(std::strtol(p, &p, 10)));
                while (*p == ',') ++p;
            }
        } else {
            usage();
        }
    }
    if (o.mode != "tcp" && o.mode != "stun" && o.mode != "hold") usage();
    if (o.conns == 0 || o.conns > kConnectionCountMax || o.threads == 0) usage();
    if (o.threads > o.conns) o.threads = o.conns;
    return o;
}

// utime+stime of the listed processes and all their threads, in seconds.
double server_cpu_s(const std::vector<int>& pids) {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    double total = 0;
    for (int pid : pids) {
        char path[64];
        std::snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        FILE* f = std::fopen(path, "r");
        if (f == nullptr) continue;
        char buf[1024];
        const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
        std::fclose(f);
        buf[n] = '\0';
        // Fields after the ")" of the command name: state is field 3, utime 14.
        const char* p = std::strrchr(buf, ')');
        if (p == nullptr) continue;
        unsigned long long ut = 0, st = 0;
        if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                        &st) == 2) {
            total += static_cast<double>(ut + st) / ticks;
        }
    }
    return total;
}

double self_cpu_s() {
    rusage r{};
    getrusage(RUSAGE_SELF, &r);
    return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

sockaddr_in source_of(const Options& o, uint32_t index) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_addr.s_addr = htonl(o.source_base + index % o.source_count);
    return s;
}

int open_tcp(const Options& o, uint32_t index) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    const int one = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    const sockaddr_in src = source_of(o, index);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof(src)) != 0) die("bind");
    if (connect(fd, reinterpret_cast<const sockaddr*>(&o.target), sizeof(o.target)) != 0) {
        die("connect");
    }
    return fd;
}

int open_udp(const Options& o, uint32_t index) {
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    const sockaddr_in src = source_of(o, index);
    if (bind(fd, reinterpret_cast<const sockaddr*>(&src), sizeof(src)) != 0) die("bind");
    if (connect(fd, reinterpret_cast<const sockaddr*>(&o.target), sizeof(o.target)) != 0) {
        die("connect");
    }
    return fd;
}

void set_nonblocking(int fd) {
    const int one = 1;
    if (ioctl(fd, FIONBIO, &one) != 0) die("FIONBIO");
}

// A Binding request: type 0x0001, length 0, magic cookie, 12-byte id.
void make_stun_request(uint8_t (&out)[20], uint32_t id) {
    const uint8_t head[8] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42};
    std::memcpy(out, head, sizeof(head));
    std::memset(out + 8, 0, 8);
    std::memcpy(out + 16, &id, sizeof(id));
}

struct alignas(64) ThreadCounters {
    std::atomic<uint64_t> ops{0};
    std::atomic<uint64_t> lost{0};
    std::atomic<uint64_t> errors{0};
};

// One thread's share of a storm: connections [first, first + count).
void run_storm(const Options& o, uint32_t first, uint32_t count, ThreadCounters& c) {
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    const bool tcp = o.mode == "tcp";
    std::vector<int> fds(count);
    std::vector<Clock::time_point> sent_at(count);
    std::vector<uint32_t> pending(count, 0);  // tcp: pong bytes still owed
    for (uint32_t i = 0; i < count; ++i) {
        fds[i] = tcp ? open_tcp(o, first + i) : open_udp(o, first + i);
        if (tcp) set_nonblocking(fds[i]);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.u32 = i;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) != 0) die("epoll_ctl");
    }
    uint8_t stun[20];
    auto send_one = [&](uint32_t i) {
        ssize_t n;
        if (tcp) {
            n = send(fds[i], "\r\n\r\n", 4, MSG_NOSIGNAL);
        } else {
            make_stun_request(stun, first + i);
            n = send(fds[i], stun, sizeof(stun), 0);
            sent_at[i] = Clock::now();
        }
        if (n < 0) c.errors.fetch_add(1, std::memory_order_relaxed);
    };
    for (uint32_t i = 0; i < count; ++i) send_one(i);
    epoll_event events[kEpollEventCountMax];
    char buf[512];
    auto last_scan = Clock::now();
    uint64_t ops = 0;
    while (!g_stop.load(std::memory_order_relaxed)) {
        const int n = epoll_wait(ep, events, kEpollEventCountMax, 50);
        for (int k = 0; k < n; ++k) {
            const uint32_t i = events[k].data.u32;
            const ssize_t got = recv(fds[i], buf, sizeof(buf), 0);
            if (got <= 0) {
                if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                    c.errors.fetch_add(1, std::memory_order_relaxed);
                    epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], nullptr);
                }
                continue;
            }
            if (tcp) {
                // Pongs are "\r\n"; a read may hold several or half of one.
                pending[i] += static_cast<uint32_t>(got);
                const uint32_t pongs = pending[i] / 2;
                pending[i] %= 2;
                if (pongs == 0) continue;
                ops += pongs;
            } else {
                if (got < 20 || buf[0] != 0x01 || buf[1] != 0x01) {
                    c.errors.fetch_add(1, std::memory_order_relaxed);
                }
                ++ops;
            }
            send_one(i);
        }
        c.ops.store(ops, std::memory_order_relaxed);
        if (!tcp && Clock::now() - last_scan > kStunRetransmitAfter / 2) {
            last_scan = Clock::now();
            for (uint32_t i = 0; i < count; ++i) {
                if (last_scan - sent_at[i] > kStunRetransmitAfter) {
                    c.lost.fetch_add(1, std::memory_order_relaxed);
                    send_one(i);
                }
            }
        }
    }
    for (int fd : fds) close(fd);
    close(ep);
}

int run_storm_mode(const Options& o) {
    std::vector<ThreadCounters> counters(o.threads);
    std::vector<std::thread> threads;
    const uint32_t per = o.conns / o.threads;
    for (uint32_t t = 0; t < o.threads; ++t) {
        const uint32_t first = t * per;
        const uint32_t count = t + 1 == o.threads ? o.conns - first : per;
        threads.emplace_back(run_storm, std::cref(o), first, count, std::ref(counters[t]));
    }
    auto total = [&](auto field) {
        uint64_t s = 0;
        for (auto& c : counters) s += (c.*field).load();
        return s;
    };
    std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup_s));
    const auto t0 = Clock::now();
    const uint64_t ops0 = total(&ThreadCounters::ops);
    const uint64_t lost0 = total(&ThreadCounters::lost);
    const double cpu0 = server_cpu_s(o.server_pids);
    const double self0 = self_cpu_s();
    std::this_thread::sleep_for(std::chrono::duration<double>(o.duration_s));
    const auto t1 = Clock::now();
    const uint64_t ops1 = total(&ThreadCounters::ops);
    const uint64_t lost1 = total(&ThreadCounters::lost);
    const double cpu1 = server_cpu_s(o.server_pids);
    const double self1 = self_cpu_s();
    g_stop.store(true);
    for (auto& t : threads) t.join();
    const double secs = std::chrono::duration<double>(t1 - t0).count();
    const double ops = static_cast<double>(ops1 - ops0);
    const double server = cpu1 - cpu0;
    std::printf(
        "pingstorm mode=%s conns=%u threads=%u secs=%.2f ops=%.0f rate=%.0f/s lost=%llu "
        "errors=%llu server_cpu_s=%.2f server_cpu_pct=%.0f server_us_per_op=%.2f "
        "client_cpu_s=%.2f\n",
        o.mode.c_str(), o.conns, o.threads, secs, ops, ops / secs,
        static_cast<unsigned long long>(lost1 - lost0),
        static_cast<unsigned long long>(total(&ThreadCounters::errors)), server,
        100.0 * server / secs, ops > 0 ? server * 1e6 / ops : 0.0, self1 - self0);
    return total(&ThreadCounters::errors) == 0 ? 0 : 1;
}

// Opens the connections, one ping each (the server answers every ping on a
// connection it accepted, so the pong proves the flow exists), then idles.
int run_hold_mode(const Options& o) {
    std::vector<int> fds(o.conns);
    uint32_t held = 0;
    for (uint32_t i = 0; i < o.conns && !g_stop.load(); ++i) {
        fds[i] = open_tcp(o, i);
        if (send(fds[i], "\r\n\r\n", 4, MSG_NOSIGNAL) != 4) die("send");
    }
    char buf[8];
    for (uint32_t i = 0; i < o.conns && !g_stop.load(); ++i) {
        timeval tv{5, 0};
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        if (recv(fds[i], buf, 2, MSG_WAITALL) == 2) ++held;
    }
    std::printf("hold: held=%u of %u\n", held, o.conns);
    std::fflush(stdout);
    const auto end = Clock::now() + std::chrono::duration<double>(o.duration_s);
    auto next_ping = Clock::now() + std::chrono::duration<double>(o.ping_every_s);
    while (!g_stop.load() && Clock::now() < end) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        if (Clock::now() < next_ping) continue;
        next_ping += std::chrono::duration<double>(o.ping_every_s);
        for (int fd : fds) {
            (void)send(fd, "\r\n\r\n", 4, MSG_NOSIGNAL);
            (void)recv(fd, buf, 2, MSG_WAITALL);
        }
    }
    for (int fd : fds) close(fd);
    std::printf("hold: closed=%u\n", o.conns);
    return held == o.conns ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse_options(argc, argv);
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    return o.mode == "hold" ? run_hold_mode(o) : run_storm_mode(o);
}
