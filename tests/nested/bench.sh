#!/bin/sh
# Boot benchmark payload (tools/bench/boot): kvmini vs QEMU -M microvm, same kernel, initramfs
# and command line, interleaved runs on the same KVM. POSIX sh (busybox ash in the nested L1).
#
# Environment: KVMINI, QEMU (binaries), GUEST_DIR (tools/mkguest layout), KVER (6.1),
#   RUNS (5), MEMORY (256M), L2_TIMEOUT (60), CMDLINE (kvmini's default command line)
# Prints per run: "BENCH-RUN vmm=V run=I init_s=T exit_s=T status=S rss_kib=K
#   guest_rss_kib=K overhead_kib=K" (times from VMM exec; RSS sampled when the guest command
#   starts; overhead = VmRSS minus the resident part of the guest RAM mapping).

: "${KVER:=6.1}" "${RUNS:=5}" "${MEMORY:=256M}" "${L2_TIMEOUT:=60}"
# QEMU gets kvmini's default command line (tools/bench/boot reads it from the binary).
: "${CMDLINE:=console=ttyS0 reboot=k panic=1}"
EXTRA="quiet kvmini.cmd=$(printf true | base64 -w 0)"
KERNEL=$GUEST_DIR/kernel/$KVER/vmlinuz
INITRD=$GUEST_DIR/guest/$KVER/initramfs.cpio
mem_kib=$(echo "$MEMORY" | awk '/[Gg]$/ { print $0 * 1048576; next } /[Mm]$/ { print $0 * 1024; next } { print int($0 / 1024) }')

now() { cut -d' ' -f1 /proc/uptime; }

# rss PID: "total guest" resident kB; the guest RAM is the mapping of exactly MEMORY's size.
rss() {
	awk -v want="$mem_kib" '
		/^[0-9a-f]+-[0-9a-f]+ / { split($1, a, "-"); cur = 0 }
		/^Size:/ { cur = ($2 == want) }
		/^Rss:/ { total += $2; if (cur && $2 > guest) guest = $2 }
		END { print total + 0, guest + 0 }' "/proc/$1/smaps" 2>/dev/null
}

one_run() {
	vmm=$1 run=$2 fifo=/tmp/bench.fifo
	rm -f "$fifo"
	mkfifo "$fifo"
	case "$vmm" in
	kvmini)
		set -- "$KVMINI" run --kernel "$KERNEL" --initrd "$INITRD" --memory "$MEMORY" \
			--cmdline "$EXTRA" ;;
	qemu)
		set -- "$QEMU" -M microvm -accel kvm -cpu host -m "$MEMORY" -smp 1 -nodefaults \
			-no-user-config -display none -serial stdio -monitor none -no-reboot \
			-kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE $EXTRA" ;;
	esac
	t0=$(now)
	"$@" </dev/null >"$fifo" 2>&1 &
	pid=$!
	(sleep "$L2_TIMEOUT"; kill -9 "$pid" 2>/dev/null) &
	wd=$!
	t_init=- sample="- -"
	while IFS= read -r line; do
		case "$line" in
		*KVMINI-INIT-REACHED*) t_init=$(now) ;;
		*KVMINI-CMD-BEGIN*) sample=$(rss "$pid") ;;
		esac
	done <"$fifo"
	wait "$pid"
	status=$?
	t_exit=$(now)
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	set -- $sample
	total=$1 guest=$2
	over=-
	[ "$total" != - ] && over=$((total - guest))
	init_s=-
	[ "$t_init" != - ] && init_s=$(awk -v a="$t0" -v b="$t_init" 'BEGIN { printf "%.2f", b - a }')
	exit_s=$(awk -v a="$t0" -v b="$t_exit" 'BEGIN { printf "%.2f", b - a }')
	echo "BENCH-RUN vmm=$vmm run=$run init_s=$init_s exit_s=$exit_s status=$status" \
		"rss_kib=${total:--} guest_rss_kib=${guest:--} overhead_kib=$over"
	rm -f "$fifo"
}

echo "BENCH-CONFIG kernel=$KVER memory=$MEMORY runs=$RUNS cpus=$(nproc)"
i=1
while [ "$i" -le "$RUNS" ]; do
	# Alternate which VMM goes first: neither always gets the warmer caches.
	if [ $((i % 2)) = 1 ]; then
		one_run kvmini "$i"
		one_run qemu "$i"
	else
		one_run qemu "$i"
		one_run kvmini "$i"
	fi
	i=$((i + 1))
done
echo "BENCH-DONE"
