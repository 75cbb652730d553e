// File: bench/tools/fe_udpflows.cc
//
// Creates many UDP flows on a server from one process: a raw socket
// (IPPROTO_RAW, so IP_HDRINCL; needs root) writes one datagram from each of
// --count distinct (127.x.y.z, port) sources to --target. Nothing listens on
// the sources, so the process holds no socket per flow and is not bound by
// the 20000 open-file limit, nor by flowedge-bench's ~250k UDP flows.
//
// The payload decides what the server does with it:
//   sip   (default) a stray "SIP/2.0 200 OK" whose Via is not the server's.
//         flowedge creates a UDP flow for every SIP datagram from a new source
//         (cluster/sip_worker.cc on_datagram), then drops the response as
//         not its own: a flow and nothing else, no answer on the wire.
//   stun  a STUN Binding request (20 bytes). flowedge answers it but creates
//         no flow for it (a keep-alive "creates none").
//   crlf  "\r\n\r\n": ignored on UDP, no flow either.
//
// Sources: address index i % 65536 inside --source-net (a /16 or larger,
// default 127.64.0.0/16) and port --port-base + i / 65536, so 1,000,000
// flows use 65,536 addresses x 16 ports. --passes 2 sends the same sources
// again: a datagram the kernel dropped on the first pass (socket buffer full)
// creates its flow on the second, and the rest only refresh theirs.
//
//   fe-udpflows --target 127.0.0.1:5060 --count 1000000 --rate 100000 --passes 2
//   -> udpflows count=1000000 passes=2 sent=2000000 secs=20.1 rate=99500/s
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// Datagrams per sendmmsg: large enough that the syscall is amortised, small
// enough that a burst does not overrun the loopback backlog
// (net.core.netdev_max_backlog, 1000 by default) or the server's buffer.
constexpr uint32_t kBatchCount = 32;
constexpr uint32_t kPayloadSizeMax = 512;
constexpr uint32_t kAddressesPerPort = 65536;

struct Options {
    sockaddr_in target{};
    uint64_t count = 1'000'000;
    double rate = 100'000;
    uint32_t passes = 1;
    uint32_t source_base = 0;  // host order, first address of the net
    uint16_t port_base = 10000;
    std::string payload = "sip";
};

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "fe-udpflows: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

void usage() {
    std::fprintf(stderr,
                 "usage: fe-udpflows --target HOST:PORT [--count N] [--rate PER_S] [--passes K]\n"
                 "       [--source-net A.B.0.0/16] [--port-base P] [--payload sip|stun|crlf]\n");
    std::exit(2);
}

Options parse_options(int argc, char** argv) {
    Options o;
    o.target.sin_family = AF_INET;
    o.target.sin_port = htons(5060);
    o.target.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    o.source_base = (127u << 24) | (64u << 16);
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        const std::string v = argv[i + 1];
        if (a == "--target") {
            const size_t colon = v.rfind(':');
            if (colon == std::string::npos ||
                inet_pton(AF_INET, v.substr(0, colon).c_str(), &o.target.sin_addr) != 1) {
                usage();
            }
            o.target.sin_port = htons(static_cast<uint16_t>(std::atoi(v.c_str() + colon + 1)));
        } else if (a == "--count") {
            o.count = std::strtoull(v.c_str(), nullptr, 10);
        } else if (a == "--rate") {
            o.rate = std::atof(v.c_str());
        } else if (a == "--passes") {
            o.passes = static_cast<uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
        } else if (a == "--source-net") {
            in_addr net{};
            const size_t slash = v.find('/');
            if (slash == std::string::npos ||
                inet_pton(AF_INET, v.substr(0, slash).c_str(), &net) != 1 ||
                std::atoi(v.c_str() + slash + 1) > 16) {
                usage();
            }
            o.source_base = ntohl(net.s_addr);
        } else if (a == "--port-base") {
            o.port_base = static_cast<uint16_t>(std::atoi(v.c_str()));
        } else if (a == "--payload") {
            o.payload = v;
        } else {
            usage();
        }
    }
    if (argc % 2 == 0 || o.count == 0 || o.rate <= 0 || o.passes == 0) usage();
    if (o.payload != "sip" && o.payload != "stun" && o.payload != "crlf") usage();
    if (o.port_base + o.count / kAddressesPerPort > 65535) usage();
    return o;
}

size_t make_payload(const Options& o, char* out) {
    if (o.payload == "stun") {
        const uint8_t req[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42, 1, 2,
                                 3,    4,    5,    6,    7,    8,    9,    10,   11, 12};
        std::memcpy(out, req, sizeof(req));
        return sizeof(req);
    }
    if (o.payload == "crlf") {
        std::memcpy(out, "\r\n\r\n", 4);
        return 4;
    }
    // The branch lacks flowedge's own prefix, so the response is "not ours".
    const char* sip =
        "SIP/2.0 200 OK\r\n"
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKudpflows\r\n"
        "From: <sip:a@example.com>;tag=1\r\n"
        "To: <sip:b@example.com>;tag=2\r\n"
        "Call-ID: udpflows\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n"
        "\r\n";
    const size_t n = std::strlen(sip);
    std::memcpy(out, sip, n);
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse_options(argc, argv);
    const int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // IP_HDRINCL implied
    if (fd < 0) die("socket(SOCK_RAW) (run as root)");
    int sndbuf = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

    char payload[kPayloadSizeMax];
    const size_t payload_size = make_payload(o, payload);
    const size_t packet_size = sizeof(iphdr) + sizeof(udphdr) + payload_size;
    // One packet buffer per batch slot; only the source address and port differ.
    std::vector<std::vector<char>> packets(kBatchCount, std::vector<char>(packet_size));
    for (auto& p : packets) {
        auto* ip = reinterpret_cast<iphdr*>(p.data());
        ip->version = 4;
        ip->ihl = 5;
        ip->tot_len = htons(static_cast<uint16_t>(packet_size));
        ip->ttl = 64;
        ip->protocol = IPPROTO_UDP;
        ip->daddr = o.target.sin_addr.s_addr;  // id and checksum: filled by the kernel
        auto* udp = reinterpret_cast<udphdr*>(p.data() + sizeof(iphdr));
        udp->dest = o.target.sin_port;
        udp->len = htons(static_cast<uint16_t>(sizeof(udphdr) + payload_size));
        udp->check = 0;  // optional in IPv4 (RFC 768)
        std::memcpy(p.data() + sizeof(iphdr) + sizeof(udphdr), payload, payload_size);
    }
    iovec iov[kBatchCount];
    mmsghdr msgs[kBatchCount];
    for (uint32_t k = 0; k < kBatchCount; ++k) {
        iov[k] = {packets[k].data(), packet_size};
        msgs[k] = {};
        msgs[k].msg_hdr.msg_name = const_cast<sockaddr_in*>(&o.target);
        msgs[k].msg_hdr.msg_namelen = sizeof(o.target);
        msgs[k].msg_hdr.msg_iov = &iov[k];
        msgs[k].msg_hdr.msg_iovlen = 1;
    }

    const auto start = Clock::now();
    const uint64_t total = o.count * o.passes;
    uint64_t sent = 0, failed = 0;
    while (sent < total) {
        const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(kBatchCount, total - sent));
        for (uint32_t k = 0; k < n; ++k) {
            const uint64_t i = (sent + k) % o.count;
            auto* ip = reinterpret_cast<iphdr*>(packets[k].data());
            ip->saddr = htonl(o.source_base + static_cast<uint32_t>(i % kAddressesPerPort));
            auto* udp = reinterpret_cast<udphdr*>(packets[k].data() + sizeof(iphdr));
            udp->source = htons(static_cast<uint16_t>(o.port_base + i / kAddressesPerPort));
        }
        const int done = sendmmsg(fd, msgs, n, 0);
        if (done < 0) {
            if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) die("sendmmsg");
            ++failed;
            std::this_thread::sleep_for(std::chrono::microseconds(200));
            continue;  // the same batch again
        }
        sent += static_cast<uint32_t>(done);
        // Pace: never ahead of rate * elapsed.
        const auto due = start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(static_cast<double>(sent) / o.rate));
        if (due > Clock::now()) std::this_thread::sleep_until(due);
    }
    const double secs = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("udpflows count=%llu passes=%u payload=%s sent=%llu secs=%.2f rate=%.0f/s "
                "send_retries=%llu\n",
                static_cast<unsigned long long>(o.count), o.passes, o.payload.c_str(),
                static_cast<unsigned long long>(sent), secs, static_cast<double>(sent) / secs,
                static_cast<unsigned long long>(failed));
    close(fd);
    return 0;
}
