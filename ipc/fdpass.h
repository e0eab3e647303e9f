/* Passing a file descriptor with a record over a Unix socket (SCM_RIGHTS): memfd and memfd-pool. */
#ifndef IPCBENCH_FDPASS_H
#define IPCBENCH_FDPASS_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Both calls expect a blocking SOCK_SEQPACKET or SOCK_DGRAM socket made so by
 * fd_blocking(): under the runner its waits are plain and the watchdog bounds
 * them; driven directly, SO_SNDTIMEO and SO_RCVTIMEO do, and a wait that runs
 * out is -ETIMEDOUT. Neither formats a string.
 */

/**
 * Send one record of len bytes, with fd attached when fd >= 0 (the peer gets
 * a descriptor of its own for the same file; ours stays open).
 * @return 0, -ETIMEDOUT, -EPIPE when the peer is gone, or another -errno.
 */
int fdpass_send(int sock, const void *buf, size_t len, int fd);

/**
 * Receive one record of up to cap bytes into buf; *fd gets the descriptor
 * that came with it (close-on-exec), or -1 when none did. A record that was
 * cut, or that carried more than one descriptor, is -EPROTO, and whatever
 * descriptors came with it are closed.
 * @return the record's length, 0 when the peer closed, -ETIMEDOUT, or -errno.
 */
ssize_t fdpass_recv(int sock, void *buf, size_t cap, int *fd);

#endif
