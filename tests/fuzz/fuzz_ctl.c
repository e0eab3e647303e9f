/* libFuzzer target: the control-message parser of serve and --peer, on hostile bytes, and the frame lengths before it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peer/ctl.h"

/* Every message a parse accepts keeps to its schema: a known type, and its fields read back. */
static void check_accepted(const struct ctl_msg *m)
{
	if ((unsigned)m->type >= CTL_TYPES || !json_is_object(m->doc))
		abort();
	if (ctl_has(m, "size") && (ctl_int(m, "size") < 1 || ctl_int(m, "size") > CTL_MAX_MSG_BYTES))
		abort();
	if (ctl_has(m, "duration_ns") && ctl_int(m, "duration_ns") > CTL_MAX_SPAN_NS)
		abort();
	if (strlen(ctl_str(m, "reason")) > 255)
		abort();
}

static void parse_one(const char *buf, size_t len)
{
	struct ctl_msg m;
	char why[200];
	if (ctl_parse(buf, len, &m, why, sizeof(why)) == 0) {
		check_accepted(&m);
		ctl_msg_free(&m);
	} else if (m.doc || !why[0]) {
		abort(); /* a refusal owns nothing and says why */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len > 2 * CTL_MAX_BYTES)
		return 0;
	parse_one((const char *)data, len);
	/* The same bytes as a stream of frames, as a connection carries them, up to the first bad length. */
	for (size_t at = 0; at + 4 <= len;) {
		int64_t n = ctl_frame_len(data + at);
		if (n < 0 || (size_t)n > len - at - 4)
			break;
		parse_one((const char *)data + at + 4, (size_t)n);
		at += 4 + (size_t)n;
	}
	return 0;
}
