/* The control connection's sockets: ADDR[:PORT], listen, connect with a deadline, who is at each end. */
#ifndef IPCBENCH_PEER_NET_H
#define IPCBENCH_PEER_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_HOST_MAX 64

/** Split "HOST", "HOST:PORT", "[V6]" or "[V6]:PORT"; port stays as given when absent. 0 or -EINVAL. */
int net_split(const char *arg, char host[NET_HOST_MAX], unsigned *port);

/** A listening TCP socket on host:port (non-blocking, close-on-exec). The fd, or -1 with one line in why. */
int net_listen(const char *host, unsigned port, char *why, size_t why_len);

/** Connect to host:port (a name or an address), waiting at most timeout_ns. A non-blocking fd, or -1 with why. */
int net_connect(const char *host, unsigned port, int64_t timeout_ns, char *why, size_t why_len);

/** The numeric addresses of a connected socket's two ends, and the ports. 0 or -1. */
int net_ends(int fd, char here[NET_HOST_MAX], unsigned *here_port, char peer[NET_HOST_MAX], unsigned *peer_port);

/** Is this numeric address on this host: loopback, or an address of this network namespace? */
bool net_is_local(const char *host);

#endif
