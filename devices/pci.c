/*
 * PCI bus 0: the host bridge, config space with write masks, BAR sizing
 * and moves in the board's windows, INTx on the board's lines and MSI-X
 * tables backed by KVM MSI routes. How the guest reaches config space is
 * the arch's (arch/x86/board/pci_conf1.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "board.h"
#include "irq.h"
#include "le.h"
#include "log.h"
#include "pci.h"
#include "util.h"
#include "vm.h"

#define PCI_MEM_BAR_ALIGN	0x1000ull	/* page-aligned so BARs never share a page */

struct pci_host {
	struct vm *vm;
	pthread_mutex_t lock;	/* the slot table and config accesses */
	struct pci_device *slots[PCI_SLOTS];
	struct pci_device bridge;
	struct board_pci win;
	uint64_t mmio_next, io_next;
};

struct pci_msix_vector {
	uint32_t addr_lo, addr_hi, data, ctrl;	/* the table entry */
	int gsi;
	int fd;			/* irqfd on gsi */
	bool routed;		/* KVM's route for gsi holds r_addr/r_data */
	uint64_t r_addr;
	uint32_t r_data;
};

static uint16_t cfg16(const struct pci_device *pd, unsigned int off)
{
	return (uint16_t)get_le(pd->cfg + off, 2);
}

static uint32_t cfg32(const struct pci_device *pd, unsigned int off)
{
	return get_le(pd->cfg + off, 4);
}

/* ---- MSI-X ---- */

static bool msix_masked(const struct pci_device *pd, unsigned int v)
{
	uint16_t flags = cfg16(pd, pd->msix_cap + PCI_MSIX_FLAGS);

	return !(flags & PCI_MSIX_FLAGS_ENABLE) || (flags & PCI_MSIX_FLAGS_MASKALL) ||
	       (pd->msix[v].ctrl & PCI_MSIX_ENTRY_MASKED);
}

/* Bus 0, function 0 of the device's slot: what its MSIs name as their source. */
static uint32_t pci_requester_id(const struct pci_device *pd)
{
	return pd->slot << 3;
}

static void msix_send(struct pci_device *pd, struct pci_msix_vector *m)
{
	uint64_t addr = (uint64_t)m->addr_hi << 32 | m->addr_lo;

	if (m->routed && m->fd >= 0) {
		if (eventfd_write(m->fd, 1) == 0)
			return;
	}
	if (vm_msi_signal(pd->vm, addr, m->data, pci_requester_id(pd)))
		kv_debug("%s: MSI-X to 0x%llx failed", pd->name, (unsigned long long)addr);
}

/* Bring KVM's route for vector @v up to date and flush a pending message. */
static void msix_update(struct pci_device *pd, unsigned int v)
{
	struct pci_msix_vector *m = &pd->msix[v];
	uint64_t addr = (uint64_t)m->addr_hi << 32 | m->addr_lo;
	uint64_t bit = 1ull << (v % 64);

	if (msix_masked(pd, v))
		return;		/* the route may stay: delivery checks the mask */
	if (m->gsi >= 0 && (!m->routed || m->r_addr != addr || m->r_data != m->data)) {
		m->routed = vm_msi_set(pd->vm, (unsigned int)m->gsi, addr, m->data,
				       pci_requester_id(pd), false) == 0;
		m->r_addr = addr;
		m->r_data = m->data;
	}
	if (pd->msix_pba[v / 64] & bit) {
		pd->msix_pba[v / 64] &= ~bit;
		msix_send(pd, m);
	}
}

static void msix_update_all(struct pci_device *pd)
{
	bool enabled = cfg16(pd, pd->msix_cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE;

	for (unsigned int v = 0; v < pd->msix_vectors; v++) {
		struct pci_msix_vector *m = &pd->msix[v];

		if (!enabled && m->routed) {
			vm_msi_set(pd->vm, (unsigned int)m->gsi, 0, 0, pci_requester_id(pd), true);
			m->routed = false;
		}
		msix_update(pd, v);
	}
}

static void msix_table_access(struct pci_device *pd, uint64_t off, uint8_t *data,
			      uint32_t len, bool is_write)
{
	unsigned int v = (unsigned int)(off / PCI_MSIX_ENTRY_SIZE);
	struct pci_msix_vector *m = &pd->msix[v];
	uint32_t *f[4] = { &m->addr_lo, &m->addr_hi, &m->data, &m->ctrl };
	unsigned int i = (unsigned int)(off % PCI_MSIX_ENTRY_SIZE) / 4;

	/* dword or aligned qword accesses only, as the spec allows */
	if ((len != 4 && len != 8) || off % len)
		return;
	for (uint32_t done = 0; done < len; done += 4, i++) {
		if (!is_write) {
			put_le(data + done, *f[i], 4);
			continue;
		}
		if (i == 3)
			m->ctrl = get_le(data + done, 4) & PCI_MSIX_ENTRY_MASKED;
		else
			*f[i] = get_le(data + done, 4);
	}
	if (is_write)
		msix_update(pd, v);
}

static void msix_pba_access(struct pci_device *pd, uint64_t off, uint8_t *data,
			    uint32_t len, bool is_write)
{
	uint64_t bits;

	if (is_write || off % len)
		return;		/* read-only */
	bits = pd->msix_pba[off / 8] >> (8 * (off % 8));
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)(bits >> (8 * i));
}

/* Does the access hit the MSI-X table or PBA? Then handle it (lock held). */
static bool msix_bar_access(struct pci_device *pd, unsigned int bar, uint64_t off,
			    uint8_t *data, uint32_t len, bool is_write)
{
	uint64_t tlen = (uint64_t)pd->msix_vectors * PCI_MSIX_ENTRY_SIZE;
	uint64_t plen = ALIGN_UP(pd->msix_vectors, 64) / 8;

	if (!pd->msix_vectors || bar != pd->msix_bar)
		return false;
	if (off >= pd->msix_table_off && off - pd->msix_table_off < tlen) {
		if (len <= tlen - (off - pd->msix_table_off))
			msix_table_access(pd, off - pd->msix_table_off, data, len, is_write);
		return true;
	}
	if (off >= pd->msix_pba_off && off - pd->msix_pba_off < plen) {
		if (len <= plen - (off - pd->msix_pba_off))
			msix_pba_access(pd, off - pd->msix_pba_off, data, len, is_write);
		return true;
	}
	return false;
}

bool pci_msix_enabled(struct pci_device *pd)
{
	bool on;

	if (!pd->msix_vectors)
		return false;
	pthread_mutex_lock(&pd->lock);
	on = cfg16(pd, pd->msix_cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_ENABLE;
	pthread_mutex_unlock(&pd->lock);
	return on;
}

void pci_msix_notify(struct pci_device *pd, unsigned int vector)
{
	if (vector >= pd->msix_vectors)
		return;
	pthread_mutex_lock(&pd->lock);
	if (msix_masked(pd, vector))
		pd->msix_pba[vector / 64] |= 1ull << (vector % 64);
	else
		msix_send(pd, &pd->msix[vector]);
	pthread_mutex_unlock(&pd->lock);
}

int pci_msix_vector_fd(struct pci_device *pd, unsigned int vector)
{
	int fd;

	if (vector >= pd->msix_vectors || !pd->msix)
		return -1;
	pthread_mutex_lock(&pd->lock);
	fd = pd->msix[vector].fd;
	pthread_mutex_unlock(&pd->lock);
	return fd;
}

static int msix_setup(struct pci_device *pd)
{
	uint8_t cap[PCI_MSIX_CAP_LEN] = { PCI_CAP_ID_MSIX };
	const struct pci_bar *b = &pd->bars[pd->msix_bar];
	uint64_t tlen = (uint64_t)pd->msix_vectors * PCI_MSIX_ENTRY_SIZE;
	uint64_t plen = ALIGN_UP(pd->msix_vectors, 64) / 8;
	int off;

	if (pd->msix_vectors > PCI_MSIX_MAX_VECTORS || pd->msix_bar >= PCI_NUM_BARS ||
	    b->io || pd->msix_table_off % 8 || pd->msix_pba_off % 8 ||
	    pd->msix_table_off + tlen > b->size || pd->msix_pba_off + plen > b->size)
		return -EINVAL;
	put_le(cap + PCI_MSIX_FLAGS, pd->msix_vectors - 1, 2);
	put_le(cap + PCI_MSIX_TABLE, pd->msix_table_off | pd->msix_bar, 4);
	put_le(cap + PCI_MSIX_PBA, pd->msix_pba_off | pd->msix_bar, 4);
	off = pci_add_cap(pd, cap, sizeof(cap));
	if (off < 0)
		return off;
	pd->msix_cap = (uint8_t)off;
	pd->wmask[off + PCI_MSIX_FLAGS + 1] = (PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL) >> 8;

	pd->msix = calloc(pd->msix_vectors, sizeof(*pd->msix));
	pd->msix_pba = calloc(plen / 8, sizeof(uint64_t));
	if (!pd->msix || !pd->msix_pba)
		return -ENOMEM;
	for (unsigned int v = 0; v < pd->msix_vectors; v++) {
		struct pci_msix_vector *m = &pd->msix[v];
		int ret;

		m->ctrl = PCI_MSIX_ENTRY_MASKED;	/* reset state */
		m->fd = -1;
		m->gsi = vm_msi_alloc(pd->vm);
		if (m->gsi < 0)
			return m->gsi;
		m->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->fd < 0)
			return -errno;
		ret = vm_irqfd(pd->vm, m->fd, (unsigned int)m->gsi, true);
		if (ret) {
			/* still works, through KVM_SIGNAL_MSI on every message */
			kv_debug("%s: no irqfd for MSI-X vector %u: %s", pd->name, v,
				 strerror(-ret));
			close(m->fd);
			m->fd = -1;
		}
	}
	return 0;
}

static void msix_teardown(struct pci_device *pd)
{
	for (unsigned int v = 0; pd->msix && v < pd->msix_vectors; v++) {
		struct pci_msix_vector *m = &pd->msix[v];

		if (m->fd >= 0) {
			vm_irqfd(pd->vm, m->fd, (unsigned int)m->gsi, false);
			close(m->fd);
		}
		if (m->routed)
			vm_msi_set(pd->vm, (unsigned int)m->gsi, 0, 0, pci_requester_id(pd), true);
	}
	free(pd->msix);
	free(pd->msix_pba);
	pd->msix = NULL;
	pd->msix_pba = NULL;
}

/* ---- INTx ---- */

static void intx_update(struct pci_device *pd)
{
	bool assert = pd->intx && pd->intx_level &&
		      !(cfg16(pd, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);

	if (pd->intx_level)
		pd->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		pd->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
	if (assert == pd->intx_asserted)
		return;
	pd->intx_asserted = assert;
	if (vm_irq_line(pd->vm, pd->intx_gsi, assert))
		kv_debug("%s: cannot set GSI %u", pd->name, pd->intx_gsi);
}

void pci_set_irq(struct pci_device *pd, bool level)
{
	pthread_mutex_lock(&pd->lock);
	pd->intx_level = level;
	intx_update(pd);
	pthread_mutex_unlock(&pd->lock);
}

/* ---- BARs ---- */

static void bar_rw(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_bar_map *map = opaque;

	pci_bar_access(map->pd, map->index, off, data, len, is_write);
}

static void bar_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	bar_rw(opaque, off, data, len, false);
}

static void bar_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	bar_rw(opaque, off, (uint8_t *)data, len, true);
}

static const struct bus_ops bar_ops = { .read = bar_read, .write = bar_write };

void pci_bar_access(struct pci_device *pd, unsigned int bar, uint64_t off,
		    uint8_t *data, uint32_t len, bool is_write)
{
	const struct pci_bar *b;
	bool done;

	if (bar >= PCI_NUM_BARS || off >= pd->bars[bar].size ||
	    len > pd->bars[bar].size - off)
		return;
	pthread_mutex_lock(&pd->lock);
	done = msix_bar_access(pd, bar, off, data, len, is_write);
	pthread_mutex_unlock(&pd->lock);
	if (done)
		return;
	/* device handlers run unlocked: they may call pci_set_irq() */
	b = &pd->bars[bar];
	if (is_write && b->ops && b->ops->write)
		b->ops->write(b->opaque, off, data, len);
	else if (!is_write && b->ops && b->ops->read)
		b->ops->read(b->opaque, off, data, len);
}

static uint64_t bar_addr(const struct pci_device *pd, unsigned int i)
{
	uint32_t lo = cfg32(pd, PCI_BASE_ADDRESS_0 + 4 * i);

	if (pd->bars[i].io)
		return lo & ~3u;
	if (pd->bars[i].mem64)
		return ((uint64_t)cfg32(pd, PCI_BASE_ADDRESS_0 + 4 * (i + 1)) << 32) |
		       (lo & ~0xfu);
	return lo & ~0xfu;
}

/* Register each BAR where the command register and its address say (lock held). */
static void bars_update(struct pci_device *pd)
{
	uint16_t cmd = cfg16(pd, PCI_COMMAND);

	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar *b = &pd->bars[i];
		struct pci_bar_map *map = &pd->maps[i];
		struct bus *bus = b->io ? &pd->vm->pio : &pd->vm->mmio;
		uint64_t addr = bar_addr(pd, i);
		bool want;
		int ret;

		if (!b->size)
			continue;
		/* address 0 is "unassigned"; a BAR mid-sizing may wrap */
		want = (cmd & (b->io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)) && addr &&
		       addr + b->size > addr &&
		       (!b->io || addr + b->size <= pd->vm->pci->win.io_end);
		if (map->mapped && (!want || map->addr != addr)) {
			bus_unregister(bus, map->addr);
			map->mapped = false;
			if (pd->bar_mapped)
				pd->bar_mapped(pd, i, map->addr, false);
		}
		if (!want || map->mapped)
			continue;
		ret = bus_register(bus, addr, b->size, &bar_ops, map);
		if (ret) {
			kv_debug("%s: BAR%u at 0x%llx not mapped: %s", pd->name, i,
				 (unsigned long long)addr, strerror(-ret));
			continue;
		}
		map->addr = addr;
		map->mapped = true;
		if (pd->bar_mapped)
			pd->bar_mapped(pd, i, addr, true);
	}
}

static void bars_unmap(struct pci_device *pd)
{
	pd->cfg[PCI_COMMAND] &= (uint8_t)~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
	bars_update(pd);
}

/* Validate the BARs, give each an address from the windows, fill cfg and wmask. */
static int bars_assign(struct pci_host *h, struct pci_device *pd)
{
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++) {
		const struct pci_bar *b = &pd->bars[i];
		uint64_t size = b->size, align, base, end, mask;
		uint32_t flags;

		if (!size)
			continue;
		if (size & (size - 1) || size < (b->io ? 4 : 16) ||
		    (b->io && (b->mem64 || b->prefetchable || size > 256)) ||
		    (b->mem64 && (i + 1 >= PCI_NUM_BARS || pd->bars[i + 1].size)) ||
		    (!b->mem64 && size > (1ull << 31)) || !b->ops) {
			kv_err("%s: BAR%u (%llu bytes) is not a valid PCI BAR", pd->name, i,
			       (unsigned long long)size);
			return -EINVAL;
		}
		align = b->io ? size : (size > PCI_MEM_BAR_ALIGN ? size : PCI_MEM_BAR_ALIGN);
		base = ALIGN_UP(b->io ? h->io_next : h->mmio_next, align);
		end = b->io ? h->win.io_end : h->win.mmio_end;
		if (base >= end || size > end - base) {
			kv_err("%s: no room for BAR%u (%llu bytes) in the PCI %s window; "
			       "use fewer devices", pd->name, i, (unsigned long long)size,
			       b->io ? "I/O" : "memory");
			return -ENOSPC;
		}
		if (b->io)
			h->io_next = base + size;
		else
			h->mmio_next = base + size;

		mask = ~(size - 1);
		if (b->io) {
			flags = PCI_BAR_SPACE_IO;
			put_le(pd->wmask + PCI_BASE_ADDRESS_0 + 4 * i, (uint32_t)mask & 0xfffc, 4);
		} else {
			flags = (b->mem64 ? PCI_BAR_MEM_TYPE_64 : 0) |
				(b->prefetchable ? PCI_BAR_MEM_PREFETCH : 0);
			put_le(pd->wmask + PCI_BASE_ADDRESS_0 + 4 * i, (uint32_t)mask & ~0xfu, 4);
		}
		put_le(pd->cfg + PCI_BASE_ADDRESS_0 + 4 * i, (uint32_t)base | flags, 4);
		if (b->mem64) {
			i++;
			put_le(pd->wmask + PCI_BASE_ADDRESS_0 + 4 * i, (uint32_t)(mask >> 32), 4);
			put_le(pd->cfg + PCI_BASE_ADDRESS_0 + 4 * i, (uint32_t)(base >> 32), 4);
		}
	}
	return 0;
}

/* ---- config space ---- */

int pci_add_cap(struct pci_device *pd, const void *cap, uint8_t len)
{
	unsigned int off = pd->cap_next ? pd->cap_next : PCI_CAP_START;

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return -ENOSPC;
	memcpy(pd->cfg + off, cap, len);
	pd->cfg[off + 1] = 0;
	if (pd->cap_last)
		pd->cfg[pd->cap_last + 1] = (uint8_t)off;
	else
		pd->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	pd->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	pd->cap_last = (uint8_t)off;
	pd->cap_next = (uint8_t)ALIGN_UP(off + len, 4);
	if (off + len == PCI_CFG_SIZE)
		pd->cap_next = 0xfc;	/* full: the next call fails */
	return (int)off;
}

static bool overlaps(unsigned int off, unsigned int len, unsigned int start,
		     unsigned int n)
{
	return off < start + n && start < off + len;
}

static void cfg_read(struct pci_device *pd, unsigned int off, uint8_t *data, uint32_t len)
{
	if (off >= PCI_CAP_START && pd->cap_read)
		pd->cap_read(pd, off, len);
	pthread_mutex_lock(&pd->lock);
	memcpy(data, pd->cfg + off, len);
	pthread_mutex_unlock(&pd->lock);
}

static void cfg_write(struct pci_device *pd, unsigned int off, const uint8_t *data,
		      uint32_t len)
{
	pthread_mutex_lock(&pd->lock);
	for (uint32_t i = 0; i < len; i++) {
		uint8_t m = pd->wmask[off + i];

		pd->cfg[off + i] = (uint8_t)((pd->cfg[off + i] & ~m) | (data[i] & m));
	}
	if (overlaps(off, len, PCI_COMMAND, 2) ||
	    overlaps(off, len, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS))
		bars_update(pd);
	if (overlaps(off, len, PCI_COMMAND, 2))
		intx_update(pd);
	if (pd->msix_cap && overlaps(off, len, pd->msix_cap + PCI_MSIX_FLAGS, 2))
		msix_update_all(pd);
	pthread_mutex_unlock(&pd->lock);
	if (off >= PCI_CAP_START && pd->cap_write)
		pd->cap_write(pd, off, len);
}

void pci_config_access(struct pci_host *h, unsigned int bus, unsigned int slot,
		       unsigned int fn, unsigned int off, uint8_t *data, uint32_t len,
		       bool is_write)
{
	struct pci_device *pd;

	/* the arch decoded @off; a mechanism reaching beyond 256 bytes gets nothing */
	if (off >= PCI_CFG_SIZE || len > PCI_CFG_SIZE - off) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&h->lock);
	pd = bus == 0 && fn == 0 && slot < PCI_SLOTS ? h->slots[slot] : NULL;
	if (pd && is_write)
		cfg_write(pd, off, data, len);
	else if (pd)
		cfg_read(pd, off, data, len);
	else if (!is_write)
		memset(data, 0xff, len);
	pthread_mutex_unlock(&h->lock);
}

/* ---- devices ---- */

static void header_init(struct pci_device *pd)
{
	uint16_t cmd = 0;

	put_le(pd->cfg + PCI_VENDOR_ID, pd->vendor_id, 2);
	put_le(pd->cfg + PCI_DEVICE_ID, pd->device_id, 2);
	pd->cfg[PCI_REVISION_ID] = pd->revision;
	put_le(pd->cfg + PCI_CLASS_PROG, pd->class_code, 3);
	pd->cfg[PCI_HEADER_TYPE] = 0;		/* type 0, single function */
	put_le(pd->cfg + PCI_SUBSYSTEM_VENDOR_ID, pd->subsys_vendor_id, 2);
	put_le(pd->cfg + PCI_SUBSYSTEM_ID, pd->subsys_id, 2);
	if (pd->intx) {
		pd->cfg[PCI_INTERRUPT_PIN] = 1;	/* INTA# */
		pd->cfg[PCI_INTERRUPT_LINE] = (uint8_t)pd->intx_gsi;
		pd->wmask[PCI_INTERRUPT_LINE] = 0xff;
	}
	put_le(pd->wmask + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
	       PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE, 2);
	pd->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
	pd->wmask[PCI_LATENCY_TIMER] = 0xff;
	/* decoding on, as firmware leaves devices it assigned */
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++)
		if (pd->bars[i].size)
			cmd |= pd->bars[i].io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	put_le(pd->cfg + PCI_COMMAND, cmd, 2);
}

static int attach(struct pci_host *h, struct pci_device *pd, unsigned int slot)
{
	int ret;

	pd->vm = h->vm;
	pd->slot = slot;
	pd->intx_gsi = board_pci_intx_line(slot, 0);	/* INTA# */
	for (unsigned int i = 0; i < PCI_NUM_BARS; i++)
		pd->maps[i] = (struct pci_bar_map){ .pd = pd, .index = i };
	pthread_mutex_init(&pd->lock, NULL);
	ret = bars_assign(h, pd);
	if (!ret && pd->msix_vectors) {
		ret = msix_setup(pd);
		if (ret)
			kv_err("%s: cannot set up %u MSI-X vectors: %s", pd->name,
			       pd->msix_vectors, strerror(-ret));
	}
	if (ret) {
		msix_teardown(pd);
		pthread_mutex_destroy(&pd->lock);
		return ret;
	}
	header_init(pd);
	pthread_mutex_lock(&pd->lock);
	bars_update(pd);
	pthread_mutex_unlock(&pd->lock);
	h->slots[slot] = pd;
	return 0;
}

int pci_register_device(struct vm *vm, struct pci_device *pd)
{
	struct pci_host *h = vm->pci;
	unsigned int slot;
	int ret;

	if (!h) {
		kv_err("%s: no PCI bus to attach to", pd->name);
		return -ENODEV;
	}
	pthread_mutex_lock(&h->lock);
	for (slot = 1; slot < PCI_SLOTS && h->slots[slot]; slot++)
		;
	if (slot == PCI_SLOTS) {
		pthread_mutex_unlock(&h->lock);
		kv_err("%s: all %u PCI slots are taken; use fewer devices", pd->name,
		       PCI_SLOTS - 1);
		return -ENOSPC;
	}
	ret = attach(h, pd, slot);
	pthread_mutex_unlock(&h->lock);
	if (!ret)
		kv_debug("%s at PCI 00:%02x.0", pd->name, slot);
	return ret;
}

void pci_unregister_device(struct pci_device *pd)
{
	struct pci_host *h = pd->vm ? pd->vm->pci : NULL;

	if (h) {
		pthread_mutex_lock(&h->lock);
		if (h->slots[pd->slot] == pd)
			h->slots[pd->slot] = NULL;
		pthread_mutex_unlock(&h->lock);
	}
	pthread_mutex_lock(&pd->lock);
	bars_unmap(pd);
	pd->intx_level = false;
	intx_update(pd);
	msix_teardown(pd);
	pthread_mutex_unlock(&pd->lock);
	pthread_mutex_destroy(&pd->lock);
}

int pci_host_create(struct vm *vm)
{
	struct pci_host *h;
	int ret;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->vm = vm;
	board_pci_windows(&h->win);
	h->mmio_next = h->win.mmio_start;
	h->io_next = h->win.io_start;
	pthread_mutex_init(&h->lock, NULL);
	h->bridge = (struct pci_device){
		.name = "PCI host bridge",
		.vendor_id = PCI_HOST_VENDOR_ID,
		.device_id = PCI_HOST_DEVICE_ID,
		.class_code = PCI_CLASS_BRIDGE_HOST,
	};
	ret = attach(h, &h->bridge, 0);
	if (ret) {
		pthread_mutex_destroy(&h->lock);
		free(h);
		return ret;
	}
	vm->pci = h;
	return 0;
}

void pci_host_save_bridge(struct pci_host *h, uint8_t cfg[PCI_CFG_SIZE])
{
	pthread_mutex_lock(&h->lock);
	memcpy(cfg, h->bridge.cfg, PCI_CFG_SIZE);
	pthread_mutex_unlock(&h->lock);
}

void pci_host_restore_bridge(struct pci_host *h, const uint8_t cfg[PCI_CFG_SIZE])
{
	struct pci_device *b = &h->bridge;
	unsigned int i;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < PCI_CFG_SIZE; i++)
		b->cfg[i] = (uint8_t)((b->cfg[i] & ~b->wmask[i]) | (cfg[i] & b->wmask[i]));
	pthread_mutex_unlock(&h->lock);
}

void pci_host_destroy(struct vm *vm)
{
	struct pci_host *h = vm->pci;

	if (!h)
		return;
	pthread_mutex_destroy(&h->bridge.lock);
	pthread_mutex_destroy(&h->lock);
	free(h);
	vm->pci = NULL;
}
