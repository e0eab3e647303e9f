/* What `cmake --install` and `cpack -G DEB` deliver: a binary that runs from anywhere, a man page that names every flag, a completion. */
#include "support.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

/* Set by tests/e2e/CMakeLists.txt. */
#ifndef IPCBENCH_MAN_PAGE
#error "IPCBENCH_MAN_PAGE: the man page source, docs/ipcbench.1"
#endif

extern char **environ;

/* --- running programs --- */

/*
 * Run argv[0] (a path) with args in cwd, env entries ("NAME=value") in place of ours; stdout and
 * stderr into malloc'd strings. Killed after timeout_s. The exit status, 128+N after signal N, -1
 * when it timed out.
 */
static int run_in(const char *cwd, const char *const *argv, const char *const *env, char **out, char **err,
		  int timeout_s)
{
	size_t ne = 0, nenv = 0;
	while (environ[ne])
		ne++;
	while (env && env[nenv])
		nenv++;
	const char **envp = calloc(ne + nenv + 1, sizeof(*envp));
	assert_non_null(envp);
	size_t at = 0;
	for (size_t i = 0; i < nenv; i++)
		envp[at++] = env[i];
	for (size_t i = 0; i < ne; i++) { /* ours replace theirs: bash keeps the last of two */
		bool replaced = false;
		for (size_t k = 0; k < nenv; k++) {
			size_t n = strcspn(env[k], "=") + 1;
			replaced |= strncmp(environ[i], env[k], n) == 0;
		}
		if (!replaced)
			envp[at++] = environ[i];
	}
	int fds[2][2];
	assert_int_equal(pipe2(fds[0], O_CLOEXEC), 0);
	assert_int_equal(pipe2(fds[1], O_CLOEXEC), 0);
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[0][1], 1);
		dup2(fds[1][1], 2);
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		if (chdir(cwd) != 0)
			_exit(126);
		execve(argv[0], (char *const *)argv, (char *const *)envp);
		_exit(127);
	}
	close(fds[0][1]);
	close(fds[1][1]);
	free(envp);
	char *buf[2] = { NULL, NULL };
	size_t len[2] = { 0, 0 }, cap[2] = { 0, 0 };
	int open_fds[2] = { fds[0][0], fds[1][0] };
	int64_t deadline = now_ns() + (int64_t)timeout_s * NS_PER_S;
	bool timed_out = false;
	while (open_fds[0] >= 0 || open_fds[1] >= 0) {
		struct pollfd p[2] = { { open_fds[0], POLLIN, 0 }, { open_fds[1], POLLIN, 0 } };
		int ms = ms_until(deadline);
		if (ms == 0 || (poll(p, 2, ms) < 0 && errno != EINTR)) {
			timed_out = true;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (open_fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (len[i] + 4097 > cap[i]) {
				cap[i] = (cap[i] + 4097) * 2;
				buf[i] = realloc(buf[i], cap[i]);
				assert_non_null(buf[i]);
			}
			ssize_t n = read(open_fds[i], buf[i] + len[i], cap[i] - len[i] - 1);
			if (n <= 0) {
				close(open_fds[i]);
				open_fds[i] = -1;
			} else {
				len[i] += (size_t)n;
			}
		}
	}
	for (int i = 0; i < 2; i++) {
		if (open_fds[i] >= 0)
			close(open_fds[i]);
		if (!buf[i])
			buf[i] = calloc(1, 1);
		buf[i][len[i]] = '\0';
	}
	if (timed_out)
		kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
	*out = buf[0];
	*err = buf[1];
	if (timed_out)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* name in $PATH into buf; false when it is not there. */
static bool in_path(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		if (n && (size_t)snprintf(buf, len, "%.*s/%s", (int)n, p, name) < len && access(buf, X_OK) == 0)
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		print_error("cannot read %s: %s\n", path, strerror(errno));
		fail();
	}
	size_t cap = 1 << 16, len = 0;
	char *s = malloc(cap);
	size_t n;
	while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
		len += n;
		if (len + 1 == cap)
			s = realloc(s, cap *= 2);
	}
	fclose(f);
	assert_non_null(s);
	s[len] = '\0';
	return s;
}

static bool is_file(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* --- the man page against what the binary says --- */

/*
 * The man page source as a reader sees the words: "\fB\-\-all\fR" becomes "--all".
 * Font changes go, "\-" is a hyphen, "\&" nothing, "\~" a space.
 */
static char *man_words(const char *path)
{
	char *src = read_text(path);
	char *w = src;
	for (const char *r = src; *r;) {
		if (r[0] == '\\' && r[1] == 'f' && r[2] == '(' && r[3] && r[4]) {
			r += 5;
		} else if (r[0] == '\\' && r[1] == 'f' && r[2]) {
			r += 3;
		} else if (r[0] == '\\' && r[1] == '-') {
			*w++ = '-';
			r += 2;
		} else if (r[0] == '\\' && r[1] == '&') {
			r += 2;
		} else if (r[0] == '\\' && r[1] == '~') {
			*w++ = ' ';
			r += 2;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return src;
}

static bool word_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* word in text, not as part of a longer word ("--pin" is not in "--pins", "pipe" not in "pipe-splice"). */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = strstr(text, word); p; p = strstr(p + 1, word))
		if ((p == text || !word_char(p[-1])) && !word_char(p[n]))
			return true;
	return false;
}

/*
 * The flags a --help text lists: "--name" and "-x" that start a word ("-m, --mechanisms L",
 * "[--force]", "--json, --csv"), one per line into a malloc'd string.
 */
static char *flags_of(const char *help)
{
	size_t cap = strlen(help) + 2, at = 0;
	char *list = calloc(1, cap);
	assert_non_null(list);
	for (const char *p = help; *p; p++) {
		if (*p != '-' || (p > help && !strchr(" \t\n,;[(", p[-1])))
			continue;
		size_t n = 0;
		if (p[1] == '-' && isalpha((unsigned char)p[2]))
			for (n = 2; isalnum((unsigned char)p[n]) || p[n] == '-'; n++)
				;
		else if (isalpha((unsigned char)p[1]) && !word_char(p[2]))
			n = 2;
		if (n == 0)
			continue;
		char flag[64];
		snprintf(flag, sizeof(flag), "%.*s", (int)n, p);
		if (!has_word(list, flag))
			at += (size_t)snprintf(list + at, cap - at, "%s\n", flag);
		p += n - 1;
	}
	return list;
}

/* The --help of the binary, of `plot`, of `compare` and of `serve`, joined. */
static char *all_help(void)
{
	static const char *const cmds[][3] = { { "--help" }, { "plot", "--help" }, { "compare", "--help" },
					       { "serve", "--help" } };
	size_t cap = 1, len = 0;
	char *all = calloc(1, 1);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char *out = NULL, *err = NULL;
		int rc = tool_run(cmds[i], &out, &err, 30);
		if (rc != 0) {
			print_error("ipcbench %s %s: exit %d, stderr: %s\n", cmds[i][0], cmds[i][1] ? cmds[i][1] : "", rc, err);
			fail();
		}
		cap += strlen(out) + 1;
		all = realloc(all, cap);
		assert_non_null(all);
		len += (size_t)sprintf(all + len, "%s\n", out);
		free(out);
		free(err);
	}
	return all;
}

/* Every flag --help, plot --help and compare --help list is in the man page. */
static void test_man_names_every_flag(void **state)
{
	(void)state;
	char *man = man_words(IPCBENCH_MAN_PAGE);
	char *help = all_help();
	char *flags = flags_of(help);
	int missing = 0, seen = 0;
	for (char *f = strtok(flags, "\n"); f; f = strtok(NULL, "\n")) {
		seen++;
		if (!has_word(man, f)) {
			print_error("%s does not mention %s, which --help lists; describe it under OPTIONS "
				    "(or SUBCOMMANDS)\n", IPCBENCH_MAN_PAGE, f);
			missing++;
		}
	}
	assert_true(seen >= 20); /* the scan found the option table at all */
	assert_int_equal(missing, 0);
	free(flags);
	free(help);
	free(man);
}

/* Every subcommand of the usage lines ("ipcbench plot ...") has its entry in the man page. */
static void test_man_names_every_subcommand(void **state)
{
	(void)state;
	char *man = man_words(IPCBENCH_MAN_PAGE);
	char *help = all_help();
	int missing = 0, seen = 0;
	for (const char *p = strstr(help, "ipcbench "); p; p = strstr(p + 1, "ipcbench ")) {
		const char *w = p + strlen("ipcbench ");
		size_t n = 0;
		while (islower((unsigned char)w[n]))
			n++;
		if (n == 0 || w[n] != ' ' || (p > help && !isspace((unsigned char)p[-1])))
			continue;
		char sub[64];
		snprintf(sub, sizeof(sub), "ipcbench %.*s", (int)n, w);
		seen++;
		if (!strstr(man, sub)) {
			print_error("%s does not mention '%s', which --help lists; add it to SYNOPSIS and SUBCOMMANDS\n",
				    IPCBENCH_MAN_PAGE, sub);
			missing++;
		}
	}
	assert_true(seen >= 2);
	assert_int_equal(missing, 0);
	free(help);
	free(man);
}

/* The names --list prints: the first word of each catalog line. */
static char *list_names(void)
{
	char *out = NULL, *err = NULL;
	assert_int_equal(tool_run((const char *[]){ "--list", NULL }, &out, &err, 30), 0);
	char *names = calloc(1, strlen(out) + 1);
	size_t at = 0;
	for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
		char name[64], group[64];
		if (sscanf(line, "%63s %63s", name, group) != 2 || strchr(name, ':') || !strcmp(name, "mechanism") ||
		    !strcmp(name, "experiment"))
			continue;
		at += (size_t)sprintf(names + at, "%s\n", name);
	}
	free(out);
	free(err);
	return names;
}

/* Every mechanism and experiment --list prints is in the man page's MECHANISMS section. */
static void test_man_names_every_mechanism(void **state)
{
	(void)state;
	char *man = man_words(IPCBENCH_MAN_PAGE);
	char *names = list_names();
	int missing = 0, seen = 0;
	for (char *n = strtok(names, "\n"); n; n = strtok(NULL, "\n")) {
		seen++;
		if (!has_word(man, n)) {
			print_error("%s does not mention '%s', which --list prints; add it under MECHANISMS\n",
				    IPCBENCH_MAN_PAGE, n);
			missing++;
		}
	}
	assert_true(seen >= 10);
	assert_int_equal(missing, 0);
	free(names);
	free(man);
}

/* groff reads the page without a warning (-ww: all of them); man(1) uses groff to show it. */
static void test_man_renders(void **state)
{
	(void)state;
	char groff[4096];
	if (!in_path("groff", groff, sizeof(groff))) {
		print_message("groff is not installed (Debian: groff-base); run groff -man -ww -z %s by hand\n",
			      IPCBENCH_MAN_PAGE);
		skip();
	}
	char *out, *err;
	int rc = run_in("/", (const char *[]){ groff, "-man", "-ww", "-z", IPCBENCH_MAN_PAGE, NULL }, NULL, &out, &err, 30);
	if (rc != 0 || err[0]) {
		print_error("groff -man -ww -z %s: exit %d\n%s", IPCBENCH_MAN_PAGE, rc, err);
		fail();
	}
	free(out);
	free(err);
}

/* --- the bash completion --- */

/*
 * What the completion in `completion` offers for words (the command line, the last being the
 * word under the cursor), with dir first in PATH: one candidate per line, malloc'd.
 */
static char *complete(const char *completion, const char *dir, const char *const *words)
{
	char bash[4096];
	if (!in_path("bash", bash, sizeof(bash)))
		return NULL;
	char script[1024] = "source \"$1\" || exit 3; COMP_WORDS=(", path[8192];
	int n = 0;
	for (; words[n]; n++)
		snprintf(script + strlen(script), sizeof(script) - strlen(script), "%s'%s'", n ? " " : "", words[n]);
	snprintf(script + strlen(script), sizeof(script) - strlen(script),
		 "); COMP_CWORD=%d; COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}; _ipcbench; "
		 "printf '%%s\\n' \"${COMPREPLY[@]}\"", n - 1);
	snprintf(path, sizeof(path), "PATH=%s:%s", dir, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	char *out, *err;
	int rc = run_in("/", (const char *[]){ bash, "--norc", "--noprofile", "-c", script, "bash", completion, NULL },
			(const char *[]){ path, NULL }, &out, &err, 30);
	if (rc != 0 || err[0]) {
		print_error("bash completion %s: exit %d\n%s", completion, rc, err);
		fail();
	}
	free(err);
	return out;
}

/* A line of lines that is exactly want. */
static bool has_line(const char *lines, const char *want)
{
	size_t n = strlen(want);
	for (const char *p = strstr(lines, want); p; p = strstr(p + 1, want))
		if ((p == lines || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

static void expect_completion(const char *completion, const char *dir, const char *const *words, const char *want)
{
	char *got = complete(completion, dir, words);
	if (!got) {
		print_message("bash is not installed\n");
		skip();
	}
	if (!has_line(got, want)) {
		print_error("completing '%s ... %s' offered:\n%s(want %s)\n", words[0], words[1], got, want);
		free(got);
		fail();
	}
	free(got);
}

/* The completion asks the binary for the names, so it offers what this build has. */
static void check_completion(const char *completion, const char *dir)
{
	expect_completion(completion, dir, (const char *[]){ "ipcbench", "-m", "pi", NULL }, "pipe");
	expect_completion(completion, dir, (const char *[]){ "ipcbench", "-m", "pipe,sh", NULL }, "pipe,shm");
	expect_completion(completion, dir, (const char *[]){ "ipcbench", "-p", "", NULL }, "oneway");
	expect_completion(completion, dir, (const char *[]){ "ipcbench", "-s", "", NULL }, "4K");
	expect_completion(completion, dir, (const char *[]){ "ipcbench", "--pin", "", NULL }, "none");
	expect_completion(completion, dir, (const char *[]){ "ipcbench", "--placement", "same-l", NULL }, "same-llc");
	expect_completion(completion, dir, (const char *[]){ "ipcbench", "--verify", "", NULL }, "full");
	expect_completion(completion, dir, (const char *[]){ "ipcbench", "--pla", NULL }, "--placement");
	expect_completion(completion, dir, (const char *[]){ "ipcbench", "comp", NULL }, "compare");
	expect_completion(completion, dir, (const char *[]){ "ipcbench", "plot", "x.json", "--fo", NULL }, "--force");
}

static void test_completion(void **state)
{
	(void)state;
	char dir[4096];
	assert_non_null(getenv("IPCBENCH"));
	snprintf(dir, sizeof(dir), "%s", getenv("IPCBENCH"));
	*strrchr(dir, '/') = '\0';
	check_completion(IPCBENCH_COMPLETION, dir);
}

/* The scratch directory of the case that runs, removed after it whether it passed or not. */
static char scratch[64];

static const char *make_scratch(void)
{
	snprintf(scratch, sizeof(scratch), "/tmp/test_install.XXXXXX");
	assert_non_null(mkdtemp(scratch));
	return scratch;
}

static int remove_scratch(void **state)
{
	(void)state;
	int rc = scratch[0] ? remove_tree(scratch) : 0;
	scratch[0] = '\0';
	return rc;
}

/* --- cmake --install --- */

/* `cmake --install` of this build into a new directory: what it holds, and the binary run from /. */
static void test_install_runs_from_anywhere(void **state)
{
	(void)state;
	const char *prefix = make_scratch();
	char *out, *err;
	int rc = run_in("/", (const char *[]){ IPCBENCH_CMAKE, "--install", IPCBENCH_BUILD_DIR, "--prefix", prefix, NULL },
			NULL, &out, &err, 120);
	if (rc != 0) {
		print_error("cmake --install %s --prefix %s: exit %d\n%s%s", IPCBENCH_BUILD_DIR, prefix, rc, out, err);
		fail();
	}
	free(out);
	free(err);

	char bin[4200], man[4200], comp[4200], py[4200];
	snprintf(bin, sizeof(bin), "%s/%s/ipcbench", prefix, IPCBENCH_INSTALL_BINDIR);
	snprintf(man, sizeof(man), "%s/%s/man1/ipcbench.1", prefix, IPCBENCH_INSTALL_MANDIR);
	snprintf(comp, sizeof(comp), "%s/%s/bash-completion/completions/ipcbench", prefix, IPCBENCH_INSTALL_DATADIR);
	snprintf(py, sizeof(py), "%s/%s/ipcbench/python/ipcbench_models.py", prefix, IPCBENCH_INSTALL_DATADIR);
	const char *const wanted[] = { bin, man, comp };
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		if (!is_file(wanted[i])) {
			print_error("cmake --install did not install %s\n", wanted[i]);
			fail();
		}
	char *names = list_names();
	if (has_line(names, "python") && !is_file(py)) {
		print_error("the python experiment is built in, but its script %s was not installed\n", py);
		fail();
	}
	free(names);
	char *src = read_text(IPCBENCH_MAN_PAGE), *installed = read_text(man);
	assert_string_equal(src, installed);
	free(src);
	free(installed);

	/* from /, so nothing it needs can come from the current directory */
	rc = run_in("/", (const char *[]){ bin, "--quick", "-m", "pipe", "-r", "1", "--json", "--quiet", NULL }, NULL,
		    &out, &err, 120);
	if (rc != 0) {
		print_error("%s --quick -m pipe -r 1 --json --quiet (in /): exit %d\n%s", bin, rc, err);
		fail();
	}
	json_error_t jerr;
	json_t *doc = json_loads(out, 0, &jerr);
	if (!doc) {
		print_error("the installed binary's --json is not JSON (%s):\n%s\n", jerr.text, out);
		fail();
	}
	const json_t *rows = json_object_get(doc, "results");
	size_t i, ok = 0;
	json_t *r;
	json_array_foreach(rows, i, r)
		ok += strcmp(json_string_value(json_object_get(r, "status")), "ok") == 0;
	assert_true(json_array_size(rows) > 0 && ok > 0);
	json_decref(doc);
	free(out);
	free(err);

	/* the installed completion, asking the installed binary */
	char bindir[4200];
	snprintf(bindir, sizeof(bindir), "%s/%s", prefix, IPCBENCH_INSTALL_BINDIR);
	expect_completion(comp, bindir, (const char *[]){ "ipcbench", "-m", "pi", NULL }, "pipe");
}

/* --- cpack -G DEB --- */

static bool field_has(const char *deb, const char *field, const char *const *want)
{
	char dpkg_deb[4096];
	assert_true(in_path("dpkg-deb", dpkg_deb, sizeof(dpkg_deb)));
	char *out, *err;
	int rc = run_in("/", (const char *[]){ dpkg_deb, "--field", deb, field, NULL }, NULL, &out, &err, 30);
	bool ok = rc == 0;
	for (int i = 0; ok && want[i]; i++)
		if (!has_word(out, want[i])) {
			print_error("%s: %s is '%s', without %s\n", deb, field, out, want[i]);
			ok = false;
		}
	free(out);
	free(err);
	return ok;
}

/* The Debian package: named ipcbench_VERSION_ARCH.deb, depends on the runtime libraries, holds the files. */
static void test_deb_package(void **state)
{
	(void)state;
	char dpkg_deb[4096];
	if (!in_path("dpkg-deb", dpkg_deb, sizeof(dpkg_deb))) {
		print_message("dpkg-deb is not installed (Debian: dpkg); the .deb cannot be checked here\n");
		skip();
	}
	const char *dir = make_scratch();
	char config[4200];
	snprintf(config, sizeof(config), "%s/CPackConfig.cmake", IPCBENCH_BUILD_DIR);
	char *out, *err;
	int rc = run_in(dir, (const char *[]){ IPCBENCH_CPACK, "--config", config, "-G", "DEB", "-B", dir, NULL }, NULL,
			&out, &err, 240);
	if (rc != 0) {
		print_error("cpack -G DEB: exit %d\n%s%s", rc, out, err);
		fail();
	}
	free(out);
	free(err);
	char pattern[4200];
	snprintf(pattern, sizeof(pattern), "%s/ipcbench_" IPCBENCH_VERSION_STRING "_*.deb", dir);
	glob_t g;
	if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc != 1) {
		print_error("cpack -G DEB made no %s\n", pattern);
		fail();
	}
	const char *deb = g.gl_pathv[0];
	assert_true(field_has(deb, "Depends", (const char *[]){ "libc6", "libjansson4", "libzmq5", NULL }));
	assert_true(field_has(deb, "Recommends", (const char *[]){ "gnuplot-nox", NULL }));
	assert_true(field_has(deb, "Section", (const char *[]){ "utils", NULL }));
	assert_true(field_has(deb, "Maintainer", (const char *[]){ NULL }));
	rc = run_in("/", (const char *[]){ dpkg_deb, "--contents", deb, NULL }, NULL, &out, &err, 30);
	assert_int_equal(rc, 0);
	static const char *const files[] = { "./usr/bin/ipcbench", "./usr/share/man/man1/ipcbench.1",
					     "./usr/share/bash-completion/completions/ipcbench" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!strstr(out, files[i])) {
			print_error("%s does not hold %s:\n%s", deb, files[i], out);
			fail();
		}
	free(out);
	free(err);
	globfree(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_man_names_every_flag),
		cmocka_unit_test(test_man_names_every_subcommand),
		cmocka_unit_test(test_man_names_every_mechanism),
		cmocka_unit_test(test_man_renders),
		cmocka_unit_test(test_completion),
		cmocka_unit_test_teardown(test_install_runs_from_anywhere, remove_scratch),
		cmocka_unit_test_teardown(test_deb_package, remove_scratch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
