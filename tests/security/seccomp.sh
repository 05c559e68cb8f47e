#!/usr/bin/env bash
# The seccomp filters of `kvmini run` on the host's /dev/kvm.
#
#   seccomp.sh CASE KVMINI TEST_HOOKS(true|false) HELLO HELLO_EXPECTED \
#              VIRTIOBLK VIRTIOBLK_EXPECTED ECHO
#
# CASE:
#   kill-vcpu|kill-io|kill-main  KVMINI_TEST_SECCOMP=<class>: that thread makes
#                      a forbidden system call right after loading its filter;
#                      kvmini must die of SIGSYS (status 159) and the guest
#                      must not finish (vcpu: not print anything)
#   log-vcpu|log-io|log-main     the same with --seccomp=log: reported by the
#                      kernel only, the guest finishes with status 0
#   off-vcpu|off-io    the same with --seccomp=off: status 0
#   kill-blk|kill-net  the same on the virtio-blk or the virtio-net I/O
#                      thread alone (net: a --net tap, which needs root)
#   kill-api           the same on the API thread (the echo guest waits)
#   api-fallocate      KVMINI_TEST_SECCOMP=api:fallocate: the API thread
#                      calls what only the disk's may: SIGSYS
#   blk-writev|blk-tun-ioctl  KVMINI_TEST_SECCOMP=blk:writev|tun-ioctl: the
#                      disk's thread calls what only the NIC's may (writev,
#                      TUNSETOFFLOAD): SIGSYS, the guest's disk never served
#   net-fallocate      KVMINI_TEST_SECCOMP=net:fallocate: the NIC's thread
#                      calls what only the disk's may: SIGSYS
#   log-net-fallocate  the same with --seccomp=log: the call goes through
#                      (the hook's fallocate on a bad fd returns EBADF)
#   all-threads        a running kvmini (2 vCPUs, a disk): every thread has
#                      a filter (Seccomp: 2 in /proc/PID/task/*/status)
#   all-threads-off    with --seccomp=off no thread has one
#   restart-net        --on-reboot restart with a --net tap (userspace path):
#                      each restart builds a NIC on the tap kept open from
#                      setup; kvmini must keep restarting until --timeout (124)
#   tgkill-vcpu|tgkill-io|tgkill-main  KVMINI_TEST_SECCOMP=<class>:tgkill=PID:
#                      that thread sends signal 0 to another process (a sleeping
#                      child of this script); kvmini must die of SIGSYS, the
#                      other process must live on
#   tgkill-log-main    the same with --seccomp=log: the call goes through
#   stats              --stats prints positive memory figures under the filter
#   stats-open         --stats, and the main thread opens a file read-only
#                      after setup: SIGSYS
#   restart-write      --on-reboot restart with a disk, and the main thread
#                      opens a file for writing after setup: SIGSYS
#   restart-disk       --on-reboot restart with a disk: the virtio-blk guest
#                      counts its boots in sector 2 and reboots 10 times; all
#                      boots reach the disk, and the image stays locked across
#                      the restarts (lockwatch.py sees no gap)
# Exits 0 on success, 1 on failure, 77 (skip) without /dev/kvm or where the
# test hooks are compiled out (release builds).
set -u

if [ $# -ne 8 ]; then
	echo "usage: $0 CASE KVMINI TEST_HOOKS HELLO HELLO_EXPECTED VIRTIOBLK" \
	     "VIRTIOBLK_EXPECTED ECHO" >&2
	exit 2
fi
case_name=$1
kvmini=$2
hooks=$3
hello=$4
hello_expected=$5
virtioblk=$6
virtioblk_expected=$7
echo_image=$8
reboot_image=$(dirname "$hello")/reboot.elf
lockwatch=$(dirname "$0")/lockwatch.py
limit=${KVMINI_TEST_TIMEOUT:-60}

if ! [ -c /dev/kvm ] || ! (exec 3<>/dev/kvm) 2>/dev/null; then
	echo "SKIP: /dev/kvm not available (missing, or not readable and writable by $(id -un))"
	exit 77
fi
case $case_name in
kill-* | log-* | off-* | tgkill-* | stats-open | restart-write)
	if [ "$hooks" != true ]; then
		echo "SKIP: test hooks are compiled out (-Dtest_hooks=disabled, or a buildtype other than debug and debugoptimized)"
		exit 77
	fi ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-seccomp.XXXXXX") || exit 1
pid=
other=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	[ -n "$other" ] && kill -KILL "$other" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
ulimit -c 0	# SIGSYS dumps core by default

fail() {
	echo "FAIL: $case_name: $*"
	echo "command: ${cmd[*]}"
	echo "--- guest output (stdout, last 20 lines) ---"
	tail -n 20 "$tmp/stdout"
	echo "--- kvmini messages (stderr, last 20 lines) ---"
	tail -n 20 "$tmp/stderr"
	exit 1
}

# A tap for a NIC, removed on exit; skips where none can be made.
make_tap() {
	# globals: the EXIT trap runs after the caller has returned
	tap=kvsec$$
	ipbin=$(command -v ip) || { echo "SKIP: no ip (iproute2)"; exit 77; }
	"$ipbin" tuntap add dev "$tap" mode tap vnet_hdr 2>/dev/null ||
		{ echo "SKIP: cannot create a tap (needs root and /dev/net/tun)"; exit 77; }
	trap '"$ipbin" link del "$tap" 2>/dev/null; cleanup' EXIT
}

# A guest for the class: the virtio-blk firmware (with a disk) for io and
# blk; for net the echo firmware, which waits for input until --timeout,
# beside a NIC on a new tap.
guest_for() {
	if [ "$1" = api ]; then
		image=$echo_image
		expected=/dev/null
		extra=(--timeout 5)
	elif [ "$1" = net ]; then
		make_tap
		image=$echo_image
		expected=/dev/null
		extra=(--net "tap=$tap,vhost=off" --timeout 5)
	elif [ "$1" = io ] || [ "$1" = blk ]; then
		truncate -s 1M "$tmp/disk.img" || exit 1
		printf 'kvmini-virtioblk' | dd of="$tmp/disk.img" conv=notrunc status=none || exit 1
		image=$virtioblk
		expected=$virtioblk_expected
		extra=(--disk "path=$tmp/disk.img,id=fwdisk")
	else
		image=$hello
		expected=$hello_expected
		extra=(--cpus 2)
	fi
}

run() {
	# SIGKILL, so 137 can only mean our limit
	timeout -s KILL "$limit" "${cmd[@]}" </dev/null >"$tmp/stdout" 2>"$tmp/stderr"
	status=$?
	[ "$status" -ne 137 ] || fail "kvmini did not exit within $limit s"
}

violation() {
	local want_mode=$1 class=$2

	guest_for "$class"
	cmd=(env "KVMINI_TEST_SECCOMP=$class" "$kvmini" run --kernel "$image"
	     --seccomp "$want_mode" "${extra[@]}")
	run
	grep -q "test hook: calling socket() on a $class thread" "$tmp/stderr" ||
		[ "$want_mode" = off ] || fail "the $class thread never reached its test hook"
	if [ "$want_mode" = on ]; then
		[ "$status" -eq $((128 + 31)) ] ||
			fail "status $status, expected 159 (killed by SIGSYS)"
		case $class in
		vcpu)	# loaded before the guest's first instruction: no output at all
			[ ! -s "$tmp/stdout" ] ||
				fail "the guest produced output after the violation" ;;
		io | blk)	# the guest's disk requests are never served: it cannot finish
			! cmp -s "$expected" "$tmp/stdout" ||
				fail "the guest finished although its I/O thread died" ;;
		esac	# main: loaded while the vCPUs already run; the status says it
	else
		[ "$status" -eq 0 ] || fail "status $status, expected 0"
		cmp -s "$expected" "$tmp/stdout" || fail "guest output differs from $expected"
	fi
	echo "PASS: $case_name (status $status)"
}

# A device's I/O thread makes a call that only another device's class
# allows: KVMINI_TEST_SECCOMP=CLASS:CALL.
cross_device() {
	local want_mode=$1 class=$2 call=$3 what

	if [ "$call" = writev ] && [ "${KVMINI_TEST_SANITIZER:-none}" != none ]; then
		echo "SKIP: sanitizer builds allow writev on every thread for their runtime"
		exit 77
	fi
	case $call in
	writev)		what='writev(-1)' ;;
	tun-ioctl)	what='ioctl(-1, TUNSETOFFLOAD)' ;;
	fallocate)	what='fallocate(-1)' ;;
	esac
	guest_for "$class"
	cmd=(env "KVMINI_TEST_SECCOMP=$class:$call" "$kvmini" run --kernel "$image"
	     --seccomp "$want_mode" "${extra[@]}")
	run
	grep -qF "test hook: calling $what on a $class thread" "$tmp/stderr" ||
		fail "the $class thread never reached its test hook"
	if [ "$want_mode" = on ]; then
		[ "$status" -eq $((128 + 31)) ] ||
			fail "status $status, expected 159 (killed by SIGSYS): the $class thread may call $call"
		grep -q "is not allowed on a $class thread" "$tmp/stderr" ||
			fail "no seccomp message naming the $class thread"
		if [ "$class" = blk ]; then
			! cmp -s "$expected" "$tmp/stdout" ||
				fail "the guest finished although its disk's thread died"
		fi
	else
		grep -qF "test hook: $what returned Bad file descriptor" "$tmp/stderr" ||
			fail "with --seccomp=$want_mode the hook's $call did not go through"
		[ "$status" -eq 124 ] || fail "status $status, expected 124 (--timeout)"
	fi
	echo "PASS: $case_name (status $status)"
}

# Every thread of a running kvmini: "Seccomp: 2" (filter) or 0 (none).
threads() {
	local want=$1 fifo=$tmp/in n=0 bad=0 f

	truncate -s 1M "$tmp/disk.img" || exit 1
	mkfifo "$fifo" || exit 1
	cmd=("$kvmini" run --kernel "$echo_image" --cpus 2 --timeout "$limit"
	     --disk "path=$tmp/disk.img" --seccomp "$2")
	"${cmd[@]}" <"$fifo" >"$tmp/stdout" 2>"$tmp/stderr" &
	pid=$!
	exec 3>"$fifo"
	for _ in $(seq 1 100); do
		grep -q "echo: ready" "$tmp/stdout" && break
		sleep 0.1
	done
	grep -q "echo: ready" "$tmp/stdout" || fail "the echo guest never became ready"
	sleep 0.2	# the main thread loads its filter right after starting the vCPUs
	for f in /proc/"$pid"/task/*/status; do
		local name mode

		name=$(awk '/^Name:/ { print $2 }' "$f")
		mode=$(awk '/^Seccomp:/ { print $2 }' "$f")
		n=$((n + 1))
		echo "thread $name: Seccomp $mode"
		[ "$mode" = "$want" ] || bad=1
	done
	printf 'quit\n' >&3
	exec 3>&-
	wait "$pid"
	status=$?
	pid=
	# main, 2 vCPUs, the disk's I/O thread
	[ "$n" -ge 4 ] || fail "only $n threads seen"
	[ "$bad" -eq 0 ] || fail "a thread's seccomp mode is not $want"
	[ "$status" -eq 0 ] || fail "status $status after quit, expected 0"
	echo "PASS: $case_name ($n threads, Seccomp $want)"
}

# The reboot firmware under --on-reboot restart with a virtio-net device on a
# tap: each restart re-attaches the tap from the filtered main thread.
restart_net() {
	local boots
	# globals: the EXIT trap runs after this function has returned
	tap=kvsec$$

	ipbin=$(command -v ip) || { echo "SKIP: no ip (iproute2)"; exit 77; }
	"$ipbin" tuntap add dev "$tap" mode tap vnet_hdr 2>/dev/null ||
		{ echo "SKIP: cannot create a tap (needs root and /dev/net/tun)"; exit 77; }
	trap '"$ipbin" link del "$tap" 2>/dev/null; cleanup' EXIT
	cmd=("$kvmini" run --kernel "$reboot_image" --on-reboot restart --timeout 4
	     --net "tap=$tap,vhost=off")
	run
	boots=$(grep -c "reboot: pulsing" "$tmp/stdout")
	[ "$status" -eq 124 ] || fail "status $status, expected 124 (--timeout while restarting)"
	[ "$boots" -ge 2 ] || fail "the guest booted $boots times, expected at least 2"
	! grep -qi "seccomp\|SIGSYS" "$tmp/stderr" || fail "seccomp complaint on stderr"
	echo "PASS: $case_name ($boots boots)"
}

# A process that is not kvmini: a sleeping child of this script.
start_other() {
	sleep "$limit" &
	other=$!
}

other_alive() {
	local state

	state=$(awk '{ print $3 }' "/proc/$other/stat" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

# tgkill toward another process from a thread of the class.
tgkill_other() {
	local want_mode=$1 class=$2 call

	guest_for "$class"
	start_other
	call="tgkill($other, $other, 0)"
	cmd=(env "KVMINI_TEST_SECCOMP=$class:tgkill=$other" "$kvmini" run --kernel "$image"
	     --seccomp "$want_mode" --timeout "$limit" "${extra[@]}")
	run
	grep -qF "test hook: calling $call on a $class thread" "$tmp/stderr" ||
		fail "the $class thread never reached its test hook"
	other_alive || fail "the other process $other did not survive"
	if [ "$want_mode" = on ]; then
		[ "$status" -eq $((128 + 31)) ] ||
			fail "status $status, expected 159 (killed by SIGSYS): tgkill reached another process"
	else
		[ "$status" -eq 0 ] || fail "status $status, expected 0"
		grep -qF "test hook: $call returned success" "$tmp/stderr" ||
			fail "with --seccomp=$want_mode the hook's tgkill did not go through"
	fi
	echo "PASS: $case_name (status $status, process $other alive)"
}

# --stats: kvmini's figures, read from /proc/self/status opened at setup.
stats() {
	local line key v peak=0 rss=0

	cmd=("$kvmini" run --kernel "$hello" --stats --timeout "$limit")
	run
	[ "$status" -eq 0 ] || fail "status $status, expected 0"
	cmp -s "$hello_expected" "$tmp/stdout" || fail "guest output differs from $hello_expected"
	line=$(grep '^kvmini: stats: peak_rss_kib=' "$tmp/stderr") || fail "no 'kvmini: stats:' line"
	# kvmini's own count under the same filter: the guest's port writes reached the UART
	grep -q '^kvmini: stats: exits by reason: io=[1-9]' "$tmp/stderr" ||
		fail "--stats: no positive 'exits by reason: io=' line"
	grep -q '^kvmini: stats: busiest devices (port I/O): com1=[1-9]' "$tmp/stderr" ||
		fail "--stats: com1 is not the busiest port I/O device of the hello firmware"
	for key in peak_rss_kib rss_kib guest_resident_kib; do
		v=$(sed -n "s/.* $key=\([0-9]*\).*/\1/p" <<<"$line")
		[ -n "$v" ] && [ "$v" -gt 0 ] ||
			fail "--stats: $key is '$v', expected a positive number"
		[ "$key" = peak_rss_kib ] && peak=$v
		[ "$key" = rss_kib ] && rss=$v
	done
	[ "$peak" -ge "$rss" ] || fail "--stats: peak_rss_kib $peak is below rss_kib $rss"
	echo "PASS: $case_name ($line)"
}

# The main thread opens a file after setup (--stats, or restart mode).
open_after_setup() {
	local how=$1 image_arg=() file=$tmp/victim

	if [ "$how" = stats ] && [ "${KVMINI_TEST_SANITIZER:-none}" != none ]; then
		echo "SKIP: sanitizer builds allow read-only opens for the sanitizer runtime"
		exit 77
	fi

	printf 'untouched\n' >"$file" || exit 1
	if [ "$how" = stats ]; then
		cmd=(env "KVMINI_TEST_SECCOMP=main:open=$file" "$kvmini" run --kernel "$hello"
		     --stats --timeout "$limit")
	else
		truncate -s 1M "$tmp/disk.img" || exit 1
		image_arg=(--disk "path=$tmp/disk.img")
		cmd=(env "KVMINI_TEST_SECCOMP=main:write=$file" "$kvmini" run
		     --kernel "$reboot_image" --on-reboot restart --timeout 4 "${image_arg[@]}")
	fi
	run
	grep -q "test hook: calling openat($file, O_[A-Z]*) on a main thread" "$tmp/stderr" ||
		fail "the main thread never reached its test hook"
	[ "$status" -eq $((128 + 31)) ] ||
		fail "status $status, expected 159 (killed by SIGSYS): the main thread opened a file"
	[ "$(cat "$file")" = untouched ] || fail "$file changed"
	echo "PASS: $case_name (status $status)"
}

# Restarts with a disk: every boot counts itself on the disk.
restart_disk() {
	local boots=10 n count watch held gaps

	command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }
	truncate -s 1M "$tmp/disk.img" || exit 1
	cmd=("$kvmini" run --kernel "$virtioblk" --on-reboot restart --timeout "$limit"
	     --cmdline "vblk.boots=$boots" --disk "path=$tmp/disk.img")
	timeout -s KILL "$limit" "${cmd[@]}" </dev/null >"$tmp/stdout" 2>"$tmp/stderr" &
	pid=$!
	watch=$(python3 "$lockwatch" "$tmp/disk.img" "$pid") || fail "lockwatch.py failed"
	wait "$pid"
	status=$?
	pid=
	[ "$status" -ne 137 ] || fail "kvmini did not exit within $limit s"
	[ "$status" -eq 0 ] || fail "status $status, expected 0 (power-off after $boots boots)"
	n=$(grep -c "^virtio-blk: boot [0-9]* of $boots\$" "$tmp/stdout")
	[ "$n" -eq "$boots" ] || fail "the guest counted $n boots, expected $boots"
	count=$(od -An -tu4 -j1024 -N4 "$tmp/disk.img" | tr -d ' ')
	[ "$count" = "$boots" ] || fail "the image's boot counter is $count, expected $boots"
	! grep -qi "seccomp\|SIGSYS" "$tmp/stderr" || fail "seccomp complaint on stderr"
	held=$(sed -n 's/.* held \([0-9]*\),.*/\1/p' <<<"$watch")
	gaps=$(sed -n 's/.* gaps \([0-9]*\)$/\1/p' <<<"$watch")
	echo "$watch"
	[ -n "$held" ] && [ "$held" -gt 0 ] || fail "lockwatch never saw the image locked: $watch"
	[ "$gaps" = 0 ] || fail "the image was unlocked $gaps times between restarts: $watch"
	echo "PASS: $case_name ($boots boots, image locked throughout)"
}

case $case_name in
restart-net)			restart_net ;;
restart-disk)			restart_disk ;;
restart-write)			open_after_setup restart ;;
stats)				stats ;;
stats-open)			open_after_setup stats ;;
tgkill-vcpu | tgkill-io | tgkill-main)	tgkill_other on "${case_name#tgkill-}" ;;
tgkill-log-main)		tgkill_other log main ;;
kill-vcpu | kill-io | kill-main | kill-blk | kill-net | kill-api)
				violation on "${case_name#kill-}" ;;
api-fallocate)			cross_device on api fallocate ;;
blk-writev)			cross_device on blk writev ;;
blk-tun-ioctl)			cross_device on blk tun-ioctl ;;
net-fallocate)			cross_device on net fallocate ;;
log-net-fallocate)		cross_device log net fallocate ;;
log-vcpu | log-io | log-main)	violation log "${case_name#log-}" ;;
off-vcpu | off-io)		violation off "${case_name#off-}" ;;
all-threads)			threads 2 on ;;
all-threads-off)		threads 0 off ;;
*)	echo "$0: unknown case '$case_name'" >&2; exit 2 ;;
esac
exit 0
