/* The control connection's sockets. */
#include "net.h"

#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "ipc/fdio.h"

int net_split(const char *arg, char host[NET_HOST_MAX], unsigned *port)
{
	const char *colon, *end;
	if (arg[0] == '[') {
		end = strchr(arg, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		colon = end[1] ? end + 1 : NULL;
		arg++;
	} else {
		colon = strrchr(arg, ':');
		if (colon && strchr(arg, ':') != colon)
			return -EINVAL; /* an IPv6 address needs its brackets to take a port */
		end = colon ? colon : arg + strlen(arg);
	}
	size_t n = (size_t)(end - arg);
	if (n == 0 || n >= NET_HOST_MAX)
		return -EINVAL;
	memcpy(host, arg, n);
	host[n] = '\0';
	if (!colon)
		return 0;
	char *tail;
	errno = 0;
	unsigned long p = strtoul(colon + 1, &tail, 10);
	if (errno || *tail || colon[1] < '0' || colon[1] > '9' || p > 65535)
		return -EINVAL;
	*port = (unsigned)p;
	return 0;
}

static struct addrinfo *resolve(const char *host, unsigned port, int flags, char *why, size_t why_len)
{
	struct addrinfo hints = { .ai_flags = flags | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM };
	struct addrinfo *ai = NULL;
	char service[8];
	snprintf(service, sizeof(service), "%u", port);
	int rc = getaddrinfo(host, service, &hints, &ai);
	if (rc) {
		snprintf(why, why_len, "'%s' is not an address%s: %s", host,
			 flags & AI_NUMERICHOST ? " (give a numeric one)" : " or a host name", gai_strerror(rc));
		return NULL;
	}
	return ai;
}

int net_listen(const char *host, unsigned port, char *why, size_t why_len)
{
	struct addrinfo *ai = resolve(host, port, AI_NUMERICHOST | AI_PASSIVE, why, why_len);
	if (!ai)
		return -1;
	int one = 1, fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16)) {
		snprintf(why, why_len, "cannot listen on %s port %u: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* One connect, waited for until deadline_ns. 0 or -errno. */
static int connect_one(int fd, const struct addrinfo *ai, int64_t deadline_ns)
{
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	int rc = fd_wait(fd, POLLOUT, deadline_ns, false);
	if (rc && rc != -EPIPE) /* a failed connect polls as an error: SO_ERROR says which */
		return rc;
	int err = 0;
	socklen_t len = sizeof(err);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	return err ? -err : rc;
}

int net_connect(const char *host, unsigned port, int64_t timeout_ns, char *why, size_t why_len)
{
	struct addrinfo *ai = resolve(host, port, 0, why, why_len);
	if (!ai)
		return -1;
	int64_t deadline = now_ns() + timeout_ns;
	int fd = -1, rc = -EHOSTUNREACH;
	for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0 && (rc = connect_one(fd, a, deadline))) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(ai);
	if (fd < 0)
		snprintf(why, why_len, "cannot connect to %s port %u: %s%s", host, port, strerror(-rc),
			 rc == -ECONNREFUSED ? " (is `ipcbench serve` running there, and the port open?)" : "");
	return fd;
}

static void numeric(const struct sockaddr_storage *ss, socklen_t len, char host[NET_HOST_MAX], unsigned *port)
{
	char serv[16] = "0";
	if (getnameinfo((const struct sockaddr *)ss, len, host, NET_HOST_MAX, serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(host, NET_HOST_MAX, "?");
	*port = (unsigned)strtoul(serv, NULL, 10);
}

int net_ends(int fd, char here[NET_HOST_MAX], unsigned *here_port, char peer[NET_HOST_MAX], unsigned *peer_port)
{
	struct sockaddr_storage a, b;
	socklen_t la = sizeof(a), lb = sizeof(b);
	if (getsockname(fd, (struct sockaddr *)&a, &la) || getpeername(fd, (struct sockaddr *)&b, &lb))
		return -1;
	numeric(&a, la, here, here_port);
	numeric(&b, lb, peer, peer_port);
	return 0;
}

bool net_is_local(const char *host)
{
	struct ifaddrs *ifs = NULL, *i;
	bool local = strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 || strncmp(host, "::ffff:127.", 11) == 0;
	if (local || getifaddrs(&ifs))
		return local;
	for (i = ifs; i && !local; i = i->ifa_next) {
		char name[NET_HOST_MAX];
		int fam = i->ifa_addr ? i->ifa_addr->sa_family : AF_UNSPEC;
		socklen_t len = fam == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		if ((fam == AF_INET || fam == AF_INET6) &&
		    getnameinfo(i->ifa_addr, len, name, sizeof(name), NULL, 0, NI_NUMERICHOST) == 0)
			local = strcmp(name, host) == 0;
	}
	freeifaddrs(ifs);
	return local;
}
