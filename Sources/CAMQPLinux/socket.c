/* First line, before any header: accept4 is a GNU extension in glibc,
 * declared only when _GNU_SOURCE is set before the first include. */
#define _GNU_SOURCE 1

#include "CAMQPLinux.h"

int camqp_socket_open(int domain, int type) {
    /* Atomic flags: no window in which another thread's fork+exec could
     * inherit the fd, and no extra fcntl calls. */
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

int camqp_fd_set_nonblock_cloexec(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) {
        return -errno;
    }
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        return -errno;
    }
    int fdf = fcntl(fd, F_GETFD);
    if (fdf < 0) {
        return -errno;
    }
    if (!(fdf & FD_CLOEXEC) && fcntl(fd, F_SETFD, fdf | FD_CLOEXEC) != 0) {
        return -errno;
    }
    return 0;
}

int camqp_accept(int fd, struct sockaddr *addr, socklen_t *addrlen) {
    int c = accept4(fd, addr, addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return c < 0 ? -errno : c;
}

int camqp_connect(int fd, const struct sockaddr *addr, socklen_t addrlen) {
    return connect(fd, addr, addrlen) == 0 ? 0 : -errno;
}

static int set_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof value) == 0 ? 0 : -errno;
}

int camqp_tcp_set_nodelay(int fd, bool on) {
    return set_int(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0);
}

int camqp_tcp_set_keepalive(int fd, bool on, int idle_s, int interval_s, int count) {
    int ret = set_int(fd, SOL_SOCKET, SO_KEEPALIVE, on ? 1 : 0);
    if (ret != 0 || !on) {
        return ret;
    }
    /* Each knob is optional: <= 0 keeps the system default
     * (net.ipv4.tcp_keepalive_*), which is 2 hours idle on most machines. */
    if (idle_s > 0 && (ret = set_int(fd, IPPROTO_TCP, TCP_KEEPIDLE, idle_s)) != 0) {
        return ret;
    }
    if (interval_s > 0 && (ret = set_int(fd, IPPROTO_TCP, TCP_KEEPINTVL, interval_s)) != 0) {
        return ret;
    }
    if (count > 0 && (ret = set_int(fd, IPPROTO_TCP, TCP_KEEPCNT, count)) != 0) {
        return ret;
    }
    return 0;
}

int camqp_tcp_set_user_timeout(int fd, unsigned timeout_ms) {
    if (timeout_ms > (unsigned)INT32_MAX) {
        return -EINVAL;
    }
    return set_int(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, (int)timeout_ms);
}

int camqp_socket_error(int fd, int *so_error) {
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &v, &len) != 0) {
        return -errno;
    }
    if (so_error != NULL) {
        *so_error = v;
    }
    return 0;
}

ssize_t camqp_send_nosignal(int fd, const void *buf, size_t len, int flags) {
    ssize_t n = send(fd, buf, len, flags | MSG_NOSIGNAL);
    return n < 0 ? -errno : n;
}

ssize_t camqp_sendv_nosignal(int fd, const struct iovec *iov, int iovcnt) {
    struct msghdr msg = {0};
    /* msghdr.msg_iov is not const-qualified, but sendmsg only reads it. */
    msg.msg_iov = (struct iovec *)(uintptr_t)iov;
    msg.msg_iovlen = (size_t)iovcnt;
    ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
    return n < 0 ? -errno : n;
}

ssize_t camqp_recv(int fd, void *buf, size_t len, int flags) {
    ssize_t n = recv(fd, buf, len, flags);
    return n < 0 ? -errno : n;
}
