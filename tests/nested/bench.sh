#!/bin/sh
# Boot benchmark payload (tools/bench/boot): kvmini vs QEMU -M microvm, same kernel, initramfs
# and command line, interleaved runs on the same KVM. POSIX sh (busybox ash in the nested L1).
#
# Workloads (WORKLOAD=boot|exec|all, default all; interleaved in one loop):
#   boot  the guest /init runs kvmini.cmd=true and powers off. Prints per run
#         "BENCH-RUN workload=boot vmm=V run=I init_s=T exit_s=T status=S rss_kib=K
#         guest_rss_kib=K overhead_kib=K [kvm counters]" (times from VMM exec; RSS sampled
#         when the guest command starts; overhead = VmRSS minus the resident part of the
#         guest RAM mapping).
#   exec  `kvmini run -- true` on the default guest (KVMINI_GUEST_DIR -> the same kernel and
#         initramfs) against QEMU with kvmini's exec-mode command line, a UART at 0x2f8 (the
#         guest's ttyS1, as kvmini adds in this mode) and isa-debug-exit at 0xf4: the guest's
#         kvmini-exit ends both (expected status: kvmini 0, QEMU (0 << 1) | 1 = 1). Prints
#         "BENCH-RUN workload=exec vmm=V run=I exit_s=T status=S ok=0|1".
# kvm counters (boot workload, when L1's /sys/kernel/debug/kvm is readable): KVM's exit
#   counters sampled when the guest command starts, i.e. the exits of the boot up to /init
#   ("kvm_exits=N kvm_io=N kvm_mmio=N kvm_halt=N ..."). debugfs sums them over the VMs that
#   exist when it is read, so they cannot be read after the VMM has exited (exec workload).
# DIAG=1: after the timed runs, one more boot run per VMM with ftrace histograms of the L2
#   exits (kvm_exit by SVM exit code, kvm_pio by port, kvm_msr, kvm_userspace_exit, kvm_mmio),
#   snapshot when the guest command starts, and the guest's dmesg (kvmini.cmd=dmesg), between
#   "BENCH-DIAG-BEGIN vmm=V" and "BENCH-DIAG-END vmm=V".
#
# Environment: KVMINI, QEMU (binaries), GUEST_DIR (tools/mkguest layout), KVER (6.1),
#   RUNS (5), MEMORY (256M), L2_TIMEOUT (60), CMDLINE (kvmini's default command line),
#   WORKLOAD (all), DIAG (0)

: "${KVER:=6.1}" "${RUNS:=5}" "${MEMORY:=256M}" "${L2_TIMEOUT:=60}" "${WORKLOAD:=all}" "${DIAG:=0}"
# QEMU gets kvmini's default command line (tools/bench/boot reads it from the binary).
: "${CMDLINE:=console=ttyS0 reboot=k panic=1}"
# What vmm/cli/command.c appends for `kvmini run -- true`: the shell-quoted words, base64.
EXEC_EXTRA="quiet loglevel=1 8250.nr_uarts=2 kvmini.exec=$(printf "'true'" | base64 -w 0)"
KERNEL=$GUEST_DIR/kernel/$KVER/vmlinuz
INITRD=$GUEST_DIR/guest/$KVER/initramfs.cpio
mem_kib=$(echo "$MEMORY" | awk '/[Gg]$/ { print $0 * 1048576; next } /[Mm]$/ { print $0 * 1024; next } { print int($0 / 1024) }')
QEMU_COMMON="-M microvm -accel kvm -cpu host -m $MEMORY -smp 1 -nodefaults -no-user-config
	-display none -serial stdio -monitor none -no-reboot"

# The default guest of `kvmini run -- CMD`: links to the benchmarked kernel and initramfs.
DEFAULT_GUEST=/tmp/bench-default-guest
mkdir -p "$DEFAULT_GUEST"
ln -sf "$KERNEL" "$DEFAULT_GUEST/vmlinuz"
ln -sf "$INITRD" "$DEFAULT_GUEST/initramfs.cpio"

now() { cut -d' ' -f1 /proc/uptime; }

# KVM's global counters (debugfs), if readable. Mounting is harmless where it already is.
KVM_DBG=/sys/kernel/debug/kvm
[ -d "$KVM_DBG" ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
KVM_COUNTERS="exits io_exits mmio_exits halt_exits irq_exits irq_window_exits irq_injections
	insn_emulation pf_fixed pf_taken signal_exits request_irq_exits halt_wakeup"
kvm_snap() {
	[ -r "$KVM_DBG/exits" ] || return 0
	for c in $KVM_COUNTERS; do
		cat "$KVM_DBG/$c" 2>/dev/null || echo 0
	done | tr '\n' ' '
}
# kvm_fields "SNAPSHOT": " kvm_exits=N kvm_io=N ..." or nothing.
kvm_fields() {
	[ -n "$1" ] || return 0
	echo "$1" | awk -v names="$(echo $KVM_COUNTERS)" '{
		n = split(names, nm, " ")
		for (i = 1; i <= n; i++) {
			k = nm[i]; sub(/_exits$/, "", k)
			printf " kvm_%s=%d", k, $i
		} }'
}

# rss PID: "total guest" resident kB; the guest RAM is the mapping of exactly MEMORY's size.
rss() {
	awk -v want="$mem_kib" '
		/^[0-9a-f]+-[0-9a-f]+ / { split($1, a, "-"); cur = 0 }
		/^Size:/ { cur = ($2 == want) }
		/^Rss:/ { total += $2; if (cur && $2 > guest) guest = $2 }
		END { print total + 0, guest + 0 }' "/proc/$1/smaps" 2>/dev/null
}

# vmm_words WORKLOAD VMM [GUEST_CMD]: the VMM's command line as shell words for
# eval "set -- ..." (POSIX sh has no arrays). GUEST_CMD (boot workload only) defaults to true.
vmm_words() {
	_cmd=${3:-true}
	case "$1.$2" in
	boot.kvmini)
		echo '"$KVMINI" run --kernel "$KERNEL" --initrd "$INITRD" --memory "$MEMORY"' \
			'--cmdline "quiet kvmini.cmd=$(printf %s "'"$_cmd"'" | base64 -w 0)"' ;;
	boot.qemu)
		echo '"$QEMU" $QEMU_COMMON -kernel "$KERNEL" -initrd "$INITRD"' \
			'-append "$CMDLINE quiet kvmini.cmd=$(printf %s "'"$_cmd"'" | base64 -w 0)"' ;;
	exec.kvmini)
		echo 'env KVMINI_GUEST_DIR="$DEFAULT_GUEST" "$KVMINI" run --memory "$MEMORY" -- true' ;;
	exec.qemu)
		echo '"$QEMU" $QEMU_COMMON -chardev file,id=ser1,path=/dev/null' \
			'-device isa-serial,chardev=ser1,index=1' \
			'-device isa-debug-exit,iobase=0xf4,iosize=4' \
			'-kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE $EXEC_EXTRA"' ;;
	esac
}

# diag_start / diag_snap FILE / diag_stop: ftrace histograms of L2 exits (DIAG=1 only).
TR=/sys/kernel/tracing
HISTS="kvm_exit:exit_reason kvm_pio:port,rw kvm_msr:ecx,write kvm_userspace_exit:reason kvm_mmio:gpa,type"
diag_trigger() {
	for h in $HISTS; do
		ev=${h%%:*} keys=${h#*:}
		[ -w "$TR/events/kvm/$ev/trigger" ] || continue
		echo "${1}hist:keys=$keys:sort=hitcount.descending:size=4096" \
			>>"$TR/events/kvm/$ev/trigger" 2>/dev/null
	done
}
diag_start() {
	[ -d "$TR/events" ] || mount -t tracefs tracefs "$TR" 2>/dev/null
	diag_trigger ""
}
diag_snap() {
	for h in $HISTS; do
		ev=${h%%:*}
		[ -r "$TR/events/kvm/$ev/hist" ] || continue
		echo "== hist $ev"
		grep -v -e '^#' -e '^$' "$TR/events/kvm/$ev/hist" | head -n 40
	done >"$1"
}
diag_stop() { diag_trigger "!"; }

# one_run WORKLOAD VMM RUN [diag]
one_run() {
	wl=$1 vmm=$2 run=$3 diag=${4:-} fifo=/tmp/bench.fifo snapf=/tmp/bench.hist
	rm -f "$fifo" "$snapf"
	mkfifo "$fifo"
	if [ -n "$diag" ]; then
		eval "set -- $(vmm_words "$wl" "$vmm" dmesg)"
		diag_start
	else
		eval "set -- $(vmm_words "$wl" "$vmm")"
	fi
	kvm=
	t0=$(now)
	"$@" </dev/null >"$fifo" 2>&1 &
	pid=$!
	(sleep "$L2_TIMEOUT"; kill -9 "$pid" 2>/dev/null) &
	wd=$!
	t_init=- sample="- -"
	[ -n "$diag" ] && echo "BENCH-DIAG-BEGIN vmm=$vmm"
	while IFS= read -r line; do
		case "$line" in
		*KVMINI-INIT-REACHED*) t_init=$(now) ;;
		*KVMINI-CMD-BEGIN*)
			sample=$(rss "$pid")
			kvm=$(kvm_fields "$(kvm_snap)")
			[ -n "$diag" ] && diag_snap "$snapf" ;;
		esac
		[ -n "$diag" ] && printf 'BENCH-DIAG %s\n' "$line"
	done <"$fifo"
	wait "$pid"
	status=$?
	t_exit=$(now)
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	exit_s=$(awk -v a="$t0" -v b="$t_exit" 'BEGIN { printf "%.2f", b - a }')
	if [ -n "$diag" ]; then
		diag_stop
		[ -f "$snapf" ] && sed 's/^/BENCH-DIAG /' "$snapf"
		echo "BENCH-DIAG-END vmm=$vmm status=$status exit_s=$exit_s$kvm"
		rm -f "$fifo" "$snapf"
		return
	fi
	if [ "$wl" = exec ]; then
		want=0
		[ "$vmm" = qemu ] && want=1
		ok=0
		[ "$status" = "$want" ] && ok=1
		echo "BENCH-RUN workload=exec vmm=$vmm run=$run exit_s=$exit_s status=$status ok=$ok$kvm"
	else
		set -- $sample
		total=$1 guest=$2
		over=-
		[ "$total" != - ] && over=$((total - guest))
		init_s=-
		[ "$t_init" != - ] && init_s=$(awk -v a="$t0" -v b="$t_init" 'BEGIN { printf "%.2f", b - a }')
		echo "BENCH-RUN workload=boot vmm=$vmm run=$run init_s=$init_s exit_s=$exit_s" \
			"status=$status rss_kib=${total:--} guest_rss_kib=${guest:--} overhead_kib=$over$kvm"
	fi
	rm -f "$fifo"
}

# pair WORKLOAD RUN: both VMMs; which goes first alternates, so neither always gets the
# warmer caches.
pair() {
	if [ $(($2 % 2)) = 1 ]; then
		one_run "$1" kvmini "$2"
		one_run "$1" qemu "$2"
	else
		one_run "$1" qemu "$2"
		one_run "$1" kvmini "$2"
	fi
}

echo "BENCH-CONFIG kernel=$KVER memory=$MEMORY runs=$RUNS cpus=$(nproc) workload=$WORKLOAD"
echo "BENCH-CMDLINE exec-qemu: $CMDLINE $EXEC_EXTRA"
i=1
while [ "$i" -le "$RUNS" ]; do
	case "$WORKLOAD" in boot | all) pair boot "$i" ;; esac
	case "$WORKLOAD" in exec | all) pair exec "$i" ;; esac
	i=$((i + 1))
done
if [ "$DIAG" = 1 ]; then
	one_run boot kvmini 0 diag
	one_run boot qemu 0 diag
fi
echo "BENCH-DONE"
