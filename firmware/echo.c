/*
 * Interrupt-driven console input: COM1's receive interrupt through the
 * IOAPIC and the LAPIC. Echoes each line as "echo: <line>", powers off on
 * "quit". The main loop only halts; the UART is read in the ISR alone.
 */
#include <stdbool.h>

#include "fw.h"
#include "io.h"

#define PIC1_DATA		0x21
#define PIC2_DATA		0xa1

#define COM1			0x3f8
#define UART_RBR		0
#define UART_IER		1
#define UART_MCR		4
#define UART_LSR		5
#define UART_IER_RDI		0x01
#define UART_MCR_DTR		0x01
#define UART_MCR_RTS		0x02
#define UART_MCR_OUT2		0x08
#define UART_LSR_DR		0x01
#define COM1_IRQ		4

#define IOAPIC_BASE		0xfec00000ULL
#define IOAPIC_REGSEL		0x00
#define IOAPIC_WIN		0x10
#define IOAPIC_REDTBL_LO(pin)	(0x10 + 2 * (pin))
#define IOAPIC_REDTBL_HI(pin)	(0x11 + 2 * (pin))

#define LAPIC_BASE		0xfee00000ULL
#define LAPIC_EOI		0x0b0
#define LAPIC_SVR		0x0f0
#define LAPIC_SVR_ENABLE	(1u << 8)

#define COM1_VECTOR		0x24
#define SPURIOUS_VECTOR		0xff
#define GATE_INTR64		0x8e	/* present, DPL 0, 64-bit interrupt gate */

#define LINE_MAX		120

struct __attribute__((packed)) idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
};

struct __attribute__((packed)) idt_ptr {
	uint16_t limit;
	uint64_t base;
};

static struct idt_gate idt[256];
static char line[LINE_MAX];
static unsigned int line_len;

void com1_entry(void);
void spurious_entry(void);
void com1_isr(void);

/*
 * The entry saves the registers the C ABI lets com1_isr clobber. The CPU
 * aligned RSP to 16 before its 5-word frame; 9 pushes make it 16 again.
 */
__asm__(
	"	.text\n"
	"	.globl com1_entry\n"
	"com1_entry:\n"
	"	push %rax\n	push %rcx\n	push %rdx\n	push %rsi\n	push %rdi\n"
	"	push %r8\n	push %r9\n	push %r10\n	push %r11\n"
	"	cld\n"
	"	call com1_isr\n"
	"	pop %r11\n	pop %r10\n	pop %r9\n	pop %r8\n"
	"	pop %rdi\n	pop %rsi\n	pop %rdx\n	pop %rcx\n	pop %rax\n"
	"	iretq\n"
	"	.globl spurious_entry\n"
	"spurious_entry:\n"
	"	iretq\n");

static void set_gate(unsigned int vec, void (*fn)(void))
{
	uint64_t off = (uint64_t)(uintptr_t)fn;
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	idt[vec] = (struct idt_gate){
		.off_lo = (uint16_t)off,
		.sel = cs,
		.type = GATE_INTR64,
		.off_mid = (uint16_t)(off >> 16),
		.off_hi = (uint32_t)(off >> 32),
	};
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_REGSEL, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_WIN, v);
}

/* The line, with bytes outside printable ASCII as \xNN so tests see them. */
static void echo_line(void)
{
	unsigned int i;

	fw_printf("echo: ");
	for (i = 0; i < line_len; i++) {
		uint8_t c = (uint8_t)line[i];

		if (c >= 0x20 && c < 0x7f)
			uart_putc((char)c);
		else
			fw_printf("\\x%02x", c);
	}
	uart_putc('\n');
}

/* CR, LF and CRLF all end a line; empty lines are ignored. */
static void end_line(void)
{
	if (line_len == 0)
		return;
	if (line_len == 4 && memcmp(line, "quit", 4) == 0)
		acpi_poweroff();
	echo_line();
	line_len = 0;
}

static void input_byte(uint8_t c)
{
	if (c == '\r' || c == '\n') {
		end_line();
		return;
	}
	if (line_len == LINE_MAX)
		end_line();
	line[line_len++] = (char)c;
}

void com1_isr(void)
{
	while (inb(COM1 + UART_LSR) & UART_LSR_DR)
		input_byte(inb(COM1 + UART_RBR));
	mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

void fw_main(const uint8_t *boot_params)
{
	struct idt_ptr idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

	acpi_init(boot_params);
	/* The 8259s would also see IRQ 4 and reach LINT0 as ExtINT. */
	outb(PIC1_DATA, 0xff);
	outb(PIC2_DATA, 0xff);

	set_gate(COM1_VECTOR, com1_entry);
	set_gate(SPURIOUS_VECTOR, spurious_entry);
	__asm__ volatile("lidt %0" : : "m"(idtr));

	mmio_write32(LAPIC_BASE + LAPIC_SVR, LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
	/* pin 4: fixed, physical destination APIC 0, active high, edge, unmasked */
	ioapic_write(IOAPIC_REDTBL_HI(COM1_IRQ), 0);
	ioapic_write(IOAPIC_REDTBL_LO(COM1_IRQ), COM1_VECTOR);

	outb(COM1 + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	outb(COM1 + UART_IER, UART_IER_RDI);

	fw_printf("echo: ready\n");
	for (;;)
		__asm__ volatile("sti; hlt" : : : "memory");
}
