/* The key file and the challenge-response on it. */
#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(crypto_auth_hmacsha256_BYTES == CTL_NONCE_BYTES, "a MAC is as long as a nonce: one hex field kind");

int peer_crypto_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

/* Why the key file cannot serve, in why; false when it can. */
static bool key_file_bad(int fd, const char *path, struct stat *sb, char *why, size_t len)
{
	if (fd < 0 || fstat(fd, sb))
		snprintf(why, len, "--key: cannot read '%s': %s", path, strerror(errno));
	else if (!S_ISREG(sb->st_mode))
		snprintf(why, len, "--key: '%s' is not a regular file", path);
	else if (sb->st_mode & 077)
		snprintf(why, len, "--key: '%s' may be read by others (mode 0%o); chmod 600 it", path,
			 (unsigned)(sb->st_mode & 0777));
	else if (sb->st_size < PEER_KEY_MIN || sb->st_size > PEER_KEY_MAX)
		snprintf(why, len, "--key: '%s' holds %lld bytes; a key is %d to %d (e.g. head -c 32 /dev/urandom > FILE)",
			 path, (long long)sb->st_size, PEER_KEY_MIN, PEER_KEY_MAX);
	else
		return false;
	return true;
}

int peer_key_load(const char *path, struct peer_key *k, char *why, size_t why_len)
{
	memset(k, 0, sizeof(*k));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat sb;
	bool bad = key_file_bad(fd, path, &sb, why, why_len);
	ssize_t n = bad ? -1 : read(fd, k->bytes, (size_t)sb.st_size);
	if (fd >= 0)
		close(fd);
	if (bad)
		return -1;
	if (n != sb.st_size) {
		snprintf(why, why_len, "--key: cannot read '%s' whole", path);
		return -1;
	}
	k->len = (size_t)n;
	k->set = true;
	return 0;
}

void peer_key_wipe(struct peer_key *k)
{
	sodium_memzero(k, sizeof(*k));
}

void peer_nonce(unsigned char n[CTL_NONCE_BYTES])
{
	randombytes_buf(n, CTL_NONCE_BYTES);
}

static void mac_bytes(const struct peer_key *k, const char *role, const unsigned char *first,
		      const unsigned char *second, unsigned char out[crypto_auth_hmacsha256_BYTES])
{
	crypto_auth_hmacsha256_state st;
	static const char proto[] = "ipcbench-ctl-1 ";
	crypto_auth_hmacsha256_init(&st, k->bytes, k->len);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)proto, sizeof(proto) - 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)role, strlen(role) + 1);
	crypto_auth_hmacsha256_update(&st, first, CTL_NONCE_BYTES);
	crypto_auth_hmacsha256_update(&st, second, CTL_NONCE_BYTES);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void peer_mac(const struct peer_key *k, const char *role, const unsigned char first[CTL_NONCE_BYTES],
	      const unsigned char second[CTL_NONCE_BYTES], char hex[2 * CTL_NONCE_BYTES + 1])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	mac_bytes(k, role, first, second, mac);
	ctl_hex(mac, sizeof(mac), hex);
}

bool peer_mac_ok(const struct peer_key *k, const char *role, const unsigned char first[CTL_NONCE_BYTES],
		 const unsigned char second[CTL_NONCE_BYTES], const char *hex)
{
	unsigned char want[crypto_auth_hmacsha256_BYTES], got[crypto_auth_hmacsha256_BYTES];
	mac_bytes(k, role, first, second, want);
	return ctl_unhex(hex, got, sizeof(got)) == 0 && sodium_memcmp(want, got, sizeof(want)) == 0;
}
