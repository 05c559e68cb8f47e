/*
 * ACPI PM1a event/control registers and the PM timer, at the ports the
 * FADT names. A write of SLP_EN with the \_S5 sleep type powers off.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "device.h"
#include "inventory.h"
#include "layout.h"
#include "log.h"
#include "vm.h"

#define PM_TIMER_HZ 3579545ULL

struct acpi_pm {
	struct vm *vm;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
};

static struct acpi_pm *the_pm;

static uint32_t pm_timer_now(void)
{
	struct timespec ts;
	uint64_t ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	/* ns * 3579545 / 1e9 without overflow for centuries of uptime */
	return (uint32_t)((ns / 1000) * PM_TIMER_HZ / 1000000ULL) & 0xffffff;
}

static void put(uint8_t *data, uint32_t len, uint64_t val, unsigned int shift)
{
	uint32_t i;

	for (i = 0; i < len && i < 8; i++)
		data[i] = (uint8_t)(val >> (shift + 8 * i));
}

static void pm_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	uint64_t regs;

	pthread_mutex_lock(&pm->lock);
	if (off < 4) {
		regs = pm->sts | ((uint32_t)pm->en << 16);
		put(data, len, regs, (unsigned int)off * 8);
	} else if (off < 8) {
		put(data, len, pm->cnt | ACPI_PM1_CNT_SCI_EN, (unsigned int)(off - 4) * 8);
	} else {
		put(data, len, pm_timer_now(), (unsigned int)(off - 8) * 8);
	}
	pthread_mutex_unlock(&pm->lock);
}

static void pm_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	uint32_t val = 0, i;
	unsigned int slp_typ;

	for (i = 0; i < len && i < 4; i++)
		val |= (uint32_t)data[i] << (8 * i);
	pthread_mutex_lock(&pm->lock);
	if (off == 0) {
		pm->sts &= (uint16_t)~val;	/* write-1-to-clear */
		if (len >= 4)
			pm->en = (uint16_t)(val >> 16);
	} else if (off == 2) {
		pm->en = (uint16_t)val;
	} else if (off == 4) {
		pm->cnt = (uint16_t)(val & ~ACPI_PM1_CNT_SLP_EN);
		slp_typ = (val >> ACPI_PM1_CNT_SLP_TYP_SHIFT) & 7;
		if ((val & ACPI_PM1_CNT_SLP_EN) && slp_typ == ACPI_S5_SLP_TYP)
			vm_request_stop(pm->vm, STOP_POWEROFF, EXIT_POWEROFF);
	}
	pthread_mutex_unlock(&pm->lock);
}

static const struct bus_ops pm_ops = { .read = pm_read, .write = pm_write };

static int acpi_pm_describe(struct vm *vm, struct acpi_pm *pm)
{
	const struct inv_entry e = {
		.name = "pm", .type = "acpi-pm", .role = INV_POWER,
		.ranges = { { ACPI_PM_BASE, ACPI_PM_LEN, true } }, .nr_ranges = 1,
		.irq = ACPI_SCI_IRQ, .owner = pm,
	};

	return inventory_add(&vm->inventory, &e);
}

static int acpi_pm_init(struct vm *vm)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	if (!pm)
		return -ENOMEM;
	pm->vm = vm;
	pthread_mutex_init(&pm->lock, NULL);
	ret = bus_register(&vm->pio, ACPI_PM_BASE, ACPI_PM_LEN, &pm_ops, pm);
	if (ret) {
		kv_err("cannot register the ACPI PM ports at 0x%x", ACPI_PM_BASE);
		goto err;
	}
	ret = acpi_pm_describe(vm, pm);
	if (ret) {
		bus_unregister(&vm->pio, ACPI_PM_BASE);
		goto err;
	}
	the_pm = pm;
	return 0;
err:
	pthread_mutex_destroy(&pm->lock);
	free(pm);
	return ret;
}

static void acpi_pm_exit(struct vm *vm)
{
	(void)vm;
	if (the_pm) {
		pthread_mutex_destroy(&the_pm->lock);
		free(the_pm);
		the_pm = NULL;
	}
}

static struct device_desc acpi_pm_device = {
	.name = "acpi-pm",
	.phase = PHASE_BASE,
	.init = acpi_pm_init,
	.exit = acpi_pm_exit,
};
DEVICE_REGISTER(acpi_pm_device);
