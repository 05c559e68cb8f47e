#!/bin/sh
# Linux boot tests on real KVM: run inside the nested L1 (tests/nested/l1-init) or directly on a
# host with hardware KVM. POSIX sh: runs under busybox ash in L1 and under bash/dash on a host.
#
# Environment:
#   VMM          the VMM binary under test
#   VMM_KIND     kvmini (default) or qemu (validates the bed: QEMU -M microvm as the L2 VMM)
#   GUEST_DIR    tools/mkguest's cache layout (kernel/<v>/vmlinuz, guest/<v>/initramfs.cpio, ...)
#   OUT_DIR      where each test's log goes (<name>.log)
#   L2_TIMEOUT   seconds allowed for one guest run (default 60)
#   ONLY         space-separated test names to run (default: all)
#   GUEST_VERBOSE=1  boot guests without "quiet": full kernel log, but every console byte is a
#                nested exit: a boot takes ~30 s instead of ~5 s in the nested bed
#   LOG_TO_CONSOLE=1  also print each test's log between "NESTED-LOG-BEGIN <name>" and
#                "NESTED-LOG-END <name>" (the nested bed's only way out is the serial console)
# Prints "NESTED-RESULT <name> PASS|FAIL|SKIP <seconds> [reason]" per test.

ALL_TESTS="linux-6.1-boot linux-6.12-boot linux-6.1-reboot linux-6.12-reboot linux-smp-2
linux-smp-4 linux-memory-512M linux-cmdline linux-panic linux-pvh
exec-status exec-uname exec-stderr exec-timeout exec-default-guest quickstart-uname
exec-volume-rw exec-volume-ro exec-volume-timeout
blk-rw blk-root-6.1 blk-root-6.12 blk-kill9 firmware-multiboot"

: "${VMM_KIND:=kvmini}" "${L2_TIMEOUT:=60}" "${OUT_DIR:=/tmp/nested}"
# For VMM_KIND=qemu: kvmini's default command line (vmm/config.h).
DEFAULT_CMDLINE=${QEMU_CMDLINE:-"console=ttyS0 reboot=k panic=1 8250.nr_uarts=1 tsc=reliable no_timer_check"}

# GNU timeout puts its child in a new process group, out of reach of whoever kills ours.
TIMEOUT_FG=
timeout --foreground 5 true 2>/dev/null && TIMEOUT_FG=--foreground

now() { cut -d' ' -f1 /proc/uptime; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# kvmini.cmd=BASE64 for the guest /init (see tools/mkguest --help).
enc() {
	printf 'kvmini.cmd=%s' "$(printf '%s' "$1" | base64 -w 0)"
	[ "${GUEST_VERBOSE:-0}" = 1 ] || printf ' quiet'
}

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
			--cpus "$_cpus" --cmdline "$_extra" ${VMM_EXTRA:-} ;;
	esac
	echo "+ $*" >"$LOG"
	_t0=$(now)
	timeout $TIMEOUT_FG -s KILL "$L2_TIMEOUT" "$@" </dev/null >>"$LOG" 2>&1
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

reboot_test() {
	if [ "$VMM_KIND" = qemu ]; then
		REASON="QEMU microvm has no i8042: a reboot=k reboot does not end it"
		return 77
	fi
	vm_run "$(kernel_of "$1")" "$(initrd_of "$1")" "$(enc 'echo KVMINI-BEFORE-REBOOT') kvmini.then=reboot"
	need_marker "KVMINI-CMD-END rc=0" || return 1
	need_status 4
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

# The VMM controls the RAM the kernel sees: dmesg's "Memory: avail/total" total must be within
# 5 % of --memory. MemTotal also excludes the kernel image and early reservations (about 8 %
# of 512 MiB for Debian's cloud kernel, under QEMU too): it must be 85-100 %.
t_linux_memory_512M() {
	boot_cmd 6.1 'echo "KVMINI-MEMTOTAL $(awk "/^MemTotal:/ {print \$2}" /proc/meminfo)"
echo "KVMINI-MEMORY $(dmesg | sed -n "s|.*Memory: [0-9]*K/\([0-9]*\)K available.*|\1|p")"' \
		--memory 512M || return 1
	_kb=$(guest_value KVMINI-MEMTOTAL)
	_total=$(guest_value KVMINI-MEMORY)
	echo "+ MemTotal ${_kb:-?} kB, kernel's total RAM ${_total:-?} kB, --memory 524288 kB" >>"$LOG"
	awk -v kb="${_total:-0}" 'BEGIN { exit !(kb <= 524288 && kb >= 524288 * 0.95) }' ||
		{ REASON="kernel sees ${_total:-?} kB of RAM: not within 5 % of 524288 kB"; return 1; }
	awk -v kb="${_kb:-0}" 'BEGIN { exit !(kb <= 524288 && kb >= 524288 * 0.85) }' ||
		{ REASON="MemTotal ${_kb:-?} kB is not within 85-100 % of 524288 kB"; return 1; }
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
	if [ "$VMM_KIND" = qemu ]; then
		REASON="QEMU microvm has no i8042: panic=1's reboot does not end it"
		return 77
	fi
	vm_run "$(kernel_of 6.1)" "$(initrd_of 6.1)" "$(enc true) kvmini.then=exit"
	need_marker "Kernel panic" || return 1
	if [ "$STATUS" = 137 ]; then
		REASON="VMM still running ${L2_TIMEOUT}s after the guest panicked"
		return 1
	fi
	if [ "$STATUS" = 0 ]; then
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

# --- kvmini run -- CMD (the guest behaves like a process) ---

# vm_exec [kvmini run options and -- CMD]: stdout to $LOG.out, stderr to $LOG.err.
vm_exec() {
	echo "+ $VMM run $*" >"$LOG"
	_t0=$(now)
	timeout $TIMEOUT_FG -s KILL "$L2_TIMEOUT" "$VMM" run "$@" </dev/null \
		>"$LOG.out" 2>"$LOG.err"
	STATUS=$?
	ELAPSED=$(since "$_t0")
	{
		echo "--- stdout"; cat "$LOG.out"
		echo "--- stderr"; cat "$LOG.err"
		echo "+ exit status $STATUS after ${ELAPSED}s"
	} >>"$LOG"
}

exec_only_kvmini() {
	[ "$VMM_KIND" = qemu ] || return 1
	REASON="kvmini run -- CMD is kvmini's own"
	return 0
}

guest61() { echo --kernel "$(kernel_of 6.1)" --initrd "$(initrd_of 6.1)"; }

t_exec_status() {
	exec_only_kvmini && return 77
	vm_exec $(guest61) -- sh -c 'exit 7'
	need_status 7
}

t_exec_uname() {
	exec_only_kvmini && return 77
	vm_exec $(guest61) -- uname -r
	_want=$(cat "$GUEST_DIR/kernel/6.1/release")
	[ "$(cat "$LOG.out")" = "$_want" ] ||
		{ REASON="stdout is '$(head -c 200 "$LOG.out")', expected exactly '$_want'"; return 1; }
	need_status 0
}

t_exec_stderr() {
	exec_only_kvmini && return 77
	vm_exec $(guest61) -- sh -c 'echo to-stdout; echo to-stderr >&2; exit 3'
	[ "$(cat "$LOG.out")" = to-stdout ] ||
		{ REASON="stdout is '$(head -c 200 "$LOG.out")', expected exactly 'to-stdout'"; return 1; }
	grep -qx to-stderr "$LOG.err" ||
		{ REASON="stderr lacks the line 'to-stderr'"; return 1; }
	need_status 3
}

t_exec_timeout() {
	exec_only_kvmini && return 77
	vm_exec $(guest61) --timeout 10 -- sleep 1000
	grep -q -- "--timeout" "$LOG.err" || { REASON="no --timeout message on stderr"; return 1; }
	need_status 124
}

# No --kernel/--initrd: the default guest (tools/mkguest's default/ links).
t_exec_default_guest() {
	exec_only_kvmini && return 77
	_d=$OUT_DIR/default-guest
	mkdir -p "$_d"
	ln -sf "$(kernel_of 6.1)" "$_d/vmlinuz"
	ln -sf "$(initrd_of 6.1)" "$_d/initramfs.cpio"
	export KVMINI_GUEST_DIR="$_d"
	vm_exec -- sh -c 'echo default-guest-ok'
	unset KVMINI_GUEST_DIR
	[ "$(cat "$LOG.out")" = default-guest-ok ] ||
		{ REASON="stdout is '$(head -c 200 "$LOG.out")'"; return 1; }
	need_status 0
}

# What README's quick start shows: `kvmini run -- uname -a` on the default guest.
t_quickstart_uname() {
	exec_only_kvmini && return 77
	vm_exec $(guest61) -- uname -a
	grep -q "^Linux .* $(cat "$GUEST_DIR/kernel/6.1/release") " "$LOG.out" ||
		{ REASON="stdout is '$(head -c 200 "$LOG.out")', not uname -a of the guest"; return 1; }
	need_status 0
}

# --volume DIR: DIR is /volume, the command's working directory; rw changes come back.
# volume_dir NAME: $_vd with in.txt and sub/deep.txt; kvmini's images go to $_vt (TMPDIR).
volume_dir() {
	_vd=$OUT_DIR/$1 _vt=$OUT_DIR/$1.tmp
	rm -rf "$_vd" "$_vt"
	mkdir -p "$_vd/sub" "$_vt"
	export TMPDIR="$_vt"
	echo "input-data" >"$_vd/in.txt"
	echo "nested" >"$_vd/sub/deep.txt"
}

# No kvmini-volume-* image may be left behind after a clean run.
no_leftover_image() {
	_left=$(ls "$_vt"/kvmini-volume-* 2>/dev/null | head -n 1)
	[ -z "$_left" ] && return 0
	REASON="image left behind: $_left"
	return 1
}

t_exec_volume_rw() {
	exec_only_kvmini && return 77
	volume_dir volume-rw
	vm_exec $(guest61) --volume "$_vd" -- sh -c 'cat in.txt; echo result > out.txt; rm sub/deep.txt'
	{ echo "--- ls -laR $_vd"; ls -laR "$_vd"; } >>"$LOG" 2>&1
	need_status 0 || return 1
	[ "$(cat "$LOG.out")" = input-data ] ||
		{ REASON="stdout is '$(head -c 200 "$LOG.out")', expected 'input-data'"; return 1; }
	[ "$(cat "$_vd/out.txt" 2>/dev/null)" = result ] ||
		{ REASON="DIR/out.txt missing or wrong after the run"; return 1; }
	[ "$(cat "$_vd/in.txt" 2>/dev/null)" = input-data ] ||
		{ REASON="DIR/in.txt lost or changed"; return 1; }
	[ ! -e "$_vd/sub/deep.txt" ] || { REASON="the guest's rm did not come back"; return 1; }
	[ ! -e "$_vd/lost+found" ] || { REASON="mkfs's lost+found leaked into DIR"; return 1; }
	ls -a "$OUT_DIR" | grep -q '^\.volume-rw\.kvmini-' && { REASON="staging or backup dir left next to DIR"; return 1; }
	no_leftover_image
}

t_exec_volume_ro() {
	exec_only_kvmini && return 77
	volume_dir volume-ro
	vm_exec $(guest61) --volume "$_vd:ro" -- sh -c 'cat in.txt; echo x > new.txt'
	[ "$STATUS" != 0 ] || { REASON="writing to a :ro volume succeeded"; return 1; }
	[ "$(cat "$LOG.out")" = input-data ] ||
		{ REASON="stdout is '$(head -c 200 "$LOG.out")', expected 'input-data'"; return 1; }
	[ ! -e "$_vd/new.txt" ] || { REASON="new.txt appeared in a :ro DIR"; return 1; }
	[ "$(ls "$_vd" | tr '\n' ' ')" = "in.txt sub " ] || { REASON="DIR changed: $(ls "$_vd")"; return 1; }
	no_leftover_image
}

# A run that does not end normally leaves DIR alone and says where the image is.
t_exec_volume_timeout() {
	exec_only_kvmini && return 77
	volume_dir volume-timeout
	vm_exec $(guest61) --timeout 30 --volume "$_vd" -- \
		sh -c 'echo changed > in.txt; sync; sleep 1000'
	need_status 124 || return 1
	[ "$(cat "$_vd/in.txt")" = input-data ] || { REASON="DIR/in.txt changed"; return 1; }
	_img=$(sed -n 's/.*is in \([^ ]*\) (get it with.*/\1/p' "$LOG.err" | head -n 1)
	[ -n "$_img" ] && [ -f "$_img" ] || { REASON="no message naming the kept image"; return 1; }
	# informational: a slow nested bed may not reach the command within the timeout
	echo "+ in.txt in the kept image: $(debugfs -R "cat /in.txt" "$_img" 2>/dev/null)" >>"$LOG"
}

# --- virtio-blk over PCI ---

blk_only_kvmini() {
	[ "$VMM_KIND" = qemu ] || return 1
	REASON="the disk tests drive kvmini's --disk"
	return 0
}

# Two disks: serial (id=), size, read-only flag and refused writes, write + read back, discard.
t_blk_rw() {
	blk_only_kvmini && return 77
	_d=$OUT_DIR/blk-rw
	mkdir -p "$_d"
	dd if=/dev/zero of="$_d/a.img" bs=1M count=8 2>/dev/null
	dd if=/dev/zero of="$_d/r.img" bs=1M count=1 2>/dev/null
	printf 'ro-content' | dd of="$_d/r.img" conv=notrunc 2>/dev/null
	VMM_EXTRA="--disk path=$_d/a.img,id=kvmini-data --disk path=$_d/r.img,readonly=on"
	boot_cmd 6.1 'echo "KVMINI-SERIAL $(cat /sys/block/vda/serial)"
echo "KVMINI-SIZE $(cat /sys/block/vda/size)"
echo "KVMINI-RO $(cat /sys/block/vdb/ro)"
echo "KVMINI-RODATA $(head -c 10 /dev/vdb)"
printf hello-blk >/tmp/x
dd if=/tmp/x of=/dev/vda bs=512 count=1 conv=sync,fsync 2>/dev/null
echo "KVMINI-READBACK $(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 9)"
if dd if=/tmp/x of=/dev/vdb bs=512 count=1 conv=sync,fsync 2>/dev/null; then
	echo "KVMINI-ROWRITE accepted"
else
	echo "KVMINI-ROWRITE refused"
fi'
	_rc=$?
	VMM_EXTRA=
	[ $_rc = 0 ] || return 1
	[ "$(guest_value KVMINI-SERIAL)" = kvmini-data ] ||
		{ REASON="vda serial '$(guest_value KVMINI-SERIAL)'"; return 1; }
	[ "$(guest_value KVMINI-SIZE)" = 16384 ] ||
		{ REASON="vda size '$(guest_value KVMINI-SIZE)' sectors, expected 16384"; return 1; }
	[ "$(guest_value KVMINI-RO)" = 1 ] || { REASON="vdb is not read-only"; return 1; }
	[ "$(guest_value KVMINI-RODATA)" = ro-content ] || { REASON="vdb content"; return 1; }
	[ "$(guest_value KVMINI-READBACK)" = hello-blk ] || { REASON="vda read-back"; return 1; }
	[ "$(guest_value KVMINI-ROWRITE)" = refused ] || { REASON="a write to readonly vdb was accepted"; return 1; }
	[ "$(head -c 9 "$_d/a.img")" = hello-blk ] || { REASON="a.img on the host lacks the guest's write"; return 1; }
	[ "$(head -c 10 "$_d/r.img")" = ro-content ] || { REASON="r.img changed"; return 1; }
	need_status 0
}

# Boot with the ext4 root disk (root=/dev/vda), write a file, sync, power off; read it on the host.
blk_root_test() {
	blk_only_kvmini && return 77
	_img=$OUT_DIR/root-$1.ext4
	cp "$GUEST_DIR/guest/rootfs.ext4" "$_img"
	_word=kvmini-root-$1-$$
	VMM_EXTRA="--disk path=$_img"
	vm_run "$(kernel_of "$1")" "$(initrd_of "$1")" \
		"root=/dev/vda rw $(enc "cat /etc/kvmini-marker; echo $_word >/root/hello.txt; sync")"
	VMM_EXTRA=
	need_marker KVMINI-ROOTFS-OK || return 1
	need_marker "KVMINI-CMD-END rc=0" || return 1
	need_status 0 || return 1
	_got=$(debugfs -R 'cat /root/hello.txt' "$_img" 2>/dev/null)
	echo "+ debugfs cat /root/hello.txt: $_got" >>"$LOG"
	[ "$_got" = "$_word" ] || { REASON="debugfs reads '$_got' from the image, expected '$_word'"; return 1; }
}

t_blk_root_6_1() { blk_root_test 6.1; }
t_blk_root_6_12() { blk_root_test 6.12; }

# Data the guest flushed survives kill -9 of kvmini.
t_blk_kill9() {
	blk_only_kvmini && return 77
	_img=$OUT_DIR/kill9.ext4
	cp "$GUEST_DIR/guest/rootfs.ext4" "$_img"
	_word=kvmini-kill9-$$
	echo "+ $VMM run ... --disk path=$_img (killed with SIGKILL after the guest's sync)" >"$LOG"
	"$VMM" run --kernel "$(kernel_of 6.1)" --initrd "$(initrd_of 6.1)" --disk "path=$_img" \
		--cmdline "root=/dev/vda rw $(enc "echo $_word >/root/kill9.txt; sync; echo KVMINI-SYNCED; sleep 1000")" \
		</dev/null >>"$LOG" 2>&1 &
	_pid=$!
	_t=0
	while [ $_t -lt "$L2_TIMEOUT" ] && ! grep -q KVMINI-SYNCED "$LOG"; do
		sleep 1
		_t=$((_t + 1))
	done
	kill -9 $_pid 2>/dev/null
	wait $_pid 2>/dev/null
	grep -q KVMINI-SYNCED "$LOG" || { REASON="the guest never reported its sync"; return 1; }
	_got=$(debugfs -R 'cat /root/kill9.txt' "$_img" 2>/dev/null)
	echo "+ after kill -9, debugfs cat /root/kill9.txt: $_got" >>"$LOG"
	[ "$_got" = "$_word" ] || { REASON="after kill -9 the image has '$_got', expected '$_word'"; return 1; }
}

# The multiboot test payload (firmware/multiboot) on real KVM: every check passes, and it
# reports through the exit device (0 failures: status 1).
t_firmware_multiboot() {
	exec_only_kvmini && return 77
	_fw=${FW_DIR:-/nested}
	if [ ! -f "$_fw/multiboot.elf" ]; then
		REASON="no multiboot.elf (build kvmini's firmware first)"
		return 77
	fi
	echo "+ $VMM run --kernel multiboot.elf ..." >"$LOG"
	timeout $TIMEOUT_FG -s KILL "$L2_TIMEOUT" "$VMM" run --kernel "$_fw/multiboot.elf" \
		--memory 256M --cmdline mbtest=kvmini-multiboot --initrd "$_fw/multiboot.env" \
		--initrd "$_fw/multiboot.data" </dev/null >"$LOG.out" 2>>"$LOG"
	STATUS=$?
	cat "$LOG.out" >>"$LOG"
	cmp -s "$LOG.out" "$_fw/multiboot.expected" ||
		{ REASON="serial output differs from multiboot.expected"; return 1; }
	need_status 1
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
	_tmpdir_was=${TMPDIR-}
	for name in $ALL_TESTS; do
		selected "$name" || continue
		# tests may point TMPDIR at their own directory; start each from the original
		if [ -n "$_tmpdir_was" ]; then export TMPDIR="$_tmpdir_was"; else unset TMPDIR; fi
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
