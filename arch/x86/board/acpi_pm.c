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
#include "irq.h"
#include "layout.h"
#include "le.h"
#include "log.h"
#include "util.h"
#include "vm.h"

#define PM_TIMER_HZ 3579545ULL
/* PM1 status and enable bits (ACPI 6.x, 4.8.3.1): the fixed-feature power button */
#define PM1_PWRBTN	(1u << 8)

struct acpi_pm {
	struct device dev;
	struct vm *vm;
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	bool sci;	/* the SCI line as last set: level, high while an enabled event is set */
};

/* SCI follows (status & enable), as a level interrupt. Under pm->lock. */
static void update_sci(struct acpi_pm *pm)
{
	bool level = (pm->sts & pm->en & PM1_PWRBTN) != 0;

	if (level == pm->sci)
		return;
	pm->sci = level;
	vm_irq_line(pm->vm, ACPI_SCI_IRQ, level);
}

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
		update_sci(pm);
	} else if (off == 2) {
		pm->en = (uint16_t)val;
		update_sci(pm);
	} else if (off == 4) {
		pm->cnt = (uint16_t)(val & ~ACPI_PM1_CNT_SLP_EN);
		slp_typ = (val >> ACPI_PM1_CNT_SLP_TYP_SHIFT) & 7;
		if ((val & ACPI_PM1_CNT_SLP_EN) && slp_typ == ACPI_S5_SLP_TYP)
			vm_request_stop(pm->vm, STOP_POWEROFF, EXIT_POWEROFF);
	}
	pthread_mutex_unlock(&pm->lock);
}

static const struct bus_ops pm_ops = { .read = pm_read, .write = pm_write };

/* Power-on state: no events, SCI mode only. */
static int acpi_pm_reset(struct device *dev)
{
	struct acpi_pm *pm = container_of(dev, struct acpi_pm, dev);

	pthread_mutex_lock(&pm->lock);
	pm->sts = pm->en = pm->cnt = 0;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

/*
 * The button is pressed: its status bit latches until the guest clears
 * it, and raises the SCI once the guest's ACPI driver enabled the event.
 */
static int acpi_pm_power_button(struct device *dev)
{
	struct acpi_pm *pm = container_of(dev, struct acpi_pm, dev);
	bool enabled;

	pthread_mutex_lock(&pm->lock);
	pm->sts |= PM1_PWRBTN;
	enabled = pm->en & PM1_PWRBTN;
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	kv_debug("ACPI power button pressed%s", enabled ? "" :
		 " (the guest has not enabled the event yet)");
	return 0;
}

static int acpi_pm_describe(struct device *dev, struct inventory *inv)
{
	struct acpi_pm *pm = container_of(dev, struct acpi_pm, dev);
	const struct inv_entry e = {
		.name = "pm", .type = "acpi-pm", .role = INV_POWER,
		.ranges = { { ACPI_PM_BASE, ACPI_PM_LEN, true } }, .nr_ranges = 1,
		.irq = ACPI_SCI_IRQ, .owner = pm,
	};

	return inventory_add(inv, &e);
}

static void acpi_pm_destroy(struct device *dev)
{
	struct acpi_pm *pm = container_of(dev, struct acpi_pm, dev);

	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

/* Snapshot: PM1 status, enable and control; the PM timer follows the host clock. */
static int acpi_pm_save(struct device *dev, void *buf, size_t len)
{
	struct acpi_pm *pm = container_of(dev, struct acpi_pm, dev);
	uint8_t *p = buf;

	if (len < 6)
		return -ENOSPC;
	pthread_mutex_lock(&pm->lock);
	put_le16(p, pm->sts);
	put_le16(p + 2, pm->en);
	put_le16(p + 4, pm->cnt);
	pthread_mutex_unlock(&pm->lock);
	return 6;
}

static int acpi_pm_restore(struct device *dev, const void *buf, size_t len)
{
	struct acpi_pm *pm = container_of(dev, struct acpi_pm, dev);
	const uint8_t *p = buf;

	if (len != 6)
		return -EINVAL;
	pthread_mutex_lock(&pm->lock);
	pm->sts = get_le16(p);
	pm->en = get_le16(p + 2);
	pm->cnt = (uint16_t)(get_le16(p + 4) & ~ACPI_PM1_CNT_SLP_EN);
	update_sci(pm);
	pthread_mutex_unlock(&pm->lock);
	return 0;
}

static const struct device_ops acpi_pm_ops = {
	.save = acpi_pm_save,
	.restore = acpi_pm_restore,
	.reset = acpi_pm_reset,
	.describe = acpi_pm_describe,
	.power_button = acpi_pm_power_button,
	.destroy = acpi_pm_destroy,
};

static struct device_type acpi_pm_type;

static int acpi_pm_init(struct vm *vm, const struct device_env *env, const void *conf,
			void *host, unsigned int index, struct errmsg *err)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));
	int ret;

	(void)env;
	(void)conf;
	(void)host;
	(void)index;
	if (!pm)
		return errmsg_set(err, -ENOMEM, "out of memory");
	pm->vm = vm;
	pthread_mutex_init(&pm->lock, NULL);
	ret = bus_register(&vm->pio, ACPI_PM_BASE, ACPI_PM_LEN, &pm_ops, pm);
	if (ret) {
		pthread_mutex_destroy(&pm->lock);
		free(pm);
		return errmsg_set(err, ret, "cannot register the ACPI PM ports at 0x%x",
				  ACPI_PM_BASE);
	}
	device_add(vm, &pm->dev, &acpi_pm_type, &acpi_pm_ops);
	return 0;
}

static struct device_type acpi_pm_type = {
	.name = "acpi-pm",
	.phase = PHASE_BASE,
	.create = acpi_pm_init,
};
DEVICE_REGISTER(acpi_pm_type);
