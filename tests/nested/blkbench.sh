#!/bin/sh
# virtio-blk benchmark payload (tools/bench/blk): kvmini --disk vs QEMU virtio-blk-pci on the
# same raw image, interleaved runs on the same KVM. POSIX sh (busybox ash in the nested L1).
#
# The image (IMG_MB MiB, fully written with dd, so preallocated) lives in IMG_DIR (default
# /tmp: tmpfs in L1). Each run boots the guest with tests/nested/blkgen (in INITRD) and runs,
# on /dev/vda, SECS seconds each, O_DIRECT:
#   seqwrite  1 MiB writes, one at a time        seqread  1 MiB reads, one at a time
#   rand1     4 KiB random reads, queue depth 1  rand16   4 KiB random reads, depth 16 (AIO)
# VMMs (VMMS, default "kvmini qemu"):
#   kvmini     kvmini run --disk path=IMG (page-cache pread/pwritev in one I/O thread)
#   qemu       -M microvm,pcie=on -drive ...,cache=writeback,aio=threads -device virtio-blk-pci
#              (page-cache I/O in QEMU's thread pool: the setup closest to kvmini's)
#   qemu-none  the same with cache=none (O_DIRECT); added only when the image's file system
#              accepts O_DIRECT (a probe run says; tmpfs refuses it before Linux 6.6)
#   kvmini-qcow2, qemu-qcow2    a fresh qcow2 overlay over IMG for each run (kvmini
#              snapshot-disk): seqwrite allocates, the reads find allocated clusters and IMG
#   kvmini-qcow2a, qemu-qcow2a  one qcow2 overlay every cluster of which a guest dd wrote
#              first (allocated: writes go in place)
# Per run and workload: "BLK-RUN vmm=V run=I wl=W mbps=X iops=Y l1_busy=P cpu=thread:P,..."
# (cpu: L1 CPU % of each VMM thread during the workload, summed by thread name; l1_busy: L1's
# non-idle CPU %, 100 per L1 vCPU). Ends with "BLK-DONE".
#
# Environment: KVMINI, QEMU, KERNEL, INITRD, RUNS (3), SECS (4), IMG_MB (256), IMG_DIR (/tmp),
#   VMMS, MEMORY (256M), L2_TIMEOUT (180), CMDLINE (kvmini's default command line)

: "${RUNS:=3}" "${SECS:=4}" "${IMG_MB:=256}" "${IMG_DIR:=/tmp}" "${VMMS:=kvmini qemu}"
: "${MEMORY:=256M}" "${L2_TIMEOUT:=180}"
: "${CMDLINE:=console=ttyS0 reboot=k panic=1 8250.nr_uarts=1 tsc=reliable no_timer_check}"
IMG=$IMG_DIR/kvmini-blkbench.img
QIMG=$IMG_DIR/kvmini-blkbench.qcow2 QIMGA=$IMG_DIR/kvmini-blkbench-alloc.qcow2
QEMU_COMMON="-name blkbench,debug-threads=on -M microvm,pcie=on -accel kvm -cpu host -m $MEMORY -smp 1 -nodefaults
	-no-user-config -display none -serial stdio -monitor none -no-reboot"

now() { cut -d' ' -f1 /proc/uptime; }

GUEST_CMD="i=0; while [ ! -b /dev/vda ] && [ \$i -lt 100 ]; do sleep 0.1; i=\$((i+1)); done
blkgen /dev/vda seqwrite $SECS
blkgen /dev/vda seqread $SECS
blkgen /dev/vda randread $SECS 4096 1
blkgen /dev/vda randread $SECS 4096 16"
B64=$(printf '%s' "$GUEST_CMD" | base64 -w 0)

# vmm_words VMM [B64]: the VMM's command line as shell words for eval "set -- ...".
vmm_words() {
	_b=${2:-$B64}
	case "$1" in
	kvmini)
		echo '"$KVMINI" run --kernel "$KERNEL" --initrd "$INITRD" --memory "$MEMORY"' \
			'--disk path="$IMG" --cmdline "quiet kvmini.cmd='"$_b"'"' ;;
	kvmini-qcow2 | kvmini-qcow2a)
		_i='$QIMG'
		[ "$1" = kvmini-qcow2a ] && _i='$QIMGA'
		echo '"$KVMINI" run --kernel "$KERNEL" --initrd "$INITRD" --memory "$MEMORY"' \
			'--disk path="'"$_i"'",format=qcow2 --cmdline "quiet kvmini.cmd='"$_b"'"' ;;
	qemu-qcow2 | qemu-qcow2a)
		_i='$QIMG'
		[ "$1" = qemu-qcow2a ] && _i='$QIMGA'
		echo '"$QEMU" $QEMU_COMMON -kernel "$KERNEL" -initrd "$INITRD"' \
			'-append "$CMDLINE quiet kvmini.cmd='"$_b"'"' \
			'-drive file="'"$_i"'",format=qcow2,if=none,id=d0,cache=writeback,aio=threads' \
			'-device virtio-blk-pci,drive=d0' ;;
	qemu | qemu-none)
		_c=writeback
		[ "$1" = qemu-none ] && _c=none
		echo '"$QEMU" $QEMU_COMMON -kernel "$KERNEL" -initrd "$INITRD"' \
			'-append "$CMDLINE quiet kvmini.cmd='"$_b"'"' \
			'-drive file="$IMG",format=raw,if=none,id=d0,cache='$_c',aio=threads' \
			'-device virtio-blk-pci,drive=d0' ;;
	esac
}

# CPU time per thread name of PID ("name ns" lines from schedstat; spaces in names become _).
thread_ns() {
	for _t in /proc/"$1"/task/*; do
		printf '%s ' "$(tr ' ' _ <"$_t/comm" 2>/dev/null)"
		cut -d' ' -f1 "$_t/schedstat" 2>/dev/null || echo 0
	done | awk 'NF == 2 { t[$1] += $2 } END { for (k in t) print k, t[k] }'
}
# L1's busy CPU time in ns: the run time of every thread (schedstat; the idle task excluded).
l1_run_ns() { cat /proc/[0-9]*/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }

# one_run VMM RUN: one boot, four workloads, BLK-RUN lines.
one_run() {
	vmm=$1 run=$2 fifo=/tmp/blkbench.fifo
	rm -f "$fifo" /tmp/blkbench.t0
	mkfifo "$fifo"
	case "$vmm" in
	*-qcow2)
		rm -f "$QIMG"
		"$KVMINI" snapshot-disk --image "$IMG" --file "$QIMG" >/dev/null ||
			echo "BLK-FAIL vmm=$vmm run=$run: snapshot-disk failed" ;;
	esac
	eval "set -- $(vmm_words "$vmm")"
	"$@" </dev/null >"$fifo" 2>/tmp/blkbench.err &
	pid=$!
	(sleep "$L2_TIMEOUT"; kill -9 "$pid" 2>/dev/null) &
	wd=$!
	n=0 ok=0
	while IFS= read -r line; do
		case "$line" in
		*BLKGEN-START*)
			thread_ns "$pid" >/tmp/blkbench.t0
			t0=$(now) run0=$(l1_run_ns) ;;
		*"BLKGEN mode="*)
			t1=$(now) run1=$(l1_run_ns)
			thread_ns "$pid" >/tmp/blkbench.t1
			line=$(echo "$line" | tr -d '\r')
			n=$((n + 1))
			case $n in 1) wl=seqwrite ;; 2) wl=seqread ;; 3) wl=rand1 ;; *) wl=rand16 ;; esac
			cpu=$(awk -v dt="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) * 1e9 }')" '
				NR == FNR { t0[$1] = $2; next }
				{ d = $2 - t0[$1]; if (d > 0 && dt > 0) out = out sprintf("%s%s:%.0f", \
					out == "" ? "" : ",", $1, d * 100 / dt) }
				END { print out == "" ? "-" : out }' /tmp/blkbench.t0 /tmp/blkbench.t1)
			busy=$(awk -v a="$t0" -v b="$t1" -v r0="$run0" -v r1="$run1" \
				'BEGIN { d = (b - a) * 1e9; printf "%.0f", (d > 0 ? (r1 - r0) * 100 / d : 0) }')
			mbps=$(echo "$line" | sed -n 's/.* mbps=\([0-9.]*\).*/\1/p')
			iops=$(echo "$line" | sed -n 's/.* iops=\([0-9.]*\).*/\1/p')
			echo "BLK-RUN vmm=$vmm run=$run wl=$wl mbps=$mbps iops=$iops l1_busy=$busy cpu=$cpu" ;;
		*KVMINI-CMD-END*) ok=1 ;;
		esac
	done <"$fifo"
	wait "$pid"
	st=$?
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	rm -f "$fifo"
	if [ "$n" != 4 ]; then
		echo "BLK-FAIL vmm=$vmm run=$run status=$st results=$n $(head -c 300 /tmp/blkbench.err | tr '\n' ' ')"
	fi
}

echo "BLK-CONFIG runs=$RUNS secs=$SECS img_mb=$IMG_MB img_dir=$IMG_DIR l1_cpus=$(nproc)" \
	"fs=$(stat -f -c %T "$IMG_DIR" 2>/dev/null) memory=$MEMORY"
rm -f "$IMG"
dd if=/dev/zero of="$IMG" bs=1M count="$IMG_MB" 2>/dev/null || { echo "BLK-FAIL cannot create $IMG"; exit 1; }

# The allocated qcow2: an overlay a guest wrote in full, once.
case " $VMMS " in
*qcow2a*)
	rm -f "$QIMGA"
	"$KVMINI" snapshot-disk --image "$IMG" --file "$QIMGA" >/dev/null
	QIMG_SAVE=$QIMG QIMG=$QIMGA
	eval "set -- $(vmm_words kvmini-qcow2 "$(printf 'dd if=/dev/zero of=/dev/vda bs=1M 2>/dev/null; sync' |
		base64 -w 0)")"
	QIMG=$QIMG_SAVE
	timeout -s KILL "$L2_TIMEOUT" "$@" </dev/null >/tmp/blkbench.alloc 2>&1
	echo "BLK-NOTE allocated qcow2: $(du -k "$QIMGA" | cut -f1) KiB after a guest dd (status $?)" ;;
esac

# cache=none needs O_DIRECT on the image's file system: probe it once with a guest "true".
case " $VMMS " in
*" qemu "*)
	case " $VMMS " in *" qemu-none "*) ;; *)
		eval "set -- $(vmm_words qemu-none "$(printf true | base64 -w 0)")"
		timeout -s KILL 60 "$@" </dev/null >/tmp/blkbench.probe 2>&1
		st=$?
		if grep -q KVMINI-CMD-END /tmp/blkbench.probe; then
			VMMS="$VMMS qemu-none"
			echo "BLK-NOTE qemu cache=none works on $IMG_DIR: added qemu-none"
		else
			echo "BLK-NOTE qemu cache=none refused on $IMG_DIR (status $st):" \
				"$(grep -v '^$' /tmp/blkbench.probe | head -n 2 | tr -d '\r' | tr '\n' ' ')"
		fi ;;
	esac ;;
esac

r=1
while [ "$r" -le "$RUNS" ]; do
	order=$VMMS
	# alternate the order so that no VMM always runs first
	[ $((r % 2)) = 0 ] && order=$(echo $VMMS | awk '{ for (i = NF; i > 0; i--) printf "%s ", $i }')
	for v in $order; do
		one_run "$v" "$r"
	done
	r=$((r + 1))
done
rm -f "$IMG" "$QIMG" "$QIMGA"
echo "BLK-DONE"
