/*
 * vCPU state: cpuid_fixup on a synthetic table, then (when /dev/kvm is
 * usable) CPUID, MSRs and both entry modes on a real vCPU running a few
 * instructions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot.h"
#include "../../ram_split.h"
#include "cpu.h"
#include "layout.h"
#include "mem.h"
#include "util.h"

/* --- synthetic table --- */

struct leaf {
	uint32_t function, index, eax, ebx, ecx, edx;
};

static const struct leaf host_leaves[] = {
	{ 0x0, 0, 0x1f, 0x756e6547, 0x6c65746e, 0x49656e69 },	/* GenuineIntel */
	{ 0x1, 0, 0x000806f8, 0x00ff0800, 0x7ffafbff, 0x1fabfbff },
	{ 0x4, 0, 0xfc004121, 0x02c0003f, 0x3f, 0 },		/* L1d */
	{ 0x4, 1, 0xfc004122, 0x01c0003f, 0x3f, 0 },		/* L1i */
	{ 0x4, 2, 0xfc004143, 0x03c0003f, 0x7ff, 0 },		/* L2 */
	{ 0x4, 3, 0xfc0fc163, 0x0380003f, 0xbfff, 4 },		/* L3 */
	{ 0x4, 4, 0, 0, 0, 0 },					/* end */
	{ 0xb, 0, 1, 2, 0x100, 0x77 },
	{ 0xb, 1, 7, 112, 0x201, 0x77 },
	{ 0xb, 2, 0, 0, 2, 0x77 },
	{ 0x1f, 0, 1, 2, 0x100, 0x77 },
	{ 0x1f, 1, 7, 112, 0x201, 0x77 },
	{ 0x1f, 2, 0, 0, 2, 0x77 },
	{ 0x40000000, 0, 0x40000001, 0x11111111, 0x22222222, 0x33333333 },
	{ 0x40000001, 0, 0x01007afb, 0, 0, 0 },
	{ 0x80000000, 0, 0x80000021, 0, 0, 0 },
	{ 0x80000008, 0, 0x00003030, 0, 0x0000703f, 0 },
	{ 0x8000001e, 0, 0x55, 0x0166, 0x0300, 0x99 },
};

static struct kvm_cpuid2 *table(void)
{
	struct kvm_cpuid2 *c;
	unsigned int i;

	c = calloc(1, sizeof(*c) + ARRAY_SIZE(host_leaves) * sizeof(c->entries[0]));
	assert_non_null(c);
	c->nent = ARRAY_SIZE(host_leaves);
	for (i = 0; i < c->nent; i++) {
		c->entries[i].function = host_leaves[i].function;
		c->entries[i].index = host_leaves[i].index;
		c->entries[i].eax = host_leaves[i].eax;
		c->entries[i].ebx = host_leaves[i].ebx;
		c->entries[i].ecx = host_leaves[i].ecx;
		c->entries[i].edx = host_leaves[i].edx;
		if (c->entries[i].function == 0x4 || c->entries[i].function == 0xb ||
		    c->entries[i].function == 0x1f)
			c->entries[i].flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	}
	return c;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, uint32_t fn,
				     uint32_t index)
{
	unsigned int i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == index)
			return &c->entries[i];
	fail_msg("leaf 0x%x.%u missing", fn, index);
	return NULL;
}

static struct kvm_cpuid2 *fixed(unsigned int index, unsigned int nr_cpus)
{
	struct kvm_cpuid2 *c = table();

	cpuid_fixup(c, index, nr_cpus);
	return c;
}

static void test_leaf1(void **state)
{
	unsigned int idx;

	(void)state;
	for (idx = 0; idx < 4; idx++) {
		struct kvm_cpuid2 *c = fixed(idx, 4);
		struct kvm_cpuid_entry2 *e = find(c, 1, 0);

		assert_int_equal(e->ebx >> 24, idx);		/* APIC id */
		assert_int_equal((e->ebx >> 16) & 0xff, 4);	/* logical count */
		assert_int_equal(e->ebx & 0xffff, 0x0800);	/* clflush kept */
		assert_true(e->ecx & (1u << 31));		/* hypervisor */
		assert_int_equal(e->ecx & 0x7fffffff, 0x7ffafbff);
		assert_true(e->edx & (1u << 28));		/* HTT */
		assert_int_equal(e->eax, 0x000806f8);
		free(c);
	}
}

static void test_leaf1_single(void **state)
{
	struct kvm_cpuid2 *c = fixed(0, 1);
	struct kvm_cpuid_entry2 *e = find(c, 1, 0);

	(void)state;
	assert_int_equal(e->ebx >> 24, 0);
	assert_int_equal((e->ebx >> 16) & 0xff, 1);
	assert_false(e->edx & (1u << 28));
	assert_int_equal(e->edx, 0x1fabfbff & ~(1u << 28));
	assert_true(e->ecx & (1u << 31));
	free(c);

	/* more than 255 CPUs saturate the 8-bit count */
	c = fixed(300, 300);
	e = find(c, 1, 0);
	assert_int_equal((e->ebx >> 16) & 0xff, 0xff);
	assert_int_equal(e->ebx >> 24, 300 & 0xff);
	free(c);
}

static void check_x2apic_levels(struct kvm_cpuid2 *c, uint32_t fn,
				unsigned int idx, unsigned int nr,
				unsigned int shift)
{
	struct kvm_cpuid_entry2 *smt = find(c, fn, 0);
	struct kvm_cpuid_entry2 *core = find(c, fn, 1);
	struct kvm_cpuid_entry2 *end = find(c, fn, 2);

	assert_int_equal(smt->eax, 0);
	assert_int_equal(smt->ebx, 1);
	assert_int_equal(smt->ecx, 0x100);	/* type SMT, level 0 */
	assert_int_equal(smt->edx, idx);
	assert_int_equal(core->eax, shift);
	assert_int_equal(core->ebx, nr);
	assert_int_equal(core->ecx, 0x201);	/* type core, level 1 */
	assert_int_equal(core->edx, idx);
	assert_int_equal(end->eax, 0);
	assert_int_equal(end->ebx, 0);
	assert_int_equal(end->ecx, 2);		/* type invalid, level 2 */
	assert_int_equal(end->edx, idx);
	assert_int_equal(smt->flags, KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
}

static void test_x2apic_topology(void **state)
{
	static const struct { unsigned int nr, shift; } cases[] = {
		{ 1, 0 }, { 2, 1 }, { 3, 2 }, { 4, 2 }, { 5, 3 }, { 64, 6 }, { 65, 7 },
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		unsigned int idx = cases[i].nr - 1;
		struct kvm_cpuid2 *c = fixed(idx, cases[i].nr);

		check_x2apic_levels(c, 0xb, idx, cases[i].nr, cases[i].shift);
		check_x2apic_levels(c, 0x1f, idx, cases[i].nr, cases[i].shift);
		free(c);
	}
}

static void test_leaf4(void **state)
{
	struct kvm_cpuid2 *c = fixed(2, 6);

	(void)state;
	/* cores per package - 1 in EAX[31:26] on every cache */
	assert_int_equal(find(c, 4, 0)->eax >> 26, 5);
	assert_int_equal(find(c, 4, 3)->eax >> 26, 5);
	/* L1/L2 are per core, L3 shared by all 6 */
	assert_int_equal((find(c, 4, 0)->eax >> 14) & 0xfff, 0);
	assert_int_equal((find(c, 4, 2)->eax >> 14) & 0xfff, 0);
	assert_int_equal((find(c, 4, 3)->eax >> 14) & 0xfff, 5);
	/* cache type and level kept */
	assert_int_equal(find(c, 4, 3)->eax & 0x3fff, 0x163);
	assert_int_equal(find(c, 4, 3)->ebx, 0x0380003f);
	/* the terminating subleaf stays empty */
	assert_int_equal(find(c, 4, 4)->eax, 0);
	free(c);
}

static void test_amd_leaves(void **state)
{
	struct kvm_cpuid2 *c = fixed(3, 4);
	struct kvm_cpuid_entry2 *e;

	(void)state;
	e = find(c, 0x80000008, 0);
	assert_int_equal(e->ecx & 0xff, 3);		/* NC = cores - 1 */
	assert_int_equal((e->ecx >> 12) & 0xf, 2);	/* APIC id bits */
	assert_int_equal(e->ecx & ~0xf0ffu, 0x0000703f & ~0xf0ffu);
	assert_int_equal(e->eax, 0x00003030);
	e = find(c, 0x8000001e, 0);
	assert_int_equal(e->eax, 3);			/* extended APIC id */
	assert_int_equal(e->ebx, 3);			/* core 3, 1 thread */
	assert_int_equal(e->ecx, 0);
	assert_int_equal(e->edx, 0);
	free(c);
}

static void test_kvm_signature(void **state)
{
	struct kvm_cpuid2 *c = fixed(0, 2);
	struct kvm_cpuid_entry2 *e = find(c, 0x40000000, 0);
	char sig[12];

	(void)state;
	memcpy(sig, &e->ebx, 4);
	memcpy(sig + 4, &e->ecx, 4);
	memcpy(sig + 8, &e->edx, 4);
	assert_memory_equal(sig, "KVMKVMKVM\0\0\0", 12);
	assert_int_equal(e->eax, 0x40000001);
	/* the features leaf is KVM's own */
	assert_int_equal(find(c, 0x40000001, 0)->eax, 0x01007afb);
	/* untouched leaves */
	assert_int_equal(find(c, 0, 0)->ebx, 0x756e6547);
	assert_int_equal(find(c, 0x80000000, 0)->eax, 0x80000021);
	free(c);

	/* EAX follows the highest KVM leaf present */
	c = table();
	c->entries[c->nent - 1].function = 0x40000010;
	c->entries[c->nent - 1].index = 0;
	cpuid_fixup(c, 0, 1);
	assert_int_equal(find(c, 0x40000000, 0)->eax, 0x40000010);
	free(c);
}

/* --- real vCPU (skipped without a usable /dev/kvm) --- */

#define CODE_ADDR	0x100000ULL
#define MAGIC		0x600dc0deU

struct kvm_ctx {
	int kvm, vm;
	struct guest_mem mem;
};

static struct kvm_ctx kv = { .kvm = -1, .vm = -1 };

static int kvm_setup(void **state)
{
	struct kvm_userspace_memory_region r = { 0 };

	(void)state;
	kv.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kv.kvm < 0)
		return 0;
	kv.vm = ioctl(kv.kvm, KVM_CREATE_VM, 0);
	if (kv.vm < 0)
		goto err_vm;
	if (ioctl(kv.vm, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		goto err_mem;
	if (test_mem_alloc(&kv.mem, 4 << 20, MMIO_HOLE_START))
		goto err_mem;
	r.memory_size = kv.mem.regions[0].size;
	r.userspace_addr = (uintptr_t)kv.mem.regions[0].hva;
	if (ioctl(kv.vm, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		goto err_region;
	return 0;

err_region:
	guest_mem_free(&kv.mem);
err_mem:
	close(kv.vm);
	kv.vm = -1;
err_vm:
	close(kv.kvm);
	kv.kvm = -1;
	return 0;
}

static int kvm_teardown(void **state)
{
	(void)state;
	if (kv.vm >= 0) {
		close(kv.vm);
		guest_mem_free(&kv.mem);
	}
	if (kv.kvm >= 0)
		close(kv.kvm);
	return 0;
}

static struct kvm_cpuid2 *supported_cpuid(void)
{
	unsigned int nent = 64;
	struct kvm_cpuid2 *c;

	for (;;) {
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		assert_non_null(c);
		c->nent = nent;
		if (ioctl(kv.kvm, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		assert_int_equal(errno, E2BIG);
		free(c);
		nent *= 2;
	}
}

static int new_vcpu(unsigned int id)
{
	int fd;

	if (kv.vm < 0)
		skip();
	fd = ioctl(kv.vm, KVM_CREATE_VCPU, id);
	assert_true(fd >= 0);
	return fd;
}

static void test_kvm_set_cpuid(void **state)
{
	struct kvm_cpuid2 *sup, *got;
	struct kvm_cpuid_entry2 *e;
	unsigned int i;
	int fd;

	(void)state;
	fd = new_vcpu(1);
	sup = supported_cpuid();
	assert_int_equal(x86_vcpu_set_cpuid(fd, sup, 1, 2), 0);

	got = calloc(1, sizeof(*got) + sup->nent * sizeof(got->entries[0]));
	assert_non_null(got);
	got->nent = sup->nent;
	assert_int_equal(ioctl(fd, KVM_GET_CPUID2, got), 0);
	e = NULL;
	for (i = 0; i < got->nent; i++)
		if (got->entries[i].function == 1)
			e = &got->entries[i];
	assert_non_null(e);
	assert_int_equal(e->ebx >> 24, 1);
	assert_int_equal((e->ebx >> 16) & 0xff, 2);
	assert_true(e->ecx & (1u << 31));
	free(got);
	free(sup);
	close(fd);
}

static void test_kvm_msrs(void **state)
{
	struct kvm_msrs *m;
	int fd;

	(void)state;
	fd = new_vcpu(2);
	assert_int_equal(x86_vcpu_init_msrs(fd), 0);
	m = calloc(1, sizeof(*m) + 3 * sizeof(m->entries[0]));
	assert_non_null(m);
	m->nmsrs = 3;
	m->entries[0].index = 0x2ff;		/* MTRR default type */
	m->entries[1].index = 0x1a0;		/* MISC_ENABLE */
	m->entries[2].index = 0xc0000082;	/* LSTAR */
	assert_int_equal(ioctl(fd, KVM_GET_MSRS, m), 3);
	assert_int_equal(m->entries[0].data, 0xc06);
	assert_true(m->entries[1].data & 1);
	assert_int_equal(m->entries[2].data, 0);
	free(m);
	close(fd);
}

/* Run @fd until it stops; returns the exit reason. */
static unsigned int run_vcpu(int fd)
{
	int size = ioctl(kv.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *run;
	unsigned int reason;

	assert_true(size > 0);
	run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(run != MAP_FAILED);
	alarm(20);	/* a broken entry state must fail, not hang */
	assert_int_equal(ioctl(fd, KVM_RUN, 0), 0);
	alarm(0);
	reason = run->exit_reason;
	munmap(run, size);
	return reason;
}

static void test_kvm_entry64(void **state)
{
	/* push %rsi; pop %rax; mov (%rax),%ecx; hlt */
	static const uint8_t code[] = { 0x56, 0x58, 0x8b, 0x08, 0xf4 };
	struct boot_entry e = {
		.fmt = KFMT_ELF64, .entry = CODE_ADDR, .boot_data = ZERO_PAGE_ADDR,
	};
	struct kvm_regs regs;
	struct kvm_sregs sr;
	uint32_t magic = MAGIC;
	int fd;

	(void)state;
	fd = new_vcpu(0);
	assert_int_equal(x86_build_boot_pagetables(&kv.mem), 0);
	memcpy(guest_ptr(&kv.mem, CODE_ADDR, sizeof(code)), code, sizeof(code));
	memcpy(guest_ptr(&kv.mem, ZERO_PAGE_ADDR, 4), &magic, 4);
	assert_int_equal(x86_vcpu_set_boot_regs(fd, &e), 0);

	assert_int_equal(ioctl(fd, KVM_GET_SREGS, &sr), 0);
	assert_int_equal(sr.cs.selector, 0x10);
	assert_int_equal(sr.cs.l, 1);
	assert_int_equal(sr.ds.selector, 0x18);
	assert_int_equal(sr.cr3, BOOT_PML4_ADDR);
	assert_int_equal(sr.efer & 0x500, 0x500);

	assert_int_equal(run_vcpu(fd), KVM_EXIT_HLT);
	assert_int_equal(ioctl(fd, KVM_GET_REGS, &regs), 0);
	assert_int_equal(regs.rax, ZERO_PAGE_ADDR);
	assert_int_equal(regs.rcx, MAGIC);
	assert_int_equal(regs.rsp, BOOT_STACK_TOP);
	assert_int_equal(regs.rip, CODE_ADDR + sizeof(code));
	close(fd);
}

static void test_kvm_entry_pvh(void **state)
{
	/* mov %ebx,%eax; mov (%ebx),%ecx; hlt */
	static const uint8_t code[] = { 0x89, 0xd8, 0x8b, 0x0b, 0xf4 };
	struct boot_entry e = {
		.fmt = KFMT_ELF_PVH, .entry = CODE_ADDR + 0x100,
		.boot_data = PVH_START_INFO_ADDR, .mode32 = true,
	};
	struct kvm_regs regs;
	struct kvm_sregs sr;
	uint32_t magic = MAGIC;
	int fd;

	(void)state;
	fd = new_vcpu(3);
	assert_int_equal(x86_build_boot_pagetables(&kv.mem), 0);
	memcpy(guest_ptr(&kv.mem, CODE_ADDR + 0x100, sizeof(code)), code, sizeof(code));
	memcpy(guest_ptr(&kv.mem, PVH_START_INFO_ADDR, 4), &magic, 4);
	assert_int_equal(x86_vcpu_set_boot_regs(fd, &e), 0);

	assert_int_equal(ioctl(fd, KVM_GET_SREGS, &sr), 0);
	assert_int_equal(sr.cs.selector, 0x08);
	assert_int_equal(sr.cs.db, 1);
	assert_int_equal(sr.cs.l, 0);
	assert_int_equal(sr.cr0 & 0x80000001, 1);	/* PE, no PG */
	assert_int_equal(sr.efer & 0x500, 0);

	assert_int_equal(run_vcpu(fd), KVM_EXIT_HLT);
	assert_int_equal(ioctl(fd, KVM_GET_REGS, &regs), 0);
	assert_int_equal(regs.rax, PVH_START_INFO_ADDR);
	assert_int_equal(regs.rcx, MAGIC);
	assert_int_equal(regs.rip, CODE_ADDR + 0x100 + sizeof(code));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest fixup_tests[] = {
		cmocka_unit_test(test_leaf1),
		cmocka_unit_test(test_leaf1_single),
		cmocka_unit_test(test_x2apic_topology),
		cmocka_unit_test(test_leaf4),
		cmocka_unit_test(test_amd_leaves),
		cmocka_unit_test(test_kvm_signature),
	};
	const struct CMUnitTest kvm_tests[] = {
		cmocka_unit_test(test_kvm_set_cpuid),
		cmocka_unit_test(test_kvm_msrs),
		cmocka_unit_test(test_kvm_entry64),
		cmocka_unit_test(test_kvm_entry_pvh),
	};
	int failed;

	failed = cmocka_run_group_tests(fixup_tests, NULL, NULL);
	failed += cmocka_run_group_tests(kvm_tests, kvm_setup, kvm_teardown);
	return failed;
}
