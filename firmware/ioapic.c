/*
 * IOAPIC edge and level semantics through pc-testdev's IRQ lines (kvmini run
 * --device pc-testdev): a byte written to port 0x2000 + N sets GSI N of the
 * in-kernel IOAPIC. One edge; two edges on two pins at once (the higher
 * vector first); edges coalesced while interrupts are off; a level
 * interrupt with its remote IRR and EOI; a level line kept asserted across
 * EOIs (delivered again each time); level assertions coalesced while one
 * waits for its EOI; a level line raised while masked, delivered on
 * unmask. Ends through the exit device with the number of failures (0:
 * status 1).
 *
 * A level interrupt counts as delivered by the IOAPIC when its handler
 * finds the pin's remote IRR set (it stays set until the EOI). This
 * machine's software KVM enters the handler of each level-triggered vector
 * once more after its EOI, with the line low and remote IRR clear: the
 * LAPIC's doing, not the IOAPIC's; such entries are counted apart
 * (late_entries) and only printed with "ioapic.verbose" on the command line.
 */
#include "fw.h"
#include "io.h"

#define PCT_IRQ		0x2000
#define IOAPIC_BASE	0xfec00000ULL
#define IOAPIC_SEL	0x00
#define IOAPIC_WIN	0x10
#define LAPIC_BASE	0xfee00000ULL
#define LAPIC_ID	0x20
#define LAPIC_EOI	0xb0
#define LAPIC_SVR	0xf0

#define RTE_LEVEL	(1u << 15)
#define RTE_REMOTE_IRR	(1u << 14)
#define RTE_MASKED	(1u << 16)

/* Pins no kvmini device drives in this VM: ISA 14 and 15, PCI INTx 16 and 17 */
#define PIN_EDGE	14
#define PIN_EDGE2	15
#define PIN_LEVEL	16
#define VEC_EDGE	0x40
#define VEC_EDGE2	0x41
#define VEC_LEVEL	0x42
#define SPURIOUS	0xff

struct idt_entry {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

extern const uint64_t idt_stubs[];	/* idt.S: vector, address, ..., -1 */
static struct idt_entry idt[256] __attribute__((aligned(16)));

static unsigned int failures;
static int verbose;	/* "ioapic.verbose" on the command line */
static volatile unsigned int count[256];
static volatile unsigned int order[8], nr_order;
/* what the level handler does: lower the line on delivery number lower_at */
static volatile unsigned int lower_at;
static volatile unsigned int level_deliveries, late_entries;

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static void set_line(unsigned int pin, int level)
{
	outb((uint16_t)(PCT_IRQ + pin), (uint8_t)level);
}

static uint32_t ioapic_read(unsigned int reg)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_SEL, reg);
	return mmio_read32(IOAPIC_BASE + IOAPIC_WIN);
}

static void ioapic_write(unsigned int reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE + IOAPIC_SEL, reg);
	mmio_write32(IOAPIC_BASE + IOAPIC_WIN, v);
}

static void rte_set(unsigned int pin, uint32_t low)
{
	uint32_t apic_id = mmio_read32(LAPIC_BASE + LAPIC_ID) >> 24;

	ioapic_write(0x11 + 2 * pin, apic_id << 24);
	ioapic_write(0x10 + 2 * pin, low);
}

static uint32_t rte_low(unsigned int pin)
{
	return ioapic_read(0x10 + 2 * pin);
}

void fw_exception(uint64_t vector);
void fw_interrupt(uint64_t vector);

void fw_exception(uint64_t vector)
{
	fw_printf("ioapic: FAIL: exception %llu\n", (unsigned long long)vector);
	outl(0xf4, 100);
	cpu_halt_forever();
}

void fw_interrupt(uint64_t vector)
{
	if (vector == SPURIOUS) {
		count[SPURIOUS]++;
		return;		/* no EOI for the spurious vector */
	}
	count[vector]++;
	if (nr_order < 8)
		order[nr_order++] = (unsigned int)vector;
	if (vector == VEC_LEVEL) {
		if (!(rte_low(PIN_LEVEL) & RTE_REMOTE_IRR)) {
			late_entries++;
		} else if (++level_deliveries >= lower_at) {
			set_line(PIN_LEVEL, 0);
		}
	}
	mmio_write32(LAPIC_BASE + LAPIC_EOI, 0);
}

static void idt_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	uint16_t cs;
	unsigned int i;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	for (i = 0; idt_stubs[i] != (uint64_t)-1; i += 2) {
		uint64_t v = idt_stubs[i], a = idt_stubs[i + 1];

		idt[v] = (struct idt_entry){
			.off_lo = (uint16_t)a, .sel = cs, .type = 0x8e,
			.off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
		};
	}
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

/* Let pending interrupts in for a while, then shut them out again. */
static void window(void)
{
	__asm__ volatile("sti" ::: "memory");
	for (volatile unsigned int i = 0; i < 20000; i++)
		cpu_relax();
	__asm__ volatile("cli" ::: "memory");
}

static void reset_counts(void)
{
	for (unsigned int i = 0; i < 256; i++)
		count[i] = 0;
	nr_order = 0;
	level_deliveries = 0;
	late_entries = 0;
}

static void late(void)
{
	if (verbose)
		fw_printf("  (handler entries with remote IRR clear: %u)\n", late_entries);
}

static int has_word(const char *s, const char *w)
{
	size_t n = strlen(w);

	for (; *s; s++)
		if (!memcmp(s, w, n) && (s[n] == ' ' || !s[n]))
			return 1;
	return 0;
}

static void check(const char *what, unsigned int got, unsigned int want)
{
	fw_printf("  %s: %s = %u", got == want ? "ok" : "FAIL", what, got);
	if (got != want) {
		fw_printf(", expected %u", want);
		failures++;
	}
	fw_printf("\n");
}

static void test_edge(void)
{
	fw_printf("edge: one edge on GSI %u\n", PIN_EDGE);
	reset_counts();
	rte_set(PIN_EDGE, VEC_EDGE);
	set_line(PIN_EDGE, 1);
	set_line(PIN_EDGE, 0);
	window();
	check("interrupts", count[VEC_EDGE], 1);
	reset_counts();
	window();
	check("interrupts once the line is low", count[VEC_EDGE], 0);
}

static void test_two_edges(void)
{
	fw_printf("edge: GSI %u and %u at once, interrupts off\n", PIN_EDGE, PIN_EDGE2);
	reset_counts();
	rte_set(PIN_EDGE2, VEC_EDGE2);
	set_line(PIN_EDGE, 1);
	set_line(PIN_EDGE2, 1);
	set_line(PIN_EDGE, 0);
	set_line(PIN_EDGE2, 0);
	window();
	check("interrupts on the first", count[VEC_EDGE], 1);
	check("interrupts on the second", count[VEC_EDGE2], 1);
	check("the higher vector came first", nr_order == 2 && order[0] == VEC_EDGE2, 1);
}

static void test_edge_coalesce(void)
{
	fw_printf("edge: three edges while interrupts are off\n");
	reset_counts();
	for (int i = 0; i < 3; i++) {
		set_line(PIN_EDGE, 1);
		set_line(PIN_EDGE, 0);
	}
	window();
	check("interrupts", count[VEC_EDGE], 1);
}

static void test_level(void)
{
	fw_printf("level: GSI %u, the handler lowers the line, then EOI\n", PIN_LEVEL);
	reset_counts();
	lower_at = 1;
	rte_set(PIN_LEVEL, VEC_LEVEL | RTE_LEVEL);
	check("remote IRR before the line rises", !!(rte_low(PIN_LEVEL) & RTE_REMOTE_IRR), 0);
	set_line(PIN_LEVEL, 1);
	check("remote IRR once it is sent, before EOI", !!(rte_low(PIN_LEVEL) & RTE_REMOTE_IRR), 1);
	window();
	check("deliveries", level_deliveries, 1);
	check("remote IRR after EOI", !!(rte_low(PIN_LEVEL) & RTE_REMOTE_IRR), 0);
	late();
}

static void test_level_kept(void)
{
	fw_printf("level: the line stays up across two EOIs\n");
	reset_counts();
	lower_at = 3;
	set_line(PIN_LEVEL, 1);
	window();
	check("deliveries", level_deliveries, 3);
	check("remote IRR after the last EOI", !!(rte_low(PIN_LEVEL) & RTE_REMOTE_IRR), 0);
	late();
}

static void test_level_coalesce(void)
{
	fw_printf("level: raised three times while one waits for its EOI\n");
	reset_counts();
	lower_at = 1;
	set_line(PIN_LEVEL, 1);
	set_line(PIN_LEVEL, 0);
	set_line(PIN_LEVEL, 1);
	set_line(PIN_LEVEL, 0);
	set_line(PIN_LEVEL, 1);
	window();
	check("deliveries", level_deliveries, 1);
	late();
}

static void test_level_masked(void)
{
	fw_printf("level: raised while masked, then unmasked\n");
	reset_counts();
	lower_at = 1;
	rte_set(PIN_LEVEL, VEC_LEVEL | RTE_LEVEL | RTE_MASKED);
	set_line(PIN_LEVEL, 1);
	window();
	check("interrupts while masked", count[VEC_LEVEL], 0);
	rte_set(PIN_LEVEL, VEC_LEVEL | RTE_LEVEL);
	window();
	check("deliveries after unmask", level_deliveries, 1);
	late();
}

void fw_main(const uint8_t *bp)
{
	const char *cmdline = (const char *)(uintptr_t)get_le32(bp + BP_CMD_LINE_PTR);

	verbose = cmdline && has_word(cmdline, "ioapic.verbose");
	idt_init();
	outb(0x21, 0xff);	/* the 8259s stay masked: the IOAPIC delivers */
	outb(0xa1, 0xff);
	mmio_write32(LAPIC_BASE + LAPIC_SVR, 0x100 | SPURIOUS);
	fw_printf("ioapic: %u redirection entries\n", ((ioapic_read(1) >> 16) & 0xff) + 1);
	test_edge();
	test_two_edges();
	test_edge_coalesce();
	test_level();
	test_level_kept();
	test_level_coalesce();
	test_level_masked();
	rte_set(PIN_EDGE, RTE_MASKED);
	rte_set(PIN_EDGE2, RTE_MASKED);
	rte_set(PIN_LEVEL, RTE_MASKED);
	check("spurious interrupts", count[SPURIOUS], 0);
	fw_printf("ioapic: %u failures\n", failures);
	outl(0xf4, failures);
	fw_printf("ioapic: no exit device\n");
	cpu_halt_forever();
}
