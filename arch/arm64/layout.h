/*
 * The arm64 guest physical address map, after QEMU's virt machine: devices
 * below 1 GiB, RAM from 1 GiB. Interrupt numbers here are SPI numbers
 * (INTID - 32), which is what irqfd GSIs and board lines are on arm64.
 */
#ifndef KVMINI_ARM64_LAYOUT_H
#define KVMINI_ARM64_LAYOUT_H

#define GIC_DIST_BASE		0x08000000ULL	/* GICv3/v2 distributor, 64 KiB */
#define GIC_DIST_SIZE		0x00010000ULL
#define GIC_CPU_BASE		0x08010000ULL	/* GICv2 CPU interface, 8 KiB */
#define GIC_CPU_SIZE		0x00002000ULL
#define GIC_ITS_BASE		0x08080000ULL	/* GICv3 ITS, 128 KiB */
#define GIC_ITS_SIZE		0x00020000ULL
#define GIC_REDIST_BASE		0x080a0000ULL	/* GICv3 redistributors, 128 KiB per vCPU */
#define GIC_REDIST_SIZE		0x00020000ULL
#define GIC_REDIST_END		0x09000000ULL	/* room for 119 vCPUs */
#define GIC_V2M_NONE		0
#define ARM64_MAX_VCPUS		((unsigned int)((GIC_REDIST_END - GIC_REDIST_BASE) / GIC_REDIST_SIZE))

/* 16550A UARTs on MMIO, one byte per register (reg-shift 0) */
#define UART0_BASE		0x09000000ULL
#define UART1_BASE		0x09001000ULL
#define UART_SIZE		0x8ULL
#define UART0_SPI		1
#define UART1_SPI		2

/* The exit device (arch/arm64/board/exit.c): an MMIO window instead of a port */
#define EXIT_MMIO_BASE		0x09010000ULL
#define EXIT_MMIO_SIZE		0x4ULL

/* virtio-mmio windows, one SPI each */
#define VIRTIO_MMIO_BASE	0x0a000000ULL
#define VIRTIO_MMIO_SIZE	0x1000ULL
#define VIRTIO_MMIO_COUNT	8
#define VIRTIO_MMIO_SPI_BASE	16

/* PCIe: ECAM for bus 0, memory BARs below it; INTx on four SPIs, swizzled by slot */
#define PCI_MMIO_START		0x10000000ULL
#define PCI_MMIO_END		0x3eff0000ULL
#define PCI_ECAM_BASE		0x3f000000ULL
#define PCI_ECAM_SIZE		0x00100000ULL	/* bus 0 only: 32 slots x 8 functions x 4 KiB */
#define PCI_INTX_SPI_BASE	3
#define PCI_INTX_SPIS		4
/* INTx pin @pin (0: INTA#) of slot @slot: the device tree's interrupt-map and the board agree */
#define PCI_INTX_SPI(slot, pin)	(PCI_INTX_SPI_BASE + ((slot) + (pin)) % PCI_INTX_SPIS)

/* RAM, and where the loader puts what the kernel needs */
#define RAM_BASE		0x40000000ULL
#define ARM64_IRQ_SPIS		64	/* SPIs the GIC implements beyond the 32 private ones */

#endif
