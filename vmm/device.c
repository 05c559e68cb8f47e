/* The device registry: init in phase order, exit in reverse. */
#include <stddef.h>

#include "device.h"

static struct device_desc *registry;

/* Keep the list sorted by phase, stable for equal phases. */
void device_register(struct device_desc *d)
{
	struct device_desc **pp = &registry;

	while (*pp && (*pp)->phase <= d->phase)
		pp = &(*pp)->next;
	d->next = *pp;
	*pp = d;
}

/* How many devices on the list have been initialised, for unwinding. */
static unsigned int nr_inited;

static void exit_first(struct vm *vm, unsigned int n)
{
	/* reverse order without back pointers: n is small */
	while (n > 0) {
		struct device_desc *d = registry;
		unsigned int i;

		for (i = 1; i < n; i++)
			d = d->next;
		if (d->exit)
			d->exit(vm);
		n--;
	}
}

/* close_host of the first @n devices, last first. */
static void close_host_first(unsigned int n)
{
	while (n > 0) {
		struct device_desc *d = registry;
		unsigned int i;

		for (i = 1; i < n; i++)
			d = d->next;
		if (d->close_host)
			d->close_host();
		n--;
	}
}

int devices_open_host(const struct vm_config *cfg)
{
	struct device_desc *d;
	unsigned int n = 0;
	int ret;

	for (d = registry; d; d = d->next, n++) {
		if (d->open_host) {
			ret = d->open_host(cfg);
			if (ret) {
				close_host_first(n);
				return ret;
			}
		}
	}
	return 0;
}

void devices_close_host(void)
{
	unsigned int n = 0;
	struct device_desc *d;

	for (d = registry; d; d = d->next)
		n++;
	close_host_first(n);
}

int devices_init(struct vm *vm)
{
	struct device_desc *d;
	int ret;

	nr_inited = 0;
	for (d = registry; d; d = d->next) {
		if (d->init) {
			ret = d->init(vm);
			if (ret) {
				exit_first(vm, nr_inited);
				nr_inited = 0;
				return ret;
			}
		}
		nr_inited++;
	}
	return 0;
}

void devices_quiesce(struct vm *vm)
{
	struct device_desc *d;
	unsigned int i = 0;

	for (d = registry; d && i < nr_inited; d = d->next, i++)
		if (d->quiesce)
			d->quiesce(vm);
}

void devices_exit(struct vm *vm)
{
	exit_first(vm, nr_inited);
	nr_inited = 0;
}
