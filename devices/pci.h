/*
 * PCI bus 0: config space (reached the arch's way: conf1 ports on x86),
 * BARs on the VM's buses, INTx on the board's lines and MSI-X vectors
 * delivered through irqfds.
 */
#ifndef KVMINI_PCI_H
#define KVMINI_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

struct vm;
struct pci_host;
struct pci_msix_vector;

#define PCI_SLOTS		32
#define PCI_NUM_BARS		6
#define PCI_CFG_SIZE		256

/* Type 0 header */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CACHE_LINE_SIZE	0x0c
#define PCI_LATENCY_TIMER	0x0d
#define PCI_HEADER_TYPE		0x0e
#define PCI_BASE_ADDRESS_0	0x10
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PCI_CAP_START		0x40	/* capabilities live in [0x40, 0x100) */

#define PCI_COMMAND_IO		0x0001
#define PCI_COMMAND_MEMORY	0x0002
#define PCI_COMMAND_MASTER	0x0004
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT	0x0008
#define PCI_STATUS_CAP_LIST	0x0010

#define PCI_BAR_SPACE_IO	0x1
#define PCI_BAR_MEM_TYPE_64	0x4
#define PCI_BAR_MEM_PREFETCH	0x8

#define PCI_CAP_ID_VNDR		0x09
#define PCI_CAP_ID_MSIX		0x11
#define PCI_MSIX_FLAGS		2	/* capability offsets */
#define PCI_MSIX_TABLE		4
#define PCI_MSIX_PBA		8
#define PCI_MSIX_CAP_LEN	12
#define PCI_MSIX_FLAGS_ENABLE	0x8000
#define PCI_MSIX_FLAGS_MASKALL	0x4000
#define PCI_MSIX_ENTRY_SIZE	16
#define PCI_MSIX_ENTRY_MASKED	0x1
#define PCI_MSIX_MAX_VECTORS	2048

#define PCI_CLASS_BRIDGE_HOST	0x060000

/*
 * kvmini owns no PCI vendor ID. The host bridge uses 1af4:10f0, which
 * Red Hat's ID registry for virtual devices leaves for experimental use
 * without registration; guests identify the bridge by its class code.
 * Replace it with an assigned ID before a release.
 */
#define PCI_HOST_VENDOR_ID	0x1af4
#define PCI_HOST_DEVICE_ID	0x10f0

struct pci_bar {
	uint64_t size;		/* power of two; 0: BAR unused */
	bool io;		/* I/O space, else memory */
	bool mem64;		/* 64-bit memory BAR: takes the next BAR slot too */
	bool prefetchable;
	const struct bus_ops *ops;	/* guest accesses, offsets relative to the BAR */
	void *opaque;
};

/* Where a BAR decodes now; pci.c's bus handlers get one of these. */
struct pci_bar_map {
	struct pci_device *pd;
	unsigned int index;
	uint64_t addr;
	bool mapped;
};

struct pci_device {
	/* set by the device before pci_register_device() */
	const char *name;		/* for messages */
	uint16_t vendor_id, device_id;
	uint16_t subsys_vendor_id, subsys_id;
	uint8_t revision;
	uint32_t class_code;		/* base << 16 | sub-class << 8 | prog-if */
	bool intx;			/* drives INTA# */
	struct pci_bar bars[PCI_NUM_BARS];
	/* MSI-X table and PBA inside memory BAR msix_bar; 0 vectors: no MSI-X */
	unsigned int msix_vectors;
	unsigned int msix_bar;
	uint32_t msix_table_off, msix_pba_off;	/* 8-byte aligned */
	/*
	 * BAR @bar now decodes at @addr (@mapped) or nowhere (e.g. to move
	 * ioeventfds). Runs with the device's PCI lock held: no pci_* calls.
	 */
	void (*bar_mapped)(struct pci_device *pd, unsigned int bar, uint64_t addr,
			   bool mapped);
	/*
	 * Accesses to the capability area: refresh cfg[] before a read, act
	 * after a write has landed (writable bits as in wmask[]).
	 */
	void (*cap_read)(struct pci_device *pd, uint32_t off, uint32_t len);
	void (*cap_write)(struct pci_device *pd, uint32_t off, uint32_t len);
	void *priv;

	/* owned by pci.c (cfg[] and wmask[] also written by pci_add_cap callers) */
	struct vm *vm;
	unsigned int slot;
	unsigned int intx_gsi;		/* board line of INTA# */
	pthread_mutex_t lock;		/* MSI-X state, INTx, BAR mappings */
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];	/* guest-writable bits */
	uint8_t cap_next, cap_last;
	struct pci_bar_map maps[PCI_NUM_BARS];
	bool intx_level, intx_asserted;
	uint8_t msix_cap;
	struct pci_msix_vector *msix;
	uint64_t *msix_pba;
};

/* Bus 0 with its host bridge at 00:00.0, as vm->pci. 0 or -errno. */
int pci_host_create(struct vm *vm);
void pci_host_destroy(struct vm *vm);
/*
 * Snapshots: the host bridge's config space. A restore takes only the
 * bits the guest may write (wmask), so hostile bytes change nothing else.
 */
void pci_host_save_bridge(struct pci_host *h, uint8_t cfg[PCI_CFG_SIZE]);
void pci_host_restore_bridge(struct pci_host *h, const uint8_t cfg[PCI_CFG_SIZE]);
/*
 * A config-space access to @bus:@slot.@fn at byte @off: what the arch's
 * config mechanism decoded. Absent functions read all-ones.
 */
void pci_config_access(struct pci_host *h, unsigned int bus, unsigned int slot,
		       unsigned int fn, unsigned int off, uint8_t *data, uint32_t len,
		       bool is_write);

/*
 * The PHASE_BUS device of the arch (x86: arch/x86/board/pci_conf1.c):
 * bus 0 and the ports or window that reach its config space.
 */
int pci_host_init(struct vm *vm);
void pci_host_exit(struct vm *vm);

/*
 * Append capability @cap (@len bytes, cap[0] = ID; the next pointer is
 * filled in) to @pd's list before registration. Returns its config
 * offset, or -ENOSPC.
 */
int pci_add_cap(struct pci_device *pd, const void *cap, uint8_t len);

/*
 * Put @pd in the next free slot, assign its BARs from the PCI windows,
 * enable decoding as firmware would, wire INTA# and the MSI-X vectors
 * (one GSI and irqfd each). 0 or -errno after kv_err().
 */
int pci_register_device(struct vm *vm, struct pci_device *pd);
/* Undo pci_register_device (vCPUs stopped or @pd unreachable by the guest). */
void pci_unregister_device(struct pci_device *pd);

/* Drive INTA# (level). Any thread. */
void pci_set_irq(struct pci_device *pd, bool level);
/* Has the driver enabled MSI-X? Then INTx must stay quiet. */
bool pci_msix_enabled(struct pci_device *pd);
/* Send MSI-X @vector, or mark it pending while masked. Any thread. */
void pci_msix_notify(struct pci_device *pd, unsigned int vector);
/*
 * The irqfd eventfd of MSI-X @vector (a write raises it without kvmini,
 * even while masked: the route stays), or -1 if it has none. Any thread.
 */
int pci_msix_vector_fd(struct pci_device *pd, unsigned int vector);
/* A guest access to BAR @bar at @off, as if through its address. */
void pci_bar_access(struct pci_device *pd, unsigned int bar, uint64_t off,
		    uint8_t *data, uint32_t len, bool is_write);

#endif
