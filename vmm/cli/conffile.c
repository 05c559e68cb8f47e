/*
 * kvmini.conf(5): the options of `kvmini run` in a file, one per line, as
 * kvmini@.service reads /etc/kvmini/NAME.conf. Each line becomes one
 * "--NAME=VALUE" argument in place of --config FILE, so the file and the
 * command line go through the same parser and mean the same thing.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "log.h"

static int conf_error(char *err, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int conf_error(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* An option name as `kvmini help` spells them: a letter, then letters, digits, dashes. */
static size_t name_len(const char *s, size_t n)
{
	size_t i = 0;

	if (!n || !islower((unsigned char)s[0]))
		return 0;
	while (i < n && (islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
			 s[i] == '-'))
		i++;
	return i;
}

/* One line, without its newline: append its argument to @out, or nothing. */
static int parse_line(const char *p, size_t n, const char *file, unsigned int line,
		      struct conffile_args *out, char *err, size_t err_size)
{
	size_t nl, vstart;
	bool has_value = false;
	char *arg;

	while (n && (is_blank(p[n - 1]) || p[n - 1] == '\r'))
		n--;
	while (n && is_blank(*p))
		p++, n--;
	if (!n || *p == '#')
		return 0;
	if (n >= 2 && p[0] == '-' && p[1] == '-')
		p += 2, n -= 2;
	nl = name_len(p, n);
	if (!nl) {
		if (!n || is_blank(*p))
			return conf_error(err, err_size, "%s:%u: a command (-- CMD) cannot come "
					  "from a config file; give it after --config on the "
					  "command line", file, line);
		return conf_error(err, err_size, "%s:%u: '%.*s' is not an option; write one "
				  "option per line: NAME VALUE (kvmini.conf(5))", file, line,
				  (int)(n > 40 ? 40 : n), p);
	}
	vstart = nl;
	if (vstart < n && p[vstart] == '=') {
		has_value = true;
		vstart++;
	} else if (vstart < n && is_blank(p[vstart])) {
		while (vstart < n && is_blank(p[vstart]))
			vstart++;
		has_value = vstart < n;
	} else if (vstart < n) {
		return conf_error(err, err_size, "%s:%u: '%.*s' is not an option; write one "
				  "option per line: NAME VALUE (kvmini.conf(5))", file, line,
				  (int)(n > 40 ? 40 : n), p);
	}
	if (nl == 6 && !strncmp(p, "config", 6))
		return conf_error(err, err_size, "%s:%u: --config cannot be nested", file, line);
	if (out->argc >= CONFFILE_MAX_ARGS)
		return conf_error(err, err_size, "%s:%u: more than %d options", file, line,
				  CONFFILE_MAX_ARGS);
	if (has_value) {
		if (asprintf(&arg, "--%.*s=%.*s", (int)nl, p, (int)(n - vstart), p + vstart) < 0)
			return -ENOMEM;
	} else if (asprintf(&arg, "--%.*s", (int)nl, p) < 0) {
		return -ENOMEM;
	}
	out->argv[out->argc++] = arg;
	out->argv[out->argc] = NULL;
	return 0;
}

int conffile_parse(const char *text, size_t len, const char *name, struct conffile_args *out,
		   char *err, size_t err_size)
{
	unsigned int line = 1;
	size_t start = 0, i;
	int ret = 0;

	out->argc = 0;
	out->argv = calloc(CONFFILE_MAX_ARGS + 1, sizeof(*out->argv));
	if (!out->argv)
		return -ENOMEM;
	if (len > CONFFILE_MAX_SIZE)
		ret = conf_error(err, err_size, "%s: larger than %d bytes", name,
				 CONFFILE_MAX_SIZE);
	for (i = 0; !ret && i <= len; i++) {
		if (i < len && text[i] == '\0') {
			ret = conf_error(err, err_size, "%s:%u: a NUL byte; a config file is text",
					 name, line);
			break;
		}
		if (i < len && text[i] != '\n')
			continue;
		ret = parse_line(text + start, i - start, name, line++, out, err, err_size);
		start = i + 1;
	}
	if (ret)
		conffile_free(out);
	return ret;
}

void conffile_free(struct conffile_args *a)
{
	for (int i = 0; a->argv && i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	a->argv = NULL;
	a->argc = 0;
}

/* Only a regular file of bounded size: never a FIFO, a terminal or /dev/zero. */
static int read_conffile(const char *path, char **text, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		kv_err("--config %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		kv_err("--config %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > CONFFILE_MAX_SIZE) {
		kv_err("--config %s: %s", path, !S_ISREG(st.st_mode) ? "not a regular file" :
		       "larger than 64 KiB; a config file holds options, one per line");
		close(fd);
		return -EINVAL;
	}
	*text = malloc((size_t)st.st_size + 1);
	if (!*text) {
		close(fd);
		return -ENOMEM;
	}
	n = read(fd, *text, (size_t)st.st_size + 1);
	ret = n < 0 ? -errno : 0;
	if (n < 0)
		kv_err("--config %s: %s", path, strerror(errno));
	close(fd);
	if (ret) {
		free(*text);
		return ret;
	}
	*len = (size_t)n;
	return 0;
}

/* Every expansion stays reachable: the parsed config points into its strings. */
struct expansion {
	struct conffile_args file;
	char **argv;
	struct expansion *next;
};
static struct expansion *expansions;

static int expand_one(int *argc, char ***argv, int at, int used, const char *path)
{
	struct expansion *x = calloc(1, sizeof(*x));
	char err[512], *text = NULL;
	size_t len = 0;
	int ret, n;

	if (!x)
		return -ENOMEM;
	ret = read_conffile(path, &text, &len);
	if (!ret) {
		ret = conffile_parse(text, len, path, &x->file, err, sizeof(err));
		if (ret == -EINVAL)
			kv_err("%s", err);
	}
	free(text);
	if (!ret) {
		n = *argc - used + x->file.argc;
		x->argv = calloc((size_t)n + 1, sizeof(*x->argv));
		if (!x->argv)
			ret = -ENOMEM;
	}
	if (ret) {
		conffile_free(&x->file);
		free(x);
		return ret;
	}
	memcpy(x->argv, *argv, (size_t)at * sizeof(char *));
	memcpy(x->argv + at, x->file.argv, (size_t)x->file.argc * sizeof(char *));
	memcpy(x->argv + at + x->file.argc, *argv + at + used,
	       (size_t)(*argc - at - used) * sizeof(char *));
	x->next = expansions;
	expansions = x;
	*argc = n;
	*argv = x->argv;
	return x->file.argc;
}

int conffile_expand(int *argc, char ***argv)
{
	int i = 1, ret;

	while (i < *argc && strcmp((*argv)[i], "--")) {
		const char *a = (*argv)[i];

		if (!strncmp(a, "--config=", 9)) {
			ret = expand_one(argc, argv, i, 1, a + 9);
		} else if (!strcmp(a, "--config")) {
			if (i + 1 >= *argc) {
				kv_err("--config needs a value; 'kvmini help' lists the options");
				return -EINVAL;
			}
			ret = expand_one(argc, argv, i, 2, (*argv)[i + 1]);
		} else {
			i++;
			continue;
		}
		if (ret < 0)
			return ret;
		i += ret;	/* the file's options, not scanned again: no nesting */
	}
	return 0;
}
