/*
 * The system calls a mechanism makes for each message, made inline.
 *
 * A plain program's loop calls the C library's wrapper, and the wrapper makes
 * the call: one frame between the loop and the kernel. ipcbench's loop reaches
 * a mechanism through its operations table, a frame of its own, so with the
 * wrapper's there would be two. That matters when the call blocks and the peer
 * runs on the same CPU: on the switch back, a kernel that mitigates Spectre-RSB
 * (a retpoline kernel) has refilled the return stack buffer, so each return
 * taken after the peer's turn is mispredicted and waits for its stack line.
 * With the wrapper's frame as well, pipe's 64 B round trip with both sides on
 * one CPU read 1.05x a plain blocking loop's; with the call inline, 1.00-1.02x.
 *
 * So every per-message system call goes through these, and each row has one
 * frame between its loop and the kernel, as a plain program has. Calls into a
 * library that is part of the mechanism (liburing, libzmq, pthread condition
 * variables, POSIX semaphores) stay library calls.
 * Elsewhere than x86-64, and in sanitizer builds (ASan checks the buffers and
 * TSan learns the fd's ordering in the wrappers), these are the C library's own.
 * So they are when the environment holds IPCBENCH_SYSCALLS=libc at start-up
 * (sys_inline_init): a library preloaded to interpose read() or recv() then
 * sees every call, as the test of verification against partial copies needs.
 */
#ifndef IPCBENCH_SYS_INLINE_H
#define IPCBENCH_SYS_INLINE_H

#include <errno.h>
#include <mqueue.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SYS_INLINE_WRAPPED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define SYS_INLINE_WRAPPED 1
#endif
#endif

#include <stdbool.h>

/* True to make every call through the C library (IPCBENCH_SYSCALLS=libc). */
extern bool sys_via_libc;

/** Read IPCBENCH_SYSCALLS from the environment: "libc" or unset ("inline"). 0, or -EINVAL for another value. */
int sys_inline_init(void);

#if defined(__x86_64__) && defined(__linux__) && !defined(SYS_INLINE_WRAPPED)
/* The x86-64 system call: number in rax, arguments in rdi, rsi, rdx, r10, r8, r9; rcx and r11 are lost. */
static inline long sys_call6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	if ((unsigned long)ret > -4096UL) { /* -errno, as the C library's wrappers turn it into -1 and errno */
		errno = (int)-ret;
		return -1;
	}
	return ret;
}
#define SYS_LIBC __builtin_expect(sys_via_libc, 0)
#else
#define SYS_LIBC 1
static inline long sys_call6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
	return syscall(nr, a1, a2, a3, a4, a5, a6);
}
#endif

static inline ssize_t sys_read(int fd, void *buf, size_t len)
{
	if (SYS_LIBC)
		return read(fd, buf, len);
	return sys_call6(SYS_read, fd, (long)buf, (long)len, 0, 0, 0);
}

static inline ssize_t sys_write(int fd, const void *buf, size_t len)
{
	if (SYS_LIBC)
		return write(fd, buf, len);
	return sys_call6(SYS_write, fd, (long)buf, (long)len, 0, 0, 0);
}

static inline ssize_t sys_send(int fd, const void *buf, size_t len, int flags)
{
	if (SYS_LIBC)
		return send(fd, buf, len, flags);
	return sys_call6(SYS_sendto, fd, (long)buf, (long)len, flags, 0, 0);
}

static inline ssize_t sys_recv(int fd, void *buf, size_t len, int flags)
{
	if (SYS_LIBC)
		return recv(fd, buf, len, flags);
	return sys_call6(SYS_recvfrom, fd, (long)buf, (long)len, flags, 0, 0);
}

static inline ssize_t sys_sendmsg(int fd, const struct msghdr *mh, int flags)
{
	if (SYS_LIBC)
		return sendmsg(fd, mh, flags);
	return sys_call6(SYS_sendmsg, fd, (long)mh, flags, 0, 0, 0);
}

static inline ssize_t sys_recvmsg(int fd, struct msghdr *mh, int flags)
{
	if (SYS_LIBC)
		return recvmsg(fd, mh, flags);
	return sys_call6(SYS_recvmsg, fd, (long)mh, flags, 0, 0, 0);
}

static inline ssize_t sys_vmsplice(int fd, const struct iovec *iov, unsigned long n, unsigned flags)
{
	if (SYS_LIBC)
		return vmsplice(fd, iov, n, flags);
	return sys_call6(SYS_vmsplice, fd, (long)iov, (long)n, flags, 0, 0);
}

static inline ssize_t sys_process_vm_readv(pid_t pid, const struct iovec *local, unsigned long n_local,
					   const struct iovec *remote, unsigned long n_remote)
{
	if (SYS_LIBC)
		return process_vm_readv(pid, local, n_local, remote, n_remote, 0);
	return sys_call6(SYS_process_vm_readv, pid, (long)local, (long)n_local, (long)remote, (long)n_remote, 0);
}

static inline int sys_mq_timedsend(mqd_t q, const void *buf, size_t len, unsigned prio,
				   const struct timespec *abs)
{
	if (SYS_LIBC)
		return mq_timedsend(q, buf, len, prio, abs);
	return (int)sys_call6(SYS_mq_timedsend, q, (long)buf, (long)len, prio, (long)abs, 0);
}

static inline ssize_t sys_mq_timedreceive(mqd_t q, void *buf, size_t cap, unsigned *prio,
					  const struct timespec *abs)
{
	if (SYS_LIBC)
		return mq_timedreceive(q, buf, cap, prio, abs);
	return sys_call6(SYS_mq_timedreceive, q, (long)buf, (long)cap, (long)prio, (long)abs, 0);
}

/* ppoll(2) without a signal mask. */
static inline int sys_ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts)
{
	if (SYS_LIBC)
		return ppoll(fds, n, ts, NULL);
	return (int)sys_call6(SYS_ppoll, (long)fds, (long)n, (long)ts, 0, 0, 0);
}

/* futex(2) with a relative timeout (FUTEX_WAIT) or none (FUTEX_WAKE). */
static inline long sys_futex(uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	if (SYS_LIBC)
		return syscall(SYS_futex, word, op, val, ts, NULL, 0);
	return sys_call6(SYS_futex, (long)word, op, val, (long)ts, 0, 0);
}

#endif
