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
exec-status exec-uname exec-stderr exec-timeout exec-default-guest quickstart-uname exec-report
exec-volume-rw exec-volume-ro exec-volume-timeout
blk-rw blk-root-6.1 blk-root-6.12 blk-kill9 blk-qcow2-root blk-live-snapshot firmware-multiboot api-stop stat-debugfs firmware-testdev firmware-ioapic qemu-kvm-linux
net-vhost-on net-vhost-off net-two-nics net-missing-tap net-vhost-unavailable"

: "${VMM_KIND:=kvmini}" "${L2_TIMEOUT:=60}" "${OUT_DIR:=/tmp/nested}"
# For VMM_KIND=qemu: kvmini's default command line (vmm/cli/config.h).
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

# qemu_net_args SPEC...: QEMU's options for kvmini's --net tap=NAME[,mac=MAC][,vhost=auto|on|off]
# (virtio-net-pci on a tap; vhost=auto is on when /dev/vhost-net exists, as kvmini does).
qemu_net_args() {
	_qi=0
	for _spec in "$@"; do
		_qtap= _qmac= _qvh=auto
		for _kv in $(echo "$_spec" | tr ',' ' '); do
			case "$_kv" in
			tap=*) _qtap=${_kv#tap=} ;;
			mac=*) _qmac=${_kv#mac=} ;;
			vhost=*) _qvh=${_kv#vhost=} ;;
			esac
		done
		if [ "$_qvh" = auto ]; then
			_qvh=off
			[ -c /dev/vhost-net ] && _qvh=on
		fi
		printf ' -netdev tap,id=n%s,ifname=%s,script=no,downscript=no,vhost=%s' "$_qi" "$_qtap" "$_qvh"
		# romfile=: no option ROM (microvm boots no firmware driver; efi-virtio.rom is not in L1)
		printf ' -device virtio-net-pci,netdev=n%s%s,romfile=' "$_qi" "${_qmac:+,mac=$_qmac}"
		_qi=$((_qi + 1))
	done
}

# vm_run KERNEL INITRD CMDLINE_EXTRA [--memory M] [--cpus N] [--net SPEC]...: one guest run
# into $LOG, its exit status in $STATUS and wall time in $ELAPSED. --net is kvmini's option;
# for QEMU it becomes -netdev tap + virtio-net-pci (microvm with pcie=on).
vm_run() {
	_kernel=$1 _initrd=$2 _extra=$3
	shift 3
	_mem=256M _cpus=1 _nets=
	while [ $# -gt 0 ]; do
		case "$1" in
		--memory) _mem=$2; shift 2 ;;
		--cpus) _cpus=$2; shift 2 ;;
		--net) _nets="$_nets $2"; shift 2 ;;
		*) echo "vm_run: unknown option $1" >&2; return 1 ;;
		esac
	done
	case "$VMM_KIND" in
	qemu)
		_machine=microvm _netargs=
		if [ -n "$_nets" ]; then
			_machine=microvm,pcie=on
			_netargs=$(qemu_net_args $_nets)
		fi
		set -- "$VMM" -M "$_machine" -accel kvm -cpu host -m "$_mem" -smp "$_cpus" \
			-nodefaults -no-user-config -display none -serial stdio -monitor none \
			-no-reboot -kernel "$_kernel" -initrd "$_initrd" \
			-append "$DEFAULT_CMDLINE $_extra" $_netargs ;;
	*)
		_netargs=
		for _n in $_nets; do _netargs="$_netargs --net $_n"; done
		set -- "$VMM" run --kernel "$_kernel" --initrd "$_initrd" --memory "$_mem" \
			--cpus "$_cpus" --cmdline "$_extra" ${VMM_EXTRA:-} $_netargs ;;
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

# --report in -- CMD mode: the guest init marks the command's start (kvmini-exit start); the
# report's moments are all there and in order, and its status is the command's.
t_exec_report() {
	exec_only_kvmini && return 77
	_rep=$OUT_DIR/exec-report.json
	rm -f "$_rep"
	vm_exec $(guest61) --report "$_rep" -- sh -c 'echo reported; exit 5'
	[ -f "$_rep" ] || { REASON="no report written"; return 1; }
	cat "$_rep" >>"$LOG"
	_prev=-1
	for _k in exec_ms vm_ready_ms command_start_ms command_end_ms stop_ms; do
		_v=$(sed -n "s/.*\"$_k\": *\([0-9.]*\),*$/\1/p" "$_rep")
		[ -n "$_v" ] || { REASON="the report's $_k is missing or null"; return 1; }
		awk -v a="$_prev" -v b="$_v" 'BEGIN { exit !(b >= a) }' ||
			{ REASON="$_k ($_v) comes before the moment ahead of it ($_prev)"; return 1; }
		_prev=$_v
	done
	grep -q '"first_output_ms": *[0-9]' "$_rep" || { REASON="no first_output_ms"; return 1; }
	grep -q '"status": *5,' "$_rep" || { REASON="the report's status is not 5"; return 1; }
	grep -q '"stop_reason": *"guest-exit"' "$_rep" || { REASON="stop_reason is not guest-exit"; return 1; }
	need_status 5
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
	_img=$(sed -n 's/.*is in \([^;]*\); get the files with: kvmini unpack .*/\1/p' "$LOG.err" |
		head -n 1)
	[ -n "$_img" ] && [ -f "$_img" ] || { REASON="no message naming the kept image"; return 1; }
	# the hint works: kvmini unpack gets the files out of the kept image
	rm -rf "$_vd.unpacked"
	"$VMM" unpack "$_img" "$_vd.unpacked" >>"$LOG" 2>&1 ||
		{ REASON="kvmini unpack of the kept image failed"; return 1; }
	[ -f "$_vd.unpacked/in.txt" ] || { REASON="kvmini unpack: no in.txt"; return 1; }
	# informational: a slow nested bed may not reach the command within the timeout
	echo "+ in.txt in the kept image: $(cat "$_vd.unpacked/in.txt")" >>"$LOG"
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

# kvmini stop NAME: the ACPI power button, the guest's /init syncs and powers off; the file it
# wrote (not synced by the command itself) is on the image, and kvmini exits 0.
t_api_stop() {
	blk_only_kvmini && return 77
	_img=$OUT_DIR/api-stop.ext4
	cp "$GUEST_DIR/guest/rootfs.ext4" "$_img"
	_word=kvmini-api-stop-$$
	_name=nested-stop-$$
	mkdir -p /run
	echo "+ $VMM run --name $_name ... --disk path=$_img; then $VMM stop $_name" >"$LOG"
	"$VMM" run --name "$_name" --kernel "$(kernel_of 6.1)" --initrd "$(initrd_of 6.1)" \
		--disk "path=$_img" --timeout "$L2_TIMEOUT" \
		--cmdline "root=/dev/vda rw $(enc "echo $_word >/root/stop.txt; echo KVMINI-WROTE; sleep 1000")" \
		</dev/null >>"$LOG" 2>&1 &
	_pid=$!
	_t=0
	while [ $_t -lt "$L2_TIMEOUT" ] && ! grep -q KVMINI-WROTE "$LOG"; do
		sleep 1
		_t=$((_t + 1))
	done
	grep -q KVMINI-WROTE "$LOG" || { kill -9 $_pid 2>/dev/null; wait $_pid; REASON="the guest never wrote"; return 1; }
	"$VMM" info "$_name" >>"$LOG" 2>&1
	"$VMM" stop --timeout 30 "$_name" >>"$LOG" 2>&1
	_crc=$?
	wait $_pid
	STATUS=$?
	echo "+ kvmini stop: status $_crc; kvmini run: status $STATUS" >>"$LOG"
	[ $_crc = 0 ] || { REASON="kvmini stop exited $_crc (5: the guest ignored the button)"; return 1; }
	need_marker KVMINI-POWER-BUTTON || return 1
	need_status 0 || return 1
	[ ! -e "/run/kvmini/$_name.sock" ] || { REASON="the API socket is left behind"; return 1; }
	_got=$(debugfs -R 'cat /root/stop.txt' "$_img" 2>/dev/null)
	echo "+ debugfs cat /root/stop.txt: $_got" >>"$LOG"
	[ "$_got" = "$_word" ] || { REASON="after kvmini stop the image has '$_got', expected '$_word'"; return 1; }
}

# kvmini stat against the kernel's own debugfs files for the same VM: both read KVM's counters,
# so each value kvmini stat reports lies between a debugfs read just before and one just after.
t_stat_debugfs() {
	exec_only_kvmini && return 77
	mkdir -p /run
	mount | grep -q ' /sys/kernel/debug ' || mount -t debugfs none /sys/kernel/debug 2>/dev/null
	[ -d /sys/kernel/debug/kvm ] || { REASON="no /sys/kernel/debug/kvm"; return 77; }
	_name=nested-stat-$$
	echo "+ $VMM run --name $_name ... (a booted Debian guest that waits); kvmini stat -1 --json" >"$LOG"
	"$VMM" run --name "$_name" --kernel "$(kernel_of 6.1)" --initrd "$(initrd_of 6.1)" \
		--timeout "$L2_TIMEOUT" --cmdline "$(enc "echo KVMINI-UP; sleep 1000")" \
		</dev/null >>"$LOG" 2>&1 &
	_pid=$!
	_t=0
	while [ $_t -lt "$L2_TIMEOUT" ] && ! grep -q KVMINI-UP "$LOG"; do
		sleep 1
		_t=$((_t + 1))
	done
	grep -q KVMINI-UP "$LOG" || { kill -9 $_pid 2>/dev/null; wait $_pid; REASON="the guest never came up"; return 1; }
	_dir=$(ls -d /sys/kernel/debug/kvm/"$_pid"-* 2>/dev/null | head -n 1)
	[ -n "$_dir" ] || { kill -9 $_pid; wait $_pid; REASON="no debugfs directory for PID $_pid"; return 1; }
	_ok=1
	for _c in exits halt_exits io_exits mmio_exits irq_exits remote_tlb_flush; do
		[ -f "$_dir/$_c" ] || continue
		_a=$(cat "$_dir/$_c")
		_k=$("$VMM" stat -1 -s 0.2 --json -f "^$_c\$" "$_name" 2>>"$LOG" |
			sed -n 's/.*"total":\([0-9]*\).*/\1/p')
		_b=$(cat "$_dir/$_c")
		echo "+ $_c: debugfs before $_a, kvmini stat $_k, debugfs after $_b" >>"$LOG"
		if [ -z "$_k" ] || [ "$_k" -lt "$_a" ] || [ "$_k" -gt "$_b" ]; then
			_ok=0
			REASON="$_c: kvmini stat says '$_k', debugfs $_a..$_b"
		fi
	done
	"$VMM" stat -1 -s 0.5 "$_name" >>"$LOG" 2>&1
	"$VMM" stop --force "$_name" >>"$LOG" 2>&1
	wait $_pid
	STATUS=$?
	[ $_ok = 1 ] || return 1
	need_status 0 || return 1
	# a VM kvmini stat cannot ask (no API socket, as another monitor's): read from debugfs
	: >"$LOG.2"
	"$VMM" run --api-socket none --kernel "$(kernel_of 6.1)" --initrd "$(initrd_of 6.1)" \
		--timeout "$L2_TIMEOUT" --cmdline "$(enc "echo KVMINI-UP; sleep 1000")" \
		</dev/null >>"$LOG.2" 2>&1 &
	_pid=$!
	_t=0
	while [ $_t -lt "$L2_TIMEOUT" ] && ! grep -q KVMINI-UP "$LOG.2"; do
		sleep 1
		_t=$((_t + 1))
	done
	_j=$("$VMM" stat -1 -s 0.2 --json -f '^exits$' -p "$_pid" 2>>"$LOG")
	echo "+ kvmini stat -p $_pid (no socket): $_j" >>"$LOG"
	kill -TERM $_pid 2>/dev/null
	wait $_pid
	echo "$_j" | grep -q '"source":"debugfs"' ||
		{ REASON="kvmini stat -p did not read debugfs for a VM without a socket"; return 1; }
	echo "$_j" | grep -q '"name":"exits","total":[1-9]' ||
		{ REASON="kvmini stat -p read no exits from debugfs"; return 1; }
}

# A qcow2 root disk over a raw backing file (kvmini snapshot-disk makes the overlay): the
# guest writes a file and syncs; the raw base keeps its bytes, and a second boot on the
# overlay reads the file back.
t_blk_qcow2_root() {
	blk_only_kvmini && return 77
	_base=$OUT_DIR/qcow2-base.ext4 _ov=$OUT_DIR/qcow2-root.qcow2
	rm -f "$_ov"
	cp "$GUEST_DIR/guest/rootfs.ext4" "$_base"
	_sum=$(sha256sum <"$_base")
	_word=kvmini-qcow2-$$
	"$VMM" snapshot-disk --image "$_base" --file "$_ov" >"$LOG.snap" 2>&1 ||
		{ REASON="snapshot-disk failed: $(cat "$LOG.snap")"; return 1; }
	VMM_EXTRA="--disk path=$_ov,format=qcow2"
	# the second boot writes into L2 tables the first one made (ext4's orphan and journal
	# upkeep): clusters allocated there must read back (they once gave I/O errors)
	vm_run "$(kernel_of 6.1)" "$(initrd_of 6.1)" \
		"root=/dev/vda rw $(enc "cat /etc/kvmini-marker; echo $_word >/root/hello.txt; sync; mount -o remount,ro /; sync")"
	cp "$LOG" "$LOG.write"
	need_marker KVMINI-ROOTFS-OK && need_marker "KVMINI-CMD-END rc=0" && need_status 0 ||
		{ VMM_EXTRA=; return 1; }
	[ "$(sha256sum <"$_base")" = "$_sum" ] ||
		{ VMM_EXTRA=; REASON="the raw backing file changed under its overlay"; return 1; }
	# the second boot reads the first one's file, then writes 1 MiB and reads it back from
	# the disk (page cache dropped)
	vm_run "$(kernel_of 6.1)" "$(initrd_of 6.1)" \
		"root=/dev/vda rw $(enc 'echo "KVMINI-QCOW2-READ $(cat /root/hello.txt)"; dd if=/dev/urandom of=/root/blob bs=64k count=16 2>/dev/null; a=$(md5sum </root/blob); sync; echo 3 >/proc/sys/vm/drop_caches; b=$(md5sum </root/blob); [ "$a" = "$b" ] && echo KVMINI-QCOW2-BLOB same || echo KVMINI-QCOW2-BLOB differ; mount -o remount,ro /; sync')"
	VMM_EXTRA=
	need_status 0 || return 1
	[ "$(guest_value KVMINI-QCOW2-READ)" = "$_word" ] ||
		{ REASON="the second boot read '$(guest_value KVMINI-QCOW2-READ)', expected '$_word'"; return 1; }
	[ "$(guest_value KVMINI-QCOW2-BLOB)" = same ] ||
		{ REASON="1 MiB written in the second boot read back '$(guest_value KVMINI-QCOW2-BLOB)'"; return 1; }
	echo "+ overlay $(du -k "$_ov" | cut -f1) KiB over a $(du -k "$_base" | cut -f1) KiB base" >>"$LOG"
}

# kvmini snapshot-disk NAME while a Debian guest keeps rewriting a 2 MiB file on its ext4 root:
# each pass is synced and announced; after the live snapshot and two more passes, a STOP on a
# second (read-only) disk ends the loop. The guest then reads its last pass back (page cache
# dropped) and must see no I/O error; a second boot from the overlay reads it again.
t_blk_live_snapshot() {
	blk_only_kvmini && return 77
	_img=$OUT_DIR/live-base.ext4 _ov=$OUT_DIR/live-top.qcow2 _sig=$OUT_DIR/live-signal
	rm -f "$_ov"
	cp "$GUEST_DIR/guest/rootfs.ext4" "$_img"
	dd if=/dev/zero of="$_sig" bs=64k count=1 status=none
	_name=nested-live-$$
	mkdir -p /run
	_cmd='p=0; while [ $p -lt 300 ]; do p=$((p+1)); yes "kvmini live pass $p" | head -c 2097152 >/root/live.dat; sync; echo "KVMINI-LIVE-PASS $p"; echo 3 >/proc/sys/vm/drop_caches; [ "$(head -c 4 /dev/vdb)" = STOP ] && break; done; a=$(yes "kvmini live pass $p" | head -c 2097152 | md5sum); echo 3 >/proc/sys/vm/drop_caches; b=$(md5sum </root/live.dat); [ "$a" = "$b" ] && echo "KVMINI-LIVE-OK $p"; mount -o remount,ro /; sync'
	echo "+ $VMM run --name $_name ... --disk path=$_img --disk path=$_sig,readonly=on; $VMM snapshot-disk $_name" >"$LOG"
	"$VMM" run --name "$_name" --kernel "$(kernel_of 6.1)" --initrd "$(initrd_of 6.1)" \
		--disk "path=$_img" --disk "path=$_sig,readonly=on" --timeout "$L2_TIMEOUT" \
		--cmdline "root=/dev/vda rw $(enc "$_cmd")" </dev/null >>"$LOG" 2>&1 &
	_pid=$!
	_pass() {
		_p=$(console | sed -n 's/^KVMINI-LIVE-PASS \([0-9]*\)$/\1/p' | tail -n 1)
		echo "${_p:-0}"
	}
	_wait_pass() {
		_t=0
		while [ $_t -lt "$L2_TIMEOUT" ] && [ "$(_pass)" -lt "$1" ] && kill -0 $_pid 2>/dev/null; do
			sleep 1
			_t=$((_t + 1))
		done
		[ "$(_pass)" -ge "$1" ]
	}
	_wait_pass 1 || { kill -9 $_pid 2>/dev/null; wait $_pid; REASON="the guest never wrote a pass"; return 1; }
	"$VMM" snapshot-disk "$_name" --disk disk0 --file "$_ov" >>"$LOG" 2>&1
	_src=$?
	_at=$(_pass)
	echo "+ snapshot-disk: status $_src after pass $_at" >>"$LOG"
	[ $_src = 0 ] || { kill -9 $_pid 2>/dev/null; wait $_pid; REASON="snapshot-disk exited $_src"; return 1; }
	_wait_pass $((_at + 2)) || { kill -9 $_pid 2>/dev/null; wait $_pid; REASON="no pass after the snapshot"; return 1; }
	printf STOP | dd of="$_sig" conv=notrunc status=none
	wait $_pid
	STATUS=$?
	need_status 0 || return 1
	_last=$(guest_value KVMINI-LIVE-OK)
	[ -n "$_last" ] && [ "$_last" -gt "$_at" ] ||
		{ REASON="the guest read back '$_last' (KVMINI-LIVE-OK), after a snapshot at pass $_at"; return 1; }
	! console | grep -q -e 'I/O error' -e 'EXT4-fs error' ||
		{ REASON="the guest saw an I/O error"; return 1; }
	cp "$LOG" "$LOG.live"
	VMM_EXTRA="--disk path=$_ov,format=qcow2"
	vm_run "$(kernel_of 6.1)" "$(initrd_of 6.1)" \
		"root=/dev/vda ro $(enc "echo \"KVMINI-LIVE-READ \$(md5sum </root/live.dat | cut -c1-32)\"")"
	VMM_EXTRA=
	need_status 0 || return 1
	_want=$(yes "kvmini live pass $_last" | head -c 2097152 | md5sum | cut -c1-32)
	[ "$(guest_value KVMINI-LIVE-READ)" = "$_want" ] ||
		{ REASON="the overlay's second boot read $(guest_value KVMINI-LIVE-READ), want pass $_last ($_want)"; return 1; }
	cat "$LOG.live" >>"$LOG"
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

# A firmware guest FILE.elf with kvmini ARGS on real KVM, as tests/firmware does:
# its output must equal FILE.expected and kvmini must exit 1 (0 failures).
fw_run() {
	_f=$1
	shift
	exec_only_kvmini && return 77
	_fw=${FW_DIR:-/nested}
	if [ ! -f "$_fw/$_f.elf" ]; then
		REASON="no $_f.elf (build kvmini's firmware first)"
		return 77
	fi
	echo "+ $VMM run --kernel $_f.elf $*" >"$LOG"
	timeout $TIMEOUT_FG -s KILL "$L2_TIMEOUT" "$VMM" run --kernel "$_fw/$_f.elf" "$@" \
		</dev/null >"$LOG.out" 2>>"$LOG"
	STATUS=$?
	cat "$LOG.out" >>"$LOG"
	cmp -s "$LOG.out" "$_fw/$_f.expected" ||
		{ REASON="serial output differs from $_f.expected"; return 1; }
	need_status 1
}

# kvm-unit-tests' test devices on real KVM: the ioeventfd tests, BAR moves (firmware/testdev.c).
t_firmware_testdev() {
	fw_run testdev --device pc-testdev --device pci-testdev
}

# IOAPIC edge and level semantics on real KVM (firmware/ioapic.c); a second, verbose run
# logs how often a level handler was entered with remote IRR clear, for comparison with
# the software KVM of the build machines.
t_firmware_ioapic() {
	fw_run ioapic --device pc-testdev || return $?
	echo "+ verbose run:" >>"$LOG"
	timeout $TIMEOUT_FG -s KILL "$L2_TIMEOUT" "$VMM" run --kernel "${FW_DIR:-/nested}/ioapic.elf" \
		--device pc-testdev --cmdline ioapic.verbose </dev/null >>"$LOG" 2>&1
	need_status 1
}

# --- virtio-net on a tap (--net tap=NAME[,mac=MAC][,vhost=auto|on|off]) ---
# L1 side: taps made with tools/kvmini-ifup (iproute2), traffic with busybox nc/ping/sha256sum;
# the guest: mkguest's busybox initramfs (virtio_net loaded by its /init).
# NET_MB: size of the big transfer in each direction (MiB; default 100, as the issue asks).
# In the TCG-nested bed busybox nc moves ~45 Mbit/s L1 -> guest but only ~3-5 Mbit/s guest -> L1
# (~4 minutes for 100 MiB): the guest sends one TCP segment per packet there (its eth0 packet
# count equals its TCP segment count) and L1, emulated by TCG, pays per packet. QEMU's
# virtio-net-pci with vhost=on gets the same rate in the same L1; iperf3's 128 KiB writes get
# 80-160 Mbit/s. NET_SMALL_MB: per NIC in net-two-nics (default 4).
: "${NET_MB:=100}" "${NET_SMALL_MB:=4}"
IFUP=$(command -v kvmini-ifup 2>/dev/null || echo "$(dirname "$0")/../../tools/kvmini-ifup")
IFDOWN=$(command -v kvmini-ifdown 2>/dev/null || echo "$(dirname "$0")/../../tools/kvmini-ifdown")

# iproute2's ip, by path: a busybox shell built with "prefer applets" would run its own ip
# applet (no tuntap) for a plain `ip`. $KVMINI_IP overrides.
IP_BIN=${KVMINI_IP:-}
if [ -z "$IP_BIN" ]; then
	for _d in $(echo "$PATH" | tr ':' ' ') /usr/sbin /sbin /usr/bin /bin; do
		if [ -x "$_d/ip" ] && "$_d/ip" -V 2>/dev/null | grep -q iproute2; then
			IP_BIN=$_d/ip
			break
		fi
	done
fi
ip() { "${IP_BIN:-false}" "$@"; }

# A tap's configuration as `ip` shows it (no counters); IPv6 link-local addresses are left
# out: the kernel adds one whenever the carrier comes up, whoever attaches. Taken once the
# link state has settled (a tap nobody has open loses its carrier; the operational state
# follows within a second or so): admin down, or NO-CARRIER and state DOWN.
tap_state() {
	_ts=0
	while [ $_ts -lt 40 ]; do
		_l=$(ip -o link show dev "$1" 2>/dev/null)
		case "$_l" in
		*"<"*UP*">"*) case "$_l" in *NO-CARRIER*"state DOWN"*) break ;; esac ;;
		*) break ;;
		esac
		sleep 0.1
		_ts=$((_ts + 1))
	done
	{ ip -d link show dev "$1"; ip addr show dev "$1"; } 2>&1 |
		awk '/inet6 fe80:/ { skip = 1; next } skip && /valid_lft/ { skip = 0; next } { skip = 0; print }'
}

# net_up TAP CIDR: kvmini-ifup in L1 (the state before the guest run goes to $LOG.tap0)
net_up() {
	"$IFUP" -a "$2" "$1" >>"$LOG.ifup" 2>&1 ||
		{ REASON="kvmini-ifup -a $2 $1 failed: $(tail -n 1 "$LOG.ifup")"; return 1; }
	tap_state "$1" >"$LOG.$1.before"
}

# net_down TAP...: the tap must be as it was before the guest run, then kvmini-ifdown removes it.
net_down() {
	_nd_rc=0
	for _t in "$@"; do
		tap_state "$_t" >"$LOG.$_t.after"
		{ echo "--- $_t before the guest run:"; cat "$LOG.$_t.before"
		  echo "--- $_t after:"; cat "$LOG.$_t.after"; } >>"$LOG"
		if ! cmp -s "$LOG.$_t.before" "$LOG.$_t.after" && [ $_nd_rc = 0 ]; then
			REASON="tap $_t changed by the run: $(diff "$LOG.$_t.before" "$LOG.$_t.after" |
				grep '^[-+][^-+]' | head -n 2 | tr '\n' ' ')"
			_nd_rc=1
		fi
		"$IFDOWN" "$_t" >>"$LOG.ifup" 2>&1 ||
			{ [ $_nd_rc = 1 ] || REASON="kvmini-ifdown $_t failed"; _nd_rc=1; }
		! ip link show dev "$_t" >/dev/null 2>&1 ||
			{ [ $_nd_rc = 1 ] || REASON="$_t still there after kvmini-ifdown"; _nd_rc=1; }
	done
	cat "$LOG.ifup" >>"$LOG" 2>/dev/null
	rm -f "$LOG.ifup"
	return $_nd_rc
}

# net_data MB: a file of MB MiB in OUT_DIR (made once), its sha256 in FILE.sha. Incompressible
# but cheap: the guest kernels (compressed) and initramfs repeated, each round with a distinct
# 1 MiB from /dev/urandom in front (urandom for all of it costs ~20 s in the nested L1).
net_data() {
	_f=$OUT_DIR/net-data-$1M
	if [ ! -s "$_f.sha" ]; then
		_t0=$(now)
		rm -f "$_f.tmp"
		while [ "$(wc -c <"$_f.tmp" 2>/dev/null || echo 0)" -lt $(($1 * 1048576)) ]; do
			dd if=/dev/urandom bs=1M count=1 2>/dev/null
			cat "$(kernel_of 6.1)" "$(kernel_of 6.12)" "$(initrd_of 6.1)"
		done >>"$_f.tmp"
		head -c $(($1 * 1048576)) "$_f.tmp" >"$_f" && rm -f "$_f.tmp"
		sha256sum <"$_f" | cut -c1-64 >"$_f.sha"
		echo "+ $1 MiB of test data and its sha256 made in $(since "$_t0")s" >>"$LOG"
	fi
	echo "$_f"
}

# net_serve PORT_OUT FILE PORT_IN RECV: L1 sends FILE to the first connection on PORT_OUT and
# stores what the first connection on PORT_IN sends in RECV. busybox nc ends at its peer's EOF
# even when it still has data to send, so a receiver's stdin is a FIFO held open (no EOF).
NET_PIDS=
net_serve() {
	nc -l -p "$1" <"$2" >/dev/null 2>>"$LOG.l1" &
	NET_PIDS="$NET_PIDS $!"
	rm -f "$4.fifo"
	mkfifo "$4.fifo"
	(exec 4<>"$4.fifo"; exec nc -l -p "$3" <&4 >"$4" 2>>"$LOG.l1") &
	NET_PIDS="$NET_PIDS $!"
}

# net_pinger SECS IP...: in the background, L1 pings each guest address until it answers
# (PING-OK/PING-FAIL lines in $LOG.l1), counts the vhost worker threads then, and tells the
# guest (port 7000 of the first address) that it may power off.
net_pinger() {
	_pd=$1
	shift
	(
		_end=$(($(cut -d. -f1 /proc/uptime) + _pd))
		for _ip in "$@"; do
			_ok=0
			while [ "$(cut -d. -f1 /proc/uptime)" -lt "$_end" ]; do
				if ping -c 1 -W 1 "$_ip" >/dev/null 2>&1; then _ok=1; break; fi
				sleep 0.5
			done
			if [ $_ok = 1 ]; then echo "PING-OK $_ip"; else echo "PING-FAIL $_ip"; fi
		done
		echo "VHOST-THREADS $(grep -l '^vhost-' /proc/[0-9]*/comm 2>/dev/null | wc -l)"
		while [ "$(cut -d. -f1 /proc/uptime)" -lt "$_end" ]; do
			echo done | nc "$1" 7000 >/dev/null 2>&1 && { echo "TOLD-GUEST"; break; }
			sleep 1
		done
	) >>"$LOG.l1" 2>&1 &
	NET_PIDS="$NET_PIDS $!"
}

# net_progress TAP...: every 15 s, the bytes each tap moved so far, on L1's console (a long
# transfer must not look like a frozen L1 to the host, which kills L1 after a silence).
net_progress() {
	(
		_s=0
		while sleep 15; do
			_s=$((_s + 15))
			for _t in "$@"; do
				printf 'net: %ss %s %s\n' "$_s" "$_t" "$(ip -s link show dev "$_t" 2>/dev/null |
					awk '/RX:/ { getline; rx = $1 } /TX:/ { getline; tx = $1 }
					END { printf "tap-rx=%d tap-tx=%d", rx, tx }')"
			done
		done
	) &
	NET_PIDS="$NET_PIDS $!"
}

net_stop() {
	for _p in $NET_PIDS; do kill "$_p" 2>/dev/null; done
	for _p in $NET_PIDS; do wait "$_p" 2>/dev/null; done
	NET_PIDS=
	{ echo "--- L1 side:"; cat "$LOG.l1" 2>/dev/null; } >>"$LOG"
}

# The guest's script. c MAC CIDR HOST: configure the interface with that MAC, ping HOST (up
# to 10 tries: one ping -w deadline can expire at once when the nested guest's clock jumps).
# x HOST PORT_RX PORT_TX: receive a file from L1 (sha256, size, times), send it back.
# Ends waiting (90 s at most) for L1's word on port 7000, so that L1 can ping it meanwhile.
NET_GUEST_LIB='u(){ cut -d" " -f1 /proc/uptime;}
c(){ i=0;d=;while [ -z "$d" ]&&[ $i -lt 100 ];do for f in /sys/class/net/*/address;do [ "$(cat $f)" = $1 ]&&d=${f%/address};done;[ -n "$d" ]||sleep .1;i=$((i+1));done;d=${d##*/};echo "NET-IF $1 ${d:-none}";ip addr add $2 dev $d;ip link set $d up;k=0;while [ $k -lt 10 ];do ping -c 1 -W 3 $3 >/dev/null&&{ echo "NET-PING-OK $3";break;};k=$((k+1));done;}
x(){ t=$(u);nc $1 $2 <&3 >/tmp/d;e=$(u);echo "NET-RX $1 $(sha256sum </tmp/d|cut -c1-64) $(wc -c </tmp/d) $t $e";t=$(u);nc $1 $3 </tmp/d;echo "NET-TX $1 $t $(u)";rm /tmp/d;}
mkfifo /tmp/f;exec 3<>/tmp/f
'
NET_GUEST_END='timeout 90 nc -l -p 7000 <&3|grep -q done&&echo NET-L1-DONE'

# net_check_xfer HOST FILE RECV: the guest got FILE intact from L1, and L1 got it back intact.
# Adds "rx/tx Mbit/s" to $NET_RATES.
net_check_xfer() {
	_want=$(cat "$2.sha")
	_size=$(wc -c <"$2")
	_rx=$(console | grep "^NET-RX $1 " | head -n 1)
	[ -n "$_rx" ] || { REASON="no transfer L1 -> guest over $1 (status $STATUS)"; return 1; }
	set -- "$@" $_rx
	# $4 = NET-RX, $5 host, $6 sha, $7 size, $8 t0, $9 t1
	[ "$7" = "$_size" ] || { REASON="guest received $7 bytes from L1 over $1, expected $_size"; return 1; }
	[ "$6" = "$_want" ] || { REASON="guest received corrupted data over $1 (sha256 $6, expected $_want)"; return 1; }
	_rxr=$(awk -v s="$_size" -v a="$8" -v b="$9" 'BEGIN { printf "%.0f", (b > a ? s * 8 / (b - a) / 1e6 : 0) }')
	_tx=$(console | grep "^NET-TX $1 " | head -n 1)
	[ -n "$_tx" ] || { REASON="no transfer guest -> L1 over $1"; return 1; }
	_got=$(wc -c <"$3" 2>/dev/null || echo 0)
	[ "$_got" = "$_size" ] || { REASON="L1 received $_got bytes from the guest over $1, expected $_size"; return 1; }
	_gsha=$(sha256sum <"$3" | cut -c1-64)
	[ "$_gsha" = "$_want" ] || { REASON="L1 received corrupted data over $1 (sha256 $_gsha)"; return 1; }
	_txr=$(echo "$_tx" | awk -v s="$_size" '{ printf "%.0f", ($4 > $3 ? s * 8 / ($4 - $3) / 1e6 : 0) }')
	NET_RATES="${NET_RATES:+$NET_RATES, }$(($_size / 1048576)) MiB over $1: rx $_rxr tx $_txr Mbit/s"
	echo "+ $(($_size / 1048576)) MiB L1->guest $_rxr Mbit/s, guest->L1 $_txr Mbit/s over $1" >>"$LOG"
}

# net_check_ping GUEST_IP HOST_IP: both directions answered.
net_check_ping() {
	need_marker "NET-PING-OK $2" || { REASON="guest -> L1 ping of $2 failed (status $STATUS)"; return 1; }
	grep -q "^PING-OK $1\$" "$LOG.l1" || { REASON="L1 -> guest ping of $1 failed"; return 1; }
}

# The time for one guest run with transfers: L2_TIMEOUT + 8 s per MiB sent each way (seen:
# 2-10 Mbit/s on a loaded 2-core host under TCG nesting).
net_timeout() { echo $((L2_TIMEOUT + $1)); }

# vhost=on|off over one tap: pings both ways, NET_MB MiB each way with sha256 compared, the
# vhost worker thread present exactly when vhost is on, the tap unchanged after the run.
net_single_test() {
	_vh=$1 _tap=kvnet0
	rm -f "$LOG.l1" "$LOG.ifup"
	_data=$(net_data "$NET_MB")
	[ -s "$_data.sha" ] || { REASON="cannot make $NET_MB MiB of test data in $OUT_DIR"; return 1; }
	net_up $_tap 10.0.0.1/24 || return 1
	_tmo=$(net_timeout $((NET_MB * 8)))
	net_serve 5001 "$_data" 5002 "$OUT_DIR/net-recv"
	net_pinger "$_tmo" 10.0.0.2
	net_progress $_tap
	echo "net: $_vh: guest run (limit ${_tmo}s, $NET_MB MiB each way)"	# progress on L1's console
	_l2=$L2_TIMEOUT
	L2_TIMEOUT=$_tmo
	vm_run "$(kernel_of 6.1)" "$(initrd_of 6.1)" "$(enc "$NET_GUEST_LIB
c 02:00:00:00:00:02 10.0.0.2/24 10.0.0.1
x 10.0.0.1 5001 5002
$NET_GUEST_END")" --memory 512M --net "tap=$_tap,mac=02:00:00:00:00:02,vhost=$_vh"
	L2_TIMEOUT=$_l2
	net_stop
	_rc=0
	need_marker "NET-IF 02:00:00:00:00:02 eth" || { REASON="no guest interface with MAC 02:00:00:00:00:02 (status $STATUS)"; _rc=1; }
	[ $_rc = 1 ] || net_check_ping 10.0.0.2 10.0.0.1 || _rc=1
	NET_RATES=
	[ $_rc = 1 ] || net_check_xfer 10.0.0.1 "$_data" "$OUT_DIR/net-recv" || _rc=1
	_vt=$(sed -n 's/^VHOST-THREADS //p' "$LOG.l1" | head -n 1)
	if [ $_rc = 0 ]; then
		if [ "$_vh" = on ] && [ "${_vt:-0}" = 0 ]; then
			REASON="vhost=on but no vhost worker thread in L1 during the run"; _rc=1
		elif [ "$_vh" = off ] && [ "${_vt:-0}" != 0 ]; then
			REASON="vhost=off but $_vt vhost worker thread(s) in L1 during the run"; _rc=1
		fi
	fi
	[ $_rc = 1 ] || need_marker NET-L1-DONE || _rc=1
	[ $_rc = 1 ] || need_status 0 || _rc=1
	rm -f "$OUT_DIR/net-recv" "$OUT_DIR/net-recv.fifo"
	net_down $_tap || _rc=1
	[ $_rc = 1 ] || REASON=$NET_RATES
	return $_rc
}

# kvmini started as qemu-kvm with the command line a QEMU user types: a stock Debian kernel
# with -kernel/-initrd/-append, -m 256 -smp 2 -nographic, its root disk through
# -drive if=virtio and a tap through -netdev/-device virtio-net-pci. The guest pings L1 over
# the tap and writes a word to its root disk, which the host then reads.
t_qemu_kvm_linux() {
	exec_only_kvmini && return 77
	_img=$OUT_DIR/qemu-root.ext4 _tap=kvqemu0 _qk=$OUT_DIR/qemu-kvm
	cp "$GUEST_DIR/guest/rootfs.ext4" "$_img" || { REASON="no root image"; return 1; }
	ln -sf "$VMM" "$_qk"
	_word=kvmini-qemu-kvm-$$
	rm -f "$LOG.l1" "$LOG.ifup"
	net_up $_tap 10.0.3.1/24 || return 1
	set -- -kernel "$(kernel_of 6.1)" -initrd "$(initrd_of 6.1)" \
		-append "root=/dev/vda rw $(enc "$NET_GUEST_LIB
c 02:00:00:00:00:03 10.0.3.2/24 10.0.3.1
echo $_word >/root/hello.txt; sync")" \
		-m 256 -smp 2 -nographic -no-reboot -drive "file=$_img,if=virtio,format=raw" \
		-netdev "tap,id=n0,ifname=$_tap,script=no,downscript=no" \
		-device virtio-net-pci,netdev=n0,mac=02:00:00:00:00:03
	echo "+ $_qk $*" >"$LOG"
	"$_qk" -kvmini-print "$@" >>"$LOG" 2>&1
	timeout $TIMEOUT_FG -s KILL "$L2_TIMEOUT" "$_qk" "$@" </dev/null >>"$LOG" 2>&1
	STATUS=$?
	echo "+ exit status $STATUS" >>"$LOG"
	_rc=0
	net_down $_tap || _rc=1
	[ $_rc = 1 ] || need_marker "NET-IF 02:00:00:00:00:03 eth" || _rc=1
	[ $_rc = 1 ] || need_marker "NET-PING-OK 10.0.3.1" || _rc=1
	[ $_rc = 1 ] || need_marker "KVMINI-CMD-END rc=0" || _rc=1
	[ $_rc = 1 ] || need_status 0 || _rc=1
	if [ $_rc = 0 ]; then
		_got=$(debugfs -R 'cat /root/hello.txt' "$_img" 2>/dev/null)
		echo "+ debugfs cat /root/hello.txt: $_got" >>"$LOG"
		[ "$_got" = "$_word" ] ||
			{ REASON="debugfs reads '$_got' from the image, expected '$_word'"; _rc=1; }
	fi
	rm -f "$_img" "$_qk"
	return $_rc
}

t_net_vhost_on() {
	if [ ! -c /dev/vhost-net ]; then
		REASON="no /dev/vhost-net in this host (modprobe vhost_net)"
		return 77
	fi
	net_single_test on
}
t_net_vhost_off() { net_single_test off; }

# Two NICs (vhost=auto) on two taps and two subnets: each interface has its MAC, pings go
# both ways on both, NET_SMALL_MB MiB each way on each, and each tap carried its own traffic.
t_net_two_nics() {
	rm -f "$LOG.l1" "$LOG.ifup"
	_data=$(net_data "$NET_SMALL_MB")
	[ -s "$_data.sha" ] || { REASON="cannot make test data in $OUT_DIR"; return 1; }
	net_up kvnet1 10.0.1.1/24 || return 1
	net_up kvnet2 10.0.2.1/24 || { "$IFDOWN" kvnet1 >/dev/null 2>&1; return 1; }
	_tmo=$(net_timeout $((NET_SMALL_MB * 16)))
	net_serve 5011 "$_data" 5012 "$OUT_DIR/net-recv1"
	net_serve 5021 "$_data" 5022 "$OUT_DIR/net-recv2"
	net_pinger "$_tmo" 10.0.1.2 10.0.2.2
	net_progress kvnet1 kvnet2
	_l2=$L2_TIMEOUT
	L2_TIMEOUT=$_tmo
	vm_run "$(kernel_of 6.1)" "$(initrd_of 6.1)" "$(enc "$NET_GUEST_LIB
c 02:00:00:00:01:02 10.0.1.2/24 10.0.1.1
c 02:00:00:00:02:02 10.0.2.2/24 10.0.2.1
x 10.0.1.1 5011 5012
x 10.0.2.1 5021 5022
$NET_GUEST_END")" --net "tap=kvnet1,mac=02:00:00:00:01:02" --net "tap=kvnet2,mac=02:00:00:00:02:02"
	L2_TIMEOUT=$_l2
	net_stop
	_rc=0
	for _m in 01 02; do
		need_marker "NET-IF 02:00:00:00:$_m:02 eth" ||
			{ REASON="no guest interface with MAC 02:00:00:00:$_m:02 (status $STATUS)"; _rc=1; break; }
	done
	[ $_rc = 1 ] || net_check_ping 10.0.1.2 10.0.1.1 || _rc=1
	[ $_rc = 1 ] || net_check_ping 10.0.2.2 10.0.2.1 || _rc=1
	NET_RATES=
	[ $_rc = 1 ] || net_check_xfer 10.0.1.1 "$_data" "$OUT_DIR/net-recv1" || _rc=1
	[ $_rc = 1 ] || net_check_xfer 10.0.2.1 "$_data" "$OUT_DIR/net-recv2" || _rc=1
	# each tap moved at least the file in each direction (so no traffic took the other NIC)
	for _t in kvnet1 kvnet2; do
		[ $_rc = 1 ] && break
		_b=$(ip -s link show dev $_t | awk '/RX:/ { getline; rx = $1 } /TX:/ { getline; tx = $1 }
			END { print (rx < tx ? rx : tx) + 0 }')
		echo "+ $_t: at least $_b bytes each way" >>"$LOG"
		[ "$_b" -ge "$(wc -c <"$_data")" ] ||
			{ REASON="$_t carried only $_b bytes in one direction"; _rc=1; }
	done
	[ $_rc = 1 ] || need_marker NET-L1-DONE || _rc=1
	[ $_rc = 1 ] || need_status 0 || _rc=1
	rm -f "$OUT_DIR"/net-recv[12] "$OUT_DIR"/net-recv[12].fifo
	net_down kvnet1 kvnet2 || _rc=1
	[ $_rc = 1 ] || REASON=$NET_RATES
	return $_rc
}

# net_fail_run SPEC: kvmini with --net SPEC must fail before the guest runs: stdout, stderr
# apart in $LOG.out/$LOG.err.
net_fail_run() {
	echo "+ $VMM run --kernel ... --net $1 -- true" >"$LOG"
	timeout $TIMEOUT_FG -s KILL "$L2_TIMEOUT" "$VMM" run --kernel "$(kernel_of 6.1)" \
		--initrd "$(initrd_of 6.1)" --net "$1" -- true </dev/null >"$LOG.out" 2>"$LOG.err"
	STATUS=$?
	{ echo "--- stdout"; cat "$LOG.out"; echo "--- stderr"; cat "$LOG.err"
	  echo "+ exit status $STATUS"; } >>"$LOG"
}

# one_error_line WORD: stderr is exactly one line and names WORD (case-insensitive)
one_error_line() {
	_n=$(wc -l <"$LOG.err")
	[ "$_n" = 1 ] || { REASON="stderr has $_n lines, expected one: $(head -c 200 "$LOG.err" | tr '\n' ' ')"; return 1; }
	grep -qi -- "$1" "$LOG.err" || { REASON="the error does not mention '$1': $(head -c 200 "$LOG.err")"; return 1; }
}

# A tap that does not exist: kvmini exits 2 with one line naming it, and creates nothing.
t_net_missing_tap() {
	if [ "$VMM_KIND" = qemu ]; then
		REASON="QEMU (as root) creates a missing tap: kvmini's error is its own"
		return 77
	fi
	_tap=kvnomissing0
	ip link del "$_tap" 2>/dev/null
	net_fail_run "tap=$_tap"
	need_status 2 || return 1
	one_error_line "$_tap" || return 1
	if ip link show dev "$_tap" >/dev/null 2>&1; then
		ip link del "$_tap" 2>/dev/null
		REASON="kvmini created the missing tap $_tap"
		return 1
	fi
}

# vhost=on without /dev/vhost-net (vhost_net unloaded for the test): a clear error that
# mentions vhost (kvmini: status 2, one line); vhost=auto falls back to the userspace path
# (the guest pings L1). vhost_net is loaded again, whatever happens.
t_net_vhost_unavailable() {
	if [ ! -c /dev/vhost-net ]; then
		REASON="no /dev/vhost-net here to take away"
		return 77
	fi
	if ! rmmod vhost_net 2>>"$LOG"; then
		REASON="rmmod vhost_net failed (in use?): cannot make vhost-net unavailable"
		return 77
	fi
	_i=0
	while [ -e /dev/vhost-net ] && [ $_i -lt 20 ]; do sleep 0.1; _i=$((_i + 1)); done
	net_vhost_unavailable_body
	_rc=$?
	insmod /lib/modules/vhost_net.ko 2>/dev/null || modprobe vhost_net 2>/dev/null
	_i=0
	while [ ! -c /dev/vhost-net ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	if [ ! -c /dev/vhost-net ]; then
		echo "+ /dev/vhost-net is NOT back after insmod/modprobe vhost_net" >>"$LOG"
		REASON="${REASON:+$REASON; }could not restore /dev/vhost-net"
		return 1
	fi
	echo "+ vhost_net loaded again: /dev/vhost-net is back" >>"$LOG"
	return $_rc
}

net_vhost_unavailable_body() {
	_tap=kvnet3
	rm -f "$LOG.l1" "$LOG.ifup"
	[ ! -e /dev/vhost-net ] || { REASON="/dev/vhost-net still there after rmmod vhost_net"; return 1; }
	net_up $_tap 10.0.3.1/24 || return 1
	case "$VMM_KIND" in
	qemu)
		# the bed's check of the mechanism: QEMU refuses vhost=on too (its own status, 1)
		vm_run "$(kernel_of 6.1)" "$(initrd_of 6.1)" "$(enc true)" --net "tap=$_tap,vhost=on"
		[ "$STATUS" != 0 ] && [ "$STATUS" != 137 ] ||
			{ REASON="QEMU vhost=on without /dev/vhost-net: status $STATUS"; net_down $_tap; return 1; }
		grep -qi vhost "$LOG" || { REASON="QEMU's error does not mention vhost"; net_down $_tap; return 1; }
		cp "$LOG" "$LOG.first" ;;
	*)
		net_fail_run "tap=$_tap,vhost=on"
		cp "$LOG" "$LOG.first"
		need_status 2 || { net_down $_tap; return 1; }
		one_error_line vhost || { net_down $_tap; return 1; } ;;
	esac
	# vhost=auto: the userspace path
	net_pinger "$L2_TIMEOUT" 10.0.3.2
	vm_run "$(kernel_of 6.1)" "$(initrd_of 6.1)" "$(enc "$NET_GUEST_LIB
c 02:00:00:00:03:02 10.0.3.2/24 10.0.3.1
$NET_GUEST_END")" --net "tap=$_tap,mac=02:00:00:00:03:02,vhost=auto"
	net_stop
	{ echo "=== first run (vhost=on):"; cat "$LOG.first"; echo "=== second run (vhost=auto):"; } |
		cat - "$LOG" >"$LOG.all" && mv "$LOG.all" "$LOG"
	rm -f "$LOG.first"
	_rc=0
	net_check_ping 10.0.3.2 10.0.3.1 || _rc=1
	_vt=$(sed -n 's/^VHOST-THREADS //p' "$LOG.l1" | head -n 1)
	[ $_rc = 1 ] || [ "${_vt:-0}" = 0 ] || { REASON="vhost threads without vhost_net?"; _rc=1; }
	[ $_rc = 1 ] || need_status 0 || _rc=1
	net_down $_tap || _rc=1
	return $_rc
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
# --extra-secs NAME...: seconds these tests need beyond one L2_TIMEOUT each (for run.sh's L1
# limit): the guest runs that move NET_MB MiB each way get 8 s per MiB (net_timeout).
if [ "${1:-}" = --extra-secs ]; then
	shift
	_x=0
	for _n in "$@"; do
		case "$_n" in
		net-vhost-on | net-vhost-off) _x=$((_x + NET_MB * 8)) ;;
		blk-qcow2-root | blk-live-snapshot) _x=$((_x + 60)) ;;	# two guest runs
		esac
	done
	echo $_x
	exit 0
fi
[ -n "${VMM:-}" ] || { echo "tests.sh: VMM is not set" >&2; exit 2; }
[ -n "${GUEST_DIR:-}" ] || { echo "tests.sh: GUEST_DIR is not set" >&2; exit 2; }
run_all
