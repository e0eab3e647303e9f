/* shm-loan: zero-copy shared memory: A builds each message in a slot it borrowed, B checks it there and hands it back. */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../bench/clock.h"
#include "../ipc/names.h"
#include "../ipc/sys_inline.h"
#include "../ipc/transport.h"
#include "ring.h"

/*
 * One POSIX shm object holds a lane per direction: a pool of fixed slots the
 * producer borrows in turn and the consumer hands back in turn, so message k
 * always lies in slot k % slots and neither side searches. A slot is a line
 * holding [count][len], then the message on the lines after it. The producer
 * writes the message where it lies, then len, then count = k + 1 (release):
 * the consumer polls that word, so a message and its arrival come together,
 * and a count left from an earlier lap (k + 1 - slots) never reads as new.
 * The consumer hands slot k back by storing released = k + 1; the producer
 * looks at released only when its last look says every slot is out.
 */
#define SHM_LOAN_DATA 64                      /* the message starts on the line after its slot's word */
#define SHM_LOAN_HDR ((size_t)4096)           /* the shared header's page; the slots follow it */
#define SHM_LOAN_POOL ((size_t)8 * 1024 * 1024) /* a lane holds as many slots as fit in this... */
#define SHM_LOAN_MIN 4                        /* ...at least 4 (2 above SHM_LOAN_BIG), at most 256 */
#define SHM_LOAN_MAX 256
#define SHM_LOAN_BIG ((size_t)16 * 1024 * 1024)
#define SHM_LOAN_POLLS 32                     /* polls between looks at the clock while spinning */
#define SHM_LOAN_SPIN_NS (20 * 1000)          /* then sched_yield() a few times, then sleep: as the shm ring */
#define SHM_LOAN_YIELDS 4

/* Which side of a lane waits on a futex word: the consumer for a message, the producer for a slot. */
enum shm_loan_role { SHM_LOAN_CONSUMER = 0, SHM_LOAN_PRODUCER = 1 };

/* shm_loan_slot is the word in front of each message. */
struct shm_loan_slot {
	_Atomic uint64_t count; /* k + 1 once message k is committed here; 0 before the first */
	uint64_t len;           /* its bytes, written before count */
};

/* shm_loan_lane is one direction's bookkeeping: what the consumer handed back, and who sleeps. */
struct shm_loan_lane {
	_Alignas(RING_LINE) _Atomic uint64_t released;    /* slots handed back, ever; the consumer's */
	_Alignas(RING_LINE) _Atomic uint32_t sleeping[2]; /* futex words, by enum shm_loan_role */
};

/* shm_loan_shared is the first page of the object. */
struct shm_loan_shared {
	struct shm_loan_lane lane[2];           /* [0] A to B, [1] B to A */
	_Alignas(RING_LINE) _Atomic int cpu[2]; /* where each side last waited; written only when it changes */
	uint64_t slots, slot_bytes;             /* the shape, from setup; each side checks it */
};
_Static_assert(sizeof(struct shm_loan_shared) <= SHM_LOAN_HDR, "the header fits its page");
_Static_assert(sizeof(struct shm_loan_slot) <= SHM_LOAN_DATA, "a slot's word fits the line before its message");

/* shm_loan_state names the object until setup unlinks it; the sides map the fd they inherit. */
struct shm_loan_state {
	char name[64];
	int named; /* the name still exists in /dev/shm */
	int fd;
	int fd_open;
	uint64_t slots, slot_bytes;
	size_t map_bytes;
};

/* shm_loan_end is one side's mapping: producer of one lane, consumer of the other. */
struct shm_loan_end {
	unsigned char *map;
	size_t map_bytes;
	uint64_t slots, slot_bytes;   /* copies, so the hot path reads no shared line for them */
	struct shm_loan_lane *tx, *rx;
	unsigned char *tx_slots, *rx_slots;
	_Atomic int *my_cpu, *peer_cpu;
	uint64_t sent;          /* producer: messages committed on tx */
	uint64_t tx_i;          /* producer: sent % slots, kept so the hot path divides nothing */
	uint64_t released_seen; /* producer: its last look at tx->released */
	bool lent;              /* producer: slot sent % slots is the caller's... */
	size_t lent_len;        /* ...for a message of at most this length */
	uint64_t taken;         /* consumer: messages handed back on rx */
	uint64_t rx_i;          /* consumer: taken % slots */
	bool held;              /* consumer: slot taken % slots is the caller's */
};

static struct shm_loan_slot *shm_loan_slot(const struct shm_loan_end *le, unsigned char *slots, uint64_t i)
{
	return (struct shm_loan_slot *)(void *)(slots + i * le->slot_bytes);
}

static uint64_t shm_loan_next(const struct shm_loan_end *le, uint64_t i)
{
	return i + 1 == le->slots ? 0 : i + 1;
}

static uint64_t shm_loan_slots_for(uint64_t slot_bytes)
{
	if (slot_bytes > SHM_LOAN_BIG)
		return 2;
	uint64_t n = SHM_LOAN_POOL / slot_bytes;
	return n < SHM_LOAN_MIN ? SHM_LOAN_MIN : n > SHM_LOAN_MAX ? SHM_LOAN_MAX : n;
}

static void shm_loan_unlink_names(void *st)
{
	struct shm_loan_state *ss = st;
	if (ss->named) {
		shm_unlink(ss->name);
		ss->named = 0;
	}
}

static int shm_loan_setup(void *st, const struct tp_params *p, struct tp_err *err)
{
	struct shm_loan_state *ss = st;
	if (p->msg_bytes > SIZE_MAX / 8 - SHM_LOAN_HDR)
		return tp_fail(err, EMSGSIZE, "shm-loan: %zu B slots do not fit the address space", p->msg_bytes);
	ss->slot_bytes = (SHM_LOAN_DATA + p->msg_bytes + RING_LINE - 1) / RING_LINE * RING_LINE;
	ss->slots = shm_loan_slots_for(ss->slot_bytes);
	ss->map_bytes = SHM_LOAN_HDR + 2 * ss->slots * ss->slot_bytes;
	int rc = tp_random_name(ss->name, sizeof(ss->name), "/", "loan");
	if (rc)
		return tp_fail(err, -rc, "shm-loan: no random name for the object: %s", strerror(-rc));
	int fd = shm_open(ss->name, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return tp_fail(err, errno, "shm-loan: shm_open(%s) failed: %m; check that /dev/shm is a writable tmpfs",
			       ss->name);
	ss->named = 1;
	ss->fd = fd;
	ss->fd_open = 1;
	/* The sides map the descriptor they inherit: the name goes now, so a kill -9 at any later moment leaves nothing. */
	shm_loan_unlink_names(ss);
	/* Map before allocating: a size the address space cannot hold fails here, having taken nothing from /dev/shm. */
	void *map = MAP_FAILED;
	if (ftruncate(fd, (off_t)ss->map_bytes) == 0)
		map = mmap(NULL, ss->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return tp_fail(err, errno, "shm-loan: mapping %zu B failed: %m; raise the address-space limit (ulimit -v)",
			       ss->map_bytes);
	/* Allocate now: a full /dev/shm is a setup error here, not a SIGBUS mid-run. */
	rc = posix_fallocate(fd, 0, (off_t)ss->map_bytes);
	if (rc) {
		munmap(map, ss->map_bytes);
		return tp_fail(err, rc, "shm-loan: cannot allocate %zu B in /dev/shm: %s; free space there (df /dev/shm) "
			       "or enlarge it (mount -o remount,size=...)", ss->map_bytes, strerror(rc));
	}
	struct shm_loan_shared *sh = map;
	sh->slots = ss->slots;
	sh->slot_bytes = ss->slot_bytes;
	atomic_init(&sh->cpu[0], -1);
	atomic_init(&sh->cpu[1], -1);
	munmap(map, ss->map_bytes);
	return 0;
}

static int shm_loan_attach(void *st, void *end, enum tp_side side, const struct tp_params *p, struct tp_err *err)
{
	struct shm_loan_state *ss = st;
	struct shm_loan_end *le = end;
	(void)p;
	if (!ss->fd_open)
		return tp_fail(err, EBADF, "shm-loan: %s was not set up", ss->name);
	struct stat sb;
	if (fstat(ss->fd, &sb) || (size_t)sb.st_size < ss->map_bytes)
		return tp_fail(err, EPROTO, "shm-loan: %s holds fewer than the %zu B set up", ss->name, ss->map_bytes);
	/* Populate now, so page faults land in attach and not in the first timed messages. */
	void *map = mmap(NULL, ss->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ss->fd, 0);
	close(ss->fd); /* the mapping holds the object */
	ss->fd_open = 0;
	if (map == MAP_FAILED)
		return tp_fail(err, errno, "shm-loan: mapping %zu B failed: %m", ss->map_bytes);
	le->map = map;
	le->map_bytes = ss->map_bytes;
	struct shm_loan_shared *sh = map;
	if (sh->slots != ss->slots || sh->slot_bytes != ss->slot_bytes)
		return tp_fail(err, EPROTO, "shm-loan: %s does not hold the slots set up", ss->name);
	le->slots = ss->slots;
	le->slot_bytes = ss->slot_bytes;
	unsigned char *lanes = le->map + SHM_LOAN_HDR;
	size_t lane_bytes = ss->slots * ss->slot_bytes;
	int tx = side == TP_SIDE_A ? 0 : 1;
	le->tx = &sh->lane[tx];
	le->rx = &sh->lane[1 - tx];
	le->tx_slots = lanes + (size_t)tx * lane_bytes;
	le->rx_slots = lanes + (size_t)(1 - tx) * lane_bytes;
	le->my_cpu = &sh->cpu[side];
	le->peer_cpu = &sh->cpu[1 - side];
	return 0;
}

/*
 * Wait until *v reaches target; *seen gets the value. Spin (unless the peer
 * last waited on this CPU), yield, then sleep on the lane's futex word for
 * `me`. The one subtle point: the sleeper stores its flag and then reads *v,
 * the waker stores *v and then reads the flag (shm_loan_store_then_wake),
 * all sequentially consistent, so at least one sees the other's store and no
 * wake-up is lost.
 */
static int shm_loan_wait(struct shm_loan_end *le, struct shm_loan_lane *l, _Atomic uint64_t *v, uint64_t target,
			 uint64_t *seen, enum shm_loan_role me, int64_t timeout_ns)
{
	int cpu = sched_getcpu(); /* glibc reads it from rseq: no system call */
	if (atomic_load_explicit(le->my_cpu, memory_order_relaxed) != cpu)
		atomic_store_explicit(le->my_cpu, cpu, memory_order_relaxed);
	int64_t deadline = 0, spin_until = 0;
	for (unsigned n = 1;; n++) {
		spin_pause();
		if ((*seen = atomic_load_explicit(v, memory_order_acquire)) >= target)
			return 0;
		if (n % SHM_LOAN_POLLS)
			continue;
		int64_t t = now_ns();
		if (!deadline) {
			deadline = t + timeout_ns;
			/* Spinning only helps when the other side runs on another CPU. */
			spin_until = atomic_load_explicit(le->peer_cpu, memory_order_relaxed) == cpu ? t : t + SHM_LOAN_SPIN_NS;
		}
		if (t >= spin_until)
			break;
	}
	for (int i = 0; i < SHM_LOAN_YIELDS; i++) {
		sched_yield();
		if ((*seen = atomic_load_explicit(v, memory_order_acquire)) >= target)
			return 0;
	}
	_Atomic uint32_t *flag = &l->sleeping[me];
	int rc = 0;
	for (;;) {
		atomic_store(flag, 1);
		if ((*seen = atomic_load(v)) >= target)
			break;
		int64_t left = deadline - now_ns();
		if (left <= 0) {
			rc = -ETIMEDOUT;
			break;
		}
		struct timespec ts = { (time_t)(left / NS_PER_S), (long)(left % NS_PER_S) };
		/* The kernel reads the word itself: a wake that came first makes this return at once. */
		sys_futex((uint32_t *)flag, FUTEX_WAIT, 1, &ts);
	}
	atomic_store_explicit(flag, 0, memory_order_relaxed);
	return rc;
}

/* The waker's half (see shm_loan_wait): store v, then wake the other side if it announced it sleeps. */
static void shm_loan_store_then_wake(struct shm_loan_lane *l, _Atomic uint64_t *dst, uint64_t v, enum shm_loan_role who)
{
	atomic_store(dst, v);
	_Atomic uint32_t *flag = &l->sleeping[who];
	if (atomic_load(flag) && atomic_exchange(flag, 0))
		sys_futex((uint32_t *)flag, FUTEX_WAKE, 1, NULL);
}

/* Producer: lend the caller the next slot, once the consumer handed back what it held there. */
static int shm_loan_send_loan(void *end, size_t len, int64_t timeout_ns, void **buf)
{
	struct shm_loan_end *le = end;
	if (le->lent)
		return -EBUSY;
	if (len == 0 || len > le->slot_bytes - SHM_LOAN_DATA)
		return -EMSGSIZE;
	if (le->sent >= le->slots) {
		uint64_t target = le->sent + 1 - le->slots; /* message sent - slots, the slot's last, handed back */
		if (le->released_seen < target &&
		    (le->released_seen = atomic_load_explicit(&le->tx->released, memory_order_acquire)) < target) {
			int rc = shm_loan_wait(le, le->tx, &le->tx->released, target, &le->released_seen,
					       SHM_LOAN_PRODUCER, timeout_ns);
			if (rc)
				return rc;
		}
	}
	le->lent = true;
	le->lent_len = len;
	*buf = (unsigned char *)shm_loan_slot(le, le->tx_slots, le->tx_i) + SHM_LOAN_DATA;
	return 0;
}

static int shm_loan_send_commit(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	struct shm_loan_end *le = end;
	struct shm_loan_slot *sl = shm_loan_slot(le, le->tx_slots, le->tx_i);
	(void)timeout_ns; /* a commit never waits */
	if (!le->lent || buf != (unsigned char *)sl + SHM_LOAN_DATA || len == 0 || len > le->lent_len)
		return -EINVAL;
	sl->len = len;
	shm_loan_store_then_wake(le->tx, &sl->count, le->sent + 1, SHM_LOAN_CONSUMER);
	le->sent++;
	le->tx_i = shm_loan_next(le, le->tx_i);
	le->lent = false;
	return 0;
}

/* Consumer: the next message, where it lies, once its slot's count says it was committed. */
static ssize_t shm_loan_recv_loan(void *end, size_t len, int64_t timeout_ns, const void **msg)
{
	struct shm_loan_end *le = end;
	(void)len;
	if (le->held)
		return -EBUSY;
	struct shm_loan_slot *sl = shm_loan_slot(le, le->rx_slots, le->rx_i);
	uint64_t target = le->taken + 1, count = atomic_load_explicit(&sl->count, memory_order_acquire);
	if (count < target) {
		int rc = shm_loan_wait(le, le->rx, &sl->count, target, &count, SHM_LOAN_CONSUMER, timeout_ns);
		if (rc)
			return rc;
	}
	uint64_t n = sl->len;
	if (count != target || n == 0 || n > le->slot_bytes - SHM_LOAN_DATA)
		return -EPROTO; /* no producer of this lane wrote that */
	le->held = true;
	*msg = (unsigned char *)sl + SHM_LOAN_DATA;
	return (ssize_t)n;
}

/* Consumer: hand the slot back, in order; the producer may write its next lap's message there. */
static int shm_loan_recv_release(void *end, const void *msg)
{
	struct shm_loan_end *le = end;
	if (!le->held || msg != (unsigned char *)shm_loan_slot(le, le->rx_slots, le->rx_i) + SHM_LOAN_DATA)
		return -EINVAL;
	le->held = false;
	le->rx_i = shm_loan_next(le, le->rx_i);
	shm_loan_store_then_wake(le->rx, &le->rx->released, ++le->taken, SHM_LOAN_PRODUCER);
	return 0;
}

/* The copying calls, for a caller without loans: the same slots, copied into and out of. */
static int shm_loan_send(void *end, const void *buf, size_t len, int64_t timeout_ns)
{
	void *dst = NULL;
	int rc = shm_loan_send_loan(end, len, timeout_ns, &dst);
	if (rc)
		return rc;
	memcpy(dst, buf, len);
	return shm_loan_send_commit(end, dst, len, timeout_ns);
}

static ssize_t shm_loan_recv(void *end, void *buf, size_t len, size_t cap, int64_t timeout_ns)
{
	const void *msg = NULL;
	ssize_t n = shm_loan_recv_loan(end, len, timeout_ns, &msg);
	if (n <= 0)
		return n;
	if ((size_t)n <= cap)
		memcpy(buf, msg, (size_t)n);
	int rc = shm_loan_recv_release(end, msg);
	return rc ? rc : (size_t)n <= cap ? n : -EMSGSIZE;
}

static void shm_loan_detach(void *end)
{
	struct shm_loan_end *le = end;
	if (le->map)
		munmap(le->map, le->map_bytes);
	le->map = NULL;
}

static void shm_loan_teardown(void *st)
{
	struct shm_loan_state *ss = st;
	shm_loan_unlink_names(st);
	if (ss->fd_open)
		close(ss->fd);
	ss->fd_open = 0;
}

const struct transport_ops shm_loan_ops = {
	.name = "shm-loan",
	.group = "process",
	.summary = "zero-copy: a pool of slots per direction in shm_open+mmap; A builds each message in a slot it "
		   "borrowed, B checks it in place and hands the slot back; spin, then sched_yield, then futex",
	.flags = TP_BOUNDARIES | TP_SPINS_FIRST | TP_ZERO_COPY,
	.copies = 0,
	.state_size = sizeof(struct shm_loan_state),
	.end_size = sizeof(struct shm_loan_end),
	.setup = shm_loan_setup,
	.attach = shm_loan_attach,
	.unlink_names = shm_loan_unlink_names,
	.send = shm_loan_send,
	.recv = shm_loan_recv,
	.send_loan = shm_loan_send_loan,
	.send_commit = shm_loan_send_commit,
	.recv_loan = shm_loan_recv_loan,
	.recv_release = shm_loan_recv_release,
	.detach = shm_loan_detach,
	.teardown = shm_loan_teardown,
};
