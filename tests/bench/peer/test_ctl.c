/* The control protocol's parser, frames and key: what it accepts, and that it refuses everything else with a reason. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "peer/auth.h"
#include "peer/ctl.h"

#define NONCE "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static int parse(const char *text, struct ctl_msg *m, char *why)
{
	return ctl_parse(text, strlen(text), m, why, 200);
}

static void accepted(const char *text, enum ctl_type type)
{
	struct ctl_msg m;
	char why[200] = "";
	if (parse(text, &m, why))
		fail_msg("refused %s: %s", text, why);
	assert_int_equal(m.type, type);
	ctl_msg_free(&m);
}

static void refused(const char *text, const char *because)
{
	struct ctl_msg m;
	char why[200] = "";
	assert_int_equal(parse(text, &m, why), -EPROTO);
	assert_null(m.doc);
	if (!strstr(why, because))
		fail_msg("%s: refused as '%s', expected '%s'", text, why, because);
}

static void test_accepts_each_type(void **state)
{
	(void)state;
	accepted("{\"type\":\"hello\",\"proto\":1,\"version\":\"0.1.0\",\"auth\":\"none\",\"nonce\":\"" NONCE "\"}",
		 CTL_HELLO);
	accepted("{\"type\":\"auth\",\"proto\":1,\"nonce\":\"" NONCE "\",\"mac\":\"" NONCE "\"}", CTL_AUTH);
	accepted("{\"type\":\"welcome\",\"hostname\":\"b\",\"host\":{\"a\":[{\"b\":[{}]}]}}", CTL_WELCOME);
	accepted("{\"type\":\"case\",\"mechanism\":\"tcp\",\"pattern\":\"stream\",\"size\":65536,\"warmup_ns\":0,"
		 "\"duration_ns\":5000000,\"timeout_ns\":3000000000,\"verify_full\":false,\"port\":0,\"cpu\":-1}", CTL_CASE);
	accepted("{\"type\":\"ready\",\"port\":4242}", CTL_READY);
	accepted("{\"type\":\"flag\",\"name\":\"end_count\",\"value\":9}", CTL_FLAG);
	accepted("{\"type\":\"abort\"}", CTL_ABORT);
	accepted("{\"type\":\"bye\"}", CTL_BYE);
	accepted("{\"type\":\"report\",\"failed\":false,\"reason\":\"\",\"msgs\":1,\"t_first_ns\":1,\"t_last_ns\":2,"
		 "\"cpu_ns\":3,\"wall_ns\":4,\"vcsw\":5,\"ivcsw\":6,\"lost\":0,\"duplicate\":0,\"reordered\":0,"
		 "\"corrupt\":0}", CTL_REPORT);
}

static void test_fields_read_back(void **state)
{
	(void)state;
	struct ctl_msg m;
	char why[200];
	assert_int_equal(parse("{\"type\":\"flag\",\"name\":\"warm_end\",\"value\":123456789012}", &m, why), 0);
	assert_string_equal(ctl_str(&m, "name"), "warm_end");
	assert_int_equal(ctl_int(&m, "value"), 123456789012LL);
	assert_false(ctl_has(&m, "cpu"));
	ctl_msg_free(&m);
}

static void test_refuses_bad_shapes(void **state)
{
	(void)state;
	refused("", "0 bytes");
	refused("{\"type\":\"bye\"", "not JSON");
	refused("[1,2]", "not a JSON object");
	refused("{\"type\":\"shutdown\"}", "no known");
	refused("{\"type\":1}", "no known");
	refused("{\"type\":\"bye\",\"extra\":1}", "no field");
	refused("{\"type\":\"ready\"}", "needs \"port\"");
	refused("{\"type\":\"ready\",\"port\":\"80\"}", "port");
	refused("{\"type\":\"ready\",\"port\":1.5}", "port");
	refused("{\"type\":\"ready\",\"port\":70000}", "port");
	refused("{\"type\":\"bye\",\"type\":\"bye\"}", "not JSON"); /* duplicate keys */
	refused("{\"type\":\"error\",\"reason\":\"a\\nforged log line\"}", "printable");
	refused("{\"type\":\"flag\",\"name\":\"detach\",\"value\":1}", "does not know");
	refused("{\"type\":\"flag\",\"name\":\"warm_end\",\"value\":-1}", "value");
	refused("{\"type\":\"auth\",\"proto\":1,\"nonce\":\"00\"}", "hex");
	refused("{\"type\":\"auth\",\"proto\":1,\"nonce\":\"" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef" "\"}", "hex");
}

static void test_refuses_what_a_client_may_not_ask(void **state)
{
	(void)state;
	const char *fmt = "{\"type\":\"case\",\"mechanism\":\"tcp\",\"pattern\":\"%s\",\"size\":%lld,\"warmup_ns\":0,"
			  "\"duration_ns\":%lld,\"timeout_ns\":3000000000,\"verify_full\":false,\"port\":0}";
	char buf[400];
	snprintf(buf, sizeof(buf), fmt, "stream", 0LL, 1000000LL);
	refused(buf, "size");
	snprintf(buf, sizeof(buf), fmt, "stream", (long long)CTL_MAX_MSG_BYTES + 1, 1000000LL);
	refused(buf, "size");
	snprintf(buf, sizeof(buf), fmt, "stream", 64LL, (long long)CTL_MAX_SPAN_NS + 1);
	refused(buf, "duration_ns");
	snprintf(buf, sizeof(buf), fmt, "oneway", 64LL, 1000000LL);
	refused(buf, "pattern");
}

static void test_refuses_deep_and_long(void **state)
{
	(void)state;
	char deep[256] = "{\"type\":\"welcome\",\"hostname\":\"b\",\"host\":";
	for (int i = 0; i < CTL_MAX_DEPTH; i++)
		strcat(deep, "[");
	refused(deep, "nested deeper");
	/* brackets inside a string do not count */
	accepted("{\"type\":\"error\",\"reason\":\"[[[[[[[[[[[[[[[[[[\"}", CTL_ERROR);
	size_t len = CTL_MAX_BYTES + 1;
	char *big = malloc(len + 1);
	memset(big, ' ', len);
	big[len] = '\0';
	struct ctl_msg m;
	char why[200];
	assert_int_equal(ctl_parse(big, len, &m, why, sizeof(why)), -EPROTO);
	free(big);
}

static void test_frame_lengths(void **state)
{
	(void)state;
	const unsigned char zero[4] = { 0, 0, 0, 0 }, ten[4] = { 0, 0, 0, 10 }, max[4] = { 0, 1, 0, 0 },
			    over[4] = { 0, 1, 0, 1 }, huge[4] = { 0xff, 0xff, 0xff, 0xff };
	assert_int_equal(ctl_frame_len(zero), -EMSGSIZE);
	assert_int_equal(ctl_frame_len(ten), 10);
	assert_int_equal(ctl_frame_len(max), CTL_MAX_BYTES);
	assert_int_equal(ctl_frame_len(over), -EMSGSIZE);
	assert_int_equal(ctl_frame_len(huge), -EMSGSIZE);
}

/* A key file of the given bytes and mode, in a private directory; its path in path. */
static void key_file(char *dir, char *path, const char *bytes, mode_t mode)
{
	strcpy(dir, "/tmp/peer-key-XXXXXX");
	assert_non_null(mkdtemp(dir));
	sprintf(path, "%s/key", dir);
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(bytes, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void remove_key(const char *dir, const char *path)
{
	unlink(path);
	rmdir(dir);
}

static void test_key_file_rules(void **state)
{
	(void)state;
	char dir[64], path[96], why[300];
	struct peer_key *k = calloc(1, sizeof(*k));
	assert_int_equal(peer_crypto_init(), 0);
	key_file(dir, path, "0123456789abcdef0123", 0644);
	assert_int_equal(peer_key_load(path, k, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "chmod 600"));
	remove_key(dir, path);
	key_file(dir, path, "short", 0600);
	assert_int_equal(peer_key_load(path, k, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "16 to 4096"));
	remove_key(dir, path);
	assert_int_equal(peer_key_load("/nonexistent/key", k, why, sizeof(why)), -1);
	key_file(dir, path, "0123456789abcdef0123", 0600);
	assert_int_equal(peer_key_load(path, k, why, sizeof(why)), 0);
	remove_key(dir, path);
	free(k);
}

static void test_mac_proves_the_key_over_both_nonces(void **state)
{
	(void)state;
	struct peer_key *k = calloc(1, sizeof(*k)), *other = calloc(1, sizeof(*other));
	unsigned char a[CTL_NONCE_BYTES], b[CTL_NONCE_BYTES];
	char hex[2 * CTL_NONCE_BYTES + 1];
	assert_int_equal(peer_crypto_init(), 0);
	k->set = other->set = true;
	k->len = other->len = 20;
	memset(k->bytes, 1, 20);
	memset(other->bytes, 2, 20);
	peer_nonce(a);
	peer_nonce(b);
	peer_mac(k, "client", a, b, hex);
	assert_true(peer_mac_ok(k, "client", a, b, hex));
	assert_false(peer_mac_ok(other, "client", a, b, hex)); /* another key */
	assert_false(peer_mac_ok(k, "server", a, b, hex));     /* the other role: no reflection */
	assert_false(peer_mac_ok(k, "client", b, a, hex));     /* the nonces swapped */
	assert_false(peer_mac_ok(k, "client", a, b, "zz"));
	free(k);
	free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_each_type),
		cmocka_unit_test(test_fields_read_back),
		cmocka_unit_test(test_refuses_bad_shapes),
		cmocka_unit_test(test_refuses_what_a_client_may_not_ask),
		cmocka_unit_test(test_refuses_deep_and_long),
		cmocka_unit_test(test_frame_lengths),
		cmocka_unit_test(test_key_file_rules),
		cmocka_unit_test(test_mac_proves_the_key_over_both_nonces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
