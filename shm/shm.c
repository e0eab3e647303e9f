/* shm, shm-spin, shm-sem, shm-eventfd: two SPSC rings in one POSIX shared-memory object, four ways to wait. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../ipc/fdio.h"
#include "../ipc/names.h"
#include "../ipc/transport.h"
#include "ring.h"

/* shm_state names the object; each side maps it by name in attach. */
struct shm_state {
	char name[64];
	int named;          /* the name still exists in /dev/shm */
	int fd;             /* the object, inherited by both sides; valid when fd_open */
	int fd_open;
	enum ring_wait wait;
	size_t ring_size;   /* data bytes of each ring */
	size_t map_bytes;   /* both rings, A to B first */
	int efd[2];         /* RING_EVENTFD: each side's eventfd, by side; valid when efd_open */
	int efd_open;
};

/* shm_end is one side's mapping and its two ring ends. */
struct shm_end {
	void *map;
	size_t map_bytes;
	struct ring_end tx;
	struct ring_end rx;
	int efd[2];         /* RING_EVENTFD: this side's eventfd (it sleeps on) and the peer's (it writes) */
	int efd_held;
};

static void shm_unlink_names(void *st)
{
	struct shm_state *ss = st;
	if (ss->named) {
		shm_unlink(ss->name);
		ss->named = 0;
	}
}

static int shm_setup(void *st, const struct tp_params *p, struct tp_err *err, enum ring_wait wait)
{
	struct shm_state *ss = st;
	ss->wait = wait;
	if (wait == RING_EVENTFD) {
		ss->efd[0] = ss->efd[1] = -1;
		ss->efd_open = 1;
		for (int i = 0; i < 2; i++)
			if ((ss->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
				return tp_fail(err, errno, "shm-eventfd: eventfd() failed: %m; raise the open-file limit "
					       "(ulimit -n)");
	}
	ss->ring_size = ring_size_for(p->msg_bytes);
	ss->map_bytes = 2 * ring_bytes(ss->ring_size);
	int rc = tp_random_name(ss->name, sizeof(ss->name), "/", "shm");
	if (rc)
		return tp_fail(err, -rc, "shm: no random name for the object: %s", strerror(-rc));
	int fd = shm_open(ss->name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return tp_fail(err, errno, "shm: shm_open(%s) failed: %m; check that /dev/shm is a writable tmpfs",
			       ss->name);
	ss->named = 1;
	/* Allocate now: a full /dev/shm is a setup error here, not a SIGBUS mid-run. */
	rc = posix_fallocate(fd, 0, (off_t)ss->map_bytes);
	if (rc) {
		close(fd);
		return tp_fail(err, rc, "shm: cannot allocate %zu B in /dev/shm: %s; free space there (df /dev/shm) "
			       "or enlarge it (mount -o remount,size=...)", ss->map_bytes, strerror(rc));
	}
	/*
	 * The sides map the descriptor they inherit, so the name can go now: a run
	 * killed at any later moment, even with SIGKILL, leaves nothing in /dev/shm.
	 */
	shm_unlink_names(ss);
	ss->fd = fd;
	ss->fd_open = 1;
	void *map = mmap(NULL, ss->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return tp_fail(err, errno, "shm: mmap of %zu B failed: %m; raise the address-space limit (ulimit -v)",
			       ss->map_bytes);
	rc = ring_init(map, ss->ring_size, true);
	if (!rc)
		rc = ring_init((struct ring *)((char *)map + ring_bytes(ss->ring_size)), ss->ring_size, true);
	munmap(map, ss->map_bytes);
	if (rc)
		return tp_fail(err, -rc, "shm: process-shared semaphores: %s", strerror(-rc));
	return 0;
}

static int shm_setup_adaptive(void *st, const struct tp_params *p, struct tp_err *err)
{
	return shm_setup(st, p, err, RING_ADAPTIVE);
}

static int shm_setup_spin(void *st, const struct tp_params *p, struct tp_err *err)
{
	return shm_setup(st, p, err, RING_SPIN);
}

static int shm_setup_sem(void *st, const struct tp_params *p, struct tp_err *err)
{
	return shm_setup(st, p, err, RING_SEM);
}

static int shm_setup_eventfd(void *st, const struct tp_params *p, struct tp_err *err)
{
	return shm_setup(st, p, err, RING_EVENTFD);
}

/* Each side sleeps on its own eventfd and writes the peer's, on both rings. */
static void shm_take_eventfds(struct shm_state *ss, struct shm_end *se, enum tp_side side)
{
	if (!ss->efd_open)
		return;
	se->efd[0] = ss->efd[side];
	se->efd[1] = ss->efd[1 - side];
	se->efd_held = 1;
	ss->efd_open = 0; /* this side's copies now belong to its end */
	ring_end_eventfds(&se->tx, se->efd[0], se->efd[1]);
	ring_end_eventfds(&se->rx, se->efd[0], se->efd[1]);
}

static int shm_attach(void *st, void *end, enum tp_side side, const struct tp_params *p, struct tp_err *err)
{
	struct shm_state *ss = st;
	struct shm_end *se = end;
	(void)p;
	if (!ss->fd_open)
		return tp_fail(err, EBADF, "shm: %s was not set up", ss->name);
	struct stat sb;
	if (fstat(ss->fd, &sb) || (size_t)sb.st_size < ss->map_bytes)
		return tp_fail(err, EPROTO, "shm: %s holds fewer than the %zu B set up", ss->name, ss->map_bytes);
	/* Populate now, so page faults land in attach and not in the first timed messages. */
	void *map = mmap(NULL, ss->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ss->fd, 0);
	close(ss->fd); /* the mapping holds the object; this side's copy of the fd is not needed */
	ss->fd_open = 0;
	if (map == MAP_FAILED)
		return tp_fail(err, errno, "shm: mmap of %zu B failed: %m", ss->map_bytes);
	se->map = map;
	se->map_bytes = ss->map_bytes;
	struct ring *ab = map, *ba = (struct ring *)((char *)map + ring_bytes(ss->ring_size));
	int rc = ring_end_init(&se->tx, side == TP_SIDE_A ? ab : ba, ss->wait, true);
	if (!rc)
		rc = ring_end_init(&se->rx, side == TP_SIDE_A ? ba : ab, ss->wait, true);
	if (rc)
		return tp_fail(err, -rc, "shm: %s does not hold the rings set up", ss->name);
	shm_take_eventfds(ss, se, side);
	return 0;
}

static int shm_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	return ring_send(&((struct shm_end *)end)->tx, buf, len, timeout_ns);
}

static ssize_t shm_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	(void)len;
	return ring_recv(&((struct shm_end *)end)->rx, buf, cap, timeout_ns);
}

static void shm_detach(void *end)
{
	struct shm_end *se = end;
	if (se->map)
		munmap(se->map, se->map_bytes);
	se->map = NULL;
	if (se->efd_held) {
		fd_close(&se->efd[0]);
		fd_close(&se->efd[1]);
		se->efd_held = 0;
	}
}

static void shm_teardown(void *st)
{
	struct shm_state *ss = st;
	shm_unlink_names(st);
	if (ss->fd_open)
		close(ss->fd);
	ss->fd_open = 0;
	if (ss->efd_open) {
		fd_close(&ss->efd[0]);
		fd_close(&ss->efd[1]);
		ss->efd_open = 0;
	}
}

#define SHM_COMMON                                                      \
	.group = "process",                                             \
	.copies = 2,                                                    \
	.state_size = sizeof(struct shm_state),                         \
	.end_size = sizeof(struct shm_end),                             \
	.attach = shm_attach,                                           \
	.unlink_names = shm_unlink_names,                               \
	.send = shm_send,                                               \
	.recv = shm_recv,                                               \
	.detach = shm_detach,                                           \
	.teardown = shm_teardown

const struct transport_ops shm_ops = {
	.name = "shm",
	.summary = "SPSC ring per direction in shm_open+mmap; spin, then sched_yield, then futex",
	.flags = TP_BOUNDARIES | TP_SPINS_FIRST,
	.setup = shm_setup_adaptive,
	SHM_COMMON,
};

const struct transport_ops shm_spin_ops = {
	.name = "shm-spin",
	.summary = "the shm ring, busy-polling only (lowest latency, burns a CPU per side)",
	.flags = TP_BOUNDARIES | TP_SPIN_ONLY,
	.setup = shm_setup_spin,
	SHM_COMMON,
};

const struct transport_ops shm_sem_ops = {
	.name = "shm-sem",
	.summary = "the shm ring signalled with process-shared POSIX semaphores, a post per message",
	.flags = TP_BOUNDARIES,
	.setup = shm_setup_sem,
	SHM_COMMON,
};

const struct transport_ops shm_eventfd_ops = {
	.name = "shm-eventfd",
	.summary = "the shm ring, each side sleeping in ppoll()+read() on its own eventfd (a pollable fd, as an "
		   "event loop waits), written by the other side only when it announced it sleeps; no spin",
	.flags = TP_BOUNDARIES,
	.setup = shm_setup_eventfd,
	SHM_COMMON,
};
