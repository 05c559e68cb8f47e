/*
 * Guest side of `kvmini run -- CMD`: report CMD's exit status through
 * kvmini's exit device. Usage in the guest: kvmini-exit STATUS [PORT].
 * kvmini-exit start [PORT] marks the command's start instead (a byte 'S'
 * at PORT + 1, which kvmini's exit device takes as a mark in -- CMD mode;
 * --report's command_start_ms) and returns.
 * Freestanding (no libc): raw syscalls, so it runs in any initramfs.
 * Built by tools/mkguest: gcc -static -nostdlib -O2 -o kvmini-exit kvmini-exit.c
 */
#define SYS_write	1
#define SYS_exit	60
#define SYS_ioperm	173

static long sys3(long n, long a, long b, long c)
{
	long r;

	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

static unsigned long parse(const char *s, unsigned long dflt)
{
	unsigned long v = 0, base = 10;

	if (!s || !*s)
		return dflt;
	if (s[0] == '0' && s[1] == 'x') {
		base = 16;
		s += 2;
	}
	for (; *s; s++) {
		unsigned long d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned long)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned long)(*s - 'a' + 10);
		else
			return dflt;
		v = v * base + d;
	}
	return v;
}

static void fail(const char *msg, unsigned long len)
{
	sys3(SYS_write, 2, (long)msg, (long)len);
	sys3(SYS_exit, 2, 0, 0);
}

__attribute__((used)) void kvmini_exit_main(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	const char *a1 = argc > 1 ? argv[1] : 0;
	int start = a1 && a1[0] == 's' && a1[1] == 't' && a1[2] == 'a' && a1[3] == 'r' &&
		    a1[4] == 't' && !a1[5];
	unsigned int status = start ? 0 : (unsigned int)parse(a1, 0);
	unsigned long port = parse(argc > 2 ? argv[2] : 0, 0xf4);

	if (port > 0xfffc || sys3(SYS_ioperm, (long)port, 4, 1) < 0) {
		static const char m[] = "kvmini-exit: ioperm failed (needs root)\n";

		fail(m, sizeof(m) - 1);
	}
	if (start) {
		__asm__ volatile("outb %b0, %w1" : : "a"('S'), "Nd"((unsigned short)(port + 1)));
		sys3(SYS_exit, 0, 0, 0);
	}
	__asm__ volatile("outl %0, %w1" : : "a"(status), "Nd"((unsigned short)port));
	/* still here: no exit device at that port */
	sys3(SYS_exit, 1, 0, 0);
}

__asm__(".globl _start\n"
	"_start:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call kvmini_exit_main\n"
	"	hlt\n");
