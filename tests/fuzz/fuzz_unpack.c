/*
 * libFuzzer harness for the --volume copy-back's reader (vmm/cli/unpack.c):
 * the input is the ext4 image a guest left behind. unpack_ext4() must
 * either succeed or refuse with a reason, create nothing outside its
 * staging directory, and stay within its limits.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "unpack.h"

static const struct unpack_limits limits = {
	.bytes = 4 << 20,
	.entries = 2000,
	.depth = 16,
	.time_ms = 2000,
	.ignore_checksums = true,
};

static char top[64];

/* Bytes and entries beneath @dir, never following symlinks. */
static void measure(int dir, uint64_t *bytes, uint64_t *entries)
{
	int fd = fcntl(dir, F_DUPFD_CLOEXEC, 0);
	DIR *d = fdopendir(fd);
	struct dirent *de;
	struct stat st;

	FUZZ_CHECK(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		FUZZ_CHECK(!strchr(de->d_name, '/'));
		FUZZ_CHECK(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0);
		FUZZ_CHECK(!(st.st_mode & (S_ISUID | S_ISGID)) || S_ISDIR(st.st_mode));
		FUZZ_CHECK(S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) || S_ISLNK(st.st_mode));
		(*entries)++;
		if (S_ISREG(st.st_mode))
			*bytes += (uint64_t)st.st_size;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

			FUZZ_CHECK(sub >= 0);
			measure(sub, bytes, entries);
			close(sub);
		}
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unpack_result res;
	uint64_t bytes = 0, entries = 0;
	char stage[128];
	int img, sfd, ret;

	if (!top[0]) {
		snprintf(top, sizeof(top), "/tmp/kvmini-fuzz-unpack-XXXXXX");
		FUZZ_CHECK(mkdtemp(top));
	}
	img = memfd_create("image", MFD_CLOEXEC);
	FUZZ_CHECK(img >= 0);
	FUZZ_CHECK(write(img, data, size) == (ssize_t)size);
	snprintf(stage, sizeof(stage), "%s/stage", top);
	FUZZ_CHECK(mkdir(stage, 0700) == 0);
	sfd = open(stage, O_RDONLY | O_DIRECTORY);
	FUZZ_CHECK(sfd >= 0);

	ret = unpack_ext4(img, sfd, &limits, &res);
	FUZZ_CHECK(ret == 0 ? res.error == UNPACK_OK : res.error != UNPACK_OK && res.msg[0]);
	measure(sfd, &bytes, &entries);
	FUZZ_CHECK(bytes <= limits.bytes);
	FUZZ_CHECK(entries <= limits.entries);
	/* the top directory holds the stage and nothing else */
	FUZZ_CHECK(rmdir(top) == -1);

	close(sfd);
	close(img);
	FUZZ_CHECK(unpack_remove_tree(stage) == 0);
	return 0;
}
