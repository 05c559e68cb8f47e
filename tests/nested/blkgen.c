/*
 * blkgen: a tiny block load generator for tools/bench/blk, built static and run inside the
 * benchmark guest (no fio there). O_DIRECT on a block device, time-limited:
 *
 *   blkgen DEV seqread|seqwrite SECONDS [BS]          sequential, one request at a time
 *                                                    (BS default 1 MiB), wrapping at the end
 *   blkgen DEV randread SECONDS [BS] [QD]             random BS-aligned reads (BS default
 *                                                    4 KiB); QD > 1 keeps QD reads in flight
 *                                                    with Linux native AIO (io_submit)
 *
 * Prints "BLKGEN-START mode=M" before and, after SECONDS,
 * "BLKGEN mode=M bs=B qd=Q ios=N bytes=N secs=S mbps=X iops=Y" (MB = 10^6 bytes).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_QD 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

int main(int argc, char **argv)
{
	const char *dev, *mode;
	double secs, t0, t;
	uint64_t size, blocks, ios = 0, off = 0;
	size_t bs;
	int fd, qd = 1, write_mode = 0, rand_mode = 0, i;
	char *buf;

	if (argc < 4) {
		fprintf(stderr, "usage: blkgen DEV seqread|seqwrite|randread SECONDS [BS] [QD]\n");
		return 2;
	}
	dev = argv[1];
	mode = argv[2];
	secs = atof(argv[3]);
	if (!strcmp(mode, "seqwrite"))
		write_mode = 1;
	else if (!strcmp(mode, "randread"))
		rand_mode = 1;
	else if (strcmp(mode, "seqread"))
		return 2;
	bs = rand_mode ? 4096 : 1 << 20;
	if (argc > 4)
		bs = strtoul(argv[4], NULL, 0);
	if (argc > 5)
		qd = atoi(argv[5]);
	if (qd < 1 || qd > MAX_QD || !rand_mode)
		qd = rand_mode ? (qd < 1 ? 1 : qd > MAX_QD ? MAX_QD : qd) : 1;

	fd = open(dev, (write_mode ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0)
		die(dev);
	if (ioctl(fd, BLKGETSIZE64, &size) < 0)
		die("BLKGETSIZE64");
	blocks = size / bs;
	if (!blocks)
		return 2;
	if (posix_memalign((void **)&buf, 4096, bs * (size_t)qd))
		die("posix_memalign");
	memset(buf, 0xa5, bs * (size_t)qd);

	printf("BLKGEN-START mode=%s\n", mode);
	fflush(stdout);
	t0 = now();
	t = t0;
	if (qd == 1) {
		while (t - t0 < secs) {
			ssize_t r;

			if (rand_mode)
				off = next_rand() % blocks * bs;
			else if (off + bs > size)
				off = 0;
			r = write_mode ? pwrite(fd, buf, bs, (off_t)off) : pread(fd, buf, bs, (off_t)off);
			if (r != (ssize_t)bs)
				die(write_mode ? "pwrite" : "pread");
			if (!rand_mode)
				off += bs;
			ios++;
			if ((ios & 7) == 0 || !rand_mode)
				t = now();
		}
	} else {
		aio_context_t ctx = 0;
		struct iocb cbs[MAX_QD], *ptrs[MAX_QD];
		struct io_event ev[MAX_QD];
		int inflight = 0, stop = 0;

		if (syscall(SYS_io_setup, qd, &ctx) < 0)
			die("io_setup");
		for (i = 0; i < qd; i++) {
			memset(&cbs[i], 0, sizeof(cbs[i]));
			cbs[i].aio_fildes = (uint32_t)fd;
			cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
			cbs[i].aio_buf = (uint64_t)(uintptr_t)(buf + (size_t)i * bs);
			cbs[i].aio_nbytes = bs;
			cbs[i].aio_offset = (int64_t)(next_rand() % blocks * bs);
			cbs[i].aio_data = (uint64_t)i;
			ptrs[i] = &cbs[i];
		}
		if (syscall(SYS_io_submit, ctx, qd, ptrs) != qd)
			die("io_submit");
		inflight = qd;
		while (inflight) {
			long n = syscall(SYS_io_getevents, ctx, 1, MAX_QD, ev, NULL);
			int m = 0;

			if (n < 0)
				die("io_getevents");
			t = now();
			if (t - t0 >= secs)
				stop = 1;
			for (i = 0; i < n; i++) {
				struct iocb *cb = &cbs[ev[i].data];

				if (ev[i].res != (int64_t)bs) {
					fprintf(stderr, "aio read: res %lld\n", (long long)ev[i].res);
					return 1;
				}
				ios++;
				inflight--;
				if (stop)
					continue;
				cb->aio_offset = (int64_t)(next_rand() % blocks * bs);
				ptrs[m++] = cb;
			}
			if (m) {
				if (syscall(SYS_io_submit, ctx, m, ptrs) != m)
					die("io_submit");
				inflight += m;
			}
		}
	}
	t = now() - t0;
	printf("BLKGEN mode=%s bs=%zu qd=%d ios=%llu bytes=%llu secs=%.3f mbps=%.1f iops=%.0f\n",
	       mode, bs, qd, (unsigned long long)ios, (unsigned long long)(ios * bs), t,
	       (double)ios * (double)bs / t / 1e6, (double)ios / t);
	fflush(stdout);
	close(fd);
	return 0;
}
