// The receive side of io_uring two ways, measured on its own (issue 4: "tries multishot
// receive with provided buffers; keep it only if measurement shows a win").
//
//   single: what URingBackend does. One recv request per connection at a time, straight
//           into the free span of the connection's inbound ring; re-armed after each
//           completion, with IORING_RECVSEND_POLL_FIRST after a short one.
//   multi:  one multishot recv per connection, with buffers the kernel picks from a
//           provided-buffer ring shared by every connection; each completion's bytes are
//           copied into the connection's inbound ring (the frame parser needs one
//           contiguous view per connection) and the buffer goes straight back.
//
// Both read every received byte once (a 64-bit sum: the parser's touch). Sender threads
// write CHUNK-byte blocks round-robin over the connections with blocking send() until
// TOTAL bytes are through. The receiver thread (this one) owns the ring, SINGLE_ISSUER |
// DEFER_TASKRUN as the reactor sets them up. Prints one line: the receiver thread's CPU
// (RUSAGE_THREAD) per MiB received, the wall rate, and io_uring_enter calls.
//
//   multishot MODE CONNECTIONS TOTAL_MIB CHUNK_BYTES
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RING_BYTES (64 * 1024)  /* a connection's inbound ring, as the reactor's default */
#define BUF_COUNT 1024          /* provided buffers, shared (power of two) */
#define BUF_BYTES (16 * 1024)
#define GROUP 0

static void die(const char *what, int err) {
    fprintf(stderr, "multishot: %s: %s\n", what, strerror(err < 0 ? -err : err));
    exit(1);
}

struct conn {
    int fd;
    unsigned char *ring;
    size_t head;  /* where the next bytes go (the parser consumes at once) */
    int short_read;
};

struct sender_args {
    int *fds;
    int count;
    size_t chunk;
    size_t per_connection;
};

static void *sender(void *p) {
    struct sender_args *a = p;
    unsigned char *block = malloc(a->chunk);
    for (size_t i = 0; i < a->chunk; i++) block[i] = (unsigned char)(i * 31 + 7);
    size_t *left = calloc(a->count, sizeof(size_t));
    for (int i = 0; i < a->count; i++) left[i] = a->per_connection;
    int busy = a->count;
    while (busy > 0) {
        busy = 0;
        for (int i = 0; i < a->count; i++) {
            if (left[i] == 0) continue;
            size_t n = left[i] < a->chunk ? left[i] : a->chunk;
            size_t done = 0;
            while (done < n) {
                ssize_t w = send(a->fds[i], block + done, n - done, MSG_NOSIGNAL);
                if (w <= 0) die("send", errno);
                done += (size_t)w;
            }
            left[i] -= n;
            if (left[i] > 0) busy++;
        }
    }
    return NULL;
}

static uint64_t touch(const unsigned char *p, size_t n) {
    uint64_t sum = 0, w;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) { memcpy(&w, p + i, 8); sum += w; }
    for (; i < n; i++) sum += p[i];
    return sum;
}

static double seconds(struct timeval t) { return t.tv_sec + t.tv_usec / 1e6; }

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: multishot single|multi CONNECTIONS TOTAL_MIB CHUNK_BYTES\n");
        return 2;
    }
    int multi = strcmp(argv[1], "multi") == 0;
    int count = atoi(argv[2]);
    size_t total = (size_t)atol(argv[3]) << 20;
    size_t chunk = (size_t)atol(argv[4]);
    size_t per = total / count;
    total = per * count;

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(listener, (struct sockaddr *)&a, sizeof a) || listen(listener, 4096) || getsockname(listener, (struct sockaddr *)&a, &len))
        die("listen", errno);
    int *senders = calloc(count, sizeof(int));
    struct conn *conns = calloc(count, sizeof(struct conn));
    int one = 1;
    for (int i = 0; i < count; i++) {
        senders[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(senders[i], (struct sockaddr *)&a, sizeof a)) die("connect", errno);
        setsockopt(senders[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[i].fd = accept(listener, NULL, NULL);
        if (conns[i].fd < 0) die("accept", errno);
        setsockopt(conns[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[i].ring = aligned_alloc(4096, RING_BYTES);
        memset(conns[i].ring, 0, RING_BYTES);
    }

    struct io_uring ring;
    struct io_uring_params params = {.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE,
                                     .cq_entries = 8192};
    int rc = io_uring_queue_init_params(4096, &ring, &params);
    if (rc) die("io_uring_queue_init_params", rc);

    struct io_uring_buf_ring *br = NULL;
    unsigned char *bufs = NULL;
    if (multi) {
        if (posix_memalign((void **)&br, 4096, BUF_COUNT * sizeof(struct io_uring_buf))) die("posix_memalign", ENOMEM);
        io_uring_buf_ring_init(br);
        struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = BUF_COUNT, .bgid = GROUP};
        rc = io_uring_register_buf_ring(&ring, &reg, 0);
        if (rc) die("io_uring_register_buf_ring", rc);
        bufs = aligned_alloc(4096, (size_t)BUF_COUNT * BUF_BYTES);
        memset(bufs, 0, (size_t)BUF_COUNT * BUF_BYTES);
        for (int b = 0; b < BUF_COUNT; b++)
            io_uring_buf_ring_add(br, bufs + (size_t)b * BUF_BYTES, BUF_BYTES, b, io_uring_buf_ring_mask(BUF_COUNT), b);
        io_uring_buf_ring_advance(br, BUF_COUNT);
    }

    // Arms connection i's receive.
    #define ARM(i) do { \
        struct io_uring_sqe *sqe = io_uring_get_sqe(&ring); \
        if (!sqe) { io_uring_submit(&ring); sqe = io_uring_get_sqe(&ring); } \
        if (multi) { \
            io_uring_prep_recv_multishot(sqe, conns[i].fd, NULL, 0, 0); \
            sqe->flags |= IOSQE_BUFFER_SELECT; \
            sqe->buf_group = GROUP; \
        } else { \
            size_t room = RING_BYTES - conns[i].head; \
            io_uring_prep_recv(sqe, conns[i].fd, conns[i].ring + conns[i].head, room, 0); \
            if (conns[i].short_read) sqe->ioprio |= IORING_RECVSEND_POLL_FIRST; \
        } \
        io_uring_sqe_set_data64(sqe, (uint64_t)(i)); \
    } while (0)

    for (int i = 0; i < count; i++) ARM(i);

    int threads = count < 2 ? 1 : 2;
    pthread_t tids[2];
    struct sender_args args[2];
    for (int t = 0; t < threads; t++) {
        int from = count * t / threads, to = count * (t + 1) / threads;
        args[t] = (struct sender_args){.fds = senders + from, .count = to - from, .chunk = chunk, .per_connection = per};
    }
    struct timespec w0, w1;
    struct rusage r0, r1;
    clock_gettime(CLOCK_MONOTONIC, &w0);
    getrusage(RUSAGE_THREAD, &r0);
    for (int t = 0; t < threads; t++) pthread_create(&tids[t], NULL, sender, &args[t]);

    size_t received = 0;
    uint64_t sum = 0, enters = 0, completions = 0, rearms = 0;
    while (received < total) {
        rc = io_uring_submit_and_wait(&ring, 1);
        enters++;
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) die("io_uring_submit_and_wait", rc);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0, returned = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            seen++;
            completions++;
            int i = (int)cqe->user_data;
            struct conn *c = &conns[i];
            if (cqe->res < 0 && cqe->res != -ENOBUFS) die("recv", cqe->res);
            if (cqe->res > 0) {
                size_t n = (size_t)cqe->res;
                if (multi) {
                    unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
                    const unsigned char *src = bufs + (size_t)bid * BUF_BYTES;
                    // Into the connection's ring, wrapping (the mirrored ring makes the
                    // parser's view contiguous; here two copies stand in for it).
                    size_t first = RING_BYTES - c->head < n ? RING_BYTES - c->head : n;
                    memcpy(c->ring + c->head, src, first);
                    memcpy(c->ring, src + first, n - first);
                    sum += touch(c->ring + c->head, first) + touch(c->ring, n - first);
                    c->head = (c->head + n) % RING_BYTES;
                    io_uring_buf_ring_add(br, (void *)src, BUF_BYTES, bid, io_uring_buf_ring_mask(BUF_COUNT), returned);
                    returned++;
                } else {
                    sum += touch(c->ring + c->head, n);
                    c->short_read = n < RING_BYTES - c->head;
                    c->head = (c->head + n) % RING_BYTES;
                }
                received += n;
            }
            if (cqe->res == 0 && received < total) die("recv: the sender closed early", 0);
            if (!multi || !(cqe->flags & IORING_CQE_F_MORE)) {
                if (multi) rearms++;
                if (received < total) ARM(i);
            }
        }
        if (returned) io_uring_buf_ring_advance(br, returned);
        io_uring_cq_advance(&ring, seen);
    }
    getrusage(RUSAGE_THREAD, &r1);
    clock_gettime(CLOCK_MONOTONIC, &w1);
    for (int t = 0; t < threads; t++) pthread_join(tids[t], NULL);
    double wall = (w1.tv_sec - w0.tv_sec) + (w1.tv_nsec - w0.tv_nsec) / 1e9;
    double user = seconds(r1.ru_utime) - seconds(r0.ru_utime), sys = seconds(r1.ru_stime) - seconds(r0.ru_stime);
    double mib = total / 1048576.0;
    printf("%s connections %d chunk %zu: %.0f MiB/s, receiver CPU %.1f us/MiB (user %.1f, system %.1f), %.2f io_uring_enter and %.2f completions per MiB, %lu re-arms (sum %llx)\n",
           argv[1], count, chunk, mib / wall, (user + sys) * 1e6 / mib, user * 1e6 / mib, sys * 1e6 / mib, enters / mib, completions / mib,
           (unsigned long)rearms, (unsigned long long)sum);
    return 0;
}
