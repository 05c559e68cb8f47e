/* The x86 guest physical address map and legacy port numbers kvmini uses. */
#ifndef KVMINI_X86_LAYOUT_H
#define KVMINI_X86_LAYOUT_H

/* Low memory (below 1 MiB) */
#define BOOT_GDT_ADDR		0x0500ULL	/* null, code32 (PVH, 0x08), code64 (0x10), data (0x18) */
#define BOOT_IDT_ADDR		0x0520ULL	/* empty IDT limit 0 */
#define PVH_START_INFO_ADDR	0x6000ULL	/* hvm_start_info + modlist + memmap */
#define ZERO_PAGE_ADDR		0x7000ULL	/* struct boot_params */
#define BOOT_PML4_ADDR		0x9000ULL
#define BOOT_PDPT_ADDR		0xA000ULL
#define BOOT_PD_ADDR		0xB000ULL	/* 4 pages: identity map 0..4 GiB, 2 MiB pages */
#define BOOT_STACK_TOP		0x8ff0ULL	/* initial RSP for 64-bit ELF entry */
#define CMDLINE_ADDR		0x20000ULL
#define CMDLINE_MAX		0x10000ULL	/* bytes, including the NUL */
#define MULTIBOOT_INFO_ADDR	0x30000ULL	/* multiboot info, memory map, module list, names */
#define MULTIBOOT_INFO_END	0x40000ULL
#define EBDA_START		0x9fc00ULL	/* RAM below this is usable */
/*
 * A multiboot kernel may load in [LOW_KERNEL_START, EBDA_START) too (real-mode
 * test payloads are linked at 0x8000): below it are the real-mode IVT and
 * kvmini's GDT and IDT; its command line and information then go where the
 * kernel is not (multiboot.c). Other formats load from HIMEM_START.
 */
#define LOW_KERNEL_START	0x1000ULL
#define ACPI_TABLES_ADDR	0xe0000ULL	/* RSDP first (BIOS scan area) */
#define ACPI_TABLES_END		0x100000ULL	/* [0xe0000, 1 MiB) is reserved in e820 */
#define HIMEM_START		0x100000ULL
#define KERNEL_LOAD_DEFAULT	0x1000000ULL	/* bzImage pref_address when unset */

/* The 32-bit MMIO hole: RAM at or above this moves to 4 GiB. */
#define MMIO_HOLE_START		0xc0000000ULL
#define FOUR_GIB		0x100000000ULL
#define IOAPIC_ADDR		0xfec00000ULL
#define LAPIC_ADDR		0xfee00000ULL
#define KVM_IDENTITY_MAP_ADDR	0xfeffc000ULL	/* KVM_SET_IDENTITY_MAP_ADDR (1 page) */
#define KVM_TSS_ADDR		0xfeffd000ULL	/* KVM_SET_TSS_ADDR (3 pages) */

/*
 * PCI bus 0 (devices/pci.c): memory BARs are placed in [PCI_MMIO_START,
 * PCI_MMIO_END), below the IOAPIC, with room left under it for fixed
 * MMIO; I/O BARs in [PCI_IO_START, PCI_IO_END), above the legacy ports.
 * INTx of slot S pin P (0 = INTA) is IOAPIC GSI PCI_INTX_GSI_BASE +
 * (S + P) % PCI_INTX_GSIS, level-triggered.
 */
#define PCI_MMIO_START		0xc0000000ULL
#define PCI_MMIO_END		0xfc000000ULL
#define PCI_IO_START		0xc000ULL
#define PCI_IO_END		0x10000ULL
#define PCI_INTX_GSI_BASE	16
#define PCI_INTX_GSIS		8
#define IOAPIC_NR_PINS		24	/* GSIs above these carry MSI routes */

/*
 * virtio-mmio (--transport mmio): device N has the 4 KiB at
 * VIRTIO_MMIO_BASE + N * VIRTIO_MMIO_SIZE, in the fixed-MMIO room between
 * the PCI window and the IOAPIC, and ISA IRQ VIRTIO_MMIO_IRQS[N]: pins a
 * Linux guest has already mapped (edge, active high) without ACPI help,
 * which the 16-23 PCI pins lack. 3, 4 are the UARTs, 8 the RTC, 9 the SCI.
 */
#define VIRTIO_MMIO_BASE	0xfc000000ULL
#define VIRTIO_MMIO_SIZE	0x1000ULL
#define VIRTIO_MMIO_IRQS	{ 5, 6, 7, 10, 11, 12, 14, 15 }

/* Port I/O */
#define I8042_DATA_PORT		0x60
#define I8042_CMD_PORT		0x64		/* write 0xfe: reset */
#define I8042_CMD_RESET		0xfe
#define COM1_PORT		0x3f8
#define COM1_IRQ		4
#define COM2_PORT		0x2f8
#define COM2_IRQ		3
#define PCI_CONFIG_ADDR_PORT	0xcf8		/* conf1 CONFIG_ADDRESS, 4 bytes */
#define PCI_CONFIG_DATA_PORT	0xcfc		/* conf1 CONFIG_DATA, 4 bytes */
#define ACPI_PM_BASE		0x600
#define ACPI_PM1A_EVT_PORT	0x600		/* 4 bytes: status(2) + enable(2) */
#define ACPI_PM1A_CNT_PORT	0x604		/* 2 bytes */
#define ACPI_PM_TMR_PORT	0x608		/* 4 bytes, 3.579545 MHz */
#define ACPI_PM_LEN		0x0c
#define ACPI_SCI_IRQ		9
#define ACPI_S5_SLP_TYP		5		/* \_S5 package value; SLP_TYP field of PM1a_CNT */
#define ACPI_PM1_CNT_SCI_EN	(1u << 0)
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_EN	(1u << 13)

#endif
