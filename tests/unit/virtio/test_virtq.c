/* Split virtqueues against hostile rings: every rule the driver can break. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "virtio/virtq.h"
#include "../ram_split.h"

#define MEM_SIZE	(1u << 20)
#define DESC_GPA	0x1000ULL	/* room for VIRTQ_MAX_SIZE descriptors: 16 KiB */
#define AVAIL_GPA	0x8000ULL
#define USED_GPA	0x9000ULL	/* 4 + 8 * 1024 + 2 bytes fit below 0xc000 */
#define TABLE_GPA	0xc000ULL	/* indirect tables */
#define DATA_GPA	0x20000ULL
#define QSIZE		16

#define F_NEXT		1
#define F_WRITE		2
#define F_INDIRECT	4

static struct guest_mem mem;
static struct virtq vq;
static struct virtq_elem e;

static void *gp(uint64_t gpa)
{
	return mem.base + gpa;
}

static void put_desc(uint64_t table, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t *d = gp(table + 16ULL * i);

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

static void desc(unsigned int i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	put_desc(DESC_GPA, i, addr, len, flags, next);
}

static uint16_t *avail_flags(void)
{
	return gp(AVAIL_GPA);
}

static uint16_t *avail_idx(void)
{
	return gp(AVAIL_GPA + 2);
}

static uint16_t *avail_ring(unsigned int i)
{
	return gp(AVAIL_GPA + 4 + 2ULL * i);
}

static uint16_t *used_event(void)
{
	return avail_ring(vq.size);
}

static uint16_t used_idx(void)
{
	return *(uint16_t *)gp(USED_GPA + 2);
}

static uint32_t used_id(unsigned int slot)
{
	return *(uint32_t *)gp(USED_GPA + 4 + 8ULL * slot);
}

static uint32_t used_len(unsigned int slot)
{
	return *(uint32_t *)gp(USED_GPA + 8 + 8ULL * slot);
}

static uint16_t avail_event(void)
{
	return *(uint16_t *)gp(USED_GPA + 4 + 8ULL * vq.size);
}

/* The driver makes chain @head available. */
static void offer(uint16_t head)
{
	*avail_ring(*avail_idx() % vq.size) = head;
	(*avail_idx())++;
}

static int setup(void **state)
{
	(void)state;
	if (!mem.base)
		assert_int_equal(test_mem_alloc(&mem, MEM_SIZE, 0xc0000000ULL), 0);
	memset(mem.base, 0, MEM_SIZE);
	memset(&vq, 0, sizeof(vq));
	vq.mem = &mem;
	vq.size = QSIZE;
	vq.ready = true;
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	assert_int_equal(virtq_validate(&vq), 0);
	return 0;
}

static void expect_broken(void)
{
	assert_int_equal(virtq_pop(&vq, &e), -EINVAL);
	assert_true(vq.broken);
	assert_int_equal(vq.last_avail, 0);
	/* stays broken until reset; nothing reaches the used ring */
	assert_int_equal(virtq_pop(&vq, &e), -EINVAL);
	assert_int_equal(used_idx(), 0);
}

static void test_direct_chain(void **state)
{
	(void)state;
	desc(3, DATA_GPA, 16, F_NEXT, 7);
	desc(7, DATA_GPA + 0x100, 512, F_NEXT, 1);
	desc(1, DATA_GPA + 0x1000, 1, F_WRITE, 0);
	offer(3);
	assert_int_equal(virtq_pop(&vq, &e), 1);
	assert_int_equal(e.head, 3);
	assert_int_equal(e.n_out, 2);
	assert_int_equal(e.n_in, 1);
	assert_ptr_equal(e.iov[0].iov_base, gp(DATA_GPA));
	assert_int_equal(e.iov[0].iov_len, 16);
	assert_ptr_equal(e.iov[1].iov_base, gp(DATA_GPA + 0x100));
	assert_int_equal(e.iov[1].iov_len, 512);
	assert_ptr_equal(e.iov[2].iov_base, gp(DATA_GPA + 0x1000));
	assert_int_equal(e.iov[2].iov_len, 1);
	assert_int_equal(e.out_bytes, 528);
	assert_int_equal(e.in_bytes, 1);
	assert_int_equal(vq.last_avail, 1);
	assert_int_equal(virtq_pop(&vq, &e), 0);

	virtq_push(&vq, &e, 1);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(used_id(0), 3);
	assert_int_equal(used_len(0), 1);
}

static void test_zero_length_skipped(void **state)
{
	(void)state;
	desc(0, DATA_GPA, 0, F_NEXT, 1);
	desc(1, 0xdeadbeef00000000ULL, 0, F_NEXT, 2);	/* no pointer is made for it */
	desc(2, DATA_GPA, 8, F_WRITE, 0);
	offer(0);
	assert_int_equal(virtq_pop(&vq, &e), 1);
	assert_int_equal(e.n_out, 0);
	assert_int_equal(e.n_in, 1);
	assert_int_equal(e.in_bytes, 8);
}

static void test_indirect_chain(void **state)
{
	(void)state;
	vq.indirect = true;
	put_desc(TABLE_GPA, 0, DATA_GPA, 16, F_NEXT, 2);
	put_desc(TABLE_GPA, 2, DATA_GPA + 0x200, 4096, F_NEXT | F_WRITE, 1);
	put_desc(TABLE_GPA, 1, DATA_GPA + 0x2000, 1, F_WRITE, 0);
	desc(5, TABLE_GPA, 3 * 16, F_INDIRECT, 0);
	offer(5);
	assert_int_equal(virtq_pop(&vq, &e), 1);
	assert_int_equal(e.head, 5);
	assert_int_equal(e.n_out, 1);
	assert_int_equal(e.n_in, 2);
	assert_ptr_equal(e.iov[1].iov_base, gp(DATA_GPA + 0x200));
	assert_int_equal(e.iov[1].iov_len, 4096);
	assert_ptr_equal(e.iov[2].iov_base, gp(DATA_GPA + 0x2000));
	assert_int_equal(e.in_bytes, 4097);
	virtq_push(&vq, &e, 4097);
	assert_int_equal(used_id(0), 5);
	assert_int_equal(used_len(0), 4097);
}

/* Direct descriptors, then one indirect table ending the chain. */
static void test_direct_then_indirect(void **state)
{
	(void)state;
	vq.indirect = true;
	desc(0, DATA_GPA, 16, F_NEXT, 1);
	desc(1, TABLE_GPA, 16, F_INDIRECT, 0);
	put_desc(TABLE_GPA, 0, DATA_GPA + 0x100, 1, F_WRITE, 0);
	offer(0);
	assert_int_equal(virtq_pop(&vq, &e), 1);
	assert_int_equal(e.n_out, 1);
	assert_int_equal(e.n_in, 1);
	assert_ptr_equal(e.iov[1].iov_base, gp(DATA_GPA + 0x100));
}

static void test_desc_outside_ram(void **state)
{
	(void)state;
	desc(0, MEM_SIZE, 16, 0, 0);
	offer(0);
	expect_broken();
}

static void test_desc_straddles_end(void **state)
{
	(void)state;
	desc(0, MEM_SIZE - 8, 16, 0, 0);
	offer(0);
	expect_broken();
}

static void test_desc_wraps(void **state)
{
	(void)state;
	desc(0, UINT64_MAX - 7, 16, 0, 0);
	offer(0);
	expect_broken();
}

static void test_desc_max_len(void **state)
{
	(void)state;
	desc(0, DATA_GPA, UINT32_MAX, 0, 0);
	offer(0);
	expect_broken();
}

static void test_self_loop(void **state)
{
	(void)state;
	desc(4, DATA_GPA, 16, F_NEXT, 4);
	offer(4);
	expect_broken();
}

static void test_two_cycle(void **state)
{
	(void)state;
	desc(0, DATA_GPA, 16, F_NEXT, 1);
	desc(1, DATA_GPA, 16, F_NEXT, 0);
	offer(0);
	expect_broken();
}

/* A zero-length loop makes no segments but must still end. */
static void test_zero_length_loop(void **state)
{
	(void)state;
	desc(0, DATA_GPA, 0, F_NEXT, 1);
	desc(1, DATA_GPA, 0, F_NEXT, 0);
	offer(0);
	expect_broken();
}

static void chain_of(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		desc(i, DATA_GPA + 16ULL * i, 16, i + 1 < n ? F_NEXT : 0, (uint16_t)(i + 1));
	offer(0);
}

static void test_chain_at_limit(void **state)
{
	(void)state;
	vq.size = VIRTQ_MAX_SIZE;
	assert_int_equal(virtq_validate(&vq), 0);
	chain_of(VIRTQ_MAX_SEGS);
	assert_int_equal(virtq_pop(&vq, &e), 1);
	assert_int_equal(e.n_out, VIRTQ_MAX_SEGS);
	assert_ptr_equal(e.iov[VIRTQ_MAX_SEGS - 1].iov_base,
			 gp(DATA_GPA + 16ULL * (VIRTQ_MAX_SEGS - 1)));
}

static void test_chain_too_long(void **state)
{
	(void)state;
	vq.size = VIRTQ_MAX_SIZE;
	assert_int_equal(virtq_validate(&vq), 0);
	chain_of(VIRTQ_MAX_SEGS + 1);
	expect_broken();
}

static void test_next_out_of_range(void **state)
{
	(void)state;
	desc(0, DATA_GPA, 16, F_NEXT, QSIZE);
	offer(0);
	expect_broken();
}

static void test_head_out_of_range(void **state)
{
	(void)state;
	desc(0, DATA_GPA, 16, 0, 0);
	offer(QSIZE);
	expect_broken();
}

static void test_out_after_in(void **state)
{
	(void)state;
	desc(0, DATA_GPA, 16, F_WRITE | F_NEXT, 1);
	desc(1, DATA_GPA + 16, 16, 0, 0);
	offer(0);
	expect_broken();
}

static void test_out_after_in_indirect(void **state)
{
	(void)state;
	vq.indirect = true;
	put_desc(TABLE_GPA, 0, DATA_GPA, 16, F_WRITE | F_NEXT, 1);
	put_desc(TABLE_GPA, 1, DATA_GPA + 16, 16, 0, 0);
	desc(0, TABLE_GPA, 32, F_INDIRECT, 0);
	offer(0);
	expect_broken();
}

static void indirect_head(uint64_t table, uint32_t len, uint16_t flags)
{
	vq.indirect = true;
	put_desc(TABLE_GPA, 0, DATA_GPA, 16, 0, 0);
	desc(0, table, len, F_INDIRECT | flags, 1);
	desc(1, DATA_GPA, 16, 0, 0);
	offer(0);
}

static void test_indirect_outside_ram(void **state)
{
	(void)state;
	indirect_head(MEM_SIZE - 16, 32, 0);
	expect_broken();
}

static void test_indirect_wraps(void **state)
{
	(void)state;
	indirect_head(UINT64_MAX - 15, 32, 0);
	expect_broken();
}

static void test_indirect_bad_len(void **state)
{
	(void)state;
	indirect_head(TABLE_GPA, 24, 0);
	expect_broken();
}

static void test_indirect_zero_len(void **state)
{
	(void)state;
	indirect_head(TABLE_GPA, 0, 0);
	expect_broken();
}

static void test_indirect_too_big(void **state)
{
	(void)state;
	indirect_head(TABLE_GPA, 16 * (VIRTQ_MAX_SEGS + 1), 0);
	expect_broken();
}

static void test_indirect_with_next(void **state)
{
	(void)state;
	indirect_head(TABLE_GPA, 16, F_NEXT);
	expect_broken();
}

static void test_indirect_not_negotiated(void **state)
{
	(void)state;
	indirect_head(TABLE_GPA, 16, 0);
	vq.indirect = false;
	expect_broken();
}

static void test_indirect_nested(void **state)
{
	(void)state;
	indirect_head(TABLE_GPA, 32, 0);
	put_desc(TABLE_GPA, 0, TABLE_GPA + 0x100, 16, F_INDIRECT, 0);
	put_desc(TABLE_GPA + 0x100, 0, DATA_GPA, 16, 0, 0);
	expect_broken();
}

static void test_indirect_loop(void **state)
{
	(void)state;
	indirect_head(TABLE_GPA, 32, 0);
	put_desc(TABLE_GPA, 0, DATA_GPA, 16, F_NEXT, 1);
	put_desc(TABLE_GPA, 1, DATA_GPA, 16, F_NEXT, 0);
	expect_broken();
}

static void test_indirect_next_out_of_table(void **state)
{
	(void)state;
	indirect_head(TABLE_GPA, 32, 0);
	put_desc(TABLE_GPA, 0, DATA_GPA, 16, F_NEXT, 2);	/* table has 2 entries */
	expect_broken();
}

static void test_avail_idx_jump(void **state)
{
	(void)state;
	desc(0, DATA_GPA, 16, 0, 0);
	*avail_idx() = QSIZE + 1;
	expect_broken();
}

static void test_avail_idx_full_ring(void **state)
{
	unsigned int i;

	(void)state;
	for (i = 0; i < QSIZE; i++) {
		desc(i, DATA_GPA, 16, 0, 0);
		offer((uint16_t)i);
	}
	for (i = 0; i < QSIZE; i++) {
		assert_int_equal(virtq_pop(&vq, &e), 1);
		assert_int_equal(e.head, i);
	}
	assert_int_equal(virtq_pop(&vq, &e), 0);
}

/* 16-bit indices wrap; ring slots are taken modulo the queue size. */
static void test_index_wrap(void **state)
{
	unsigned int i;

	(void)state;
	vq.last_avail = 65534;
	vq.used_idx = 65534;
	*avail_idx() = 65534;
	for (i = 0; i < 3; i++) {
		desc(i, DATA_GPA + 16ULL * i, 16, 0, 0);
		offer((uint16_t)i);
	}
	assert_int_equal(*avail_idx(), 1);
	assert_int_equal(*avail_ring(14), 0);
	assert_int_equal(*avail_ring(0), 2);
	for (i = 0; i < 3; i++) {
		assert_int_equal(virtq_pop(&vq, &e), 1);
		assert_int_equal(e.head, i);
		virtq_push(&vq, &e, 100 + i);
	}
	assert_int_equal(virtq_pop(&vq, &e), 0);
	assert_int_equal(vq.last_avail, 1);
	assert_int_equal(used_idx(), 1);
	assert_int_equal(used_id(14), 0);
	assert_int_equal(used_len(14), 100);
	assert_int_equal(used_id(15), 1);
	assert_int_equal(used_id(0), 2);
	assert_int_equal(used_len(0), 102);
}

static void test_validate(void **state)
{
	(void)state;
	vq.desc_gpa = DESC_GPA + 8;
	assert_int_equal(virtq_validate(&vq), -EINVAL);
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA + 1;
	assert_int_equal(virtq_validate(&vq), -EINVAL);
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA + 2;
	assert_int_equal(virtq_validate(&vq), -EINVAL);
	vq.used_gpa = MEM_SIZE - 8;			/* straddles the end of RAM */
	assert_int_equal(virtq_validate(&vq), -EINVAL);
	vq.used_gpa = USED_GPA;
	vq.desc_gpa = UINT64_MAX & ~15ULL;		/* wraps */
	assert_int_equal(virtq_validate(&vq), -EINVAL);
	vq.desc_gpa = MEM_SIZE;
	assert_int_equal(virtq_validate(&vq), -EINVAL);
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = MEM_SIZE - 4 - 2 * QSIZE;	/* fits without used_event... */
	assert_int_equal(virtq_validate(&vq), 0);
	vq.event_idx = true;				/* ...not with it */
	assert_int_equal(virtq_validate(&vq), -EINVAL);
	vq.event_idx = false;
	vq.avail_gpa = AVAIL_GPA;
	vq.size = 12;
	assert_int_equal(virtq_validate(&vq), -EINVAL);
	vq.size = 0;
	assert_int_equal(virtq_validate(&vq), -EINVAL);
	vq.size = 2 * VIRTQ_MAX_SIZE;
	assert_int_equal(virtq_validate(&vq), -EINVAL);
	vq.size = QSIZE;
	assert_int_equal(virtq_validate(&vq), 0);
}

/* A misplaced ring found at pop time breaks the queue instead of crashing. */
static void test_pop_bad_ring(void **state)
{
	(void)state;
	vq.avail_gpa = MEM_SIZE;
	assert_int_equal(virtq_pop(&vq, &e), -EINVAL);
	assert_true(vq.broken);
}

static void test_not_ready(void **state)
{
	(void)state;
	desc(0, DATA_GPA, 16, 0, 0);
	offer(0);
	vq.ready = false;
	assert_int_equal(virtq_pop(&vq, &e), 0);
}

static void test_no_interrupt_flag(void **state)
{
	(void)state;
	desc(0, DATA_GPA, 16, 0, 0);
	offer(0);
	assert_int_equal(virtq_pop(&vq, &e), 1);
	virtq_push(&vq, &e, 0);
	assert_true(virtq_should_notify(&vq));
	*avail_flags() = 1;
	assert_false(virtq_should_notify(&vq));
	/* with EVENT_IDX the flag is ignored */
	vq.event_idx = true;
	assert_true(virtq_should_notify(&vq));	/* first decision: always */
}

static void push_one(uint16_t head)
{
	desc(head, DATA_GPA, 16, 0, 0);
	offer(head);
	assert_int_equal(virtq_pop(&vq, &e), 1);
	virtq_push(&vq, &e, 0);
}

static void test_event_idx_notify(void **state)
{
	(void)state;
	vq.event_idx = true;
	assert_int_equal(virtq_validate(&vq), 0);

	*used_event() = 0;		/* interrupt once used idx passes 0 */
	push_one(0);
	assert_true(virtq_should_notify(&vq));
	push_one(1);			/* used_event not moved: no interrupt */
	assert_false(virtq_should_notify(&vq));
	assert_false(virtq_should_notify(&vq));	/* nothing new: still none */

	*used_event() = 4;		/* wants one when entry 4 is used */
	push_one(2);
	push_one(3);
	assert_false(virtq_should_notify(&vq));	/* used idx 4: entry 4 not yet */
	push_one(4);
	push_one(5);
	assert_true(virtq_should_notify(&vq));	/* 4 passed within this batch */
}

static void test_event_idx_wrap(void **state)
{
	(void)state;
	vq.event_idx = true;
	vq.last_avail = vq.used_idx = 65535;
	*avail_idx() = 65535;
	push_one(0);
	assert_true(virtq_should_notify(&vq));	/* first */
	*used_event() = 65535;
	push_one(1);			/* used idx 0 -> 1: 65535 already passed */
	assert_false(virtq_should_notify(&vq));
	*used_event() = 1;
	push_one(2);			/* used idx 1 -> 2: passes 1 */
	assert_true(virtq_should_notify(&vq));
}

/* With EVENT_IDX, an empty ring tells the driver to kick at the next buffer. */
static void test_avail_event(void **state)
{
	(void)state;
	vq.event_idx = true;
	desc(0, DATA_GPA, 16, 0, 0);
	offer(0);
	offer(0);
	assert_int_equal(virtq_pop(&vq, &e), 1);
	assert_int_equal(virtq_pop(&vq, &e), 1);
	assert_int_equal(virtq_pop(&vq, &e), 0);
	assert_int_equal(avail_event(), 2);
}

static void test_reset(void **state)
{
	(void)state;
	desc(0, DATA_GPA, 16, F_NEXT, 0);
	offer(0);
	assert_int_equal(virtq_pop(&vq, &e), -EINVAL);
	virtq_reset(&vq);
	assert_false(vq.broken);
	assert_int_equal(vq.last_avail, 0);
	assert_int_equal(vq.used_idx, 0);
	assert_false(vq.signalled_valid);
}

static int teardown_all(void **state)
{
	(void)state;
	guest_mem_free(&mem);
	return 0;
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_direct_chain),
		T(test_zero_length_skipped),
		T(test_indirect_chain),
		T(test_direct_then_indirect),
		T(test_desc_outside_ram),
		T(test_desc_straddles_end),
		T(test_desc_wraps),
		T(test_desc_max_len),
		T(test_self_loop),
		T(test_two_cycle),
		T(test_zero_length_loop),
		T(test_chain_at_limit),
		T(test_chain_too_long),
		T(test_next_out_of_range),
		T(test_head_out_of_range),
		T(test_out_after_in),
		T(test_out_after_in_indirect),
		T(test_indirect_outside_ram),
		T(test_indirect_wraps),
		T(test_indirect_bad_len),
		T(test_indirect_zero_len),
		T(test_indirect_too_big),
		T(test_indirect_with_next),
		T(test_indirect_not_negotiated),
		T(test_indirect_nested),
		T(test_indirect_loop),
		T(test_indirect_next_out_of_table),
		T(test_avail_idx_jump),
		T(test_avail_idx_full_ring),
		T(test_index_wrap),
		T(test_validate),
		T(test_pop_bad_ring),
		T(test_not_ready),
		T(test_no_interrupt_flag),
		T(test_event_idx_notify),
		T(test_event_idx_wrap),
		T(test_avail_event),
		T(test_reset),
	};

	return cmocka_run_group_tests(tests, NULL, teardown_all);
}
