/*
 * vmm/irq.h on x86 against the host's /dev/kvm: KVM must accept the
 * routing tables, irqfds and ioeventfds we build. Skipped without KVM.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "irq.h"
#include "layout.h"
#include "vm.h"

struct fixture {
	int kvm_fd;
	struct vm_config cfg;
	struct vm *vm;
};

static int setup(void **state)
{
	static struct fixture f;

	f.kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (f.kvm_fd < 0)
		skip();
	f.cfg = (struct vm_config){ .memory = 2 << 20, .cpus = 1, .exit_port = -1 };
	f.vm = vm_create(&f.cfg, f.kvm_fd, -1);
	if (!f.vm)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vm_destroy(f->vm);
	close(f->kvm_fd);
	return 0;
}

static void test_msi_routes(void **state)
{
	struct fixture *f = *state;
	int gsi = vm_msi_alloc(f->vm), n = 1;

	assert_int_equal(gsi, IOAPIC_NR_PINS);
	assert_int_equal(vm_msi_set(f->vm, gsi, 0xfee00000, 0x4030, 0, false), 0);
	/* unchanged, changed, removed, removed again */
	assert_int_equal(vm_msi_set(f->vm, gsi, 0xfee00000, 0x4030, 0, false), 0);
	assert_int_equal(vm_msi_set(f->vm, gsi, 0xfee01000, 0x4031, 0, false), 0);
	assert_int_equal(vm_msi_set(f->vm, gsi, 0, 0, 0, true), 0);
	assert_int_equal(vm_msi_set(f->vm, gsi, 0, 0, 0, true), 0);
	/* IOAPIC pins and unallocated GSIs are not MSI routes */
	assert_int_equal(vm_msi_set(f->vm, 5, 0xfee00000, 0x30, 0, false), -EINVAL);
	assert_int_equal(vm_msi_set(f->vm, gsi + 1, 0xfee00000, 0x30, 0, false), -EINVAL);
	/* the pool runs out cleanly, and a full table is accepted by KVM */
	while ((gsi = vm_msi_alloc(f->vm)) >= 0) {
		n++;
		assert_int_equal(vm_msi_set(f->vm, gsi, 0xfee00000, 0x40 + n % 64, 0, false), 0);
	}
	assert_int_equal(gsi, -ENOSPC);
	assert_true(n >= 256);
	/* no vCPU matches: dropped, not an error */
	assert_int_equal(vm_msi_signal(f->vm, 0xfee00000, 0x30, 0), 0);
	/* the legacy lines still work after MSI routes were added */
	assert_int_equal(vm_irq_line(f->vm, PCI_INTX_GSI_BASE, 1), 0);
	assert_int_equal(vm_irq_line(f->vm, PCI_INTX_GSI_BASE, 0), 0);
}

static void test_irqfd_and_ioeventfd(void **state)
{
	struct fixture *f = *state;
	int gsi = vm_msi_alloc(f->vm);
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	int kick = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	assert_true(gsi >= 0 && fd >= 0 && kick >= 0);
	assert_int_equal(vm_msi_set(f->vm, gsi, 0xfee00000, 0x4030, 0, false), 0);
	assert_int_equal(vm_irqfd(f->vm, fd, gsi, true), 0);
	assert_int_equal(eventfd_write(fd, 1), 0);
	assert_int_equal(vm_irqfd(f->vm, fd, gsi, false), 0);

	assert_int_equal(vm_ioeventfd(f->vm, kick, 0xd0003000, 2, false, true), 0);
	assert_int_equal(vm_ioeventfd(f->vm, kick, 0xd0003000, 2, false, true), -EEXIST);
	assert_int_equal(vm_ioeventfd(f->vm, kick, 0xd0003000, 2, false, false), 0);
	assert_int_equal(vm_ioeventfd(f->vm, kick, 0xd0003000, 2, false, false), -ENOENT);
	assert_int_equal(vm_ioeventfd(f->vm, kick, 0xc010, 2, true, true), 0);
	assert_int_equal(vm_ioeventfd(f->vm, kick, 0xc010, 2, true, false), 0);
	close(fd);
	close(kick);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_msi_routes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irqfd_and_ioeventfd, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
