/*
 * The board: where the arch puts the devices a VM may have and which
 * interrupt lines they drive. Devices ask here instead of naming ports,
 * addresses or GSIs; vm_irq_line() and vm_irqfd() take these lines.
 * One implementation per arch (arch/x86/board/board.c).
 */
#ifndef KVMINI_BOARD_H
#define KVMINI_BOARD_H

#include <stdbool.h>
#include <stdint.h>

struct board_uart {
	const char *name;	/* instance name: "com1" */
	uint64_t base, len;
	bool pio;		/* port I/O, else MMIO */
	unsigned int irq;
};

/* UART @index (0: the console). 0, or -ENODEV if the board has none there. */
int board_uart(unsigned int index, struct board_uart *u);

/* How many virtio-mmio windows the board has. */
unsigned int board_virtio_mmio_windows(void);
/* Window @index: 0, or -ENOSPC past the last one. */
int board_virtio_mmio_window(unsigned int index, uint64_t *base, uint64_t *size);

/* PCI bus 0: where BARs may be placed, [start, end). */
struct board_pci {
	uint64_t mmio_start, mmio_end;
	uint64_t io_start, io_end;
};

void board_pci_windows(struct board_pci *w);
/* The line that INTx pin @pin (0: INTA#) of slot @slot drives, level-triggered. */
unsigned int board_pci_intx_line(unsigned int slot, unsigned int pin);

/*
 * Edge-triggered lines the board leaves for devices without a fixed one
 * (virtio-mmio), in the order vm_irq_alloc() hands them out.
 */
const unsigned int *board_irq_pool(unsigned int *nr);

#endif
