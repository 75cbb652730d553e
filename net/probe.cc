#include "net/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace fe::net {
namespace {

// -1 when the sysctl is absent (kernels before 6.6 have no switch).
int read_io_uring_disabled() {
    FILE* file = std::fopen("/proc/sys/kernel/io_uring_disabled", "r");
    if (file == nullptr) {
        return -1;
    }
    int value = -1;
    if (std::fscanf(file, "%d", &value) != 1) {
        value = -1;
    }
    std::fclose(file);
    return value;
}

absl::Status explain_setup_failure(int error) {
    const int disabled = read_io_uring_disabled();
    if (disabled == 2) {
        return absl::FailedPreconditionError(
            "io_uring is disabled (kernel.io_uring_disabled=2); set it to 0");
    }
    if (disabled == 1 && (error == EPERM || error == EACCES)) {
        return absl::FailedPreconditionError(
            "io_uring is limited to the group in kernel.io_uring_group "
            "(kernel.io_uring_disabled=1); add this user to that group or set it to 0");
    }
    if (error == ENOSYS) {
        return absl::FailedPreconditionError(
            "io_uring is not available in this kernel (ENOSYS); Linux 6.1 or newer is needed");
    }
    if (error == EPERM) {
        return absl::FailedPreconditionError(
            "io_uring_setup was refused (EPERM): a seccomp profile (container runtime) "
            "blocks it; allow io_uring_setup, io_uring_enter and io_uring_register");
    }
    if (error == ENOMEM) {
        return absl::ResourceExhaustedError(
            "io_uring_setup failed with ENOMEM: raise RLIMIT_MEMLOCK (ulimit -l) or "
            "use a kernel >= 5.12 that accounts ring memory to the cgroup");
    }
    return absl::InternalError(
        absl::StrCat("io_uring_setup failed: ", std::strerror(error)));
}

// Registers a two-buffer ring, receives one datagram through a multishot
// recvmsg and checks that the kernel kept the request armed.
bool try_multishot_recv(io_uring& ring) {
    constexpr uint32_t kEntries = 2;
    constexpr uint32_t kBufferSize = 256;
    const size_t ring_size = kEntries * sizeof(io_uring_buf);
    void* ring_memory = mmap(nullptr, ring_size, PROT_READ | PROT_WRITE,
                             MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (ring_memory == MAP_FAILED) {
        return false;
    }
    auto* buf_ring = static_cast<io_uring_buf_ring*>(ring_memory);
    static char buffers[kEntries][kBufferSize];
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(ring_memory);
    reg.ring_entries = kEntries;
    reg.bgid = 0;
    bool ok = false;
    int fd = -1;
    if (io_uring_register_buf_ring(&ring, &reg, 0) == 0) {
        io_uring_buf_ring_init(buf_ring);
        for (uint16_t i = 0; i < kEntries; ++i) {
            io_uring_buf_ring_add(buf_ring, buffers[i], kBufferSize, i,
                                  io_uring_buf_ring_mask(kEntries), i);
        }
        io_uring_buf_ring_advance(buf_ring, kEntries);
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t addr_size = sizeof(addr);
        if (fd >= 0 && bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_size) == 0) {
            msghdr msg{};
            msg.msg_namelen = sizeof(sockaddr_in6);
            io_uring_sqe* sqe = io_uring_get_sqe(&ring);
            io_uring_prep_recvmsg_multishot(sqe, fd, &msg, 0);
            sqe->flags |= IOSQE_BUFFER_SELECT;
            sqe->buf_group = 0;
            io_uring_sqe_set_data64(sqe, 1);
            io_uring_submit(&ring);
            const char payload = 'p';
            (void)sendto(fd, &payload, 1, 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
            io_uring_cqe* cqe = nullptr;
            __kernel_timespec timeout{.tv_sec = 1, .tv_nsec = 0};
            bool armed = true;
            if (io_uring_wait_cqe_timeout(&ring, &cqe, &timeout) == 0) {
                ok = cqe->res > 0 && (cqe->flags & IORING_CQE_F_MORE) != 0 &&
                     (cqe->flags & IORING_CQE_F_BUFFER) != 0;
                armed = (cqe->flags & IORING_CQE_F_MORE) != 0;
                io_uring_cqe_seen(&ring, cqe);
            }
            // Cancel the multishot and reap its last completion here: left to
            // ring teardown, the cancel would run as task work that interrupts
            // this thread's next blocking syscall (EINTR with SO_RCVTIMEO).
            if (armed) {
                sqe = io_uring_get_sqe(&ring);
                io_uring_prep_cancel64(sqe, 1, 0);
                io_uring_sqe_set_data64(sqe, 2);
                io_uring_submit(&ring);
            }
            while (armed && io_uring_wait_cqe_timeout(&ring, &cqe, &timeout) == 0) {
                if (cqe->user_data == 1 && (cqe->flags & IORING_CQE_F_MORE) == 0) {
                    armed = false;
                }
                io_uring_cqe_seen(&ring, cqe);
            }
            // The cancel's own completion.
            __kernel_timespec no_wait{.tv_sec = 0, .tv_nsec = 0};
            while (io_uring_wait_cqe_timeout(&ring, &cqe, &no_wait) == 0) {
                io_uring_cqe_seen(&ring, cqe);
            }
        }
        if (fd >= 0) {
            close(fd);
        }
        (void)io_uring_unregister_buf_ring(&ring, 0);
    }
    munmap(ring_memory, ring_size);
    return ok;
}

}  // namespace

static absl::StatusOr<RingFeatures> probe_once();

absl::StatusOr<RingMode> setup_ring(io_uring& ring, uint32_t entries) {
    io_uring_params params{};
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int result = io_uring_queue_init_params(entries, &ring, &params);
    if (result == 0) {
        return RingMode::kDeferTaskrun;
    }
    if (result != -EINVAL) {
        return explain_setup_failure(-result);
    }
    // Older kernel: the flags are unknown. A plain ring works, with task work
    // run on any syscall instead of only when we wait.
    params = io_uring_params{};
    result = io_uring_queue_init_params(entries, &ring, &params);
    if (result != 0) {
        return explain_setup_failure(-result);
    }
    return RingMode::kPlain;
}

absl::StatusOr<RingFeatures> probe_io_uring() {
    // The kernel does not change under a running process: probe once.
    static const absl::StatusOr<RingFeatures> features = probe_once();
    return features;
}

static absl::StatusOr<RingFeatures> probe_once() {
    io_uring ring;
    auto mode = setup_ring(ring, 8);
    if (!mode.ok()) {
        return mode.status();
    }
    RingFeatures features;
    features.defer_taskrun = *mode == RingMode::kDeferTaskrun;
    features.ext_arg = (ring.features & IORING_FEAT_EXT_ARG) != 0;
    io_uring_probe* probe = io_uring_get_probe_ring(&ring);
    if (probe != nullptr) {
        features.msg_ring = io_uring_opcode_supported(probe, IORING_OP_MSG_RING) != 0;
        features.socket_direct = io_uring_opcode_supported(probe, IORING_OP_SOCKET) != 0;
        io_uring_free_probe(probe);
    }
    features.multishot_recv = try_multishot_recv(ring);
    features.buffer_rings = features.multishot_recv;
    io_uring_queue_exit(&ring);

    if (!features.multishot_recv) {
        return absl::FailedPreconditionError(
            "io_uring lacks multishot recvmsg on provided buffer rings; Linux 6.1 or newer "
            "is needed");
    }
    if (!features.msg_ring) {
        return absl::FailedPreconditionError(
            "io_uring lacks IORING_OP_MSG_RING (the worker doorbell); Linux 6.1 or newer is "
            "needed");
    }
    if (!features.socket_direct) {
        return absl::FailedPreconditionError(
            "io_uring lacks IORING_OP_SOCKET (direct descriptors for outbound TCP); Linux 6.1 "
            "or newer is needed");
    }
    return features;
}

}  // namespace fe::net
