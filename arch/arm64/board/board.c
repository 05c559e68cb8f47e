/* The arm64 board of board.h: MMIO UARTs, virtio-mmio windows and PCIe SPIs of layout.h. */
#include <errno.h>

#include "board.h"
#include "layout.h"
#include "util.h"

static const struct board_uart uarts[] = {
	{ "uart0", UART0_BASE, UART_SIZE, false, UART0_SPI },
	{ "uart1", UART1_BASE, UART_SIZE, false, UART1_SPI },
};

static const unsigned int mmio_irqs[VIRTIO_MMIO_COUNT] = {
	VIRTIO_MMIO_SPI_BASE + 0, VIRTIO_MMIO_SPI_BASE + 1, VIRTIO_MMIO_SPI_BASE + 2,
	VIRTIO_MMIO_SPI_BASE + 3, VIRTIO_MMIO_SPI_BASE + 4, VIRTIO_MMIO_SPI_BASE + 5,
	VIRTIO_MMIO_SPI_BASE + 6, VIRTIO_MMIO_SPI_BASE + 7,
};

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

/* No I/O window: virtio-PCI uses memory BARs only. */
void board_pci_windows(struct board_pci *w)
{
	*w = (struct board_pci){
		.mmio_start = PCI_MMIO_START,
		.mmio_end = PCI_MMIO_END,
		.io_start = 0,
		.io_end = 0,
	};
}

/* The swizzle the device tree's interrupt-map describes (devtree.c). */
unsigned int board_pci_intx_line(unsigned int slot, unsigned int pin)
{
	return PCI_INTX_SPI(slot, pin);
}

const unsigned int *board_irq_pool(unsigned int *nr)
{
	*nr = ARRAY_SIZE(mmio_irqs);
	return mmio_irqs;
}
