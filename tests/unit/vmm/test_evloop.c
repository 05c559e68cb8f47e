/*
 * The event loop around a dead fd: epoll reports EPOLLERR/EPOLLHUP even
 * for an empty mask, so a parked or hung-up fd must not keep waking the
 * loop. A ticker eventfd turns the loop a fixed number of times; the
 * tests count handler calls, never time.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "evloop.h"

#define TURNS	100

struct fix {
	struct evloop *l;
	int sv[2];		/* sv[0] watched, sv[1] the peer */
	int tick;		/* eventfd: one loop turn per write */
	unsigned int turns, hits, unpark_at;
};

static void tick(struct fix *f)
{
	uint64_t one = 1;

	assert_int_equal(write(f->tick, &one, sizeof(one)), (ssize_t)sizeof(one));
}

static void on_tick(int fd, uint32_t events, void *opaque)
{
	struct fix *f = opaque;
	uint64_t v;

	(void)events;
	assert_int_equal(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	f->turns++;
	if (f->unpark_at && f->turns == f->unpark_at)
		assert_int_equal(evloop_mod(f->l, f->sv[0], EPOLLIN), 0);
	if (f->turns < TURNS)
		tick(f);
	else
		evloop_stop(f->l);
}

static void count(int fd, uint32_t events, void *opaque)
{
	struct fix *f = opaque;
	char buf[64];

	f->hits++;
	if (events & EPOLLIN)
		while (read(fd, buf, sizeof(buf)) > 0)
			;
}

static void count_and_drop_on_hup(int fd, uint32_t events, void *opaque)
{
	struct fix *f = opaque;

	f->hits++;
	if (events & (EPOLLERR | EPOLLHUP))
		assert_int_equal(evloop_del(f->l, fd), 0);
}

static int setup(void **state)
{
	static struct fix f;

	f = (struct fix){ .l = evloop_create() };
	assert_non_null(f.l);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, f.sv), 0);
	f.tick = eventfd(0, EFD_NONBLOCK);
	assert_true(f.tick >= 0);
	assert_int_equal(evloop_add(f.l, f.tick, EPOLLIN, on_tick, &f), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	evloop_destroy(f->l);
	close(f->sv[0]);
	if (f->sv[1] >= 0)
		close(f->sv[1]);
	close(f->tick);
	return 0;
}

static void run(struct fix *f)
{
	tick(f);
	assert_int_equal(evloop_run(f->l), 0);
	assert_int_equal(f->turns, TURNS);
}

/* Mask 0 on an fd whose peer hung up: the handler never runs. */
static void test_parked_hangup_is_silent(void **state)
{
	struct fix *f = *state;

	assert_int_equal(evloop_add(f->l, f->sv[0], 0, count, f), 0);
	close(f->sv[1]);
	f->sv[1] = -1;
	run(f);
	assert_int_equal(f->hits, 0);
}

/* Parked by evloop_mod() after it was watched: the same. */
static void test_mod_to_zero_parks(void **state)
{
	struct fix *f = *state;

	assert_int_equal(evloop_add(f->l, f->sv[0], EPOLLIN, count, f), 0);
	assert_int_equal(evloop_mod(f->l, f->sv[0], 0), 0);
	assert_int_equal(evloop_mod(f->l, f->sv[0], 0), 0);
	close(f->sv[1]);
	f->sv[1] = -1;
	run(f);
	assert_int_equal(f->hits, 0);
}

/* A handler that drops the fd on EPOLLHUP runs once, however long the loop turns. */
static void test_hangup_removed_once(void **state)
{
	struct fix *f = *state;

	assert_int_equal(evloop_add(f->l, f->sv[0], EPOLLIN, count_and_drop_on_hup, f), 0);
	close(f->sv[1]);
	f->sv[1] = -1;
	run(f);
	assert_int_equal(f->hits, 1);
	assert_int_equal(evloop_del(f->l, f->sv[0]), -ENOENT);
}

/* Data that arrived while parked is delivered once the fd is watched again. */
static void test_unpark_delivers(void **state)
{
	struct fix *f = *state;

	assert_int_equal(evloop_add(f->l, f->sv[0], 0, count, f), 0);
	assert_int_equal(send(f->sv[1], "frame", 5, 0), 5);
	f->unpark_at = TURNS / 2;
	run(f);
	assert_int_equal(f->hits, 1);
	assert_int_equal(evloop_del(f->l, f->sv[0]), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_parked_hangup_is_silent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mod_to_zero_parks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hangup_removed_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpark_delivers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
