/*
 * qcow2 (devices/block/qcow2.c): the L2 and refcount bookkeeping of
 * writes, zeroing and copy-on-write, checked on the file's own bytes, and
 * the live snapshot of a disk image (blk_image_snapshot). Where qemu-img
 * is installed, it checks every image the tests leave.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "block/qcow2.h"
#include "virtio/blk.h"

#define CS		65536ULL	/* qcow2_create's clusters */
#define SIZE		(8ULL << 20)
#define L1_OFF		(3 * CS)
#define RT_OFF		CS
#define COPIED		(1ULL << 63)

static char dir[] = "/tmp/kvmini-test-qcow2.XXXXXX";
static char path[256], base_path[256];
static int fd = -1;
static struct qcow2 *q;

static uint64_t be(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

static uint64_t file_be(uint64_t off, unsigned int n)
{
	uint8_t b[8];

	assert_int_equal(pread(fd, b, n, (off_t)off), (ssize_t)n);
	return be(b, n);
}

static uint64_t l1_entry(unsigned int i)
{
	return file_be(L1_OFF + i * 8ULL, 8);
}

static uint64_t l2_entry(uint64_t guest)
{
	uint64_t l2 = l1_entry(0) & 0x00fffffffffffe00ULL;

	assert_true(l2 != 0);
	return file_be(l2 + (guest / CS) * 8, 8);
}

static unsigned int refcount(uint64_t host)
{
	uint64_t blk = file_be(RT_OFF, 8);

	return (unsigned int)file_be(blk + (host / CS) * 2, 2);
}

static void qemu_img_check(const char *p)
{
	char cmd[512];

	if (system("command -v qemu-img >/dev/null 2>&1"))
		return;		/* the shell tests need it; here it is a bonus */
	snprintf(cmd, sizeof(cmd), "qemu-img check -q '%s'", p);
	assert_int_equal(system(cmd), 0);
}

static int setup(void **state)
{
	struct qcow2_open_args a = { .path = path, .depth = QCOW2_MAX_DEPTH };
	struct errmsg e;

	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/img.qcow2", dir);
	snprintf(base_path, sizeof(base_path), "%s/base.raw", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || qcow2_create(fd, SIZE, NULL, NULL, &e))
		return -1;
	return qcow2_open(&q, fd, &a, &e);
}

static int teardown(void **state)
{
	(void)state;
	qcow2_close(q);
	q = NULL;
	if (fd >= 0) {
		qemu_img_check(path);
		close(fd);
	}
	fd = -1;
	unlink(path);
	unlink(base_path);
	snprintf(path, sizeof(path), "%s/overlay.qcow2", dir);
	unlink(path);
	rmdir(dir);
	strcpy(dir, "/tmp/kvmini-test-qcow2.XXXXXX");
	return 0;
}

static int rw(bool write, void *buf, size_t len, uint64_t off)
{
	struct iovec v = { .iov_base = buf, .iov_len = len };

	return write ? qcow2_write(q, &v, 1, off, len) : qcow2_read(q, &v, 1, off, len);
}

static void test_fresh_reads_zeroes(void **state)
{
	static uint8_t buf[4096], zero[4096];

	(void)state;
	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(rw(false, buf, sizeof(buf), 12345 * 512), 0);
	assert_memory_equal(buf, zero, sizeof(buf));
	assert_int_equal(l1_entry(0), 0);
	assert_int_equal(qcow2_size(q), SIZE);
}

/*
 * The first write makes an L2 table and a data cluster, each COPIED with
 * refcount 1; refcounts are set ahead for the clusters to come, and given
 * back when the image closes.
 */
static void test_write_allocates(void **state)
{
	static uint8_t w[4096], r[3 * 4096];
	uint64_t l2, data;

	(void)state;
	memset(w, 0x5a, sizeof(w));
	assert_int_equal(rw(true, w, sizeof(w), CS + 8192), 0);
	l2 = l1_entry(0);
	assert_true(l2 & COPIED);
	assert_int_equal(refcount(l2 & ~COPIED), 1);
	data = l2_entry(CS);
	assert_true(data & COPIED);
	assert_int_equal(refcount(data & ~COPIED), 1);
	assert_int_equal(l2_entry(0), 0);	/* the neighbour stays unallocated */
	/* around the piece: zeroes, from the unallocated cluster it replaced */
	assert_int_equal(rw(false, r, sizeof(r), CS + 4096), 0);
	for (size_t i = 0; i < sizeof(r); i++)
		assert_int_equal(r[i], i >= 4096 && i < 8192 ? 0x5a : 0);
	/* a second write to the cluster goes in place */
	assert_int_equal(rw(true, w, 512, CS), 0);
	assert_int_equal(l2_entry(CS), data);
	assert_int_equal(refcount((data & ~COPIED) + CS), 1);	/* reserved */
	qcow2_close(q);
	q = NULL;
	assert_int_equal(refcount((data & ~COPIED) + CS), 0);	/* given back */
}

/* Whole clusters in one request: consecutive clusters, one entry each, read back. */
static void test_write_run(void **state)
{
	static uint8_t w[4 * CS], r[4 * CS];
	uint64_t first;

	(void)state;
	for (size_t i = 0; i < sizeof(w); i++)
		w[i] = (uint8_t)(i / 4096 + 3);
	assert_int_equal(rw(true, w, sizeof(w), 8 * CS), 0);
	first = l2_entry(8 * CS);
	assert_true(first & COPIED);
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(l2_entry((8 + i) * CS), first + i * CS);
		assert_int_equal(refcount((first & ~COPIED) + i * CS), 1);
	}
	assert_int_equal(rw(false, r, sizeof(r), 8 * CS), 0);
	assert_memory_equal(r, w, sizeof(r));
	/* over them again, in place: the entries stay */
	assert_int_equal(rw(true, w, sizeof(w), 8 * CS), 0);
	assert_int_equal(l2_entry(11 * CS), first + 3 * CS);
}

/* Unmapping zeroes: the zero flag first, the cluster's refcount 0 after the next flush. */
static void test_zero_unmap_frees(void **state)
{
	static uint8_t w[4096], r[4096], zero[4096];
	uint64_t data;

	(void)state;
	memset(w, 0x77, sizeof(w));
	assert_int_equal(rw(true, w, sizeof(w), 2 * CS), 0);
	data = l2_entry(2 * CS) & ~COPIED;
	assert_int_equal(qcow2_zero(q, 2 * CS, CS, true), 0);
	assert_int_equal(l2_entry(2 * CS), 1);		/* OFLAG_ZERO, no cluster */
	/* the count drops once the new entry is on disk: at the next flush */
	assert_int_equal(refcount(data), 1);
	assert_int_equal(qcow2_flush(q), 0);
	assert_int_equal(refcount(data), 0);
	assert_int_equal(rw(false, r, sizeof(r), 2 * CS), 0);
	assert_memory_equal(r, zero, sizeof(r));
}

/* Without unmap an allocated cluster stays allocated and reads zeroes. */
static void test_zero_keep(void **state)
{
	static uint8_t w[4096], r[4096], zero[4096];
	uint64_t data;

	(void)state;
	memset(w, 0x33, sizeof(w));
	assert_int_equal(rw(true, w, sizeof(w), 3 * CS), 0);
	data = l2_entry(3 * CS);
	assert_int_equal(qcow2_zero(q, 3 * CS, CS, false), 0);
	assert_int_equal(l2_entry(3 * CS), data);
	assert_int_equal(rw(false, r, sizeof(r), 3 * CS), 0);
	assert_memory_equal(r, zero, sizeof(r));
}

/* Part of a cluster: zeroes there, the rest kept. */
static void test_zero_partial(void **state)
{
	static uint8_t w[8192], r[8192];

	(void)state;
	memset(w, 0x44, sizeof(w));
	assert_int_equal(rw(true, w, sizeof(w), 4 * CS), 0);
	assert_int_equal(qcow2_zero(q, 4 * CS + 1024, 2048, true), 0);
	assert_int_equal(rw(false, r, sizeof(r), 4 * CS), 0);
	for (size_t i = 0; i < sizeof(r); i++)
		assert_int_equal(r[i], i >= 1024 && i < 3072 ? 0 : 0x44);
}

/* Zeroing part of a cluster that reads as zeroes already allocates nothing. */
static void test_zero_partial_unallocated(void **state)
{
	(void)state;
	assert_int_equal(qcow2_zero(q, 6 * CS + 4096, 4096, true), 0);
	assert_int_equal(l1_entry(0), 0);	/* not even an L2 table */
	assert_int_equal(qcow2_zero(q, 6 * CS, CS, true), 0);	/* a whole one, neither */
	assert_int_equal(l1_entry(0), 0);
}

/* Reads and writes past the virtual size fail; nothing wraps. */
static void test_out_of_range(void **state)
{
	static uint8_t b[512];

	(void)state;
	assert_int_equal(rw(false, b, sizeof(b), SIZE), -EIO);
	assert_int_equal(rw(true, b, sizeof(b), SIZE - 511), -EIO);
	assert_int_equal(rw(false, b, sizeof(b), UINT64_MAX - 100), -EIO);
	assert_int_equal(qcow2_zero(q, SIZE - CS, 2 * CS, true), -EIO);
}

/* A hostile L1 entry (unaligned L2 table) makes reads fail, not stray. */
static void test_unaligned_l2(void **state)
{
	struct qcow2_open_args a = { .path = path, .depth = 1 };
	static uint8_t b[512];
	uint8_t e[8] = { 0x80, 0, 0, 0, 0, 0x01, 0x02, 0x00 };
	struct errmsg err;

	(void)state;
	qcow2_close(q);
	assert_int_equal(pwrite(fd, e, 8, L1_OFF), 8);
	assert_int_equal(qcow2_open(&q, fd, &a, &err), 0);
	assert_int_equal(rw(false, b, sizeof(b), 0), -EIO);
	assert_int_equal(rw(true, b, sizeof(b), 0), -EIO);
	memset(e, 0, sizeof(e));
	assert_int_equal(pwrite(fd, e, 8, L1_OFF), 8);	/* for qemu-img check */
}

/*
 * A second run: the L2 table written by the first is in the file when it
 * opens, and the clusters now allocated past the file's end are named in
 * it. They read back; a hostile entry past the end, in a table the file
 * brought, makes that table unusable instead.
 */
static void test_reopened_tables(void **state)
{
	struct qcow2_open_args a = { .path = path, .depth = 1 };
	static uint8_t b[2 * CS], r[CS];
	uint8_t e[8];
	struct errmsg err;
	struct stat st;
	uint64_t l2, bad;

	(void)state;
	memset(b, 0x5a, sizeof(b));
	assert_int_equal(rw(true, b, CS, 0), 0);
	qcow2_close(q);
	assert_int_equal(qcow2_open(&q, fd, &a, &err), 0);
	memset(b, 0xa5, sizeof(b));
	assert_int_equal(rw(true, b, 4096, 3 * CS), 0);		/* partial: copy-on-write */
	assert_int_equal(rw(true, b, 2 * CS, 4 * CS), 0);	/* a run of whole clusters */
	assert_int_equal(rw(false, r, sizeof(r), 3 * CS), 0);
	assert_memory_equal(r, b, 4096);
	assert_int_equal(rw(false, r, sizeof(r), 5 * CS), 0);
	assert_memory_equal(r, b, sizeof(r));
	assert_int_equal(rw(false, r, 512, 0), 0);
	assert_int_equal(r[0], 0x5a);
	qcow2_close(q);
	q = NULL;
	qemu_img_check(path);
	/* an entry past the end, written into the table behind kvmini's back */
	l2 = l1_entry(0) & 0x00fffffffffffe00ULL;
	assert_int_equal(fstat(fd, &st), 0);
	bad = (((uint64_t)st.st_size + CS - 1) & ~(CS - 1)) + 4 * CS;
	for (int i = 0; i < 8; i++)
		e[i] = (uint8_t)((bad | COPIED) >> (56 - 8 * i));
	assert_int_equal(pwrite(fd, e, 8, (off_t)(l2 + 7 * 8)), 8);
	assert_int_equal(qcow2_open(&q, fd, &a, &err), 0);
	assert_int_equal(rw(false, r, 512, 7 * CS), -EIO);
	assert_int_equal(rw(false, r, 512, 0), -EIO);		/* the whole table */
	assert_int_equal(rw(true, b, 512, 6 * CS), -EIO);
	/* data entries into the metadata: the table itself, the L1 table, a refcount block */
	for (int k = 0; k < 3; k++) {
		uint64_t at = k == 0 ? l2 : k == 1 ? L1_OFF : file_be(RT_OFF, 8);

		qcow2_close(q);
		q = NULL;
		for (int i = 0; i < 8; i++)
			e[i] = (uint8_t)((at | COPIED) >> (56 - 8 * i));
		assert_int_equal(pwrite(fd, e, 8, (off_t)(l2 + 7 * 8)), 8);
		assert_int_equal(qcow2_open(&q, fd, &a, &err), 0);
		assert_int_equal(rw(true, b, 512, 7 * CS), -EIO);	/* never in place */
		assert_int_equal(rw(false, r, 512, 0), -EIO);
	}
	memset(e, 0, sizeof(e));
	assert_int_equal(pwrite(fd, e, 8, (off_t)(l2 + 7 * 8)), 8);	/* for qemu-img check */
}

/* Over a backing file: a partial write copies the rest of the cluster from it. */
static void test_cow_from_backing(void **state)
{
	struct qcow2_open_args a = { .path = path, .depth = 1 };
	static uint8_t b[CS], r[CS];
	struct errmsg err;
	int bfd;

	(void)state;
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 7 + 1);
	bfd = open(base_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(bfd >= 0);
	assert_int_equal(ftruncate(bfd, SIZE), 0);
	assert_int_equal(pwrite(bfd, b, sizeof(b), 5 * CS), (ssize_t)sizeof(b));
	close(bfd);
	qcow2_close(q);
	q = NULL;
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(qcow2_create(fd, SIZE, base_path, "raw", &err), 0);
	assert_int_equal(qcow2_open(&q, fd, &a, &err), 0);
	memset(r, 0xab, 512);
	assert_int_equal(rw(true, r, 512, 5 * CS + 4096), 0);
	assert_int_equal(rw(false, r, sizeof(r), 5 * CS), 0);
	for (size_t i = 0; i < sizeof(r); i++)
		assert_int_equal(r[i], i >= 4096 && i < 4608 ? 0xab : b[i]);
	/* v3 zeroing over a backing file: the zero flag hides it */
	assert_int_equal(qcow2_zero(q, 5 * CS, CS, true), 0);
	assert_int_equal(rw(false, r, 512, 5 * CS + 8192), 0);
	for (size_t i = 0; i < 512; i++)
		assert_int_equal(r[i], 0);
	/* a probed image naming a backing file is refused */
	a.probed = true;
	qcow2_close(q);
	q = NULL;
	assert_int_equal(qcow2_open(&q, fd, &a, &err), -EPERM);
	assert_non_null(strstr(err.msg, "format=qcow2"));
	a.probed = false;
	a.depth = 0;	/* no backing file allowed below */
	assert_int_equal(qcow2_open(&q, fd, &a, &err), -ENOTSUP);
	assert_non_null(strstr(err.msg, "deeper than 16"));
	a.depth = 1;
	assert_int_equal(qcow2_open(&q, fd, &a, &err), 0);
}

/*
 * The live snapshot: a raw disk switches to a new overlay; later writes
 * land there, the old image keeps what it had and is read-only locked.
 */
static void test_live_snapshot(void **state)
{
	struct blk_image img, other;
	struct errmsg err;
	static uint8_t w[4096], r[4096];
	char ov[256], ov2[256];
	int bfd, ofd;

	(void)state;
	bfd = open(base_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(bfd >= 0);
	assert_int_equal(ftruncate(bfd, SIZE), 0);
	memset(w, 0x11, sizeof(w));
	assert_int_equal(pwrite(bfd, w, sizeof(w), 0), (ssize_t)sizeof(w));
	close(bfd);
	assert_int_equal(blk_image_open_err(&img, base_path, false, &err), 0);
	assert_null(img.qcow2);
	snprintf(ov, sizeof(ov), "%s/overlay.qcow2", dir);
	snprintf(ov2, sizeof(ov2), "%s/overlay2.qcow2", dir);
	ofd = open(ov, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(ofd >= 0);
	assert_int_equal(blk_image_snapshot(&img, ofd, ov, &err), 0);
	assert_non_null(img.qcow2);
	assert_string_equal(img.path, ov);
	assert_int_equal(img.size, SIZE);
	/* the old image is a base now: another reader may share it, no writer */
	assert_int_equal(blk_image_open_err(&other, base_path, true, &err), 0);
	blk_image_close(&other);
	assert_int_equal(blk_image_open_err(&other, base_path, false, &err), -EBUSY);
	/* the same file again (not empty now): refused, the disk unchanged */
	bfd = open(ov, O_RDWR);
	assert_int_equal(blk_image_snapshot(&img, bfd, ov, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "new, empty file"));
	close(bfd);
	assert_non_null(img.qcow2);
	memset(w, 0x22, sizeof(w));
	{
		struct iovec v = { .iov_base = w, .iov_len = sizeof(w) };
		struct iovec rv = { .iov_base = r, .iov_len = sizeof(r) };

		assert_int_equal(qcow2_read(img.qcow2, &rv, 1, 0, sizeof(r)), 0);
		assert_int_equal(r[0], 0x11);	/* through to the old image */
		assert_int_equal(qcow2_write(img.qcow2, &v, 1, 0, sizeof(w)), 0);
		assert_int_equal(qcow2_read(img.qcow2, &rv, 1, 0, sizeof(r)), 0);
		assert_int_equal(r[0], 0x22);
		/* a second snapshot, over the qcow2 overlay: a chain of two */
		bfd = open(ov2, O_RDWR | O_CREAT | O_EXCL, 0600);
		assert_int_equal(blk_image_snapshot(&img, bfd, ov2, &err), 0);
		assert_string_equal(img.path, ov2);
		memset(w, 0x33, 512);
		v.iov_len = 512;
		assert_int_equal(qcow2_write(img.qcow2, &v, 1, 8192, 512), 0);
		assert_int_equal(qcow2_read(img.qcow2, &rv, 1, 0, sizeof(r)), 0);
		assert_int_equal(r[0], 0x22);
		assert_int_equal(r[4095], 0x22);
		assert_int_equal(qcow2_read(img.qcow2, &rv, 1, 8192, 512), 0);
		assert_int_equal(r[0], 0x33);
	}
	bfd = open(base_path, O_RDONLY);
	assert_int_equal(pread(bfd, r, sizeof(r), 0), (ssize_t)sizeof(r));
	assert_int_equal(r[0], 0x11);		/* the old image did not change */
	close(bfd);
	blk_image_close(&img);
	qemu_img_check(ov);
	qemu_img_check(ov2);
	unlink(ov2);
}

/* snapshot=on: a temporary overlay, the image read-only; no live snapshot of it. */
static void test_snapshot_on(void **state)
{
	struct disk_config *dc = calloc(1, sizeof(*dc));
	struct blk_image img;
	struct errmsg err;
	static uint8_t w[4096], r[4096];
	struct iovec v = { .iov_base = w, .iov_len = sizeof(w) };
	struct iovec rv = { .iov_base = r, .iov_len = sizeof(r) };
	char ov[256];
	int bfd;

	(void)state;
	assert_non_null(dc);
	bfd = open(base_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(bfd >= 0);
	assert_int_equal(ftruncate(bfd, SIZE), 0);
	close(bfd);
	snprintf(dc->path, sizeof(dc->path), "%s", base_path);
	dc->snapshot = true;
	setenv("TMPDIR", dir, 1);
	assert_int_equal(blk_image_open_conf(&img, dc, &err), 0);
	unsetenv("TMPDIR");
	assert_true(img.temporary);
	assert_false(img.readonly);
	memset(w, 0x99, sizeof(w));
	assert_int_equal(qcow2_write(img.qcow2, &v, 1, 0, sizeof(w)), 0);
	assert_int_equal(qcow2_read(img.qcow2, &rv, 1, 0, sizeof(r)), 0);
	assert_int_equal(r[4095], 0x99);
	snprintf(ov, sizeof(ov), "%s/overlay.qcow2", dir);
	bfd = open(ov, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_int_equal(blk_image_snapshot(&img, bfd, ov, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "snapshot=on"));
	close(bfd);
	blk_image_close(&img);
	bfd = open(base_path, O_RDONLY);
	assert_int_equal(pread(bfd, r, sizeof(r), 0), (ssize_t)sizeof(r));
	assert_int_equal(r[0], 0);		/* the image itself never saw the write */
	close(bfd);
	free(dc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_reads_zeroes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_allocates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_unmap_frees, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_keep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_partial_unallocated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unaligned_l2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopened_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cow_from_backing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_live_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_on, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
