/*
 * CAMQPLinux: the C shim under AMQPReactor.
 *
 * It exists for what Swift cannot import or cannot use directly from liburing
 * and the Linux headers: function-like macros (io_uring_for_each_cqe), flag
 * macros whose values are casts or shifts of enum constants, glibc functions
 * that Swift's Glibc module hides (it is built without _GNU_SOURCE, so GNU
 * extensions such as memfd_create and accept4 are not visible to Swift), and
 * liburing's static-inline helpers, wrapped so each is one call that cannot
 * leave an SQE half-prepared.
 *
 * Conventions:
 *  - every function, type and constant is prefixed `camqp_` / `CAMQP_`
 *    (types end in `_t`);
 *  - functions that make a system call return the result (>= 0) or -errno,
 *    never -1 with errno set, so Swift reads one value and never touches the
 *    thread-local errno. EINTR is returned as -EINTR: retrying is the Swift
 *    syscall wrapper's job, where the policy lives;
 *  - io_uring prep helpers fetch an SQE, prepare it, stamp `user_data`, and
 *    return the SQE (so callers may add CAMQP_IOSQE_* flags), or NULL when the
 *    submission queue is full (submit, then retry). They never submit.
 */
#ifndef CAMQP_LINUX_H
#define CAMQP_LINUX_H

/*
 * System headers come first, before <liburing.h>. Why (verified against
 * liburing 2.3 and Debian 12's glibc 2.36):
 *
 * liburing.h 2.3 opens with `#define _XOPEN_SOURCE 500` and
 * `#define _GNU_SOURCE` (each only if not already defined), then includes
 * <sys/socket.h>, <signal.h>, <sched.h>, ... . glibc reads the feature-test
 * macros exactly once, when <features.h> is first included, so whichever
 * header comes first decides the glibc API for the rest of the translation
 * unit:
 *
 *  - If <liburing.h> came first, this header would silently switch the whole
 *    unit to GNU mode. When Swift imports this target, the clang module built
 *    from this header would then carry its own GNU-mode copies of glibc types
 *    while Swift's Glibc module was built in the default mode, and clang
 *    rejects the mismatch; we reproduced it: "'(anonymous struct)::fds_bits'
 *    from module '…' is not present in definition of 'fd_set' in module
 *    'SwiftGlibc'".
 *  - With a system header first, <features.h> is already processed when
 *    liburing.h defines those macros, so its definitions are inert and the
 *    includer decides: Swift's default mode when imported, GNU mode in our own
 *    .c files (each defines _GNU_SOURCE on its first line).
 *
 * liburing/io_uring.h also pulls kernel UAPI headers (<linux/fs.h>, hence
 * <linux/mount.h>, plus <linux/time_types.h>, <linux/openat2.h>,
 * <linux/swab.h>). The well-known clash between <linux/mount.h> and glibc
 * 2.36's <sys/mount.h> does not occur here: Debian's 2.36 <sys/mount.h>
 * includes <linux/mount.h> itself when it exists, so in C both orders compile
 * cleanly with -Wall -Wextra -Werror, and this header (system headers first)
 * imports into Swift next to Glibc, whose module includes <sys/mount.h>. The
 * feature-macro ordering above is the real hazard.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <liburing.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Types                                                                     */
/* ------------------------------------------------------------------------ */

/// A liburing ring. Callers own the storage (e.g. a Swift
/// `UnsafeMutablePointer<camqp_uring_t>.allocate(capacity: 1)`); it must not
/// move between `camqp_uring_init` and `camqp_uring_exit`.
typedef struct io_uring camqp_uring_t;
/// A submission queue entry, as returned by the prep helpers.
typedef struct io_uring_sqe camqp_sqe_t;
/// A kernel timespec, as IORING_OP_TIMEOUT and LINK_TIMEOUT read it.
typedef struct __kernel_timespec camqp_timespec_t;
/// A ring of provided buffers registered with IORING_REGISTER_PBUF_RING.
typedef struct io_uring_buf_ring camqp_buf_ring_t;

/// One completion, copied out of the CQ ring so no pointer into the ring
/// escapes to Swift.
typedef struct camqp_cqe {
    uint64_t user_data;
    int32_t res;
    uint32_t flags;
} camqp_cqe_t;

/// What `camqp_uring_query_features` found out about this kernel.
typedef struct camqp_uring_features {
    /// 0 when a ring with no setup flags could be created; otherwise the
    /// errno io_uring_setup returned (EPERM/EACCES under seccomp or
    /// kernel.io_uring_disabled, ENOSYS when not built in, ENOMEM on
    /// RLIMIT_MEMLOCK on kernels < 5.12). When non-zero, nothing else is set.
    int setup_errno;
    /// Each of SUBMIT_ALL, COOP_TASKRUN, TASKRUN_FLAG, SINGLE_ISSUER and
    /// DEFER_TASKRUN that io_uring_setup accepted (DEFER_TASKRUN is tried
    /// together with SINGLE_ISSUER, which it requires).
    uint32_t accepted_setup_flags;
    /// First accepted combination, in order of preference, for a ring that
    /// only ever one thread creates and submits to (may contain
    /// SINGLE_ISSUER and DEFER_TASKRUN). Preference: SINGLE_ISSUER|
    /// DEFER_TASKRUN|TASKRUN_FLAG|SUBMIT_ALL, then SINGLE_ISSUER|COOP_TASKRUN|
    /// TASKRUN_FLAG|SUBMIT_ALL, COOP_TASKRUN|TASKRUN_FLAG|SUBMIT_ALL,
    /// SUBMIT_ALL, 0.
    uint32_t best_flags_single_thread;
    /// First accepted combination for a ring that may be driven by different
    /// threads over its life (never SINGLE_ISSUER or DEFER_TASKRUN):
    /// COOP_TASKRUN|TASKRUN_FLAG|SUBMIT_ALL, then SUBMIT_ALL, then 0.
    uint32_t best_flags_any_thread;
    /// io_uring_params.features (IORING_FEAT_*) of a plain ring.
    uint32_t kernel_features;
    /// Opcodes the kernel reports via IORING_REGISTER_PROBE.
    bool op_provide_buffers;
    bool op_msg_ring;
    bool op_send_zc;
    bool op_socket;
    /// IORING_REGISTER_PBUF_RING worked (kernel >= 5.19).
    bool buf_ring;
    /// A multishot recv on a socketpair produced a completion with
    /// IORING_CQE_F_MORE (kernel >= 6.0). Needs `buf_ring`.
    bool recv_multishot;
} camqp_uring_features_t;

/// A mirrored mapping: `size` bytes of memory visible twice, at `base` and at
/// `base + size`, so a byte written at `base + size + k` reads back at
/// `base + k` (and vice versa) for 0 <= k < size.
typedef struct camqp_mirror {
    uint8_t *base;
    size_t size;
} camqp_mirror_t;

/* ------------------------------------------------------------------------ */
/* Constants Swift cannot import from the macros                             */
/* ------------------------------------------------------------------------ */
/*
 * `static const` rather than macros: the originals are casts
 * (`(__u64) -1`), shifts of enum constants (`1U << IOSQE_IO_LINK_BIT`) or
 * enum values of the wrong type (glibc's EPOLL_EVENTS); Swift imports none of
 * them as plain integers. These import as `UInt32`/`UInt64` constants.
 */

/// user_data liburing puts on its own internal timeout SQEs (used by the
/// wait-with-timeout calls on kernels without IORING_FEAT_EXT_ARG). Never use
/// it as a reactor user_data; `camqp_uring_reap` drops these completions.
static const uint64_t CAMQP_UDATA_TIMEOUT = LIBURING_UDATA_TIMEOUT;

static const uint32_t CAMQP_SETUP_CQSIZE = IORING_SETUP_CQSIZE;
static const uint32_t CAMQP_SETUP_SUBMIT_ALL = IORING_SETUP_SUBMIT_ALL;
static const uint32_t CAMQP_SETUP_COOP_TASKRUN = IORING_SETUP_COOP_TASKRUN;
static const uint32_t CAMQP_SETUP_TASKRUN_FLAG = IORING_SETUP_TASKRUN_FLAG;
static const uint32_t CAMQP_SETUP_SINGLE_ISSUER = IORING_SETUP_SINGLE_ISSUER;
static const uint32_t CAMQP_SETUP_DEFER_TASKRUN = IORING_SETUP_DEFER_TASKRUN;

static const uint32_t CAMQP_IOSQE_IO_LINK = IOSQE_IO_LINK;
static const uint32_t CAMQP_IOSQE_IO_HARDLINK = IOSQE_IO_HARDLINK;
static const uint32_t CAMQP_IOSQE_ASYNC = IOSQE_ASYNC;
static const uint32_t CAMQP_IOSQE_BUFFER_SELECT = IOSQE_BUFFER_SELECT;
static const uint32_t CAMQP_IOSQE_CQE_SKIP_SUCCESS = IOSQE_CQE_SKIP_SUCCESS;

static const uint32_t CAMQP_RECVSEND_POLL_FIRST = IORING_RECVSEND_POLL_FIRST;
static const uint32_t CAMQP_RECV_MULTISHOT = IORING_RECV_MULTISHOT;
static const uint32_t CAMQP_ACCEPT_MULTISHOT = IORING_ACCEPT_MULTISHOT;
static const uint32_t CAMQP_POLL_ADD_MULTI = IORING_POLL_ADD_MULTI;
static const uint32_t CAMQP_ASYNC_CANCEL_ALL = IORING_ASYNC_CANCEL_ALL;
static const uint32_t CAMQP_ASYNC_CANCEL_FD = IORING_ASYNC_CANCEL_FD;
static const uint32_t CAMQP_ASYNC_CANCEL_ANY = IORING_ASYNC_CANCEL_ANY;
static const uint32_t CAMQP_TIMEOUT_ABS = IORING_TIMEOUT_ABS;

static const uint32_t CAMQP_CQE_F_BUFFER = IORING_CQE_F_BUFFER;
static const uint32_t CAMQP_CQE_F_MORE = IORING_CQE_F_MORE;
static const uint32_t CAMQP_CQE_F_SOCK_NONEMPTY = IORING_CQE_F_SOCK_NONEMPTY;
static const uint32_t CAMQP_CQE_F_NOTIF = IORING_CQE_F_NOTIF;
static const uint32_t CAMQP_CQE_BUFFER_SHIFT = IORING_CQE_BUFFER_SHIFT;

static const uint32_t CAMQP_FEAT_NODROP = IORING_FEAT_NODROP;
static const uint32_t CAMQP_FEAT_FAST_POLL = IORING_FEAT_FAST_POLL;
static const uint32_t CAMQP_FEAT_EXT_ARG = IORING_FEAT_EXT_ARG;
static const uint32_t CAMQP_FEAT_CQE_SKIP = IORING_FEAT_CQE_SKIP;

/* glibc declares these as members of `enum EPOLL_EVENTS`; Swift imports them
 * as that enum type (and EPOLLET = 1u << 31 does not fit a signed enum
 * constant cleanly), so we restate them as the uint32_t that epoll_event.events
 * actually is. */
static const uint32_t CAMQP_EPOLLIN = EPOLLIN;
static const uint32_t CAMQP_EPOLLOUT = EPOLLOUT;
static const uint32_t CAMQP_EPOLLRDHUP = EPOLLRDHUP;
static const uint32_t CAMQP_EPOLLERR = EPOLLERR;
static const uint32_t CAMQP_EPOLLHUP = EPOLLHUP;
static const uint32_t CAMQP_EPOLLET = EPOLLET;
static const uint32_t CAMQP_EPOLLONESHOT = EPOLLONESHOT;

static const int32_t CAMQP_EPOLL_CTL_ADD = EPOLL_CTL_ADD;
static const int32_t CAMQP_EPOLL_CTL_MOD = EPOLL_CTL_MOD;
static const int32_t CAMQP_EPOLL_CTL_DEL = EPOLL_CTL_DEL;

/* ------------------------------------------------------------------------ */
/* io_uring: setup, probing, submission, completion                         */
/* ------------------------------------------------------------------------ */

/// Set up `ring` with `entries` SQEs (io_uring_queue_init_params). `flags` are
/// CAMQP_SETUP_* bits; if `cq_entries` is non-zero it sets CAMQP_SETUP_CQSIZE
/// and asks for that many CQEs. On success stores IORING_FEAT_* in
/// `*features` (if non-NULL). Returns 0 or -errno.
///
/// SINGLE_ISSUER binds the ring to the creating thread: submissions from any
/// other thread fail with -EEXIST. DEFER_TASKRUN (which requires
/// SINGLE_ISSUER) posts completions only when that thread enters the kernel
/// to wait (submit_and_wait*, camqp_uring_get_events); camqp_uring_reap alone
/// then sees nothing new.
///
/// Without DEFER_TASKRUN (flags 0, COOP_TASKRUN, SINGLE_ISSUER alone), each
/// completion is delivered to the submitting thread as task work that
/// interrupts whatever it is blocked in: an epoll_wait on that thread returns
/// -EINTR (measured on Linux 6.18). Every blocking call on a thread that owns
/// such a ring must retry EINTR.
int camqp_uring_init(camqp_uring_t *ring, unsigned entries, unsigned cq_entries,
                     uint32_t flags, uint32_t *features);
/// Tear down a ring set up by camqp_uring_init.
void camqp_uring_exit(camqp_uring_t *ring);
/// Try to set up (and immediately tear down) a small ring with `flags`.
/// Returns 0 if the kernel allowed it, otherwise -errno; `*err` (if non-NULL)
/// receives the positive errno, or 0. Containers and seccomp profiles commonly
/// refuse io_uring_setup with EPERM, EACCES or ENOSYS.
int camqp_uring_probe(uint32_t flags, int *err);
/// Find out which setup flags and features this kernel offers (see
/// camqp_uring_features_t). Returns 0, or -errno when no ring could be set up
/// at all (also stored in out->setup_errno).
int camqp_uring_query_features(camqp_uring_features_t *out);
/// Register the ring fd with the kernel (io_uring_register_ring_fd), which
/// saves an fd lookup on every io_uring_enter. Returns 1 (slots used) or
/// -errno. The registration belongs to the calling thread and liburing uses it
/// for every later io_uring_enter, so afterwards only this thread may drive
/// the ring.
int camqp_uring_register_ring_fd(camqp_uring_t *ring);
/// The ring's file descriptor (the target of camqp_uring_prep_msg_ring).
int camqp_uring_fd(const camqp_uring_t *ring);

/// Submit prepared SQEs. Returns the number submitted or -errno.
int camqp_uring_submit(camqp_uring_t *ring);
/// Submit and wait until at least `wait_nr` completions are ready.
int camqp_uring_submit_and_wait(camqp_uring_t *ring, unsigned wait_nr);
/// Submit and wait for `wait_nr` completions or `timeout_ns` nanoseconds
/// (negative: no timeout; 0: do not block). Returns the number of SQEs
/// submitted (>= 0) when completions are ready, -ETIME on timeout, other
/// -errno on failure. Reap afterwards with camqp_uring_reap.
int camqp_uring_submit_and_wait_timeout(camqp_uring_t *ring, unsigned wait_nr,
                                        int64_t timeout_ns);
/// Wait (without preparing anything new) for `wait_nr` completions or
/// `timeout_ns` (negative: no timeout). Returns 0, -ETIME or -errno.
int camqp_uring_wait(camqp_uring_t *ring, unsigned wait_nr, int64_t timeout_ns);
/// Flush overflowed completions and run deferred task work without
/// submitting (io_uring_get_events). Returns >= 0 or -errno.
int camqp_uring_get_events(camqp_uring_t *ring);
/// Copy up to `max` completions into `out` and mark them seen; returns how
/// many were copied. Never enters the kernel. Replaces the
/// io_uring_for_each_cqe macro. Drops liburing's internal timeout
/// completions (user_data == CAMQP_UDATA_TIMEOUT).
unsigned camqp_uring_reap(camqp_uring_t *ring, camqp_cqe_t *out, unsigned max);
/// Completions ready to reap without entering the kernel.
unsigned camqp_uring_cq_ready(const camqp_uring_t *ring);
/// True when completions are held back in the kernel (CQ overflow, or task
/// work pending) and only a kernel entry (camqp_uring_get_events or a wait)
/// will make them visible to camqp_uring_reap. Pending task work is only
/// flagged on rings set up with CAMQP_SETUP_TASKRUN_FLAG.
bool camqp_uring_cq_needs_enter(const camqp_uring_t *ring);
/// SQEs prepared but not yet submitted.
unsigned camqp_uring_sq_ready(const camqp_uring_t *ring);
/// Free SQE slots.
unsigned camqp_uring_sq_space_left(const camqp_uring_t *ring);
/// Buffer id carried in a completion's flags (valid if CAMQP_CQE_F_BUFFER).
static inline uint16_t camqp_cqe_buffer_id(uint32_t cqe_flags) {
    return (uint16_t)(cqe_flags >> IORING_CQE_BUFFER_SHIFT);
}

/* ------------------------------------------------------------------------ */
/* io_uring: prep helpers (NULL when the SQ is full; nothing is submitted)   */
/* ------------------------------------------------------------------------ */

/// OR `flags` (CAMQP_IOSQE_*) into an SQE's flags.
void camqp_sqe_add_flags(camqp_sqe_t *sqe, uint32_t flags);
/// Make the SQE pick its buffer from provided-buffer group `bgid`
/// (sets IOSQE_BUFFER_SELECT and buf_group).
void camqp_sqe_select_buffer(camqp_sqe_t *sqe, uint16_t bgid);

camqp_sqe_t *camqp_uring_prep_nop(camqp_uring_t *ring, uint64_t user_data);
/// recv(2); `flags` are MSG_* flags. To receive into a provided buffer pass
/// buf = NULL and call camqp_sqe_select_buffer. `ioprio_flags` may carry
/// CAMQP_RECVSEND_POLL_FIRST.
camqp_sqe_t *camqp_uring_prep_recv(camqp_uring_t *ring, uint64_t user_data, int fd,
                                   void *buf, size_t len, int flags,
                                   uint32_t ioprio_flags);
/// Multishot recv (kernel >= 6.0): one SQE, one completion per arrival, each
/// into a buffer taken from provided-buffer group `bgid`; completions carry
/// CAMQP_CQE_F_MORE while the request stays armed.
camqp_sqe_t *camqp_uring_prep_recv_multishot(camqp_uring_t *ring, uint64_t user_data,
                                             int fd, uint16_t bgid, int flags);
/// send(2); pass MSG_NOSIGNAL in `flags` for sockets.
camqp_sqe_t *camqp_uring_prep_send(camqp_uring_t *ring, uint64_t user_data, int fd,
                                   const void *buf, size_t len, int flags,
                                   uint32_t ioprio_flags);
/// sendmsg(2): gathered send. `msg` and its iovecs must stay valid until the
/// completion arrives.
camqp_sqe_t *camqp_uring_prep_sendmsg(camqp_uring_t *ring, uint64_t user_data, int fd,
                                      const struct msghdr *msg, int flags);
/// writev(2) at the current position (offset -1), which is what sockets and
/// pipes need. `iov` must stay valid until the completion arrives.
camqp_sqe_t *camqp_uring_prep_writev(camqp_uring_t *ring, uint64_t user_data, int fd,
                                     const struct iovec *iov, unsigned nr_iov);
/// accept4(2); `flags` are SOCK_NONBLOCK|SOCK_CLOEXEC. `addr`/`addrlen` may be
/// NULL. `multishot` keeps it armed (kernel >= 5.19, CAMQP_CQE_F_MORE).
camqp_sqe_t *camqp_uring_prep_accept(camqp_uring_t *ring, uint64_t user_data, int fd,
                                     struct sockaddr *addr, socklen_t *addrlen,
                                     int flags, bool multishot);
/// connect(2). `addr` must stay valid until the SQE is submitted.
camqp_sqe_t *camqp_uring_prep_connect(camqp_uring_t *ring, uint64_t user_data, int fd,
                                      const struct sockaddr *addr, socklen_t addrlen);
/// close(2).
camqp_sqe_t *camqp_uring_prep_close(camqp_uring_t *ring, uint64_t user_data, int fd);
/// shutdown(2); `how` is SHUT_RD/SHUT_WR/SHUT_RDWR.
camqp_sqe_t *camqp_uring_prep_shutdown(camqp_uring_t *ring, uint64_t user_data, int fd,
                                       int how);
/// A timeout that completes with -ETIME after `ts` (or at `ts` with
/// CAMQP_TIMEOUT_ABS, CLOCK_MONOTONIC), or with 0 after `count` other
/// completions when count > 0. The kernel reads `*ts` at submission, so it
/// must stay valid until camqp_uring_submit* returns.
camqp_sqe_t *camqp_uring_prep_timeout(camqp_uring_t *ring, uint64_t user_data,
                                      camqp_timespec_t *ts, unsigned count,
                                      uint32_t flags);
/// A timeout for the previous SQE (which must carry CAMQP_IOSQE_IO_LINK):
/// cancels it with -ECANCELED if it has not completed within `ts`. Same
/// lifetime rule for `ts` as camqp_uring_prep_timeout.
camqp_sqe_t *camqp_uring_prep_link_timeout(camqp_uring_t *ring, uint64_t user_data,
                                           camqp_timespec_t *ts, uint32_t flags);
/// Cancel the request whose user_data is `target` (also removes timeouts and
/// polls). `flags` are CAMQP_ASYNC_CANCEL_*.
camqp_sqe_t *camqp_uring_prep_cancel(camqp_uring_t *ring, uint64_t user_data,
                                     uint64_t target, uint32_t flags);
/// Cancel requests on file descriptor `fd` (CAMQP_ASYNC_CANCEL_ALL for all).
camqp_sqe_t *camqp_uring_prep_cancel_fd(camqp_uring_t *ring, uint64_t user_data,
                                        int fd, uint32_t flags);
/// poll(2)-style readiness (POLLIN/POLLOUT/...); `multishot` keeps it armed.
camqp_sqe_t *camqp_uring_prep_poll_add(camqp_uring_t *ring, uint64_t user_data, int fd,
                                       uint32_t poll_mask, bool multishot);
/// Post a completion with user_data = `data` and res = `len` on the ring whose
/// fd is `target_ring_fd` (IORING_OP_MSG_RING, kernel >= 5.18): a wake-up
/// that needs no eventfd. The sender also gets its own completion.
camqp_sqe_t *camqp_uring_prep_msg_ring(camqp_uring_t *ring, uint64_t user_data,
                                       int target_ring_fd, uint32_t len, uint64_t data);
/// Hand `nr` buffers of `len` bytes each, laid out back to back from `addr`,
/// to provided-buffer group `bgid` with ids bid, bid+1, ... (legacy
/// IORING_OP_PROVIDE_BUFFERS, kernel >= 5.7).
camqp_sqe_t *camqp_uring_prep_provide_buffers(camqp_uring_t *ring, uint64_t user_data,
                                              void *addr, int len, int nr,
                                              uint16_t bgid, uint16_t bid);
/// Take back up to `nr` buffers from group `bgid`.
camqp_sqe_t *camqp_uring_prep_remove_buffers(camqp_uring_t *ring, uint64_t user_data,
                                             int nr, uint16_t bgid);

/* ------------------------------------------------------------------------ */
/* io_uring: ring-mapped provided buffers (IORING_REGISTER_PBUF_RING)        */
/* ------------------------------------------------------------------------ */

/// Allocate (page-aligned mmap) and register a buffer ring of `entries`
/// slots (a power of two, 1...32768) as group `bgid`. Returns it, or NULL with
/// `*err` = positive errno. liburing 2.3 has no io_uring_setup_buf_ring (it
/// arrived in 2.4), hence this.
camqp_buf_ring_t *camqp_buf_ring_setup(camqp_uring_t *ring, unsigned entries,
                                       uint16_t bgid, int *err);
/// Unregister and unmap a buffer ring. Returns 0 or -errno (the memory is
/// unmapped even if unregistering failed).
int camqp_buf_ring_free(camqp_uring_t *ring, camqp_buf_ring_t *br, unsigned entries,
                        uint16_t bgid);
/// Stage buffer `bid` (`addr`, `len`) at position tail + `offset`. Nothing is
/// visible to the kernel until camqp_buf_ring_advance.
void camqp_buf_ring_add(camqp_buf_ring_t *br, unsigned entries, void *addr,
                        unsigned len, uint16_t bid, unsigned offset);
/// Publish `count` staged buffers (store-release of the tail).
void camqp_buf_ring_advance(camqp_buf_ring_t *br, unsigned count);

/* ------------------------------------------------------------------------ */
/* Mirrored ring mapping                                                     */
/* ------------------------------------------------------------------------ */

/// The system page size (sysconf(_SC_PAGESIZE)).
size_t camqp_page_size(void);
/// Map `size` bytes twice, back to back (memfd + two MAP_SHARED|MAP_FIXED
/// views inside one PROT_NONE reservation). `size` must be a non-zero
/// multiple of the page size. Returns 0 and fills `*out`, or -errno
/// (-EINVAL for a bad size) with `*out` zeroed and nothing leaked. Uses one
/// fd only transiently: the mappings keep the memory alive.
int camqp_mirror_map(size_t size, camqp_mirror_t *out);
/// camqp_mirror_map with the memfd named `name` (at most 249 bytes; it shows in
/// /proc/<pid>/maps as "/memfd:<name> (deleted)"), so each user of mirrors can
/// tell its own mappings apart. -EINVAL if `name` is NULL.
int camqp_mirror_map_named(size_t size, const char *name, camqp_mirror_t *out);
/// Unmap a mirror created by camqp_mirror_map and zero `*m`. Returns 0, or
/// -EINVAL if `m` does not describe a mapping.
int camqp_mirror_unmap(camqp_mirror_t *m);
/// Give the pages behind `size` bytes at `base` back to the kernel; the
/// memory stays mapped and reads as zeros afterwards, costing a fresh page
/// only when touched again. `shared`: a mirror's view (MADV_REMOVE punches
/// the pages out of the memfd, so both views lose them); otherwise private
/// anonymous memory (MADV_DONTNEED). `base` and `size` must be page-aligned.
/// Returns 0 or -errno.
int camqp_memory_give_back(void *base, size_t size, bool shared);
/// Pages of `size` bytes at `base` (page-aligned) that are resident now
/// (mincore), or -errno.
long camqp_resident_pages(void *base, size_t size);

/* ------------------------------------------------------------------------ */
/* epoll, eventfd, timerfd                                                   */
/* ------------------------------------------------------------------------ */

/// epoll_create1(EPOLL_CLOEXEC). Returns the fd or -errno.
int camqp_epoll_create(void);
/// epoll_ctl with the event built here from `events` (CAMQP_EPOLL* bits) and
/// `data` (the caller's token). `op` is CAMQP_EPOLL_CTL_*. Returns 0/-errno.
int camqp_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);
/// epoll_wait into `out` (up to `max`), `timeout_ms` < 0 waits forever.
/// Returns the number of events or -errno. -EINTR is common, not exotic: an
/// io_uring completion for a request this thread submitted interrupts the
/// wait (see camqp_uring_init); the caller retries.
int camqp_epoll_wait(int epfd, struct epoll_event *out, int max, int timeout_ms);
/// The two fields of an epoll_event, without going through the epoll_data
/// union. (The struct is packed on x86_64, 12 bytes with the u64 at offset 4;
/// Swift imports that layout faithfully — alignment 1, stride 12 — so arrays
/// of epoll_event are safe to use from Swift as well.)
uint32_t camqp_epoll_event_events(const struct epoll_event *ev);
uint64_t camqp_epoll_event_data(const struct epoll_event *ev);

/// eventfd(initval, EFD_NONBLOCK|EFD_CLOEXEC). Returns the fd or -errno.
int camqp_eventfd_open(unsigned initval);
/// Add 1 to the counter (wakes pollers). A saturated counter (-EAGAIN) is
/// reported as success: the fd is already readable. Returns 0 or -errno.
int camqp_eventfd_signal(int fd);
/// Read and reset the counter into `*value`. Returns 0, -EAGAIN when it was
/// zero, or -errno.
int camqp_eventfd_drain(int fd, uint64_t *value);

/// timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK|TFD_CLOEXEC). fd or -errno.
int camqp_timerfd_open(void);
/// Arm a one-shot expiry at the absolute CLOCK_MONOTONIC time `deadline_ns`
/// (a deadline in the past fires at once). Returns 0 or -errno.
int camqp_timerfd_arm(int fd, uint64_t deadline_ns);
/// Disarm. Returns 0 or -errno.
int camqp_timerfd_disarm(int fd);
/// Read the expiration count into `*expirations`. Returns 0, -EAGAIN when it
/// has not expired, or -errno.
int camqp_timerfd_read(int fd, uint64_t *expirations);
/// CLOCK_MONOTONIC now, in nanoseconds.
uint64_t camqp_monotonic_ns(void);

/* ------------------------------------------------------------------------ */
/* Sockets                                                                   */
/* ------------------------------------------------------------------------ */

/// socket(domain, type|SOCK_NONBLOCK|SOCK_CLOEXEC, 0). fd or -errno.
int camqp_socket_open(int domain, int type);
/// Set O_NONBLOCK and FD_CLOEXEC on an existing fd. Returns 0 or -errno.
int camqp_fd_set_nonblock_cloexec(int fd);
/// accept4(fd, addr, addrlen, SOCK_NONBLOCK|SOCK_CLOEXEC) — accept4 is a GNU
/// extension Swift's Glibc does not expose. fd or -errno.
int camqp_accept(int fd, struct sockaddr *addr, socklen_t *addrlen);
/// connect(2). Returns 0 or -errno (-EINPROGRESS for non-blocking sockets).
int camqp_connect(int fd, const struct sockaddr *addr, socklen_t addrlen);
/// TCP_NODELAY on or off. Returns 0 or -errno.
int camqp_tcp_set_nodelay(int fd, bool on);
/// SO_KEEPALIVE on/off; when on and a value is > 0, also TCP_KEEPIDLE
/// (seconds idle before the first probe), TCP_KEEPINTVL (seconds between
/// probes) and TCP_KEEPCNT (probes before giving up). Returns 0 or -errno.
int camqp_tcp_set_keepalive(int fd, bool on, int idle_s, int interval_s, int count);
/// TCP_USER_TIMEOUT: milliseconds unacknowledged data may stay in flight
/// before the kernel drops the connection (0 = system default). 0 or -errno.
int camqp_tcp_set_user_timeout(int fd, unsigned timeout_ms);
/// Fetch and clear the pending socket error (SO_ERROR) into `*so_error`
/// (positive errno, 0 if none). Returns 0 or -errno of getsockopt itself.
int camqp_socket_error(int fd, int *so_error);
/// send(fd, buf, len, MSG_NOSIGNAL | flags): a closed peer gives -EPIPE
/// instead of SIGPIPE. Returns bytes sent or -errno.
ssize_t camqp_send_nosignal(int fd, const void *buf, size_t len, int flags);
/// Gathered send via sendmsg(MSG_NOSIGNAL) — writev(2) cannot take
/// MSG_NOSIGNAL. Returns bytes sent or -errno.
ssize_t camqp_sendv_nosignal(int fd, const struct iovec *iov, int iovcnt);
/// recv(fd, buf, len, flags). Returns bytes (0 = orderly shutdown) or -errno.
ssize_t camqp_recv(int fd, void *buf, size_t len, int flags);

#ifdef __cplusplus
}
#endif

#endif /* CAMQP_LINUX_H */
