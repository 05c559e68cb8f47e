/*
 * Unpacking a guest-written ext4 image into a host directory (--volume's
 * copy-back). The image is hostile input: see docs/security.md, "--volume".
 */
#ifndef KVMINI_UNPACK_H
#define KVMINI_UNPACK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* What one copy-back may create; --volume-limit sets them. */
struct unpack_limits {
	uint64_t bytes;		/* apparent sizes of files plus symlink targets */
	uint64_t entries;	/* directory entries, "." and ".." not counted */
	unsigned int depth;	/* directories below the top one */
	uint64_t time_ms;	/* wall clock of the whole unpack */
	/* the fuzzer's: a guest can always write valid checksums, so reach past them */
	bool ignore_checksums;
};

enum unpack_error {
	UNPACK_OK,
	UNPACK_LIMIT_BYTES,
	UNPACK_LIMIT_ENTRIES,
	UNPACK_LIMIT_DEPTH,
	UNPACK_LIMIT_TIME,
	UNPACK_REFUSED,		/* an entry kvmini will not create (name, loop, duplicate) */
	UNPACK_CORRUPT,		/* the image cannot be read as ext4 */
	UNPACK_HOST,		/* creating the host copy failed (space, permissions) */
	UNPACK_DIED,		/* the unpacking process died (seccomp, crash) */
};

struct unpack_result {
	int error;		/* enum unpack_error */
	uint64_t bytes;		/* counted so far */
	uint64_t entries;
	uint64_t dropped;	/* device nodes, FIFOs and sockets left out */
	uint64_t setid;		/* files whose setuid/setgid bits were dropped */
	char msg[512];		/* what went wrong, naming the entry; "" when none */
};

/*
 * Recreate the tree of the ext4 image on @image_fd beneath the directory
 * @stage_fd, in this process. Names must be single components; symlinks
 * are recreated, never followed; hardlinks stay hardlinks; device nodes,
 * FIFOs and sockets are dropped; setuid/setgid bits are cleared. Stops at
 * the first limit crossed or entry refused. Returns 0 or -1 with
 * @res->error and @res->msg set; what was created stays for the caller to
 * remove. The fuzzer and the unit tests call this directly.
 */
int unpack_ext4(int image_fd, int stage_fd, const struct unpack_limits *lim,
		struct unpack_result *res);

/*
 * unpack_ext4() in a child process that first drops to @uid/@gid (when
 * kvmini is root), clears every capability, takes rlimits (file size,
 * files, no core), a seccomp allow-list (per --seccomp) and a Landlock
 * rule set that confines its writes to @stage_fd; the child is killed when
 * lim->time_ms passes. Returns 0 or -1 with @res filled.
 */
int unpack_sandboxed(int image_fd, int stage_fd, uid_t uid, gid_t gid,
		     const struct unpack_limits *lim, struct unpack_result *res);

/* Remove a tree without following symlinks, making read-only directories writable. */
int unpack_remove_tree(const char *path);
/* Give @dir_fd and everything beneath it to @uid/@gid, never following a symlink. */
int unpack_chown_tree(int dir_fd, uid_t uid, gid_t gid);

/* "bytes", "entries", "depth", "time": the --volume-limit key of @error. */
const char *unpack_limit_key(int error);

#endif
