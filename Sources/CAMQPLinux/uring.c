/* First line, before any header: glibc decides its API once, at the first
 * include of <features.h>. We want GNU mode here (for consistent liburing
 * internals and for the GNU-only calls the other files wrap), regardless of
 * the include order inside CAMQPLinux.h. */
#define _GNU_SOURCE 1

#include "CAMQPLinux.h"

#include <poll.h>
#include <string.h>

/* ---------------------------------------------------------------- setup -- */

int camqp_uring_init(camqp_uring_t *ring, unsigned entries, unsigned cq_entries,
                     uint32_t flags, uint32_t *features) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = flags;
    if (cq_entries != 0) {
        p.flags |= IORING_SETUP_CQSIZE;
        p.cq_entries = cq_entries;
    }
    /* liburing 2.3 already returns -errno here (it calls the raw syscall
     * wrapper, not glibc's -1/errno convention). */
    int ret = io_uring_queue_init_params(entries, ring, &p);
    if (ret < 0) {
        return ret;
    }
    if (features != NULL) {
        *features = p.features;
    }
    return 0;
}

void camqp_uring_exit(camqp_uring_t *ring) { io_uring_queue_exit(ring); }

int camqp_uring_probe(uint32_t flags, int *err) {
    struct io_uring ring;
    int ret = camqp_uring_init(&ring, 4, 0, flags, NULL);
    if (ret == 0) {
        io_uring_queue_exit(&ring);
    }
    if (err != NULL) {
        *err = ret < 0 ? -ret : 0;
    }
    return ret;
}

/* Exercise IORING_REGISTER_PBUF_RING and multishot recv for real: neither
 * shows up in IORING_REGISTER_PROBE (the first is a register opcode, the
 * second a flag on IORING_OP_RECV that kernels < 6.0 reject with -EINVAL only
 * when the request runs). Bounded: every wait has a timeout. */
static size_t buf_ring_bytes(unsigned entries);

static void probe_buffers(camqp_uring_features_t *out) {
    enum { ENTRIES = 2, BUF_LEN = 64, BGID = 0x7ff1 };
    /* static: the kernel may still own a buffer until ring teardown has
     * finished asynchronously; static storage outlives that. Contents are
     * never read, so concurrent probes sharing it are harmless. */
    static char bufs[ENTRIES][BUF_LEN];
    const uint64_t recv_ud = 1, cancel_ud = 2;
    struct io_uring ring;
    int sv[2];
    if (camqp_uring_init(&ring, 8, 0, 0, NULL) != 0) {
        return;
    }
    int err = 0;
    camqp_buf_ring_t *br = camqp_buf_ring_setup(&ring, ENTRIES, BGID, &err);
    if (br == NULL) {
        io_uring_queue_exit(&ring);
        return;
    }
    out->buf_ring = true;

    for (unsigned i = 0; i < ENTRIES; i++) {
        camqp_buf_ring_add(br, ENTRIES, bufs[i], BUF_LEN, (uint16_t)i, i);
    }
    camqp_buf_ring_advance(br, ENTRIES);

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) {
        goto out_ring;
    }
    if (camqp_uring_prep_recv_multishot(&ring, recv_ud, sv[0], BGID, 0) == NULL) {
        goto out_fds;
    }
    if (io_uring_submit(&ring) < 0 || write(sv[1], "x", 1) != 1) {
        goto out_fds;
    }
    if (camqp_uring_submit_and_wait_timeout(&ring, 1, 1000000000LL) >= 0) {
        camqp_cqe_t cqe;
        if (camqp_uring_reap(&ring, &cqe, 1) == 1 && cqe.user_data == recv_ud &&
            cqe.res == 1 && (cqe.flags & IORING_CQE_F_MORE) &&
            (cqe.flags & IORING_CQE_F_BUFFER)) {
            out->recv_multishot = true;
        }
    }
    /* Disarm the multishot request and wait for both completions so nothing
     * still references `bufs` or the buffer ring when we tear down. */
    if (out->recv_multishot && camqp_uring_prep_cancel(&ring, cancel_ud, recv_ud, 0) != NULL) {
        int pending = 2;
        while (pending > 0 &&
               camqp_uring_submit_and_wait_timeout(&ring, 1, 1000000000LL) >= 0) {
            camqp_cqe_t cqes[4];
            unsigned n = camqp_uring_reap(&ring, cqes, 4);
            for (unsigned i = 0; i < n; i++) {
                if (cqes[i].user_data == cancel_ud ||
                    (cqes[i].user_data == recv_ud && !(cqes[i].flags & IORING_CQE_F_MORE))) {
                    pending--;
                }
            }
        }
    }
out_fds:
    close(sv[0]);
    close(sv[1]);
out_ring:
    /* Tearing the ring down cancels whatever is still in flight and drops
     * the kernel's pin on the buffer ring, so unmapping afterwards is safe
     * (unregistering first would be pointless work). */
    io_uring_queue_exit(&ring);
    munmap(br, buf_ring_bytes(ENTRIES));
}

int camqp_uring_query_features(camqp_uring_features_t *out) {
    memset(out, 0, sizeof *out);

    struct io_uring ring;
    uint32_t features = 0;
    int ret = camqp_uring_init(&ring, 4, 0, 0, &features);
    if (ret < 0) {
        out->setup_errno = -ret;
        return ret;
    }
    out->kernel_features = features;
    struct io_uring_probe *probe = io_uring_get_probe_ring(&ring);
    if (probe != NULL) {
        out->op_provide_buffers = io_uring_opcode_supported(probe, IORING_OP_PROVIDE_BUFFERS);
        out->op_msg_ring = io_uring_opcode_supported(probe, IORING_OP_MSG_RING);
        out->op_send_zc = io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
        out->op_socket = io_uring_opcode_supported(probe, IORING_OP_SOCKET);
        io_uring_free_probe(probe);
    }
    io_uring_queue_exit(&ring);

    /* Each flag alone. DEFER_TASKRUN is invalid without SINGLE_ISSUER, and
     * TASKRUN_FLAG without COOP_TASKRUN (or DEFER_TASKRUN), so they are tried
     * with their prerequisite and credited on their own bit. Unknown flags
     * give -EINVAL. */
    static const struct { uint32_t flags; uint32_t credit; } singles[] = {
        {IORING_SETUP_SUBMIT_ALL, IORING_SETUP_SUBMIT_ALL},
        {IORING_SETUP_COOP_TASKRUN, IORING_SETUP_COOP_TASKRUN},
        {IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, IORING_SETUP_TASKRUN_FLAG},
        {IORING_SETUP_SINGLE_ISSUER, IORING_SETUP_SINGLE_ISSUER},
        {IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_DEFER_TASKRUN},
    };
    for (size_t i = 0; i < sizeof singles / sizeof singles[0]; i++) {
        if (camqp_uring_probe(singles[i].flags, NULL) == 0) {
            out->accepted_setup_flags |= singles[i].credit;
        }
    }

    /* Preference order. DEFER_TASKRUN (6.1) runs completion work only when
     * the owning thread waits; it is also the only mode in which completions
     * do not interrupt the thread's other blocking calls (measured on 6.18:
     * with flags 0, COOP_TASKRUN or SINGLE_ISSUER alone, a completion makes
     * an epoll_wait on the submitting thread return EINTR). COOP_TASKRUN
     * (5.19) at least avoids IPIs. TASKRUN_FLAG makes pending task work
     * visible in the SQ flags (camqp_uring_cq_needs_enter); without it a
     * DEFER_TASKRUN ring gives no sign of completions waiting to be posted.
     * SUBMIT_ALL (5.18) keeps submitting a batch past a failing SQE. The
     * final 0 always matches, since a plain ring was created above. */
    static const uint32_t single_thread[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
            IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
            IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_SUBMIT_ALL,
        0,
    };
    static const uint32_t any_thread[] = {
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
        IORING_SETUP_SUBMIT_ALL,
        0,
    };
    for (size_t i = 0; i < sizeof single_thread / sizeof single_thread[0]; i++) {
        if (single_thread[i] == 0 || camqp_uring_probe(single_thread[i], NULL) == 0) {
            out->best_flags_single_thread = single_thread[i];
            break;
        }
    }
    for (size_t i = 0; i < sizeof any_thread / sizeof any_thread[0]; i++) {
        if (any_thread[i] == 0 || camqp_uring_probe(any_thread[i], NULL) == 0) {
            out->best_flags_any_thread = any_thread[i];
            break;
        }
    }

    probe_buffers(out);
    return 0;
}

/* Registration is per thread (the kernel keeps it in the task's io_uring
 * context) and liburing then passes the registered index to every
 * io_uring_enter, so only the registering thread can drive the ring after
 * this. */
int camqp_uring_register_ring_fd(camqp_uring_t *ring) {
    return io_uring_register_ring_fd(ring);
}

int camqp_uring_fd(const camqp_uring_t *ring) { return ring->ring_fd; }

/* ------------------------------------------------------ submit and wait -- */

int camqp_uring_submit(camqp_uring_t *ring) { return io_uring_submit(ring); }

int camqp_uring_submit_and_wait(camqp_uring_t *ring, unsigned wait_nr) {
    return io_uring_submit_and_wait(ring, wait_nr);
}

static camqp_timespec_t timespec_from_ns(int64_t ns) {
    camqp_timespec_t ts;
    ts.tv_sec = ns / 1000000000LL;
    ts.tv_nsec = ns % 1000000000LL;
    return ts;
}

int camqp_uring_submit_and_wait_timeout(camqp_uring_t *ring, unsigned wait_nr,
                                        int64_t timeout_ns) {
    struct io_uring_cqe *cqe = NULL;
    if (timeout_ns < 0) {
        return io_uring_submit_and_wait(ring, wait_nr);
    }
    /* The timespec lives on this stack frame; liburing passes it to
     * io_uring_enter (EXT_ARG) or copies it into an internal timeout SQE that
     * it submits before returning, so it is not needed afterwards. */
    camqp_timespec_t ts = timespec_from_ns(timeout_ns);
    /* liburing returns with *cqe pointing at the first ready completion but
     * does not consume it; the caller reaps with camqp_uring_reap. */
    return io_uring_submit_and_wait_timeout(ring, &cqe, wait_nr, &ts, NULL);
}

int camqp_uring_wait(camqp_uring_t *ring, unsigned wait_nr, int64_t timeout_ns) {
    struct io_uring_cqe *cqe = NULL;
    if (timeout_ns < 0) {
        return io_uring_wait_cqes(ring, &cqe, wait_nr, NULL, NULL);
    }
    camqp_timespec_t ts = timespec_from_ns(timeout_ns);
    return io_uring_wait_cqes(ring, &cqe, wait_nr, &ts, NULL);
}

int camqp_uring_get_events(camqp_uring_t *ring) { return io_uring_get_events(ring); }

unsigned camqp_uring_reap(camqp_uring_t *ring, camqp_cqe_t *out, unsigned max) {
    unsigned head;
    unsigned seen = 0, copied = 0;
    struct io_uring_cqe *cqe;
    /* io_uring_for_each_cqe is a macro (Swift cannot call it); this is the
     * loop it expands to, stopping once `out` is full. */
    io_uring_for_each_cqe(ring, head, cqe) {
        if (copied == max) {
            break;
        }
        seen++;
        /* liburing's internal timeout (wait with timeout on kernels without
         * IORING_FEAT_EXT_ARG); it means nothing to the caller, and liburing's
         * own peek path drops it the same way. */
        if (cqe->user_data == LIBURING_UDATA_TIMEOUT) {
            continue;
        }
        out[copied].user_data = cqe->user_data;
        out[copied].res = cqe->res;
        out[copied].flags = cqe->flags;
        copied++;
    }
    if (seen > 0) {
        io_uring_cq_advance(ring, seen);
    }
    return copied;
}

unsigned camqp_uring_cq_ready(const camqp_uring_t *ring) { return io_uring_cq_ready(ring); }

bool camqp_uring_cq_needs_enter(const camqp_uring_t *ring) {
    /* Same test as liburing's internal cq_ring_needs_flush(), which 2.3 does
     * not export: overflowed CQEs or deferred task work are only made visible
     * by entering the kernel with IORING_ENTER_GETEVENTS. */
    return (IO_URING_READ_ONCE(*ring->sq.kflags) &
            (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)) != 0;
}

unsigned camqp_uring_sq_ready(const camqp_uring_t *ring) { return io_uring_sq_ready(ring); }

unsigned camqp_uring_sq_space_left(const camqp_uring_t *ring) {
    return io_uring_sq_space_left(ring);
}

/* --------------------------------------------------------------- prep ---- */

static inline camqp_sqe_t *get_sqe(camqp_uring_t *ring) { return io_uring_get_sqe(ring); }

void camqp_sqe_add_flags(camqp_sqe_t *sqe, uint32_t flags) {
    io_uring_sqe_set_flags(sqe, sqe->flags | flags);
}

void camqp_sqe_select_buffer(camqp_sqe_t *sqe, uint16_t bgid) {
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = bgid;
}

/* Each helper stamps user_data after the liburing prep call, because
 * io_uring_prep_rw (2.3) rewrites most SQE fields but not user_data, and a
 * recycled SQE would otherwise carry its previous owner's value. */
#define CAMQP_PREP(ring, user_data, call)                                      \
    do {                                                                       \
        camqp_sqe_t *sqe_ = get_sqe(ring);                                     \
        if (sqe_ == NULL) {                                                    \
            return NULL;                                                       \
        }                                                                      \
        call;                                                                  \
        io_uring_sqe_set_data64(sqe_, (user_data));                            \
        return sqe_;                                                           \
    } while (0)

camqp_sqe_t *camqp_uring_prep_nop(camqp_uring_t *ring, uint64_t user_data) {
    CAMQP_PREP(ring, user_data, io_uring_prep_nop(sqe_));
}

camqp_sqe_t *camqp_uring_prep_recv(camqp_uring_t *ring, uint64_t user_data, int fd,
                                   void *buf, size_t len, int flags,
                                   uint32_t ioprio_flags) {
    CAMQP_PREP(ring, user_data, {
        io_uring_prep_recv(sqe_, fd, buf, len, flags);
        sqe_->ioprio |= (uint16_t)ioprio_flags;
    });
}

camqp_sqe_t *camqp_uring_prep_recv_multishot(camqp_uring_t *ring, uint64_t user_data,
                                             int fd, uint16_t bgid, int flags) {
    CAMQP_PREP(ring, user_data, {
        /* Multishot recv requires buffer selection: the kernel picks a fresh
         * provided buffer per completion; len 0 means "whole buffer". */
        io_uring_prep_recv_multishot(sqe_, fd, NULL, 0, flags);
        camqp_sqe_select_buffer(sqe_, bgid);
    });
}

camqp_sqe_t *camqp_uring_prep_send(camqp_uring_t *ring, uint64_t user_data, int fd,
                                   const void *buf, size_t len, int flags,
                                   uint32_t ioprio_flags) {
    CAMQP_PREP(ring, user_data, {
        io_uring_prep_send(sqe_, fd, buf, len, flags);
        sqe_->ioprio |= (uint16_t)ioprio_flags;
    });
}

camqp_sqe_t *camqp_uring_prep_sendmsg(camqp_uring_t *ring, uint64_t user_data, int fd,
                                      const struct msghdr *msg, int flags) {
    CAMQP_PREP(ring, user_data, io_uring_prep_sendmsg(sqe_, fd, msg, (unsigned)flags));
}

camqp_sqe_t *camqp_uring_prep_writev(camqp_uring_t *ring, uint64_t user_data, int fd,
                                     const struct iovec *iov, unsigned nr_iov) {
    /* Offset -1 = "current file position" (IORING_FEAT_RW_CUR_POS, 5.6),
     * i.e. plain writev(2) semantics: right for sockets and pipes, which have
     * no position, and for any other fd the reactor might stream to. */
    CAMQP_PREP(ring, user_data, io_uring_prep_writev(sqe_, fd, iov, nr_iov, (uint64_t)-1));
}

camqp_sqe_t *camqp_uring_prep_accept(camqp_uring_t *ring, uint64_t user_data, int fd,
                                     struct sockaddr *addr, socklen_t *addrlen,
                                     int flags, bool multishot) {
    CAMQP_PREP(ring, user_data, {
        if (multishot) {
            io_uring_prep_multishot_accept(sqe_, fd, addr, addrlen, flags);
        } else {
            io_uring_prep_accept(sqe_, fd, addr, addrlen, flags);
        }
    });
}

camqp_sqe_t *camqp_uring_prep_connect(camqp_uring_t *ring, uint64_t user_data, int fd,
                                      const struct sockaddr *addr, socklen_t addrlen) {
    CAMQP_PREP(ring, user_data, io_uring_prep_connect(sqe_, fd, addr, addrlen));
}

camqp_sqe_t *camqp_uring_prep_close(camqp_uring_t *ring, uint64_t user_data, int fd) {
    CAMQP_PREP(ring, user_data, io_uring_prep_close(sqe_, fd));
}

camqp_sqe_t *camqp_uring_prep_shutdown(camqp_uring_t *ring, uint64_t user_data, int fd,
                                       int how) {
    CAMQP_PREP(ring, user_data, io_uring_prep_shutdown(sqe_, fd, how));
}

camqp_sqe_t *camqp_uring_prep_timeout(camqp_uring_t *ring, uint64_t user_data,
                                      camqp_timespec_t *ts, unsigned count,
                                      uint32_t flags) {
    CAMQP_PREP(ring, user_data, io_uring_prep_timeout(sqe_, ts, count, flags));
}

camqp_sqe_t *camqp_uring_prep_link_timeout(camqp_uring_t *ring, uint64_t user_data,
                                           camqp_timespec_t *ts, uint32_t flags) {
    CAMQP_PREP(ring, user_data, io_uring_prep_link_timeout(sqe_, ts, flags));
}

camqp_sqe_t *camqp_uring_prep_cancel(camqp_uring_t *ring, uint64_t user_data,
                                     uint64_t target, uint32_t flags) {
    CAMQP_PREP(ring, user_data, io_uring_prep_cancel64(sqe_, target, (int)flags));
}

camqp_sqe_t *camqp_uring_prep_cancel_fd(camqp_uring_t *ring, uint64_t user_data,
                                        int fd, uint32_t flags) {
    CAMQP_PREP(ring, user_data, io_uring_prep_cancel_fd(sqe_, fd, flags));
}

camqp_sqe_t *camqp_uring_prep_poll_add(camqp_uring_t *ring, uint64_t user_data, int fd,
                                       uint32_t poll_mask, bool multishot) {
    CAMQP_PREP(ring, user_data, {
        if (multishot) {
            io_uring_prep_poll_multishot(sqe_, fd, poll_mask);
        } else {
            io_uring_prep_poll_add(sqe_, fd, poll_mask);
        }
    });
}

camqp_sqe_t *camqp_uring_prep_msg_ring(camqp_uring_t *ring, uint64_t user_data,
                                       int target_ring_fd, uint32_t len, uint64_t data) {
    CAMQP_PREP(ring, user_data, io_uring_prep_msg_ring(sqe_, target_ring_fd, len, data, 0));
}

camqp_sqe_t *camqp_uring_prep_provide_buffers(camqp_uring_t *ring, uint64_t user_data,
                                              void *addr, int len, int nr,
                                              uint16_t bgid, uint16_t bid) {
    CAMQP_PREP(ring, user_data, io_uring_prep_provide_buffers(sqe_, addr, len, nr, bgid, bid));
}

camqp_sqe_t *camqp_uring_prep_remove_buffers(camqp_uring_t *ring, uint64_t user_data,
                                             int nr, uint16_t bgid) {
    CAMQP_PREP(ring, user_data, io_uring_prep_remove_buffers(sqe_, nr, bgid));
}

/* ---------------------------------------------------------- buf ring ---- */

static size_t buf_ring_bytes(unsigned entries) {
    size_t bytes = (size_t)entries * sizeof(struct io_uring_buf);
    size_t page = camqp_page_size();
    return (bytes + page - 1) / page * page;
}

camqp_buf_ring_t *camqp_buf_ring_setup(camqp_uring_t *ring, unsigned entries,
                                       uint16_t bgid, int *err) {
    int dummy;
    if (err == NULL) {
        err = &dummy;
    }
    *err = 0;
    /* The kernel wants a power of two no larger than 32768 (it is indexed by
     * a 16-bit tail). */
    if (entries == 0 || entries > 32768 || (entries & (entries - 1)) != 0) {
        *err = EINVAL;
        return NULL;
    }
    size_t bytes = buf_ring_bytes(entries);
    /* mmap, not malloc: the kernel pins these pages and wants them
     * page-aligned. */
    void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) {
        *err = errno;
        return NULL;
    }
    camqp_buf_ring_t *br = mem;
    io_uring_buf_ring_init(br);

    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof reg);
    reg.ring_addr = (uint64_t)(uintptr_t)br;
    reg.ring_entries = entries;
    reg.bgid = bgid;
    int ret = io_uring_register_buf_ring(ring, &reg, 0);
    if (ret < 0) {
        munmap(mem, bytes);
        *err = -ret;
        return NULL;
    }
    return br;
}

int camqp_buf_ring_free(camqp_uring_t *ring, camqp_buf_ring_t *br, unsigned entries,
                        uint16_t bgid) {
    int ret = io_uring_unregister_buf_ring(ring, bgid);
    if (munmap(br, buf_ring_bytes(entries)) != 0 && ret == 0) {
        ret = -errno;
    }
    return ret < 0 ? ret : 0;
}

void camqp_buf_ring_add(camqp_buf_ring_t *br, unsigned entries, void *addr,
                        unsigned len, uint16_t bid, unsigned offset) {
    io_uring_buf_ring_add(br, addr, len, bid, io_uring_buf_ring_mask(entries), (int)offset);
}

void camqp_buf_ring_advance(camqp_buf_ring_t *br, unsigned count) {
    io_uring_buf_ring_advance(br, (int)count);
}
