/* The x86 board of board.h: PC port numbers, ISA IRQs and the PCI windows of layout.h. */
#include <errno.h>

#include "board.h"
#include "layout.h"
#include "util.h"

static const struct board_uart uarts[] = {
	{ "com1", COM1_PORT, 8, true, COM1_IRQ },
	{ "com2", COM2_PORT, 8, true, COM2_IRQ },
};

static const unsigned int mmio_irqs[] = VIRTIO_MMIO_IRQS;

int board_uart(unsigned int index, struct board_uart *u)
{
	if (index >= ARRAY_SIZE(uarts))
		return -ENODEV;
	*u = uarts[index];
	return 0;
}

unsigned int board_virtio_mmio_windows(void)
{
	return ARRAY_SIZE(mmio_irqs);
}

int board_virtio_mmio_window(unsigned int index, uint64_t *base, uint64_t *size)
{
	if (index >= ARRAY_SIZE(mmio_irqs))
		return -ENOSPC;
	*base = VIRTIO_MMIO_BASE + index * VIRTIO_MMIO_SIZE;
	*size = VIRTIO_MMIO_SIZE;
	return 0;
}

void board_pci_windows(struct board_pci *w)
{
	*w = (struct board_pci){
		.mmio_start = PCI_MMIO_START,
		.mmio_end = PCI_MMIO_END,
		.io_start = PCI_IO_START,
		.io_end = PCI_IO_END,
	};
}

/* The swizzle the DSDT's _PRT describes (acpi.c). */
unsigned int board_pci_intx_line(unsigned int slot, unsigned int pin)
{
	return PCI_INTX_GSI_BASE + (slot + pin) % PCI_INTX_GSIS;
}

/* One per virtio-mmio window: ISA IRQs Linux maps edge, active high, without ACPI. */
const unsigned int *board_irq_pool(unsigned int *nr)
{
	*nr = ARRAY_SIZE(mmio_irqs);
	return mmio_irqs;
}
