/*
 * 16550A UART where the board puts it (COM1 on x86): the guest console. Output goes to
 * stdout (or what --serial names, devices/console.c) through a bounded buffer that a
 * writer thread drains with blocking writes, so neither a vCPU nor the event loop
 * ever waits on it, and stdout's flags stay as inherited. stdin feeds the receive
 * FIFO. When stdin is a terminal in the foreground, Ctrl-A x quits and Ctrl-A h
 * lists the keys.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "console.h"
#include "device.h"
#include "evloop.h"
#include "irq.h"
#include "inventory.h"
#include "le.h"
#include "log.h"
#include "sandbox.h"
#include "signals.h"
#include "term.h"
#include "util.h"
#include "vm.h"

/* Registers (offset from the base port) */
#define UART_RBR 0	/* read, DLAB=0 */
#define UART_THR 0	/* write, DLAB=0 */
#define UART_IER 1
#define UART_IIR 2	/* read */
#define UART_FCR 2	/* write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IER_RLSI	0x04
#define IER_MSI		0x08
#define IIR_NO_INT	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO_BITS	0xc0
#define FCR_FIFO_EN	0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_DCTS	0x01
#define MSR_DDSR	0x02
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

#define RX_SIZE		1024
#define TX_SIZE		(64 * 1024)
#define FIFO_SIZE	16	/* THRE promises room for a whole FIFO load */
#define CTRL_A		0x01

struct serial {
	struct device dev;
	struct vm *vm;
	unsigned int index;	/* ttyS<index>, for the writer thread's name */
	pthread_mutex_t lock;
	uint8_t ier, iir_fifo, lcr, mcr, msr, scr, dll, dlm;
	bool thr_pending;	/* THRE interrupt owed to the guest */
	bool irq_level;

	uint8_t rx[RX_SIZE];
	unsigned int rx_head, rx_count;
	bool rx_paused;		/* stdin not polled while the FIFO is full */

	uint8_t tx[TX_SIZE];
	unsigned int tx_head, tx_count;
	bool tx_full_waiting;	/* guest saw THRE clear; owe THRE when drained */
	bool out_closed;	/* stdout gone or given up: drop output */
	uint64_t st_tx, st_dropped, st_rx;	/* kvmini stat: bytes out, lost, in */

	/* the writer thread: the only one that writes out_fd, outside the lock */
	pthread_t writer;
	pthread_cond_t tx_cond;		/* to the writer: output, or stop */
	pthread_cond_t written_cond;	/* from the writer: progress, or done */
	uint64_t tx_written;		/* bytes written so far */
	bool writer_started, writer_done, writer_stop;
	bool writing;			/* in write() or poll(), lock released */

	int in_fd, out_fd;
	int wake_fd;		/* vCPU -> loop: room for input again */
	bool in_tty, in_registered;
	uint8_t irq;
	struct board_uart uart;	/* where the board put it, for describe */
	bool probed;		/* left out of firmware tables */
	const char *out_name;
	bool escape;		/* previous input byte was Ctrl-A */
	bool at_line_start;	/* the last byte out was a newline (or none yet) */
};


static void update_irq(struct serial *s)
{
	bool level = false;

	if ((s->ier & IER_RDI) && s->rx_count)
		level = true;
	else if ((s->ier & IER_THRI) && s->thr_pending)
		level = true;
	if (!(s->mcr & MCR_OUT2) && !(s->mcr & MCR_LOOP))
		level = false;	/* OUT2 gates the interrupt line on PC UARTs */
	if (level != s->irq_level) {
		s->irq_level = level;
		vm_irq_line(s->vm, s->irq, level);
	}
}

static uint8_t read_iir(struct serial *s)
{
	uint8_t iir = IIR_NO_INT;

	if ((s->ier & IER_RDI) && s->rx_count) {
		iir = IIR_RDI;
	} else if ((s->ier & IER_THRI) && s->thr_pending) {
		iir = IIR_THRI;
		s->thr_pending = false;	/* reading IIR acknowledges THRE */
	} else if ((s->ier & IER_MSI) && (s->msr & 0x0f)) {
		iir = IIR_MSI;
	}
	return iir | s->iir_fifo;
}

/* Room for what a 16550A driver may write after seeing THRE. */
static bool tx_room(const struct serial *s)
{
	return s->out_closed || s->tx_count <= TX_SIZE - FIFO_SIZE;
}

/* How often serial_exit() repeats its kick while the writer sits in write(). */
#define WRITER_KICK_NS 10000000L

static void wake_loop(struct serial *s)
{
	uint64_t one = 1;

	if (write(s->wake_fd, &one, sizeof(one)) < 0) {
		/* saturated counter: the loop is awake anyway */
	}
}

static void rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_count == RX_SIZE)
		return;
	s->rx[(s->rx_head + s->rx_count) % RX_SIZE] = c;
	s->rx_count++;
	s->st_rx++;
}

/* --report's "first guest output": the first byte on any console, once per VM. */
static void note_first_output(struct vm *vm)
{
	struct timespec ts;
	uint64_t zero = 0, ns;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	__atomic_compare_exchange_n(&vm->first_output_ns, &zero, ns, false, __ATOMIC_RELAXED,
				    __ATOMIC_RELAXED);
}

static void tx_push(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		rx_push(s, c);
		return;
	}
	if (s->out_closed || s->tx_count == TX_SIZE) {
		/* gone, or the guest ignored LSR.THRE: drop, as a real UART would */
		s->st_dropped++;
		return;
	}
	if (!s->st_tx++)
		note_first_output(s->vm);
	s->tx[(s->tx_head + s->tx_count) % TX_SIZE] = c;
	s->at_line_start = c == '\n';
	if (s->tx_count++ == 0)
		pthread_cond_signal(&s->tx_cond);
}

/* kvmini's own words on the console, in order with the guest's output (lock held). */
static void console_say(struct serial *s, const char *text)
{
	uint8_t mcr = s->mcr;

	s->mcr &= (uint8_t)~MCR_LOOP;	/* to the user even if the guest loops its UART */
	if (!s->at_line_start)
		tx_push(s, '\n');
	for (; *text; text++)
		tx_push(s, (uint8_t)*text);
	s->mcr = mcr;
}

#define CONSOLE_KEYS_HELP \
	"kvmini console keys: Ctrl-A x  quit (the guest stops)\n" \
	"                     Ctrl-A h  this help\n" \
	"                     Ctrl-A Ctrl-A  send Ctrl-A to the guest\n"

static uint8_t loopback_msr(uint8_t mcr)
{
	uint8_t m = 0;

	if (mcr & MCR_RTS)
		m |= MSR_CTS;
	if (mcr & MCR_DTR)
		m |= MSR_DSR;
	if (mcr & MCR_OUT1)
		m |= MSR_RI;
	if (mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

static void serial_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;
	uint8_t v = 0;

	(void)len;	/* byte registers: wider reads see the first byte */
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_RBR:
		if (s->lcr & LCR_DLAB) {
			v = s->dll;
		} else if (s->rx_count) {
			v = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % RX_SIZE;
			s->rx_count--;
			if (s->rx_paused && s->rx_count == 0)
				wake_loop(s);	/* resume reading stdin */
		}
		break;
	case UART_IER:
		v = (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR:
		v = read_iir(s);
		break;
	case UART_LCR:
		v = s->lcr;
		break;
	case UART_MCR:
		v = s->mcr;
		break;
	case UART_LSR:
		if (s->rx_count)
			v |= LSR_DR;
		if (tx_room(s))
			v |= LSR_THRE | (s->tx_count ? 0 : LSR_TEMT);
		else
			s->tx_full_waiting = true;
		break;
	case UART_MSR:
		if (s->mcr & MCR_LOOP) {
			v = loopback_msr(s->mcr);
		} else {
			v = s->msr;
			s->msr &= 0xf0;	/* reading clears the delta bits */
		}
		break;
	case UART_SCR:
		v = s->scr;
		break;
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	data[0] = v;
}

static void serial_write(void *opaque, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct serial *s = opaque;
	uint8_t v = data[0];

	(void)len;
	pthread_mutex_lock(&s->lock);
	switch (off) {
	case UART_THR:
		if (s->lcr & LCR_DLAB) {
			s->dll = v;
			break;
		}
		tx_push(s, v);
		/* transmission is instant unless the buffer is full */
		s->thr_pending = tx_room(s);
		if (!s->thr_pending)
			s->tx_full_waiting = true;
		break;
	case UART_IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
			break;
		}
		/* enabling THRI with an empty holding register raises THRE at once */
		if (!(s->ier & IER_THRI) && (v & IER_THRI) && tx_room(s))
			s->thr_pending = true;
		s->ier = v & 0x0f;
		break;
	case UART_FCR:
		s->iir_fifo = (v & FCR_FIFO_EN) ? IIR_FIFO_BITS : 0;
		if (v & FCR_CLEAR_RX)
			s->rx_count = 0;
		break;
	case UART_LCR:
		s->lcr = v;
		break;
	case UART_MCR:
		s->mcr = v & 0x1f;
		break;
	case UART_SCR:
		s->scr = v;
		break;
	default:
		break;	/* LSR and MSR are read-only */
	}
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
}

static const struct bus_ops serial_ops = {
	.read = serial_read,
	.write = serial_write,
};

/* Room again after a write: the THRE interrupt the guest waits for. Lock held. */
static void tx_drained(struct serial *s)
{
	if (s->tx_full_waiting && tx_room(s)) {
		s->tx_full_waiting = false;
		if (s->ier & IER_THRI)
			s->thr_pending = true;
		update_irq(s);
	}
}

/*
 * Write up to @len bytes at @buf, blocking. If someone else made @fd
 * non-blocking, wait for it in poll() and return 0. The bytes written or
 * -errno; a kick ends either wait (-EINTR or a short count).
 */
static ssize_t write_out(int fd, const uint8_t *buf, size_t len)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n = write(fd, buf, len);

	if (n >= 0)
		return n;
	if (errno != EAGAIN)
		return -errno;
	if (poll(&pfd, 1, -1) < 0)
		return -errno;
	return 0;
}

/* The writer thread: write (every thread may) and a wait for stdout to drain. */
static const char *const uart_syscalls[] = { "poll", "ppoll", NULL };

static const struct sandbox_io_class uart_io_class = {
	.name = "uart",
	.syscalls = uart_syscalls,
};
SANDBOX_IO_CLASS(uart_io_class);

/*
 * The writer thread: writes the buffer's oldest bytes with the lock
 * released. Ends once stopped with nothing left, or when stdout is gone
 * (out_closed: a write error, or serial_flush() gave up on it).
 */
static void *writer_thread(void *opaque)
{
	struct serial *s = opaque;
	char name[16];
	int ret;

	/* itself, by prctl: naming it from outside opens /proc/self/task/N/comm */
	snprintf(name, sizeof(name), "kvmini-ttyS%u", s->index);
	prctl(PR_SET_NAME, name);
	/* waits for the end of setup; -ECANCELED if the VM goes away first */
	ret = sandbox_enter_io(&uart_io_class);

	if (ret && ret != -ECANCELED)
		vm_request_stop(s->vm, STOP_ERROR, EXIT_ERROR);	/* no filter, no output */
	pthread_mutex_lock(&s->lock);
	while (!ret && !s->out_closed) {
		unsigned int head = s->tx_head, chunk = s->tx_count;
		ssize_t n;

		if (!chunk) {
			if (s->writer_stop)
				break;
			pthread_cond_wait(&s->tx_cond, &s->lock);
			continue;
		}
		if (head + chunk > TX_SIZE)
			chunk = TX_SIZE - head;
		/* vCPUs only append: the bytes from tx_head on stay as they are */
		s->writing = true;
		pthread_mutex_unlock(&s->lock);
		n = write_out(s->out_fd, s->tx + head, chunk);
		pthread_mutex_lock(&s->lock);
		s->writing = false;
		if (n == -EINTR)
			continue;	/* kicked: serial_flush() may have given up */
		if (n < 0) {
			s->out_closed = true;	/* EPIPE, EIO, EFBIG...: stop writing */
			break;
		}
		s->tx_head = (s->tx_head + (unsigned int)n) % TX_SIZE;
		s->tx_count -= (unsigned int)n;
		s->tx_written += (uint64_t)n;
		tx_drained(s);
		pthread_cond_broadcast(&s->written_cond);
	}
	if (s->out_closed) {
		s->tx_count = 0;	/* dropped: the transmitter looks empty */
		tx_drained(s);
	}
	s->writer_done = true;
	pthread_cond_broadcast(&s->written_cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int writer_start(struct serial *s, unsigned int index)
{
	int ret;

	s->index = index;
	ret = pthread_create(&s->writer, NULL, writer_thread, s);
	if (ret) {
		kv_err("cannot start the output thread of the UART on %s: %s", s->out_name,
		       strerror(ret));
		return -ret;
	}
	s->writer_started = true;
	return 0;
}

/* @ns from now, on written_cond's clock. */
static struct timespec deadline_in(long ns)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ns / 1000000000L;
	t.tv_nsec += ns % 1000000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

/* End the writer thread; call serial_flush() first, or what is left is lost. */
static void writer_stop(struct serial *s)
{
	struct timespec t;

	if (!s->writer_started)
		return;
	sandbox_abort();	/* it may still wait in sandbox_enter() */
	pthread_mutex_lock(&s->lock);
	s->writer_stop = true;
	pthread_cond_signal(&s->tx_cond);
	while (!s->writer_done) {
		/* a kick that lands just before write() is lost: repeat it */
		if (s->writing)
			signals_kick(s->writer);
		t = deadline_in(WRITER_KICK_NS);
		pthread_cond_timedwait(&s->written_cond, &s->lock, &t);
	}
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->writer, NULL);
	s->writer_started = false;
}

static void handle_input(struct serial *s, const uint8_t *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint8_t c = buf[i];

		if (s->in_tty && s->escape) {
			s->escape = false;
			if (c == 'x' || c == 'X') {
				console_say(s, "kvmini: Ctrl-A x: guest stopped, goodbye\n");
				vm_request_stop(s->vm, STOP_USER_QUIT, EXIT_POWEROFF);
				return;
			}
			if (c == 'h' || c == 'H') {
				console_say(s, CONSOLE_KEYS_HELP);
				continue;
			}
			if (c != CTRL_A)
				rx_push(s, CTRL_A);
		} else if (s->in_tty && c == CTRL_A) {
			s->escape = true;
			continue;
		}
		rx_push(s, c);
	}
}

static void pause_input(struct serial *s, bool pause)
{
	if (!s->in_registered || pause == s->rx_paused)
		return;
	s->rx_paused = pause;
	evloop_mod(s->vm->loop, s->in_fd, pause ? 0 : EPOLLIN);
}

static void stdin_ready(int fd, uint32_t events, void *opaque)
{
	struct serial *s = opaque;
	uint8_t buf[256];
	size_t room;
	ssize_t n;

	(void)events;
	pthread_mutex_lock(&s->lock);
	room = RX_SIZE - s->rx_count;
	if (room < 2) {	/* Ctrl-A Ctrl-A may need 2 */
		pause_input(s, true);
		goto out;
	}
	if (room > sizeof(buf))
		room = sizeof(buf);
	n = read(fd, buf, room / 2 ? room / 2 : 1);
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			goto out;
		evloop_del(s->vm->loop, fd);	/* EOF: the guest keeps running */
		s->in_registered = false;
		goto out;
	}
	handle_input(s, buf, (size_t)n);
	update_irq(s);
out:
	pthread_mutex_unlock(&s->lock);
}

static void wake_ready(int fd, uint32_t events, void *opaque)
{
	struct serial *s = opaque;
	uint64_t v;

	(void)events;
	if (read(fd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing new */
	}
	pthread_mutex_lock(&s->lock);
	if (s->rx_paused && s->rx_count < RX_SIZE / 2)
		pause_input(s, false);
	pthread_mutex_unlock(&s->lock);
}

/* One UART: the host fds behind it (in_fd -1: none); the board says where it is. */
struct serial_port_desc {
	int in_fd, out_fd;
	const char *out_name;	/* for messages */
	bool probed;		/* left out of firmware tables (inventory.h) */
	bool keys;		/* a terminal in the foreground: raw mode and Ctrl-A keys */
};

static void serial_free(struct serial *s)
{
	pthread_cond_destroy(&s->written_cond);
	pthread_cond_destroy(&s->tx_cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int serial_create(struct vm *vm, const struct serial_port_desc *d, unsigned int index,
			 struct serial **out)
{
	struct serial *s;
	struct board_uart u;
	pthread_condattr_t ca;
	int ret;

	ret = board_uart(index, &u);
	if (ret) {
		kv_err("this board has no UART %u", index);
		return ret;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->irq = (uint8_t)u.irq;
	s->uart = u;
	s->probed = d->probed;
	s->in_fd = d->in_fd;
	s->out_fd = d->out_fd;
	s->out_name = d->out_name;
	s->at_line_start = true;
	s->lcr = 0x03;
	s->mcr = MCR_OUT2;
	s->msr = MSR_DCD | MSR_DSR | MSR_CTS;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->tx_cond, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->written_cond, &ca);
	pthread_condattr_destroy(&ca);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = evloop_add(vm->loop, s->wake_fd, EPOLLIN, wake_ready, s);
	if (ret)
		goto err;

	/* output: never O_NONBLOCK, the file description is shared with the shell */
	ret = writer_start(s, index);
	if (ret)
		goto err;

	if (s->in_fd >= 0) {
		s->in_tty = d->keys;
		if (s->in_tty && term_raw(s->in_fd) < 0)
			kv_warn("cannot set the terminal to raw mode: %s", strerror(errno));
		/* regular files and /dev/null cannot be polled: no console input then */
		if (evloop_add(vm->loop, s->in_fd, EPOLLIN, stdin_ready, s) == 0)
			s->in_registered = true;
	}

	ret = bus_register(u.pio ? &vm->pio : &vm->mmio, u.base, u.len, &serial_ops, s);
	if (ret) {
		kv_err("cannot register the UART at 0x%llx: %s", (unsigned long long)u.base,
		       strerror(-ret));
		goto err;
	}
	*out = s;
	return 0;
err:
	writer_stop(s);
	if (s->in_registered)
		evloop_del(vm->loop, s->in_fd);
	if (s->wake_fd >= 0) {
		evloop_del(vm->loop, s->wake_fd);
		close(s->wake_fd);
	}
	serial_free(s);
	return ret;
}

#define QUIESCE_WAIT_MS 5000

/*
 * Last chance to deliver guest output: wait while the writer makes
 * progress. A reader that takes nothing for QUIESCE_WAIT_MS loses the rest
 * rather than hang kvmini's exit.
 */
static void serial_flush(struct serial *s)
{
	struct timespec t;
	uint64_t seen;

	pthread_mutex_lock(&s->lock);
	while (s->tx_count && !s->out_closed && s->writer_started && !s->writer_done) {
		seen = s->tx_written;
		t = deadline_in(QUIESCE_WAIT_MS * 1000000L);
		while (s->tx_count && s->tx_written == seen && !s->writer_done)
			if (pthread_cond_timedwait(&s->written_cond, &s->lock, &t) == ETIMEDOUT)
				break;
		if (s->tx_count && s->tx_written == seen && !s->writer_done) {
			/* once per boot, but --on-reboot restart boots again */
			kv_warn_ratelimited("%s accepts no more output; %u bytes of guest "
					    "output dropped", s->out_name, s->tx_count);
			s->out_closed = true;	/* the writer drops the rest and ends */
			if (s->writing)
				signals_kick(s->writer);
		}
	}
	pthread_mutex_unlock(&s->lock);
}

static void serial_quiesce(struct device *dev)
{
	serial_flush(container_of(dev, struct serial, dev));
	term_restore();
}

static void serial_destroy(struct device *dev)
{
	struct serial *s = container_of(dev, struct serial, dev);

	serial_quiesce(dev);
	writer_stop(s);
	close(s->wake_fd);
	serial_free(s);
}

static int serial_describe(struct device *dev, struct inventory *inv)
{
	struct serial *s = container_of(dev, struct serial, dev);
	struct inv_entry e = {
		.type = "serial", .role = INV_UART,
		.ranges = { { s->uart.base, s->uart.len, s->uart.pio } }, .nr_ranges = 1,
		.irq = (int)s->uart.irq, .probed = s->probed, .owner = s,
	};

	/* the platform's name for it ("com1"): the DSDT names its device after it */
	snprintf(e.name, sizeof(e.name), "%s", s->uart.name);
	return inventory_add(inv, &e);
}

static void serial_stats(struct device *dev,
			 void (*fn)(void *ctx, const char *name, uint64_t value), void *ctx)
{
	struct serial *s = container_of(dev, struct serial, dev);
	uint64_t tx, dropped, rx;

	pthread_mutex_lock(&s->lock);
	tx = s->st_tx;
	dropped = s->st_dropped;
	rx = s->st_rx;
	pthread_mutex_unlock(&s->lock);
	fn(ctx, "out_bytes", tx);
	fn(ctx, "dropped_bytes", dropped);
	fn(ctx, "in_bytes", rx);
}

/*
 * Snapshot: the registers, the owed THRE interrupt and the unread input.
 * Output not yet written to the host is the host's, not the guest's:
 * the writer still delivers it.
 */
#define SERIAL_STATE_VERSION	1
#define SERIAL_STATE_FIXED	12

static int serial_save(struct device *dev, void *buf, size_t len)
{
	struct serial *s = container_of(dev, struct serial, dev);
	uint8_t *p = buf;
	unsigned int i;
	int n;

	pthread_mutex_lock(&s->lock);
	n = SERIAL_STATE_FIXED + (int)s->rx_count;
	if (len < (size_t)n) {
		pthread_mutex_unlock(&s->lock);
		return -ENOSPC;
	}
	p[0] = SERIAL_STATE_VERSION;
	p[1] = s->ier;
	p[2] = s->iir_fifo;
	p[3] = s->lcr;
	p[4] = s->mcr;
	p[5] = s->msr;
	p[6] = s->scr;
	p[7] = s->dll;
	p[8] = s->dlm;
	p[9] = s->thr_pending || s->tx_full_waiting;
	put_le16(p + 10, (uint16_t)s->rx_count);
	for (i = 0; i < s->rx_count; i++)
		p[SERIAL_STATE_FIXED + i] = s->rx[(s->rx_head + i) % RX_SIZE];
	pthread_mutex_unlock(&s->lock);
	return n;
}

static int serial_restore(struct device *dev, const void *buf, size_t len)
{
	struct serial *s = container_of(dev, struct serial, dev);
	const uint8_t *p = buf;
	unsigned int rx;

	if (len < SERIAL_STATE_FIXED || p[0] != SERIAL_STATE_VERSION || p[9] > 1)
		return -EINVAL;
	rx = get_le16(p + 10);
	if (rx > RX_SIZE || len != SERIAL_STATE_FIXED + rx)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	s->ier = p[1] & 0x0f;
	s->iir_fifo = p[2] & IIR_FIFO_BITS;
	s->lcr = p[3];
	s->mcr = p[4] & 0x1f;
	s->msr = p[5];
	s->scr = p[6];
	s->dll = p[7];
	s->dlm = p[8];
	s->thr_pending = p[9];
	memcpy(s->rx, p + SERIAL_STATE_FIXED, rx);
	s->rx_head = 0;
	s->rx_count = rx;
	update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static const struct device_ops serial_ops_dev = {
	.save = serial_save,
	.restore = serial_restore,
	.describe = serial_describe,
	.stats = serial_stats,
	.quiesce = serial_quiesce,
	.destroy = serial_destroy,
};

static struct device_type serial_type;

static int serial_parse(void *conf, const char *opts, struct errmsg *err)
{
	return console_parse(conf, opts, err);
}

static int serial_open_host(const void *conf, const struct device_env *env, void **host,
			    struct errmsg *err)
{
	struct console_host *h = malloc(sizeof(*h));
	int ret;

	(void)env;
	if (!h)
		return errmsg_set(err, -ENOMEM, "out of memory");
	ret = console_open(conf, h, err);
	if (ret) {
		free(h);
		return ret;
	}
	*host = h;
	return 0;
}

static void serial_close_host(void *host)
{
	console_close(host);
	free(host);
}

/*
 * COM1 is the console, on what --serial names (stdin/stdout by default). COM2
 * exists only when the run asks for a separate error stream (kvmini run -- CMD):
 * its output is stderr.
 */
static int serial_init(struct vm *vm, const struct device_env *env, const void *conf,
		       void *host, unsigned int index, struct errmsg *err)
{
	const struct console_config *c = conf;
	const struct console_host *h = host;
	const struct serial_port_desc com[] = {
		{ h->in_fd, h->out_fd, h->name, false, h->keys },
		{ -1, STDERR_FILENO, "stderr", true, false },
	};
	unsigned int i, n = env->stderr_console ? 2 : 1;
	struct serial *s = NULL;
	int ret;

	(void)index;
	if (c && c->backend == CONSOLE_NONE) {
		/* no COM1, as QEMU's -serial none; the command mode needs its consoles */
		if (env->stderr_console)
			return errmsg_set(err, -EINVAL, "none: kvmini run -- CMD needs the serial "
					  "console for the command's output; use --serial null");
		return 0;
	}
	for (i = 0; i < n; i++) {
		ret = serial_create(vm, &com[i], i, &s);
		if (ret)
			return errmsg_set(err, ret, "%s", "");	/* serial_create() said why */
		device_add(vm, &s->dev, &serial_type, &serial_ops_dev);
	}
	return 0;
}

static struct device_type serial_type = {
	.name = "serial",
	.phase = PHASE_BASE,
	.conf_size = sizeof(struct console_config),
	.max = 1,
	.default_opts = "stdio",
	.help = "  --serial WHERE       the console: stdio (default), file=PATH (output only),\n"
		"                       pty (path on stderr), null, or none (no COM1 at all)\n",
	.help_after = "timeout",
	.parse = serial_parse,
	.open_host = serial_open_host,
	.close_host = serial_close_host,
	.create = serial_init,
};
DEVICE_REGISTER(serial_type);
