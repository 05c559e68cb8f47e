/*
 * arch.h's save and restore of the state KVM holds for an x86 VM (the
 * PICs, the IOAPIC, the PIT, the clock) and for each vCPU (registers,
 * FPU/XSAVE, XCRs, MSRs, LAPIC, events, debug registers, MP state).
 * A blob is a list of records {u32 kind, u32 len, bytes}; a restore checks
 * every record before it sets anything, then sets them in KVM's order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <linux/kvm.h>

#include "arch.h"
#include "le.h"
#include "log.h"
#include "snapshot.h"
#include "util.h"
#include "vm.h"

enum rec_kind {
	REC_REGS = 1, REC_SREGS, REC_XSAVE, REC_FPU, REC_XCRS, REC_MSRS, REC_LAPIC,
	REC_EVENTS, REC_DEBUGREGS, REC_MP_STATE, REC_TSC_KHZ,
	REC_PIC_MASTER = 32, REC_PIC_SLAVE, REC_IOAPIC, REC_PIT2, REC_CLOCK,
	REC_KINDS,
};

#define X86_SNAP_CAP_XSAVE	(1u << 0)
#define X86_SNAP_CAP_XCRS	(1u << 1)
#define X86_SNAP_CAP_EVENTS	(1u << 2)
#define X86_SNAP_CAP_DEBUGREGS	(1u << 3)
#define X86_SNAP_CAP_CLOCK	(1u << 4)
#define X86_SNAP_CAP_PIT2	(1u << 5)

#define MAX_MSRS	512
#define MSR_MTRR_DEF_TYPE	0x2ff	/* set at reset (cpu.c), not in KVM's list */

int x86_snap_probe(int kvm_fd, struct x86_snap **out)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	struct x86_snap *s;
	uint32_t i, n;

	*out = NULL;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return -errno;
	n = probe.nmsrs > MAX_MSRS ? MAX_MSRS : probe.nmsrs;
	list = calloc(1, sizeof(*list) + n * sizeof(list->indices[0]));
	s = calloc(1, sizeof(*s) + (n + 1) * sizeof(s->msrs[0]));
	if (!list || !s) {
		free(list);
		free(s);
		return -ENOMEM;
	}
	list->nmsrs = n;
	if (n && ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		free(list);
		free(s);
		return -errno;
	}
	for (i = 0; i < list->nmsrs && i < n; i++)
		s->msrs[s->nr_msrs++] = list->indices[i];
	s->msrs[s->nr_msrs++] = MSR_MTRR_DEF_TYPE;
	free(list);
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0) {
		s->caps |= X86_SNAP_CAP_XSAVE;
		s->xsave_size = sizeof(struct kvm_xsave);
#ifdef KVM_CAP_XSAVE2
		{
			int size = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);

			if (size > (int)sizeof(struct kvm_xsave))
				s->xsave_size = (uint32_t)size;
		}
#endif
	}
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) > 0)
		s->caps |= X86_SNAP_CAP_XCRS;
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_VCPU_EVENTS) > 0)
		s->caps |= X86_SNAP_CAP_EVENTS;
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS) > 0)
		s->caps |= X86_SNAP_CAP_DEBUGREGS;
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK) > 0)
		s->caps |= X86_SNAP_CAP_CLOCK;
	s->kvmclock_ctrl = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_KVMCLOCK_CTRL) > 0;
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT_STATE2) > 0)
		s->caps |= X86_SNAP_CAP_PIT2;
	*out = s;
	return 0;
}

/* ---- records out: one pass that also measures what it needs ---- */

struct rec_out {
	uint8_t *buf;
	size_t len, off;
};

static void rec_put(struct rec_out *o, uint32_t kind, const void *data, size_t n)
{
	if (o->buf && o->off <= o->len && o->len - o->off >= 8 + n) {
		put_le32(o->buf + o->off, kind);
		put_le32(o->buf + o->off + 4, (uint32_t)n);
		memcpy(o->buf + o->off + 8, data, n);
	}
	o->off += 8 + n;
}

static int rec_done(const struct rec_out *o)
{
	return o->off > o->len ? -ENOSPC : (int)o->off;
}

/* ---- records in ---- */

struct rec_in {
	const uint8_t *p[REC_KINDS];
	uint32_t len[REC_KINDS];
};

static int rec_split(const void *buf, size_t len, struct rec_in *in, const char *what)
{
	const uint8_t *p = buf;
	size_t off = 0;

	memset(in, 0, sizeof(*in));
	while (off < len) {
		uint32_t kind, n;

		if (len - off < 8) {
			kv_err("snapshot: %s state: a record is cut short", what);
			return -EINVAL;
		}
		kind = get_le32(p + off);
		n = get_le32(p + off + 4);
		off += 8;
		if (n > len - off || !kind || kind >= REC_KINDS || in->p[kind]) {
			kv_err("snapshot: %s state: record %u (%u bytes) is unknown, repeated or "
			       "too long", what, kind, n);
			return -EINVAL;
		}
		in->p[kind] = p + off;
		in->len[kind] = n;
		off += n;
	}
	return 0;
}

/* Record @kind into @dst of exactly @size bytes; -EINVAL if it is another size. */
static int rec_take(const struct rec_in *in, uint32_t kind, void *dst, size_t size,
		    const char *what, const char *name, bool needed)
{
	if (!in->p[kind]) {
		if (!needed)
			return 1;
		kv_err("snapshot: %s state has no %s", what, name);
		return -EINVAL;
	}
	if (in->len[kind] != size) {
		kv_err("snapshot: %s state: %s is %u bytes, this kvmini's is %zu", what, name,
		       in->len[kind], size);
		return -EINVAL;
	}
	memcpy(dst, in->p[kind], size);
	return 0;
}

/* ---- the VM ---- */

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int get_chip(struct vm *vm, uint32_t id, struct kvm_irqchip *c)
{
	memset(c, 0, sizeof(*c));
	c->chip_id = id;
	return ioctl(vm->vm_fd, KVM_GET_IRQCHIP, c) < 0 ? -errno : 0;
}

int arch_vm_save(struct vm *vm, void *buf, size_t len)
{
	struct x86_snap *s = x86_vm_snap(vm);
	struct rec_out o = { buf, len, 0 };
	static const uint32_t chips[] = { KVM_IRQCHIP_PIC_MASTER, KVM_IRQCHIP_PIC_SLAVE,
					  KVM_IRQCHIP_IOAPIC };
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(chips); i++) {
		ret = get_chip(vm, chips[i], &chip);
		if (ret) {
			kv_err("snapshot: KVM_GET_IRQCHIP %u failed: %s", chips[i], strerror(-ret));
			return ret;
		}
		rec_put(&o, REC_PIC_MASTER + i, &chip, sizeof(chip));
	}
	if (s->caps & X86_SNAP_CAP_PIT2) {
		memset(&pit, 0, sizeof(pit));
		if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit) < 0) {
			kv_err("snapshot: KVM_GET_PIT2 failed: %s", strerror(errno));
			return -errno;
		}
		rec_put(&o, REC_PIT2, &pit, sizeof(pit));
	}
	if (s->caps & X86_SNAP_CAP_CLOCK) {
		memset(&clock, 0, sizeof(clock));
		if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock) < 0) {
			kv_err("snapshot: KVM_GET_CLOCK failed: %s", strerror(errno));
			return -errno;
		}
		/* the time of day beside it, for the restore to add what passed */
		if (!(clock.flags & KVM_CLOCK_REALTIME)) {
			clock.realtime = realtime_ns();
			clock.flags |= KVM_CLOCK_REALTIME;
		}
		rec_put(&o, REC_CLOCK, &clock, sizeof(clock));
	}
	return rec_done(&o);
}

static int set_ioctl(int fd, unsigned long req, void *arg, const char *name, const char *what)
{
	if (ioctl(fd, req, arg) < 0) {
		kv_err("restore: %s for %s failed: %s", name, what, strerror(errno));
		return -errno;
	}
	return 0;
}

int arch_vm_restore(struct vm *vm, const void *buf, size_t len)
{
	uint64_t now;
	static const char *const chip_names[] = { "the master PIC", "the slave PIC", "the IOAPIC" };
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	struct rec_in in;
	unsigned int i;
	int ret;

	ret = rec_split(buf, len, &in, "the VM's");
	if (ret)
		return ret;
	for (i = 0; i < 3; i++) {
		ret = rec_take(&in, REC_PIC_MASTER + i, &chip, sizeof(chip), "the VM's",
			       chip_names[i], true);
		if (ret)
			return ret;
		if (chip.chip_id != (i == 2 ? KVM_IRQCHIP_IOAPIC : i)) {
			kv_err("snapshot: the VM's state: %s has chip id %u", chip_names[i],
			       chip.chip_id);
			return -EINVAL;
		}
		ret = set_ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip, "KVM_SET_IRQCHIP",
				chip_names[i]);
		if (ret)
			return ret;
	}
	ret = rec_take(&in, REC_PIT2, &pit, sizeof(pit), "the VM's", "the PIT", false);
	if (ret < 0)
		return ret;
	if (!ret) {
		ret = set_ioctl(vm->vm_fd, KVM_SET_PIT2, &pit, "KVM_SET_PIT2", "the PIT");
		if (ret)
			return ret;
	}
	ret = rec_take(&in, REC_CLOCK, &clock, sizeof(clock), "the VM's", "the clock", false);
	if (ret < 0)
		return ret;
	if (!ret) {
		/*
		 * The clock moves on by the time of day that passed since it was
		 * saved, so that the guest's time is right again (a clock set
		 * back on the host counts as no time passed).
		 */
		now = realtime_ns();
		if (clock.flags & KVM_CLOCK_REALTIME && now > clock.realtime)
			clock.clock += now - clock.realtime;
		clock.flags = 0;
		clock.realtime = clock.host_tsc = 0;
		ret = set_ioctl(vm->vm_fd, KVM_SET_CLOCK, &clock, "KVM_SET_CLOCK", "kvmclock");
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- one vCPU ---- */

static int vcpu_get(struct vcpu *v, unsigned long req, void *arg, const char *name)
{
	if (ioctl(v->fd, req, arg) < 0) {
		kv_err("snapshot: %s on vCPU %u failed: %s", name, v->index, strerror(errno));
		return -errno;
	}
	return 0;
}

/* The MSRs KVM reads back: one that fails is left out (a feature the CPUID hides). */
static int save_msrs(struct vcpu *v, const struct x86_snap *s, struct rec_out *o)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + s->nr_msrs * sizeof(m->entries[0]));
	uint32_t i, n = 0;
	int got;

	if (!m)
		return -ENOMEM;
	for (i = 0; i < s->nr_msrs; i++)
		m->entries[n++].index = s->msrs[i];
	for (;;) {
		m->nmsrs = n;
		got = ioctl(v->fd, KVM_GET_MSRS, m);
		if (got < 0) {
			kv_err("snapshot: KVM_GET_MSRS on vCPU %u failed: %s", v->index,
			       strerror(errno));
			free(m);
			return -errno;
		}
		if ((uint32_t)got >= n)
			break;
		/* entry @got is unreadable: drop it, read the rest again */
		memmove(&m->entries[got], &m->entries[got + 1],
			(n - (uint32_t)got - 1) * sizeof(m->entries[0]));
		n--;
	}
	rec_put(o, REC_MSRS, m->entries, n * sizeof(m->entries[0]));
	free(m);
	return 0;
}

int arch_vcpu_save(struct vcpu *v, void *buf, size_t len)
{
	struct x86_snap *s = x86_vm_snap(v->vm);
	struct rec_out o = { buf, len, 0 };
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dregs;
	struct kvm_mp_state mp;
	void *xsave;
	int ret, khz;

	memset(&regs, 0, sizeof(regs));
	memset(&sregs, 0, sizeof(sregs));
	if (vcpu_get(v, KVM_GET_REGS, &regs, "KVM_GET_REGS") ||
	    vcpu_get(v, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS"))
		return -EIO;
	rec_put(&o, REC_REGS, &regs, sizeof(regs));
	rec_put(&o, REC_SREGS, &sregs, sizeof(sregs));
	if (s->caps & X86_SNAP_CAP_XSAVE) {
		xsave = calloc(1, s->xsave_size);
		if (!xsave)
			return -ENOMEM;
#ifdef KVM_GET_XSAVE2
		ret = vcpu_get(v, s->xsave_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 :
			       KVM_GET_XSAVE, xsave, "KVM_GET_XSAVE");
#else
		ret = vcpu_get(v, KVM_GET_XSAVE, xsave, "KVM_GET_XSAVE");
#endif
		if (!ret)
			rec_put(&o, REC_XSAVE, xsave, s->xsave_size);
		free(xsave);
		if (ret)
			return ret;
	} else {
		memset(&fpu, 0, sizeof(fpu));
		if (vcpu_get(v, KVM_GET_FPU, &fpu, "KVM_GET_FPU"))
			return -EIO;
		rec_put(&o, REC_FPU, &fpu, sizeof(fpu));
	}
	if (s->caps & X86_SNAP_CAP_XCRS) {
		memset(&xcrs, 0, sizeof(xcrs));
		if (vcpu_get(v, KVM_GET_XCRS, &xcrs, "KVM_GET_XCRS"))
			return -EIO;
		rec_put(&o, REC_XCRS, &xcrs, sizeof(xcrs));
	}
	ret = save_msrs(v, s, &o);
	if (ret)
		return ret;
	memset(&lapic, 0, sizeof(lapic));
	memset(&mp, 0, sizeof(mp));
	if (vcpu_get(v, KVM_GET_LAPIC, &lapic, "KVM_GET_LAPIC") ||
	    vcpu_get(v, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE"))
		return -EIO;
	rec_put(&o, REC_LAPIC, &lapic, sizeof(lapic));
	rec_put(&o, REC_MP_STATE, &mp, sizeof(mp));
	if (s->caps & X86_SNAP_CAP_DEBUGREGS) {
		memset(&dregs, 0, sizeof(dregs));
		if (vcpu_get(v, KVM_GET_DEBUGREGS, &dregs, "KVM_GET_DEBUGREGS"))
			return -EIO;
		rec_put(&o, REC_DEBUGREGS, &dregs, sizeof(dregs));
	}
	if (s->caps & X86_SNAP_CAP_EVENTS) {
		memset(&events, 0, sizeof(events));
		if (vcpu_get(v, KVM_GET_VCPU_EVENTS, &events, "KVM_GET_VCPU_EVENTS"))
			return -EIO;
		rec_put(&o, REC_EVENTS, &events, sizeof(events));
	}
	/* the guest's TSC rate: a restore on a host of another rate must scale it */
	khz = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (khz > 0) {
		uint32_t k = (uint32_t)khz;

		rec_put(&o, REC_TSC_KHZ, &k, sizeof(k));
	}
	return rec_done(&o);
}

static int restore_xsave(struct vcpu *v, const struct x86_snap *s, const struct rec_in *in,
			 const char *what)
{
	struct kvm_fpu fpu;
	void *xsave;
	int ret;

	if (in->p[REC_XSAVE]) {
		if (!(s->caps & X86_SNAP_CAP_XSAVE)) {
			kv_err("snapshot: %s state has XSAVE state; this host's KVM has no "
			       "KVM_CAP_XSAVE", what);
			return -EOPNOTSUPP;
		}
		if (in->len[REC_XSAVE] < sizeof(struct kvm_xsave) ||
		    in->len[REC_XSAVE] > s->xsave_size) {
			kv_err("snapshot: %s state: %u bytes of XSAVE state, this host's KVM takes "
			       "%u", what, in->len[REC_XSAVE], s->xsave_size);
			return -EINVAL;
		}
		/* KVM reads its own size: the rest stays zero (features not in use) */
		xsave = calloc(1, s->xsave_size);
		if (!xsave)
			return -ENOMEM;
		memcpy(xsave, in->p[REC_XSAVE], in->len[REC_XSAVE]);
		ret = set_ioctl(v->fd, KVM_SET_XSAVE, xsave, "KVM_SET_XSAVE", what);
		free(xsave);
		return ret;
	}
	ret = rec_take(in, REC_FPU, &fpu, sizeof(fpu), what, "FPU state", true);
	if (!ret)
		ret = set_ioctl(v->fd, KVM_SET_FPU, &fpu, "KVM_SET_FPU", what);
	return ret;
}

static int restore_msrs(struct vcpu *v, const struct rec_in *in, const char *what)
{
	struct kvm_msrs *m;
	uint32_t n;
	int set;

	if (!in->p[REC_MSRS] || in->len[REC_MSRS] % sizeof(struct kvm_msr_entry) ||
	    in->len[REC_MSRS] / sizeof(struct kvm_msr_entry) > MAX_MSRS + 1) {
		kv_err("snapshot: %s state: no MSRs, or a malformed list", what);
		return -EINVAL;
	}
	n = in->len[REC_MSRS] / (uint32_t)sizeof(struct kvm_msr_entry);
	m = calloc(1, sizeof(*m) + in->len[REC_MSRS]);
	if (!m)
		return -ENOMEM;
	m->nmsrs = n;
	memcpy(m->entries, in->p[REC_MSRS], in->len[REC_MSRS]);
	for (uint32_t i = 0; i < n; i++)
		m->entries[i].reserved = 0;
	set = ioctl(v->fd, KVM_SET_MSRS, m);
	if (set < 0 || (uint32_t)set < n) {
		if (set < 0)
			kv_err("restore: KVM_SET_MSRS for %s failed: %s", what, strerror(errno));
		else
			kv_err("restore: %s: this host's KVM refuses MSR 0x%x; the snapshot is "
			       "from another CPU or KVM", what, m->entries[set].index);
		free(m);
		return -EINVAL;
	}
	free(m);
	return 0;
}

/*
 * The guest's TSC ran at the saved rate. Another rate here is scaled where
 * KVM can (KVM_CAP_TSC_CONTROL); else the guest's TSC-based time would run
 * fast or slow, which a restore says and allows (kvmclock still holds).
 */
static int restore_tsc_khz(struct vcpu *v, const struct rec_in *in, const char *what)
{
	uint32_t saved;
	int here, ret;

	ret = rec_take(in, REC_TSC_KHZ, &saved, sizeof(saved), what, "TSC rate", false);
	if (ret)
		return ret < 0 ? ret : 0;
	here = ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (here <= 0 || (uint32_t)here == saved)
		return 0;
	if (ioctl(v->fd, KVM_SET_TSC_KHZ, (unsigned long)saved) == 0)
		return 0;
	if (v->index == 0)
		kv_warn("restore: the snapshot's TSC ran at %u kHz, this host's at %d kHz, and its "
			"KVM cannot scale it (%s); the guest's TSC runs at the host's rate", saved,
			here, strerror(errno));
	return 0;
}

int arch_vcpu_restore(struct vcpu *v, const void *buf, size_t len)
{
	struct x86_snap *s = x86_vm_snap(v->vm);
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_lapic_state lapic;
	struct kvm_vcpu_events events;
	struct kvm_debugregs dregs;
	struct kvm_mp_state mp;
	struct rec_in in;
	char what[32];
	int ret;

	snprintf(what, sizeof(what), "vCPU %u's", v->index);
	ret = rec_split(buf, len, &in, what);
	if (ret)
		return ret;
	/* every fixed-size record is checked before KVM sees any */
	if (rec_take(&in, REC_REGS, &regs, sizeof(regs), what, "registers", true) ||
	    rec_take(&in, REC_SREGS, &sregs, sizeof(sregs), what, "special registers", true) ||
	    rec_take(&in, REC_LAPIC, &lapic, sizeof(lapic), what, "LAPIC", true) ||
	    rec_take(&in, REC_MP_STATE, &mp, sizeof(mp), what, "MP state", true) ||
	    rec_take(&in, REC_XCRS, &xcrs, sizeof(xcrs), what, "XCRs", false) < 0 ||
	    rec_take(&in, REC_DEBUGREGS, &dregs, sizeof(dregs), what, "debug registers",
		     false) < 0 ||
	    rec_take(&in, REC_EVENTS, &events, sizeof(events), what, "events", false) < 0)
		return -EINVAL;
	if ((in.p[REC_XCRS] && !(s->caps & X86_SNAP_CAP_XCRS)) ||
	    (in.p[REC_DEBUGREGS] && !(s->caps & X86_SNAP_CAP_DEBUGREGS)) ||
	    (in.p[REC_EVENTS] && !(s->caps & X86_SNAP_CAP_EVENTS))) {
		kv_err("snapshot: %s state needs KVM_CAP_XCRS, KVM_CAP_DEBUGREGS or "
		       "KVM_CAP_VCPU_EVENTS, which this host's KVM lacks", what);
		return -EOPNOTSUPP;
	}
	ret = restore_tsc_khz(v, &in, what);
	if (ret)
		return ret;
	/* sregs first: the APIC base and the mode the rest is read in */
	ret = set_ioctl(v->fd, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS", what);
	if (!ret)
		ret = set_ioctl(v->fd, KVM_SET_REGS, &regs, "KVM_SET_REGS", what);
	if (!ret)
		ret = restore_xsave(v, s, &in, what);
	if (!ret && in.p[REC_XCRS])
		ret = set_ioctl(v->fd, KVM_SET_XCRS, &xcrs, "KVM_SET_XCRS", what);
	if (!ret)
		ret = set_ioctl(v->fd, KVM_SET_LAPIC, &lapic, "KVM_SET_LAPIC", what);
	/* MSRs after the LAPIC: the TSC deadline is written to an APIC in that mode */
	if (!ret)
		ret = restore_msrs(v, &in, what);
	if (!ret)
		ret = set_ioctl(v->fd, KVM_SET_MP_STATE, &mp, "KVM_SET_MP_STATE", what);
	if (!ret && in.p[REC_DEBUGREGS])
		ret = set_ioctl(v->fd, KVM_SET_DEBUGREGS, &dregs, "KVM_SET_DEBUGREGS", what);
	/* pending events last: setting the state above would drop them */
	if (!ret && in.p[REC_EVENTS]) {
		events.flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
				KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM;
		ret = set_ioctl(v->fd, KVM_SET_VCPU_EVENTS, &events, "KVM_SET_VCPU_EVENTS", what);
	}
	/*
	 * A guest with kvmclock learns it was stopped, so its watchdogs do not
	 * take the jump of its clock for a hang. EINVAL: it has no kvmclock.
	 */
	if (!ret && s->kvmclock_ctrl && ioctl(v->fd, KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL)
		kv_warn("restore: KVM_KVMCLOCK_CTRL for %s failed: %s", what, strerror(errno));
	return ret;
}

/* ---- what the snapshot needs from the host ---- */

enum { W_CAPS, W_CPUID1_EAX, W_CPUID1_ECX, W_CPUID1_EDX, W_CPUID7_EBX, W_CPUID7_ECX,
       W_XCR0_LO, W_XSAVE_SIZE };

static const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c, uint32_t fn,
						 uint32_t idx)
{
	uint32_t i;

	for (i = 0; c && i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	return NULL;
}

void arch_snapshot_words(struct vm *vm, uint32_t *w)
{
	const struct kvm_cpuid2 *c = x86_vm_cpuid(vm);
	const struct kvm_cpuid_entry2 *e1 = cpuid_find(c, 1, 0), *e7 = cpuid_find(c, 7, 0);
	const struct kvm_cpuid_entry2 *ed = cpuid_find(c, 0xd, 0);
	struct x86_snap *s = x86_vm_snap(vm);

	memset(w, 0, ARCH_SNAPSHOT_WORDS * sizeof(*w));
	w[W_CAPS] = s->caps;
	if (e1) {
		w[W_CPUID1_EAX] = e1->eax;
		w[W_CPUID1_ECX] = e1->ecx;
		w[W_CPUID1_EDX] = e1->edx;
	}
	if (e7) {
		w[W_CPUID7_EBX] = e7->ebx;
		w[W_CPUID7_ECX] = e7->ecx;
	}
	if (ed)
		w[W_XCR0_LO] = ed->eax;
	w[W_XSAVE_SIZE] = s->xsave_size;
}

int arch_snapshot_check(struct vm *vm, const uint32_t *w, char *why, size_t whylen)
{
	uint32_t here[ARCH_SNAPSHOT_WORDS];
	static const struct { unsigned int word; const char *name; } feats[] = {
		{ W_CPUID1_ECX, "CPUID.1:ECX" }, { W_CPUID1_EDX, "CPUID.1:EDX" },
		{ W_CPUID7_EBX, "CPUID.7:EBX" }, { W_CPUID7_ECX, "CPUID.7:ECX" },
		{ W_XCR0_LO, "XCR0 features" },
	};
	/* the APIC ID and the hypervisor bit change with the vCPU and the host */
	static const uint32_t ignore1_ecx = 1u << 31;
	unsigned int i;
	uint32_t missing;

	arch_snapshot_words(vm, here);
	missing = w[W_CAPS] & ~here[W_CAPS];
	if (missing) {
		snprintf(why, whylen, "it needs KVM capabilities this host lacks (mask 0x%x: "
			 "XSAVE, XCRS, VCPU_EVENTS, DEBUGREGS, ADJUST_CLOCK, PIT_STATE2)", missing);
		return -EOPNOTSUPP;
	}
	for (i = 0; i < ARRAY_SIZE(feats); i++) {
		missing = w[feats[i].word] & ~here[feats[i].word];
		if (feats[i].word == W_CPUID1_ECX)
			missing &= ~ignore1_ecx;
		if (missing) {
			snprintf(why, whylen, "it was taken on a CPU with features this one lacks "
				 "(%s bits 0x%x)", feats[i].name, missing);
			return -EOPNOTSUPP;
		}
	}
	if (w[W_XSAVE_SIZE] > here[W_XSAVE_SIZE]) {
		snprintf(why, whylen, "its XSAVE area is %u bytes, this host's KVM takes %u",
			 w[W_XSAVE_SIZE], here[W_XSAVE_SIZE]);
		return -EOPNOTSUPP;
	}
	return 0;
}
