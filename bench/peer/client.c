/* `ipcbench --peer`: the client's session with one server, open for the whole run. */
#include "peer.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "peer/auth.h"
#include "peer/ctl.h"
#include "peer/link.h"
#include "peer/net.h"
#include "version.h"

static int say(const char *peer, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line on stderr naming the server; 2, the exit status of every refusal. */
static int say(const char *peer, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "ipcbench: --peer %s: ", peer);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

/* A greeting message of the wanted type; busy and error are refusals said as such. */
static int expect(int fd, const char *peer, enum ctl_type want, struct ctl_msg *m)
{
	char why[200] = "";
	int rc = ctl_recv(fd, m, now_ns() + CTL_GREET_NS, why, sizeof(why));
	if (rc == -EPIPE)
		return say(peer, "the server closed the connection during the greeting");
	if (rc)
		return say(peer, "no valid %s from the server: %s", ctl_type_name(want), why[0] ? why : strerror(-rc));
	rc = m->type == CTL_BUSY ? say(peer, "the server is busy: %s", ctl_str(m, "reason"))
	   : m->type == CTL_ERROR ? say(peer, "refused: %s", ctl_str(m, "reason"))
	   : m->type != want ? say(peer, "the server sent %s, not %s", ctl_type_name(m->type), ctl_type_name(want))
	   : 0;
	if (rc)
		ctl_msg_free(m);
	return rc;
}

/* hello: the protocol and the key agree; the server's nonce in nonce_s. */
static int greet(int fd, const char *peer, const struct peer_key *key, unsigned char *nonce_s)
{
	struct ctl_msg m;
	int rc = expect(fd, peer, CTL_HELLO, &m);
	if (rc)
		return rc;
	bool wants_key = strcmp(ctl_str(&m, "auth"), "hmac-sha256") == 0;
	if (ctl_int(&m, "proto") != CTL_PROTO)
		rc = say(peer, "the server speaks control protocol %lld, this ipcbench %d; run the same version on both",
			 (long long)ctl_int(&m, "proto"), CTL_PROTO);
	else if (wants_key && !key->set)
		rc = say(peer, "refused: the server requires a key; give --key FILE (a copy of the server's key file)");
	else if (!wants_key && key->set)
		rc = say(peer, "refused: the server has no key, so it cannot prove it holds yours; start it with --key");
	else
		ctl_unhex(ctl_str(&m, "nonce"), nonce_s, CTL_NONCE_BYTES);
	ctl_msg_free(&m);
	return rc;
}

/* auth, then welcome: each side proves the key over the other's nonce. The welcome in *w. */
static int authenticate(int fd, const char *peer, const struct peer_key *key, const unsigned char *nonce_s,
			struct ctl_msg *w)
{
	unsigned char nonce_c[CTL_NONCE_BYTES];
	char hex[2 * CTL_NONCE_BYTES + 1], mac[2 * CTL_NONCE_BYTES + 1];
	peer_nonce(nonce_c);
	ctl_hex(nonce_c, sizeof(nonce_c), hex);
	json_t *auth = json_pack("{s:s, s:i, s:s}", "type", "auth", "proto", CTL_PROTO, "nonce", hex);
	if (key->set) {
		peer_mac(key, "client", nonce_s, nonce_c, mac);
		json_object_set_new(auth, "mac", json_string(mac));
	}
	int rc = ctl_send(fd, auth, now_ns() + CTL_GREET_NS);
	if (rc)
		return say(peer, "sending the key's proof: %s", strerror(-rc));
	if ((rc = expect(fd, peer, CTL_WELCOME, w)))
		return rc;
	if (key->set && !peer_mac_ok(key, "server", nonce_c, nonce_s, ctl_str(w, "mac"))) {
		ctl_msg_free(w);
		return say(peer, "refused: the server could not prove it holds the same key");
	}
	return 0;
}

/* The link every case of the run uses, on the connection just authenticated. */
static struct run_link *make_link(int fd, const char *hostname, bool pin_b)
{
	struct run_link *l = calloc(1, sizeof(*l));
	unsigned here_port, peer_port;
	if (!l || net_ends(fd, l->remote.here, &here_port, l->remote.peer, &peer_port)) {
		free(l);
		return NULL;
	}
	l->here = TP_SIDE_A;
	l->remote.side = TP_SIDE_A;
	l->fd = fd;
	l->send_cpu = pin_b;
	snprintf(l->peer_name, sizeof(l->peer_name), "side B on %.60s (%s)", hostname, l->remote.peer);
	return l;
}

static json_t *session_record(const struct run_link *l, unsigned port, const struct ctl_msg *w)
{
	char me[256] = "";
	gethostname(me, sizeof(me) - 1);
	return json_pack("{s:s, s:i, s:s, s:O, s:{s:s, s:s}}", "address", l->remote.peer, "port", (int)port,
			 "hostname", ctl_str(w, "hostname"), "host", json_object_get(w->doc, "host"), "client",
			 "hostname", me, "address", l->remote.here);
}

int peer_connect(const char *peer, const char *key_file, int64_t timeout_ns, bool pin_b, struct peer_session *s)
{
	char host[NET_HOST_MAX], why[256];
	unsigned port = CTL_PORT;
	struct peer_key *key = calloc(1, sizeof(*key)); /* 4 KiB: not on the stack */
	memset(s, 0, sizeof(*s));
	int rc = !key || peer_crypto_init() ? say(peer, "out of memory, or libsodium cannot start") : 0;
	if (rc == 0 && key_file && peer_key_load(key_file, key, why, sizeof(why)))
		rc = say(peer, "%s", why);
	if (rc == 0 && net_split(peer, host, &port))
		rc = say(peer, "not HOST or HOST:PORT (an IPv6 address in brackets: [::1]:7650)");
	int fd = rc ? -1 : net_connect(host, port, timeout_ns, why, sizeof(why));
	if (rc == 0 && fd < 0)
		rc = say(peer, "%s", why);
	unsigned char nonce_s[CTL_NONCE_BYTES];
	struct ctl_msg w = { 0 };
	if (rc == 0 && !(rc = greet(fd, peer, key, nonce_s)))
		rc = authenticate(fd, peer, key, nonce_s, &w);
	if (key)
		peer_key_wipe(key);
	free(key);
	if (rc == 0 && !(s->link = make_link(fd, ctl_str(&w, "hostname"), pin_b)))
		rc = say(peer, "out of memory, or the connection closed at once");
	if (rc) {
		ctl_msg_free(&w);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	s->record = session_record(s->link, port, &w);
	char me[256] = "";
	gethostname(me, sizeof(me) - 1);
	snprintf(s->between, sizeof(s->between), "between %.100s (%s) and %.100s (%s)", me, s->link->remote.here,
		 ctl_str(&w, "hostname"), s->link->remote.peer);
	ctl_msg_free(&w);
	return 0;
}

void peer_disconnect(struct peer_session *s)
{
	if (s->link && s->link->fd >= 0) {
		ctl_send(s->link->fd, json_pack("{s:s}", "type", "bye"), now_ns() + NS_PER_S);
		close(s->link->fd);
	}
	free(s->link);
	s->link = NULL;
}
