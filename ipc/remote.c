/* Addresses of a data connection between two hosts (tp_remote): shared by tcp, udp and zmq-tcp. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "transport.h"

int tp_remote_addr(const char *host, unsigned port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_family = AF_UNSPEC };
	struct addrinfo *ai = NULL;
	char service[8];
	snprintf(service, sizeof(service), "%u", port & 0xffff);
	if (getaddrinfo(host, service, &hints, &ai) || !ai || ai->ai_addrlen > sizeof(*ss)) {
		if (ai)
			freeaddrinfo(ai);
		return -EINVAL;
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

unsigned tp_bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

bool tp_from_host(int fd, const char *host)
{
	struct sockaddr_storage ss, want;
	socklen_t len = sizeof(ss), want_len;
	char got[NI_MAXHOST], norm[NI_MAXHOST];
	if (getpeername(fd, (struct sockaddr *)&ss, &len) || tp_remote_addr(host, 0, &want, &want_len))
		return false;
	/* Both through getnameinfo, so two spellings of one IPv6 address compare equal. */
	if (getnameinfo((struct sockaddr *)&ss, len, got, sizeof(got), NULL, 0, NI_NUMERICHOST) ||
	    getnameinfo((struct sockaddr *)&want, want_len, norm, sizeof(norm), NULL, 0, NI_NUMERICHOST))
		return false;
	return strcmp(got, norm) == 0;
}
