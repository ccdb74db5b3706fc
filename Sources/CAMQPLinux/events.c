/* First line, before any header: keeps this unit in the same (GNU) glibc
 * mode as the other files of the target, whatever CAMQPLinux.h includes
 * first. */
#define _GNU_SOURCE 1

#include "CAMQPLinux.h"

#include <string.h>

/* ---------------------------------------------------------------- epoll -- */

int camqp_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int camqp_epoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    /* EPOLL_CTL_DEL ignores the event (a non-NULL pointer is only needed by
     * kernels before 2.6.9); passing it always is harmless. */
    return epoll_ctl(epfd, op, fd, &ev) == 0 ? 0 : -errno;
}

int camqp_epoll_wait(int epfd, struct epoll_event *out, int max, int timeout_ms) {
    int n = epoll_wait(epfd, out, max, timeout_ms);
    return n < 0 ? -errno : n;
}

/* Convenience only: spares Swift the epoll_data union. The packed layout
 * itself is handled correctly on both sides. */
uint32_t camqp_epoll_event_events(const struct epoll_event *ev) { return ev->events; }

uint64_t camqp_epoll_event_data(const struct epoll_event *ev) { return ev->data.u64; }

/* -------------------------------------------------------------- eventfd -- */

int camqp_eventfd_open(unsigned initval) {
    int fd = eventfd(initval, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int camqp_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    if (n == (ssize_t)sizeof one) {
        return 0;
    }
    if (n < 0 && errno == EAGAIN) {
        /* The counter is at its maximum (0xfffffffffffffffe): the fd is
         * readable already, which is all a wake-up needs. */
        return 0;
    }
    /* An eventfd write is all-or-nothing; a short count cannot happen. */
    return n < 0 ? -errno : -EIO;
}

int camqp_eventfd_drain(int fd, uint64_t *value) {
    uint64_t v = 0;
    ssize_t n = read(fd, &v, sizeof v);
    if (n == (ssize_t)sizeof v) {
        if (value != NULL) {
            *value = v;
        }
        return 0;
    }
    return n < 0 ? -errno : -EIO;
}

/* -------------------------------------------------------------- timerfd -- */

int camqp_timerfd_open(void) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int camqp_timerfd_arm(int fd, uint64_t deadline_ns) {
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    /* An all-zero it_value disarms instead of firing; a deadline of 0 is
     * "long past", so move it to 1 ns, which fires at once like any other
     * past absolute deadline. */
    if (deadline_ns == 0) {
        deadline_ns = 1;
    }
    its.it_value.tv_sec = (time_t)(deadline_ns / 1000000000ULL);
    its.it_value.tv_nsec = (long)(deadline_ns % 1000000000ULL);
    return timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) == 0 ? 0 : -errno;
}

int camqp_timerfd_disarm(int fd) {
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    return timerfd_settime(fd, 0, &its, NULL) == 0 ? 0 : -errno;
}

int camqp_timerfd_read(int fd, uint64_t *expirations) {
    uint64_t v = 0;
    ssize_t n = read(fd, &v, sizeof v);
    if (n == (ssize_t)sizeof v) {
        if (expirations != NULL) {
            *expirations = v;
        }
        return 0;
    }
    return n < 0 ? -errno : -EIO;
}

uint64_t camqp_monotonic_ns(void) {
    struct timespec ts;
    /* CLOCK_MONOTONIC cannot fail with a valid pointer. */
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
