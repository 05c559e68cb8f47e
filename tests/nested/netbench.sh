#!/bin/sh
# virtio-net benchmark payload (tools/bench/net): kvmini --net (vhost and userspace) vs QEMU
# virtio-net-pci on the same tap, interleaved runs on the same KVM. POSIX sh (busybox ash in
# the nested L1).
#
# One tap (TAP, made with kvmini-ifup, L1 address 10.0.9.1/24) and an iperf3 server in L1.
# Each run boots the guest (INITRD: mkguest's initramfs + iperf3) once per VMM; the guest
# sets 10.0.9.2/24 on its interface and runs iperf3 -c 10.0.9.1 for SECS seconds in each
# direction: "tx" guest -> L1, then "rx" L1 -> guest (-R). VMMs (VMMS):
#   kvmini-vhost  kvmini run --net tap=TAP,vhost=on
#   kvmini-user   kvmini run --net tap=TAP,vhost=off (the userspace path)
#   qemu-vhost    -M microvm,pcie=on -netdev tap,...,vhost=on -device virtio-net-pci
#   qemu-user     the same with vhost=off
# Per run and direction: "NET-RUN vmm=V run=I dir=tx|rx mbps=X l1_busy=P" (receiver's Mbit/s;
# l1_busy: L1's non-idle CPU %, 100 per L1 vCPU, over the whole guest run; raw only: the
# schedstat sum misses time under TCG, tools/bench/net leaves it out of its table).
# Failures: "NET-FAIL vmm=V run=I ...". Ends with "NET-DONE".
#
# Environment: KVMINI, QEMU, KERNEL, INITRD, RUNS (3), SECS (5), VMMS, MEMORY (256M),
#   L2_TIMEOUT (120), CMDLINE (kvmini's default command line), TAP (kvbench0)

: "${RUNS:=3}" "${SECS:=5}" "${VMMS:=kvmini-vhost kvmini-user qemu-vhost}" "${MEMORY:=256M}"
: "${L2_TIMEOUT:=120}" "${TAP:=kvbench0}"
: "${CMDLINE:=console=ttyS0 reboot=k panic=1 8250.nr_uarts=1 tsc=reliable no_timer_check}"
MAC=02:00:00:00:09:02
QEMU_COMMON="-name netbench,debug-threads=on -M microvm,pcie=on -accel kvm -cpu host -m $MEMORY -smp 1
	-nodefaults -no-user-config -display none -serial stdio -monitor none -no-reboot"

now() { cut -d' ' -f1 /proc/uptime; }

GUEST_CMD="i=0;d=;while [ -z \"\$d\" ]&&[ \$i -lt 100 ];do for f in /sys/class/net/*/address;do [ \"\$(cat \$f)\" = $MAC ]&&d=\${f%/address};done;[ -n \"\$d\" ]||sleep .1;i=\$((i+1));done
d=\${d##*/};ip addr add 10.0.9.2/24 dev \$d;ip link set \$d up
ping -c 1 -w 20 10.0.9.1 >/dev/null
for dir in tx rx; do r=;[ \$dir = rx ]&&r=-R
m=\$(iperf3 -c 10.0.9.1 -t $SECS -f m \$r 2>&1|sed -n 's/.* \\([0-9.]*\\) Mbits\\/sec.*receiver.*/\\1/p')
echo \"NETGEN dir=\$dir mbps=\${m:-0}\";done"
B64=$(printf '%s' "$GUEST_CMD" | base64 -w 0)

# vmm_words VMM: the VMM's command line as shell words for eval "set -- ...".
vmm_words() {
	case "$1" in
	kvmini-vhost | kvmini-user)
		_v=on
		[ "$1" = kvmini-user ] && _v=off
		echo '"$KVMINI" run --kernel "$KERNEL" --initrd "$INITRD" --memory "$MEMORY"' \
			'--net tap=$TAP,mac=$MAC,vhost='$_v' --cmdline "quiet kvmini.cmd='"$B64"'"' ;;
	qemu-vhost | qemu-user)
		_v=on
		[ "$1" = qemu-user ] && _v=off
		echo '"$QEMU" $QEMU_COMMON -kernel "$KERNEL" -initrd "$INITRD"' \
			'-append "$CMDLINE quiet kvmini.cmd='"$B64"'"' \
			'-netdev tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost='$_v \
			'-device virtio-net-pci,netdev=n0,mac=$MAC,romfile=' ;;
	esac
}

# L1's busy CPU time in ns: the run time of every thread (schedstat; the idle task excluded).
l1_run_ns() { cat /proc/[0-9]*/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }

one_run() {
	vmm=$1 run=$2 out=/tmp/netbench.out
	eval "set -- $(vmm_words "$vmm")"
	t0=$(now) r0=$(l1_run_ns)
	timeout -s KILL "$L2_TIMEOUT" "$@" </dev/null >"$out" 2>/tmp/netbench.err
	st=$?
	t1=$(now) r1=$(l1_run_ns)
	busy=$(awk -v a="$t0" -v b="$t1" -v r0="$r0" -v r1="$r1" \
		'BEGIN { d = (b - a) * 1e9; printf "%.0f", (d > 0 ? (r1 - r0) * 100 / d : 0) }')
	n=0
	for line in $(tr -d '\r' <"$out" | sed -n 's/^NETGEN dir=\([a-z]*\) mbps=\([0-9.]*\)$/\1:\2/p'); do
		d=${line%%:*} m=${line#*:}
		if [ "$m" = 0 ]; then
			echo "NET-FAIL vmm=$vmm run=$run dir=$d iperf3 reported nothing"
			continue
		fi
		n=$((n + 1))
		echo "NET-RUN vmm=$vmm run=$run dir=$d mbps=$m l1_busy=$busy"
	done
	if [ "$n" != 2 ]; then
		echo "NET-FAIL vmm=$vmm run=$run status=$st results=$n" \
			"$(tail -c 300 /tmp/netbench.err | tr '\n' ' ') $(tr -d '\r' <"$out" | tail -n 3 | tr '\n' ' ')"
	fi
}

echo "NET-CONFIG runs=$RUNS secs=$SECS l1_cpus=$(nproc) memory=$MEMORY vmms='$VMMS'" \
	"vhost-net=$([ -c /dev/vhost-net ] && echo yes || echo no)"
kvmini-ifup -q -a 10.0.9.1/24 "$TAP" || { echo "NET-FAIL kvmini-ifup $TAP failed"; echo "NET-DONE"; exit 1; }
iperf3 -s -D --logfile /tmp/iperf3-server.log || { echo "NET-FAIL iperf3 -s failed"; echo "NET-DONE"; exit 1; }
sleep 1
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
killall iperf3 2>/dev/null
kvmini-ifdown -q "$TAP" || echo "NET-NOTE kvmini-ifdown $TAP failed"
echo "NET-DONE"
