/*
 * libFuzzer harness for qcow2 (devices/block/qcow2.c): the header, its
 * extensions and limits, the L1/L2 mapping, refcounts, compressed
 * clusters, and the allocation a write does, on a hostile image in a memfd.
 * No backing file is ever opened: a probed image naming one is refused,
 * and an explicit one may have no backing chain left (depth 0).
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "fuzz.h"

/*
 * Input (mkcorpus.py writes the seeds):
 *   u8  flags: 1 read-only, 2 probed (else format=qcow2, depth 0)
 *   u8  number of operations (mod 9), then for each:
 *       u8 kind (mod 4: read, write, zero with unmap, zero in place),
 *       u32 offset in 512-byte sectors, u16 length in sectors minus one
 *   the rest: the image file
 */
#define FL_READONLY	1
#define FL_PROBED	2
#define MAX_OPS		8
#define MAX_LEN		(65536u * 512)
#define FILE_MAX	(64u << 20)	/* stop a run whose image grew past this */

static int img_fd = -1;
static uint8_t *buf;

struct op {
	uint8_t kind;
	uint64_t off, len;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct op ops[MAX_OPS];
	struct qcow2_open_args a = { .path = "fuzz.qcow2" };
	struct errmsg e;
	struct qcow2 *q;
	unsigned int n, i;
	uint8_t flags;

	if (img_fd < 0) {
		img_fd = memfd_create("kvmini-fuzz-qcow2", MFD_CLOEXEC);
		buf = malloc(MAX_LEN);
		FUZZ_CHECK(img_fd >= 0 && buf);
	}
	flags = fuzz_u8(&in);
	n = fuzz_u8(&in) % (MAX_OPS + 1);
	for (i = 0; i < n; i++) {
		ops[i].kind = fuzz_u8(&in) % 4;
		ops[i].off = (uint64_t)fuzz_u32(&in) * 512;
		ops[i].len = ((uint64_t)fuzz_u16(&in) + 1) * 512;
	}
	FUZZ_CHECK(ftruncate(img_fd, 0) == 0);
	FUZZ_CHECK(pwrite(img_fd, in.p, in.n, 0) == (ssize_t)in.n);
	a.readonly = flags & FL_READONLY;
	a.probed = flags & FL_PROBED;
	a.depth = 0;
	if (a.probed && !qcow2_probe(img_fd))
		return 0;
	if (qcow2_open(&q, img_fd, &a, &e)) {
		FUZZ_CHECK(e.code < 0 && e.msg[0]);
		return 0;
	}
	FUZZ_CHECK(qcow2_size(q) % 512 == 0 && qcow2_size(q));
	for (i = 0; i < n; i++) {
		struct iovec v = { .iov_base = buf, .iov_len = (size_t)ops[i].len };
		bool fits = ops[i].off <= qcow2_size(q) && ops[i].len <= qcow2_size(q) - ops[i].off;
		int ret;

		if (lseek(img_fd, 0, SEEK_END) > FILE_MAX)
			break;
		memset(buf, 0x5a, (size_t)ops[i].len);
		switch (ops[i].kind) {
		case 0:
			ret = qcow2_read(q, &v, 1, ops[i].off, ops[i].len);
			break;
		case 1:
			ret = qcow2_write(q, &v, 1, ops[i].off, ops[i].len);
			break;
		default:
			ret = qcow2_zero(q, ops[i].off, ops[i].len, ops[i].kind == 2);
			break;
		}
		FUZZ_CHECK(ret <= 0);
		if (!fits || ((a.readonly) && ops[i].kind))
			FUZZ_CHECK(ret == -EIO);
		/*
		 * What was written is read again, but not compared: a hostile
		 * image whose tables alias each other may overwrite its own
		 * metadata (it can only harm itself), as with QEMU without
		 * overlap checks.
		 */
		if (!ret && ops[i].kind == 1)
			FUZZ_CHECK(qcow2_read(q, &v, 1, ops[i].off, ops[i].len) <= 0);
	}
	FUZZ_CHECK(qcow2_flush(q) == 0);
	qcow2_close(q);
	return 0;
}
