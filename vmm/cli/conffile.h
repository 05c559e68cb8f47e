/* kvmini.conf(5): `kvmini run` options in a file, one per line (--config FILE). */
#ifndef KVMINI_CONFFILE_H
#define KVMINI_CONFFILE_H

#include <stddef.h>

#define CONFFILE_MAX_SIZE	(64 * 1024)
#define CONFFILE_MAX_ARGS	1024

struct conffile_args {
	char **argv;		/* "--NAME" or "--NAME=VALUE", one per option; NULL-terminated */
	int argc;
};

/*
 * Parse @len bytes of @text, the file @name (for messages), into @out: one
 * option per line, "NAME VALUE", "NAME=VALUE" or "NAME" (NAME with or without
 * "--"), blank lines and lines starting with # ignored. 0, or -EINVAL with
 * "NAME:LINE: what is wrong" in @err.
 */
int conffile_parse(const char *text, size_t len, const char *name, struct conffile_args *out,
		   char *err, size_t err_size);
void conffile_free(struct conffile_args *a);

/*
 * Replace each "--config FILE" (or --config=FILE) before "--" in @argc and @argv
 * by FILE's options, in place: later options still override earlier ones.
 * The new argument list lives until kvmini exits. 0, or -errno after kv_err().
 */
int conffile_expand(int *argc, char ***argv);

#endif
