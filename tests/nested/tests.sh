#!/bin/sh
# Linux boot tests on real KVM: run inside the nested L1 (tests/nested/l1-init) or directly on a
# host with hardware KVM. POSIX sh: runs under busybox ash in L1 and under bash/dash on a host.
#
# Environment:
#   VMM          the VMM binary under test
#   VMM_KIND     kvmini (default) or qemu (validates the bed: QEMU -M microvm as the L2 VMM)
#   GUEST_DIR    tools/mkguest's cache layout (kernel/<v>/vmlinuz, guest/<v>/initramfs.cpio, ...)
#   OUT_DIR      where each test's log goes (<name>.log)
#   L2_TIMEOUT   seconds allowed for one guest run (default 120)
#   ONLY         space-separated test names to run (default: all)
#   LOG_TO_CONSOLE=1  also print each test's log between "NESTED-LOG-BEGIN <name>" and
#                "NESTED-LOG-END <name>" (the nested bed's only way out is the serial console)
# Prints "NESTED-RESULT <name> PASS|FAIL|SKIP <seconds> [reason]" per test.

ALL_TESTS="linux-6.1-boot linux-6.12-boot linux-6.1-reboot linux-6.12-reboot linux-smp-2
linux-smp-4 linux-memory-512M linux-cmdline linux-panic linux-pvh"

: "${VMM_KIND:=kvmini}" "${L2_TIMEOUT:=120}" "${OUT_DIR:=/tmp/nested}"
# Same as kvmini's default (vmm/config.h), for a fair comparison.
DEFAULT_CMDLINE="console=ttyS0 reboot=k panic=1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd 8250.nr_uarts=1 tsc=reliable no_timer_check"

now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# kvmini.cmd=BASE64 for the guest /init (see tools/mkguest --help).
enc() { printf 'kvmini.cmd=%s' "$(printf '%s' "$1" | base64 -w 0)"; }

kernel_of() { echo "$GUEST_DIR/kernel/$1/vmlinuz"; }
initrd_of() { echo "$GUEST_DIR/guest/$1/initramfs.cpio"; }

# vm_run KERNEL INITRD CMDLINE_EXTRA [--memory M] [--cpus N]: one guest run into $LOG,
# its exit status in $STATUS and wall time in $ELAPSED.
vm_run() {
	_kernel=$1 _initrd=$2 _extra=$3
	shift 3
	_mem=256M _cpus=1
	while [ $# -gt 0 ]; do
		case "$1" in
		--memory) _mem=$2; shift 2 ;;
		--cpus) _cpus=$2; shift 2 ;;
		*) echo "vm_run: unknown option $1" >&2; return 1 ;;
		esac
	done
	case "$VMM_KIND" in
	qemu)
		set -- "$VMM" -M microvm -accel kvm -cpu host -m "$_mem" -smp "$_cpus" \
			-nodefaults -no-user-config -display none -serial stdio -monitor none \
			-no-reboot -kernel "$_kernel" -initrd "$_initrd" \
			-append "$DEFAULT_CMDLINE $_extra" ;;
	*)
		set -- "$VMM" run --kernel "$_kernel" --initrd "$_initrd" --memory "$_mem" \
			--cpus "$_cpus" --cmdline "$_extra" ;;
	esac
	echo "+ $*" >"$LOG"
	_t0=$(now)
	timeout -s KILL "$L2_TIMEOUT" "$@" </dev/null >>"$LOG" 2>&1
	STATUS=$?
	ELAPSED=$(since "$_t0")
	echo "+ exit status $STATUS after ${ELAPSED}s" >>"$LOG"
	if [ "$STATUS" = 137 ]; then
		echo "+ killed: no exit within L2_TIMEOUT=${L2_TIMEOUT}s" >>"$LOG"
	fi
}

# The guest's console output, without carriage returns.
console() { tr -d '\r' <"$LOG"; }

need_marker() {
	console | grep -q -- "$1" && return 0
	REASON="no '$1' on the guest console (status $STATUS)"
	return 1
}

need_status() {
	[ "$STATUS" = "$1" ] && return 0
	REASON="exit status $STATUS, expected $1"
	[ "$STATUS" = 137 ] && REASON="timed out after ${L2_TIMEOUT}s (killed), expected status $1"
	return 1
}

# Value printed by the guest command as "KEY value".
guest_value() { console | sed -n "s/^$1 //p" | head -n 1; }

# boot KVER CMD [vm_run options]: run CMD in the guest, check it ran and powered off.
boot_cmd() {
	_v=$1 _cmd=$2
	shift 2
	vm_run "$(kernel_of "$_v")" "$(initrd_of "$_v")" "$(enc "$_cmd")" "$@"
	need_marker KVMINI-INIT-REACHED || return 1
	need_marker "KVMINI-CMD-END rc=0" || return 1
}

boot_test() {
	_rel=$(cat "$GUEST_DIR/kernel/$1/release")
	boot_cmd "$1" 'echo "KVMINI-UNAME $(uname -r)"' || return 1
	need_marker "KVMINI-UNAME $_rel" || return 1
	need_status 0
}

# QEMU runs with -no-reboot, so a guest reboot exits 0 there; kvmini reports it as 4.
reboot_status() { if [ "$VMM_KIND" = qemu ]; then echo 0; else echo 4; fi; }

reboot_test() {
	vm_run "$(kernel_of "$1")" "$(initrd_of "$1")" "$(enc 'echo KVMINI-BEFORE-REBOOT') kvmini.then=reboot"
	need_marker "KVMINI-CMD-END rc=0" || return 1
	need_status "$(reboot_status)"
}

smp_test() {
	boot_cmd 6.1 'echo "KVMINI-NPROC $(nproc)"' --cpus "$1" || return 1
	_n=$(guest_value KVMINI-NPROC)
	[ "$_n" = "$1" ] || { REASON="guest nproc is '$_n', expected $1"; return 1; }
	need_status 0
}

t_linux_6_1_boot() { boot_test 6.1; }
t_linux_6_12_boot() { boot_test 6.12; }
t_linux_6_1_reboot() { reboot_test 6.1; }
t_linux_6_12_reboot() { reboot_test 6.12; }
t_linux_smp_2() { smp_test 2; }
t_linux_smp_4() { smp_test 4; }

t_linux_memory_512M() {
	boot_cmd 6.1 'echo "KVMINI-MEMTOTAL $(awk "/^MemTotal:/ {print \$2}" /proc/meminfo)"; dmesg | grep "Memory:"' \
		--memory 512M || return 1
	_kb=$(guest_value KVMINI-MEMTOTAL)
	# MemTotal excludes the kernel image and early reservations: allow 5 %.
	awk -v kb="${_kb:-0}" 'BEGIN { exit !(kb <= 524288 && kb >= 524288 * 0.95) }' ||
		{ REASON="MemTotal ${_kb:-?} kB is not within 5 % of 524288 kB"; return 1; }
	need_status 0
}

t_linux_cmdline() {
	_extra='kvmini.test=a,b:c/d_e-f kvmini_flag quoted.param=x=y'
	vm_run "$(kernel_of 6.1)" "$(initrd_of 6.1)" \
		"$_extra $(enc 'echo "KVMINI-PROC-CMDLINE $(cat /proc/cmdline)"')"
	need_marker "KVMINI-CMD-END rc=0" || return 1
	_line=$(guest_value KVMINI-PROC-CMDLINE)
	case "$_line" in
	*"$_extra"*) ;;
	*) REASON="/proc/cmdline '$_line' lacks '$_extra'"; return 1 ;;
	esac
	case "$_line" in
	console=ttyS0*) ;;
	*) REASON="/proc/cmdline '$_line' does not start with the default console=ttyS0"; return 1 ;;
	esac
	need_status 0
}

# init exits: the kernel panics, panic=1 reboots after 1 s; the VMM must end promptly.
t_linux_panic() {
	vm_run "$(kernel_of 6.1)" "$(initrd_of 6.1)" "$(enc true) kvmini.then=exit"
	need_marker "Kernel panic" || return 1
	if [ "$STATUS" = 137 ]; then
		REASON="VMM still running ${L2_TIMEOUT}s after the guest panicked"
		return 1
	fi
	if [ "$VMM_KIND" != qemu ] && [ "$STATUS" = 0 ]; then
		REASON="exit status 0 after a guest kernel panic, expected nonzero"
		return 1
	fi
	return 0
}

# PVH: ELF vmlinux (from the -dbg package) with XEN_ELFNOTE_PHYS32_ENTRY.
t_linux_pvh() {
	_vmlinux=$GUEST_DIR/kernel/6.1/vmlinux
	if [ ! -f "$_vmlinux" ]; then
		REASON="no $_vmlinux (tools/mkguest pvh)"
		return 77
	fi
	vm_run "$_vmlinux" "$(initrd_of 6.1)" "$(enc 'echo "KVMINI-UNAME $(uname -r)"')"
	need_marker KVMINI-INIT-REACHED || return 1
	need_marker "KVMINI-UNAME $(cat "$GUEST_DIR/kernel/6.1/release")" || return 1
	need_status 0
}

selected() {
	[ -z "${ONLY:-}" ] && return 0
	for _o in $ONLY; do
		[ "$_o" = "$1" ] && return 0
	done
	return 1
}

run_all() {
	mkdir -p "$OUT_DIR"
	for name in $ALL_TESTS; do
		selected "$name" || continue
		fn=t_$(echo "$name" | tr '.-' '__')
		LOG=$OUT_DIR/$name.log REASON= STATUS=
		: >"$LOG"
		echo "NESTED-START $name"
		t0=$(now)
		"$fn"
		rc=$?
		secs=$(since "$t0")
		case $rc in
		0) verdict=PASS ;;
		77) verdict=SKIP ;;
		*) verdict=FAIL ;;
		esac
		echo "NESTED-RESULT $name $verdict $secs $REASON"
		if [ "${LOG_TO_CONSOLE:-0}" = 1 ]; then
			echo "NESTED-LOG-BEGIN $name"
			cat "$LOG"
			echo "NESTED-LOG-END $name"
		fi
	done
}

if [ "${1:-}" = --list ]; then
	echo $ALL_TESTS
	exit 0
fi
[ -n "${VMM:-}" ] || { echo "tests.sh: VMM is not set" >&2; exit 2; }
[ -n "${GUEST_DIR:-}" ] || { echo "tests.sh: GUEST_DIR is not set" >&2; exit 2; }
run_all
