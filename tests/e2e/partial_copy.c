/* LD_PRELOAD fault: receives that copy only the first 64 bytes of what arrived, and say they copied it all. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/*
 * With IPCBENCH_PARTIAL_COPY_AFTER=N in the environment, every read(), recv()
 * and recvfrom() of this process after its first N calls (counted together,
 * per process: a forked child starts again from zero) receives into a private
 * scratch buffer and copies only the first PARTIAL_KEEP bytes of what arrived
 * into the caller's buffer; the rest of the caller's buffer keeps what it held.
 * The return value is the real byte count, so the caller believes every byte
 * arrived. Calls for at most PARTIAL_KEEP bytes pass through. Without the
 * variable nothing changes. ipcbench's fd mechanisms receive with read()
 * (ipc/fdio.c fd_recv_all) and recv() (fd_recv_msg, ipc/uds.c); none uses
 * recvmsg().
 */
#define PARTIAL_KEEP 64

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);

static read_fn real_read;
static recv_fn real_recv;
static recvfrom_fn real_recvfrom;
static uint64_t after = UINT64_MAX; /* UINT64_MAX: the variable is not set, never interfere */
static _Atomic uint64_t calls;

/* Each thread's scratch buffer, grown as needed and kept for the next call. */
static _Thread_local unsigned char *scratch;
static _Thread_local size_t scratch_cap;

static void reset_in_child(void)
{
	atomic_store(&calls, 0);
}

/* Also called from the wrappers: another library's constructor may receive before ours ran. */
static void resolve(void)
{
	if (!real_read)
		real_read = (read_fn)dlsym(RTLD_NEXT, "read");
	if (!real_recv)
		real_recv = (recv_fn)dlsym(RTLD_NEXT, "recv");
	if (!real_recvfrom)
		real_recvfrom = (recvfrom_fn)dlsym(RTLD_NEXT, "recvfrom");
}

__attribute__((constructor)) static void partial_init(void)
{
	resolve();
	const char *v = getenv("IPCBENCH_PARTIAL_COPY_AFTER");
	if (v && *v) {
		char *end;
		unsigned long long n = strtoull(v, &end, 10);
		if (*end == '\0')
			after = n;
	}
	pthread_atfork(NULL, NULL, reset_in_child);
}

/* The buffer to receive into: the caller's, or scratch when this call is to be cut short. */
static void *target(void *buf, size_t len)
{
	uint64_t n = atomic_fetch_add(&calls, 1);
	if (after == UINT64_MAX || n < after || len <= PARTIAL_KEEP)
		return buf;
	if (scratch_cap < len) {
		unsigned char *p = realloc(scratch, len);
		if (!p)
			return buf; /* no room to fake it: behave */
		scratch = p;
		scratch_cap = len;
	}
	return scratch;
}

/* After a receive into t of at most len bytes that returned got: copy the first bytes over. */
static ssize_t finish(void *buf, const void *t, size_t len, ssize_t got)
{
	if (t != buf && got > 0) {
		size_t keep = (size_t)got < len ? (size_t)got : len; /* MSG_TRUNC may report more than len */
		memcpy(buf, t, keep < PARTIAL_KEEP ? keep : PARTIAL_KEEP);
	}
	return got;
}

ssize_t read(int fd, void *buf, size_t len)
{
	resolve();
	void *t = target(buf, len);
	return finish(buf, t, len, real_read(fd, t, len));
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	resolve();
	void *t = target(buf, len);
	return finish(buf, t, len, real_recv(fd, t, len, flags));
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *addr_len)
{
	resolve();
	void *t = target(buf, len);
	return finish(buf, t, len, real_recvfrom(fd, t, len, flags, addr, addr_len));
}

/* A build with _FORTIFY_SOURCE calls these where it knows the buffer's size. */
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buf_len);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buf_len, int flags);

ssize_t __read_chk(int fd, void *buf, size_t len, size_t buf_len)
{
	if (len > buf_len)
		abort();
	return read(fd, buf, len);
}

ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buf_len, int flags)
{
	if (len > buf_len)
		abort();
	return recv(fd, buf, len, flags);
}
