/* `ipcbench serve`: waits for clients, one at a time, and runs side B of each case a client sends. */
#include "peer.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "host.h"
#include "peer/auth.h"
#include "peer/ctl.h"
#include "peer/link.h"
#include "peer/net.h"
#include "registry.h"
#include "runner.h"
#include "topology.h"
#include "version.h"

#define BUSY_SEND_NS (200 * 1000000LL) /* a client turned away gets this long to read why */
#define STOP_GRACE_MS 2000             /* a stopped server's session gets this long to end its run */

struct serve_opts {
	char host[NET_HOST_MAX];
	unsigned port;
	const char *key_file;
	bool once;
};

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line on stderr per event. */
static void logf_(const char *fmt, ...)
{
	va_list ap;
	fputs("ipcbench serve: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int usage(const char *fmt, const char *arg)
{
	fputs("ipcbench serve: ", stderr);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 2;
}

static void serve_help(void)
{
	fputs("usage: ipcbench serve [--listen ADDR[:PORT]] [--key FILE] [--once]\n"
	      "  --listen ADDR[:PORT]  the address (and port) of the control connection (default 127.0.0.1:7650;\n"
	      "                        0.0.0.0 or [::] listens on every address)\n"
	      "  --key FILE            the shared key a client must prove it holds (HMAC-SHA-256); without it\n"
	      "                        only clients on this host (loopback, this network namespace) are served\n"
	      "  --once                exit after one client\n", stdout);
}

static int parse_serve(int argc, char **argv, struct serve_opts *o)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'L' }, { "key", required_argument, NULL, 'k' },
		{ "once", no_argument, NULL, '1' },         { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct serve_opts){ .host = "127.0.0.1", .port = CTL_PORT };
	opterr = 0;
	optind = 0;
	int c;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'L' && net_split(optarg, o->host, &o->port))
			return usage("--listen: '%s' is not ADDR or ADDR:PORT (IPv6 in brackets: [::1]:7650)", optarg);
		if (c == 'k')
			o->key_file = optarg;
		if (c == '1')
			o->once = true;
		if (c == 'h') {
			serve_help();
			return -1;
		}
		if (c == ':')
			return usage("%s needs a value: --listen ADDR[:PORT], --key FILE", argv[optind - 1]);
		if (c == '?')
			return usage("unknown option '%s'; see ipcbench serve --help", argv[optind - 1]);
	}
	if (optind < argc)
		return usage("unexpected argument '%s'; see ipcbench serve --help", argv[optind]);
	return 0;
}

/* --- one client's session, in a process of its own --- */

struct session {
	int fd;
	const struct peer_key *key;
	char who[NET_HOST_MAX + 16]; /* "10.0.0.2:40112", for the log */
	struct run_link link;
	int default_cpu;
	long runs;
};

static int session_end(struct session *s, int status, const char *why)
{
	logf_("client %s: %s", s->who, why);
	if (s->fd >= 0)
		close(s->fd);
	return status;
}

/* Refuse the client with one line it reads, and end the session. */
static int session_refuse(struct session *s, const char *why)
{
	ctl_send(s->fd, json_pack("{s:s, s:s}", "type", "error", "reason", why), now_ns() + CTL_GREET_NS);
	char line[300];
	snprintf(line, sizeof(line), "refused: %s", why);
	return session_end(s, 1, line);
}

static int session_recv(struct session *s, struct ctl_msg *m, int64_t wait_ns)
{
	char why[200] = "", line[260];
	int rc = ctl_recv(s->fd, m, now_ns() + wait_ns, why, sizeof(why));
	if (rc == 0)
		return 0;
	snprintf(line, sizeof(line), "closed: %s", rc == -EPIPE ? "the client hung up"
		 : rc == -ETIMEDOUT ? "no message within the deadline" : why[0] ? why : strerror(-rc));
	session_end(s, 1, line);
	return -1;
}

/* hello, auth, welcome. 0, or the session's exit status after it ended. */
static int session_greet(struct session *s)
{
	unsigned char nonce_s[CTL_NONCE_BYTES], nonce_c[CTL_NONCE_BYTES];
	char hex[2 * CTL_NONCE_BYTES + 1];
	peer_nonce(nonce_s);
	ctl_hex(nonce_s, sizeof(nonce_s), hex);
	ctl_send(s->fd, json_pack("{s:s, s:i, s:s, s:s, s:s}", "type", "hello", "proto", CTL_PROTO, "version",
				  IPCBENCH_VERSION, "auth", s->key->set ? "hmac-sha256" : "none", "nonce", hex),
		 now_ns() + CTL_GREET_NS);
	struct ctl_msg m;
	if (session_recv(s, &m, CTL_GREET_NS))
		return 1;
	bool is_auth = m.type == CTL_AUTH, proto_ok = ctl_int(&m, "proto") == CTL_PROTO;
	ctl_unhex(ctl_str(&m, "nonce"), nonce_c, sizeof(nonce_c));
	bool key_ok = !s->key->set || peer_mac_ok(s->key, "client", nonce_s, nonce_c, ctl_str(&m, "mac"));
	ctl_msg_free(&m);
	if (!is_auth)
		return session_refuse(s, "the first message must be auth");
	if (!proto_ok)
		return session_refuse(s, "this server speaks control protocol 1 only");
	if (!key_ok)
		return session_refuse(s, "authentication failed: the client's key is not the server's");
	if (!s->key->set && !net_is_local(s->link.remote.peer))
		return session_refuse(s, "this server has no --key and serves clients on its own host only; start it "
					 "with --key FILE");
	/* This host's facts only now: they take a moment, and a client that failed the greeting gets none. */
	char hostname[256] = "", why[160];
	int pair[2] = { -1, -1 };
	gethostname(hostname, sizeof(hostname) - 1);
	topo_default_pair(pair, why, sizeof(why));
	s->default_cpu = pair[1];
	json_t *w = json_pack("{s:s, s:s, s:o}", "type", "welcome", "hostname", hostname, "host", host_json(pair));
	if (s->key->set) {
		peer_mac(s->key, "server", nonce_c, nonce_s, hex);
		json_object_set_new(w, "mac", json_string(hex));
	}
	if (ctl_send(s->fd, w, now_ns() + CTL_GREET_NS))
		return session_end(s, 1, "closed: the welcome could not be sent");
	logf_("client %s: %s", s->who, s->key->set ? "authenticated with the key" : "accepted (on this host)");
	return 0;
}

/* B's CPU: as the case asks, if this server may use it; else (or unasked) its default. -2: not allowed. */
static int case_cpu(const struct session *s, const struct ctl_msg *m)
{
	if (!ctl_has(m, "cpu"))
		return s->default_cpu;
	int cpu = (int)ctl_int(m, "cpu");
	cpu_set_t set;
	if (cpu < 0)
		return -1;
	return sched_getaffinity(0, sizeof(set), &set) == 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &set) ? cpu : -2;
}

static int case_refuse(struct session *s, const char *why)
{
	int rc = ctl_send(s->fd, json_pack("{s:s, s:s}", "type", "refused", "reason", why), now_ns() + CTL_GREET_NS);
	return rc ? session_end(s, 1, "closed: the refusal could not be sent") : 0;
}

/* One case: side B through the runner, as locally. 0 to go on, else the session's exit status. */
static int session_case(struct session *s, const struct ctl_msg *m)
{
	char why[300];
	const struct transport_ops *ops = transport_find(ctl_str(m, "mechanism"));
	int cpu = case_cpu(s, m);
	if (!ops) {
		snprintf(why, sizeof(why), "no mechanism '%s' on this server", ctl_str(m, "mechanism"));
		return case_refuse(s, why);
	}
	if (cpu == -2) {
		snprintf(why, sizeof(why), "CPU %lld is not one this server may use", (long long)ctl_int(m, "cpu"));
		return case_refuse(s, why);
	}
	struct case_spec c = {
		.ops = ops, .pattern = strcmp(ctl_str(m, "pattern"), "stream") == 0 ? PAT_STREAM : PAT_PINGPONG,
		.msg_bytes = (size_t)ctl_int(m, "size"), .warmup_ns = ctl_int(m, "warmup_ns"),
		.duration_ns = ctl_int(m, "duration_ns"), .timeout_ns = ctl_int(m, "timeout_ns"),
		.cpu = { -1, cpu }, .verify_full = ctl_bool(m, "verify_full"), .senders = 1, .pairs = 1,
		.link = &s->link,
	};
	s->link.remote.port_peer = (unsigned)ctl_int(m, "port");
	s->link.remote.port_here = 0;
	if (case_unsupported(&c, why, sizeof(why)))
		return case_refuse(s, why);
	struct rep_result *rr = malloc(sizeof(*rr));
	if (!rr)
		return session_refuse(s, "the server is out of memory");
	int rc = run_once(&c, rr);
	free(rr);
	if (s->link.fd < 0) {
		s->fd = -1; /* the link closed it */
		return session_end(s, 1, s->link.broke);
	}
	if (rc == -EINTR)
		return session_refuse(s, "the server is stopping");
	return 0;
}

/* After the greeting: cases until bye. Late flags and aborts of a run that already ended are let pass. */
static int session_cases(struct session *s)
{
	for (;;) {
		struct ctl_msg m;
		if (session_recv(s, &m, CTL_IDLE_NS))
			return 1;
		int rc = 0;
		if (m.type == CTL_BYE) {
			char line[80];
			snprintf(line, sizeof(line), "done after %ld runs", s->runs);
			ctl_msg_free(&m);
			return session_end(s, 0, line);
		}
		if (m.type == CTL_CASE && ++s->runs > CTL_MAX_RUNS)
			rc = session_refuse(s, "more runs than a session may ask for (100000)");
		else if (m.type == CTL_CASE)
			rc = session_case(s, &m);
		else if (m.type != CTL_FLAG && m.type != CTL_ABORT)
			rc = session_refuse(s, "a message out of turn");
		ctl_msg_free(&m);
		if (rc)
			return rc;
	}
}

static int session_main(int fd, const struct peer_key *key)
{
	struct session s = { .fd = fd, .key = key, .link = { .here = TP_SIDE_B, .fd = -1 } };
	unsigned here_port, peer_port;
	if (net_ends(fd, s.link.remote.here, &here_port, s.link.remote.peer, &peer_port))
		return session_end(&s, 1, "closed: the connection went at once");
	snprintf(s.who, sizeof(s.who), "%s:%u", s.link.remote.peer, peer_port);
	s.link.remote.side = TP_SIDE_B;
	int rc = session_greet(&s);
	if (rc)
		return rc;
	snprintf(s.link.peer_name, sizeof(s.link.peer_name), "side A on %s", s.link.remote.peer);
	s.link.fd = fd; /* the link closes it if it breaks mid-run */
	return session_cases(&s);
}

/* --- the server: accept, one session at a time, busy for the rest --- */

struct server {
	int lfd;
	const struct serve_opts *o;
	const struct peer_key *key;
	pid_t session;   /* 0 when none */
	int session_fd;  /* its pidfd, or -1 */
	int last_status; /* of the session that ended last */
};

static void turn_away(int fd, const char *who)
{
	ctl_send(fd, json_pack("{s:s, s:s}", "type", "busy", "reason", "another client's test is running; try again "
			       "when it ends"), now_ns() + BUSY_SEND_NS);
	close(fd);
	logf_("client %s: busy, turned away", who);
}

/*
 * Not runner.c's fork_child(), which puts SIGINT and SIGTERM back to their
 * defaults: a session keeps the stop handlers, so the server's SIGTERM
 * (stop_session) ends its run and its row instead of killing it mid-message.
 */
static pid_t start_session(struct server *sv, int fd)
{
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL); /* a session dies with its server */
	if (getppid() != parent)
		_exit(1);
	close(sv->lfd);
	_exit(session_main(fd, sv->key));
}

static void accept_one(struct server *sv)
{
	int fd = accept4(sv->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	char here[NET_HOST_MAX], peer[NET_HOST_MAX], who[NET_HOST_MAX + 8] = "?";
	unsigned hp, pp;
	if (net_ends(fd, here, &hp, peer, &pp) == 0)
		snprintf(who, sizeof(who), "%s:%u", peer, pp);
	if (sv->session) {
		turn_away(fd, who);
		return;
	}
	sv->session = start_session(sv, fd);
	close(fd);
	if (sv->session < 0) {
		logf_("client %s: cannot fork a session: %s", who, strerror(errno));
		sv->session = 0;
		return;
	}
	sv->session_fd = (int)syscall(SYS_pidfd_open, sv->session, 0);
}

/* Reap the session if it ended; true when it did. */
static bool reap(struct server *sv, int options)
{
	int status;
	if (!sv->session || waitpid(sv->session, &status, options) != sv->session)
		return false;
	sv->last_status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	sv->session = 0;
	if (sv->session_fd >= 0)
		close(sv->session_fd);
	sv->session_fd = -1;
	return true;
}

/* Stopped: the session ends its run (SIGTERM), or is killed after a grace. */
static void stop_session(struct server *sv)
{
	if (!sv->session)
		return;
	kill(sv->session, SIGTERM);
	int64_t deadline = now_ns() + STOP_GRACE_MS * 1000000LL;
	while (!reap(sv, WNOHANG) && now_ns() < deadline) {
		struct pollfd p = { .fd = sv->session_fd, .events = POLLIN };
		poll(&p, 1, sv->session_fd >= 0 ? ms_until(deadline) : 5);
	}
	if (sv->session) {
		kill(sv->session, SIGKILL);
		reap(sv, 0);
	}
}

static int serve_loop(struct server *sv)
{
	while (!runner_stop_signal) {
		struct pollfd p[2] = { { .fd = sv->lfd, .events = POLLIN }, { .fd = sv->session_fd, .events = POLLIN } };
		/* A second at most, so a session without a pidfd is reaped too. */
		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			return 1;
		if (reap(sv, WNOHANG) && sv->o->once)
			return sv->last_status ? 1 : 0;
		if (p[0].revents & POLLIN)
			accept_one(sv);
	}
	stop_session(sv);
	return 128 + runner_stop_signal;
}

int serve_main(int argc, char **argv)
{
	struct serve_opts o;
	int rc = parse_serve(argc, argv, &o);
	if (rc)
		return rc < 0 ? 0 : rc;
	struct peer_key *key = calloc(1, sizeof(*key));
	char why[300];
	if (!key || peer_crypto_init())
		return usage("%s", "out of memory, or libsodium cannot start");
	if (o.key_file && peer_key_load(o.key_file, key, why, sizeof(why))) {
		free(key);
		return usage("%s", why);
	}
	struct server sv = { .o = &o, .key = key, .session_fd = -1 };
	sv.lfd = net_listen(o.host, o.port, why, sizeof(why));
	if (sv.lfd < 0) {
		peer_key_wipe(key);
		free(key);
		return usage("--listen: %s", why);
	}
	runner_install_signals();
	logf_("listening on %s%s%s:%u; %s", strchr(o.host, ':') ? "[" : "", o.host, strchr(o.host, ':') ? "]" : "",
	      tp_bound_port(sv.lfd),
	      key->set ? "clients must prove they hold the key"
		       : "no --key: serving only clients on this host (loopback or an address of this network namespace)");
	rc = serve_loop(&sv);
	close(sv.lfd);
	peer_key_wipe(key);
	free(key);
	return rc;
}
