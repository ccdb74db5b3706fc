/* First line, before any header: memfd_create and MFD_CLOEXEC are GNU
 * extensions in glibc's <sys/mman.h>; without _GNU_SOURCE decided before the
 * first include they are simply not declared. */
#define _GNU_SOURCE 1

#include "CAMQPLinux.h"

#include <string.h>

size_t camqp_page_size(void) {
    long page = sysconf(_SC_PAGESIZE);
    /* sysconf cannot fail for _SC_PAGESIZE on Linux; 4096 keeps the type
     * honest should it ever return -1. */
    return page > 0 ? (size_t)page : 4096;
}

int camqp_mirror_map(size_t size, camqp_mirror_t *out) {
    return camqp_mirror_map_named(size, "camqp-ring", out);
}

int camqp_mirror_map_named(size_t size, const char *name, camqp_mirror_t *out) {
    if (out == NULL) {
        return -EINVAL;
    }
    out->base = NULL;
    out->size = 0;
    if (name == NULL) {
        return -EINVAL;
    }

    size_t page = camqp_page_size();
    /* Both views must start on a page boundary, and 2 * size must not wrap. */
    if (size == 0 || size % page != 0 || size > SIZE_MAX / 2) {
        return -EINVAL;
    }

    /* MFD_CLOEXEC: the fd lives only inside this call, but a concurrent
     * fork+exec on another thread must not inherit it. */
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    int ret = 0;
    uint8_t *reserve = MAP_FAILED;
    if (ftruncate(fd, (off_t)size) != 0) {
        ret = -errno;
        goto fail;
    }
    /* Reserve 2*size of address space first, so the two views are adjacent
     * and nothing else can be mapped in between. PROT_NONE + MAP_NORESERVE
     * costs no memory. */
    reserve = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (reserve == MAP_FAILED) {
        ret = -errno;
        goto fail;
    }
    /* MAP_FIXED is safe here (it silently replaces whatever is mapped there)
     * only because we own the whole range; MAP_FIXED_NOREPLACE would refuse
     * precisely because our reservation is there. */
    for (int view = 0; view < 2; view++) {
        void *want = reserve + (size_t)view * size;
        void *got = mmap(want, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
        if (got == MAP_FAILED) {
            ret = -errno;
            goto fail;
        }
    }
    /* The two MAP_SHARED mappings hold the memfd's pages alive; the fd
     * itself is not needed any more, and one fd per connection would add up. */
    close(fd);
    out->base = reserve;
    out->size = size;
    return 0;

fail:
    /* One munmap of the whole reserved range removes the reservation and any
     * view already placed inside it. Errors here are not interesting: ret
     * already holds the errno that made us give up. */
    if (reserve != MAP_FAILED) {
        munmap(reserve, 2 * size);
    }
    close(fd);
    return ret;
}

int camqp_mirror_unmap(camqp_mirror_t *m) {
    if (m == NULL || m->base == NULL || m->size == 0 || m->size > SIZE_MAX / 2) {
        return -EINVAL;
    }
    if (munmap(m->base, 2 * m->size) != 0) {
        return -errno;
    }
    m->base = NULL;
    m->size = 0;
    return 0;
}

int camqp_memory_give_back(void *base, size_t size, bool shared) {
    size_t page = camqp_page_size();
    if (base == NULL || size == 0 || (uintptr_t)base % page != 0 || size % page != 0) {
        return -EINVAL;
    }
    /* MADV_DONTNEED on a shared mapping would only drop this process's page
     * table entries: the memfd would keep the pages (and they would still be
     * charged to us as shmem). MADV_REMOVE frees the backing store itself. */
    if (madvise(base, size, shared ? MADV_REMOVE : MADV_DONTNEED) != 0) {
        return -errno;
    }
    return 0;
}

long camqp_resident_pages(void *base, size_t size) {
    size_t page = camqp_page_size();
    if (base == NULL || (uintptr_t)base % page != 0) {
        return -EINVAL;
    }
    size_t pages = (size + page - 1) / page;
    unsigned char vector[256];
    long resident = 0;
    for (size_t done = 0; done < pages;) {
        size_t n = pages - done < sizeof vector ? pages - done : sizeof vector;
        if (mincore((uint8_t *)base + done * page, n * page, vector) != 0) {
            return -errno;
        }
        for (size_t i = 0; i < n; i++) {
            resident += vector[i] & 1;
        }
        done += n;
    }
    return resident;
}
