/* One run across two hosts: the case agreed, run_ctl's flags and counts carried, B's report brought back. */
#include "link.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "peer/ctl.h"

#define LINK_SLACK_NS (2 * NS_PER_S) /* on top of the run's timeout, for the other host to answer */

struct tp_remote *run_link_remote(struct run_link *l)
{
	return l ? &l->remote : NULL;
}

/* The connection is of no further use: say why once, and close it. */
static int link_broke(struct run_link *l, int rc, const char *why)
{
	if (!l->broke[0])
		snprintf(l->broke, sizeof(l->broke), "the control connection %.170s",
			 why && why[0] ? why
			 : rc == -EPIPE ? "closed (the other host's ipcbench stopped or was killed)"
			 : rc == -ETIMEDOUT ? "brought no answer in time" : strerror(-rc));
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	return rc < 0 ? rc : -EPIPE;
}

static int link_send(struct run_link *l, json_t *msg, int64_t timeout_ns)
{
	if (l->fd < 0) {
		json_decref(msg);
		return -EPIPE;
	}
	int rc = ctl_send(l->fd, msg, now_ns() + timeout_ns);
	return rc ? link_broke(l, rc, NULL) : 0;
}

static int link_recv(struct run_link *l, struct ctl_msg *m, int64_t deadline_ns)
{
	char why[160] = "";
	if (l->fd < 0)
		return -EPIPE;
	int rc = ctl_recv(l->fd, m, deadline_ns, why, sizeof(why));
	if (rc == 0 && m->type == CTL_ERROR) {
		char said[200];
		snprintf(said, sizeof(said), "was closed by the other host: %.160s", ctl_str(m, "reason"));
		ctl_msg_free(m);
		return link_broke(l, -ECONNABORTED, said);
	}
	if (rc) {
		char what[200];
		snprintf(what, sizeof(what), "carried a bad message (%.160s)", why);
		return link_broke(l, rc, rc == -EPROTO || rc == -EMSGSIZE ? what : NULL);
	}
	return 0;
}

static void reset_run(struct run_link *l)
{
	l->sent_attached = l->sent_finished = 0;
	l->sent_warm_end = l->sent_end_count = 0;
	l->have_report = l->report_early = false;
	memset(&l->report, 0, sizeof(l->report));
}

static json_t *case_json(const struct run_link *l, const struct case_spec *c)
{
	json_t *m = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:b, s:i}", "type", "case", "mechanism",
			      c->ops->name, "pattern", pattern_name(c->pattern), "size", (json_int_t)c->msg_bytes,
			      "warmup_ns", (json_int_t)c->warmup_ns, "duration_ns", (json_int_t)c->duration_ns,
			      "timeout_ns", (json_int_t)c->timeout_ns, "verify_full", c->verify_full, "port",
			      (int)l->remote.port_here);
	if (m && l->send_cpu)
		json_object_set_new(m, "cpu", json_integer(c->cpu[TP_SIDE_B]));
	return m;
}

/* A's host: the case to B's host, and B's port back (or why B's host refused it). */
static int open_as_a(struct run_link *l, const struct case_spec *c, char *reason, size_t len)
{
	struct ctl_msg m;
	int rc = link_send(l, case_json(l, c), c->timeout_ns + LINK_SLACK_NS);
	if (rc == 0)
		rc = link_recv(l, &m, now_ns() + 2 * c->timeout_ns + LINK_SLACK_NS);
	if (rc) {
		snprintf(reason, len, "%s: %s", l->peer_name, l->broke);
		return rc;
	}
	if (m.type == CTL_READY) {
		l->remote.port_peer = (unsigned)ctl_int(&m, "port");
	} else if (m.type == CTL_REFUSED) {
		snprintf(reason, len, "%s: %s", l->peer_name, ctl_str(&m, "reason"));
		rc = -EIO;
	} else {
		link_broke(l, -EPROTO, "carried an answer out of turn");
		snprintf(reason, len, "%s: %s", l->peer_name, l->broke);
		rc = -EPROTO;
	}
	ctl_msg_free(&m);
	return rc;
}

int link_open(struct run_link *l, const struct case_spec *c, int setup_rc, const char *setup_why, char *reason,
	      size_t reason_len)
{
	reset_run(l);
	if (l->here == TP_SIDE_B) {
		json_t *m = setup_rc ? json_pack("{s:s, s:s}", "type", "refused", "reason", setup_why)
				     : json_pack("{s:s, s:i}", "type", "ready", "port", (int)l->remote.port_here);
		int rc = link_send(l, m, c->timeout_ns + LINK_SLACK_NS);
		return setup_rc ? setup_rc : rc;
	}
	if (setup_rc)
		return setup_rc;
	if (l->fd < 0) {
		snprintf(reason, reason_len, "%s: %s", l->peer_name, l->broke);
		return -EPIPE;
	}
	return open_as_a(l, c, reason, reason_len);
}

static int send_flag(struct run_link *l, const char *name, uint64_t value)
{
	return link_send(l, json_pack("{s:s, s:s, s:I}", "type", "flag", "name", name, "value", (json_int_t)value),
			 LINK_SLACK_NS);
}

/* This side's flags and (A) counts that changed since they last crossed. */
static int send_changes(struct run_link *l, struct run_ctl *ctl)
{
	int rc = 0;
	if (!l->sent_attached && atomic_load(&ctl->attached[l->here]) && !(rc = send_flag(l, "attached", 1)))
		l->sent_attached = 1;
	if (!rc && !l->sent_finished && atomic_load(&ctl->finished[l->here]) && !(rc = send_flag(l, "finished", 1)))
		l->sent_finished = 1;
	if (rc || l->here != TP_SIDE_A)
		return rc;
	uint64_t w = atomic_load(&ctl->warm_end), e = atomic_load(&ctl->end_count);
	if (w != COUNT_UNSET && w != l->sent_warm_end && !(rc = send_flag(l, "warm_end", w)))
		l->sent_warm_end = w;
	if (!rc && e != COUNT_UNSET && e != l->sent_end_count && !(rc = send_flag(l, "end_count", e)))
		l->sent_end_count = e;
	return rc;
}

/* A flag from the other host into ctl; B's host answers a count with seen_*. */
static int take_flag(struct run_link *l, struct run_ctl *ctl, const char *name, uint64_t v)
{
	enum tp_side other = 1 - l->here;
	if (strcmp(name, "attached") == 0)
		atomic_store(&ctl->attached[other], 1);
	else if (strcmp(name, "finished") == 0)
		atomic_store(&ctl->finished[other], 1);
	else if (l->here == TP_SIDE_B && strcmp(name, "warm_end") == 0)
		atomic_store(&ctl->warm_end, v);
	else if (l->here == TP_SIDE_B && strcmp(name, "end_count") == 0)
		atomic_store(&ctl->end_count, v);
	else if (l->here == TP_SIDE_A && strcmp(name, "seen_warm_end") == 0)
		atomic_store(&ctl->seen_warm_end, v);
	else if (l->here == TP_SIDE_A && strcmp(name, "seen_end_count") == 0)
		atomic_store(&ctl->seen_end_count, v);
	else
		return link_broke(l, -EPROTO, "carried a flag for the wrong side");
	if (l->here == TP_SIDE_B && (strcmp(name, "warm_end") == 0 || strcmp(name, "end_count") == 0)) {
		char seen[24];
		snprintf(seen, sizeof(seen), "seen_%s", name);
		return send_flag(l, seen, v);
	}
	return 0;
}

static void report_from(struct side_report *r, const struct ctl_msg *m)
{
	memset(r, 0, sizeof(*r));
	r->failed = ctl_bool(m, "failed");
	snprintf(r->reason, sizeof(r->reason), "%s", ctl_str(m, "reason"));
	r->msgs = (uint64_t)ctl_int(m, "msgs");
	r->t_first_ns = ctl_int(m, "t_first_ns");
	r->t_last_ns = ctl_int(m, "t_last_ns");
	r->cpu = (struct cpu_use){ ctl_int(m, "cpu_ns"), ctl_int(m, "wall_ns"), ctl_int(m, "vcsw"), ctl_int(m, "ivcsw") };
	r->errors = (struct msg_errors){ (uint64_t)ctl_int(m, "lost"), (uint64_t)ctl_int(m, "duplicate"),
					 (uint64_t)ctl_int(m, "reordered"), (uint64_t)ctl_int(m, "corrupt") };
}

static int64_t nonneg(int64_t v)
{
	return v < 0 ? 0 : v;
}

static json_t *report_json(const struct side_report *r)
{
	return json_pack("{s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "type", "report",
			 "failed", r->failed, "reason", r->failed ? r->reason : "", "msgs", (json_int_t)r->msgs,
			 "t_first_ns", (json_int_t)nonneg(r->t_first_ns), "t_last_ns", (json_int_t)nonneg(r->t_last_ns),
			 "cpu_ns", (json_int_t)nonneg(r->cpu.cpu_ns), "wall_ns", (json_int_t)nonneg(r->cpu.wall_ns),
			 "vcsw", (json_int_t)nonneg(r->cpu.vcsw), "ivcsw", (json_int_t)nonneg(r->cpu.ivcsw),
			 "lost", (json_int_t)r->errors.lost, "duplicate", (json_int_t)r->errors.duplicate,
			 "reordered", (json_int_t)r->errors.reordered, "corrupt", (json_int_t)r->errors.corrupt);
}

/* One message that arrived mid-run. 0, or a negative errno when the run must end here. */
static int take_message(struct run_link *l, struct run_ctl *ctl, const struct ctl_msg *m)
{
	if (m->type == CTL_FLAG)
		return take_flag(l, ctl, ctl_str(m, "name"), (uint64_t)ctl_int(m, "value"));
	if (m->type == CTL_REPORT && l->here == TP_SIDE_A) {
		report_from(&l->report, m);
		l->have_report = l->report_early = true;
		return l->report.failed ? -ECANCELED : 0; /* B failed there: end A here now */
	}
	if (m->type == CTL_ABORT && l->here == TP_SIDE_B)
		return -ECANCELED;
	return link_broke(l, -EPROTO, "carried a message out of turn");
}

static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return fd >= 0 && poll(&p, 1, 0) > 0;
}

int link_relay(struct run_link *l, struct run_ctl *ctl)
{
	uint64_t wakeups;
	if (read(ctl->notify_fd, &wakeups, sizeof(wakeups)) < 0 && errno != EAGAIN)
		return link_broke(l, -errno, NULL);
	int rc = send_changes(l, ctl);
	while (rc == 0 && readable(l->fd)) {
		struct ctl_msg m;
		if ((rc = link_recv(l, &m, now_ns() + LINK_SLACK_NS)))
			break;
		rc = take_message(l, ctl, &m);
		ctl_msg_free(&m);
	}
	return rc;
}

/* "side B: receive of ..." from B's host reads "side B on HOST (ADDR): receive of ..." here. */
static void name_reason(const struct run_link *l, struct side_report *r, const char *why)
{
	const char *own = l->here == TP_SIDE_A ? "side B: " : "side A: ";
	if (strncmp(why, own, strlen(own)) == 0)
		why += strlen(own);
	char buf[sizeof(r->reason)];
	snprintf(buf, sizeof(buf), "%.100s: %.150s", l->peer_name, why);
	snprintf(r->reason, sizeof(r->reason), "%s", buf);
	r->failed = 1;
}

/* A's host: B's report, waiting for it (bounded) unless it came mid-run; late flags are let pass. */
static void await_report(struct run_link *l, int64_t timeout_ns, bool failed)
{
	if (l->have_report || l->fd < 0)
		return;
	if (failed && link_send(l, json_pack("{s:s}", "type", "abort"), LINK_SLACK_NS))
		return;
	int64_t deadline = now_ns() + 2 * timeout_ns + LINK_SLACK_NS;
	while (!l->have_report && l->fd >= 0) {
		struct ctl_msg m;
		if (link_recv(l, &m, deadline))
			return;
		if (m.type == CTL_REPORT) {
			report_from(&l->report, &m);
			l->have_report = true;
		} else if (m.type != CTL_FLAG) {
			link_broke(l, -EPROTO, "carried a message out of turn");
		}
		ctl_msg_free(&m);
	}
}

bool link_close(struct run_link *l, struct run_ctl *ctl, int64_t timeout_ns, bool failed)
{
	if (l->here == TP_SIDE_B) {
		link_send(l, report_json(&ctl->side[TP_SIDE_B]), timeout_ns + LINK_SLACK_NS);
		return false;
	}
	await_report(l, timeout_ns, failed);
	struct side_report *b = &ctl->side[TP_SIDE_B];
	if (!l->have_report) {
		memset(b, 0, sizeof(*b));
		name_reason(l, b, l->broke[0] ? l->broke : "sent no report of side B");
		return true;
	}
	*b = l->report;
	if (b->failed)
		name_reason(l, b, l->report.reason);
	return b->failed && l->report_early;
}
