#!/usr/bin/env bash
# Linux boot tests on real KVM, all in ONE nested L1 boot (or directly on a hardware-KVM host).
# Usage: tests/nested/run.sh [options] KVMINI_BINARY     (see --help)
set -u

usage() {
	cat <<'EOF'
Usage: tests/nested/run.sh [options] KVMINI_BINARY
       tests/nested/run.sh [options] --vmm-kind qemu     (validate the bed: QEMU microvm as L2 VMM)

Runs tests/nested/tests.sh against the VMM: directly when this host has hardware KVM,
otherwise inside an L1 Linux booted under QEMU TCG with emulated SVM (one boot for all tests).
Prints "name: PASS|FAIL|SKIP" per test and exits 0 only if none failed (77 if the bed
cannot run at all). Results: RESULTS_DIR/results ("name VERDICT seconds reason" per line),
RESULTS_DIR/<name>.log, RESULTS_DIR/l1-serial.log.

Options:
  --results DIR    results directory (default: $KVMINI_CACHE/nested-results)
  --only 'A B'     run only these tests (names: tests/nested/tests.sh --list)
  --mode M         auto (default), nested or direct
  --vmm-kind K     kvmini (default) or qemu
  --smp N          L1 vCPUs (default 1: faster than 2 under TCG, and L1 -smp 2 froze
                   during L2 --cpus 4 runs)
  --timeout S      host-side limit for the whole L1 run (default: 120 + tests * l2-timeout,
                   + 8 s per NET_MB for each of net-vhost-on and net-vhost-off)
  --l2-timeout S   limit for one guest run (default 60)
Environment: KVMINI_CACHE (tools/mkguest cache), L0_QEMU (QEMU binary for L1),
  NESTED_STALL (seconds without L1 output before L1 counts as frozen; default l2-timeout + 90).
EOF
}

. "$(dirname "$0")/lib.sh"

cache=${KVMINI_CACHE:-$HOME/.cache/kvmini}
results_dir=$cache/nested-results
only= mode=auto kind=kvmini smp=1 l1_timeout= l2_timeout=60 vmm=
while [ $# -gt 0 ]; do
	case "$1" in
	-h | --help) usage; exit 0 ;;
	--results) results_dir=$2; shift ;;
	--only) only=$2; shift ;;
	--mode) mode=$2; shift ;;
	--vmm-kind) kind=$2; shift ;;
	--smp) smp=$2; shift ;;
	--timeout) l1_timeout=$2; shift ;;
	--l2-timeout) l2_timeout=$2; shift ;;
	-*) usage >&2; exit 2 ;;
	*) vmm=$1 ;;
	esac
	shift
done
if [ "$kind" = qemu ]; then
	vmm=$(command -v qemu-system-x86_64) || { echo "run.sh: no qemu-system-x86_64" >&2; exit 2; }
fi
[ -n "$vmm" ] || { usage >&2; exit 2; }
[ -x "$vmm" ] || { echo "run.sh: $vmm is not an executable" >&2; exit 2; }
vmm=$(readlink -f "$vmm")

if [ "$mode" = auto ]; then
	if nested_have_hw_kvm; then
		mode=direct
	elif command -v "$L0_QEMU" >/dev/null; then
		mode=nested
	else
		echo "run.sh: no hardware KVM and no $L0_QEMU for the nested bed: skipped"
		exit 77
	fi
fi

mkdir -p "$results_dir"
rm -f "$results_dir"/*.log "$results_dir/results" "$results_dir/timings" "$results_dir"/.fresh-*
t_start=$SECONDS

t0=$SECONDS
guests_env=$(KVMINI_CACHE=$cache "$KVMINI_SRC/tools/mkguest" --quiet) ||
	{ echo "run.sh: tools/mkguest failed"; exit 1; }
echo "mkguest $((SECONDS - t0))s" >>"$results_dir/timings"

names=${only:-$(sh "$NESTED_DIR/tests.sh" --list)}
serial=$results_dir/l1-serial.log
if [ -z "$l1_timeout" ]; then
	# + what tests.sh gives its long tests (the NET_MB transfers), with NESTED_TEST_ENV's settings
	l1_timeout=$((120 + $(echo $names | wc -w) * l2_timeout +
		$(env ${NESTED_TEST_ENV:-} sh "$NESTED_DIR/tests.sh" --extra-secs $names)))
fi

# The multiboot test payload and its inputs (firmware/, tests/firmware/), where built.
fw_files=
for f in "$(dirname "$vmm")/firmware/multiboot/multiboot.elf" "$NESTED_DIR/../firmware/multiboot.env" \
	"$NESTED_DIR/../firmware/multiboot.data" "$NESTED_DIR/../firmware/multiboot.expected" \
	"$(dirname "$vmm")/firmware/testdev.elf" "$NESTED_DIR/../firmware/testdev.expected" \
	"$(dirname "$vmm")/firmware/ioapic.elf" "$NESTED_DIR/../firmware/ioapic.expected"; do
	[ -f "$f" ] && fw_files="$fw_files $f"
done

if [ "$mode" = direct ]; then
	nested_log "hardware KVM: running the tests directly ($kind: $vmm)"
	fw_dir=$(mktemp -d)
	trap 'rm -rf "$fw_dir"' EXIT
	[ -z "$fw_files" ] || cp $fw_files "$fw_dir/"
	VMM=$vmm VMM_KIND=$kind GUEST_DIR=$cache OUT_DIR=$results_dir L2_TIMEOUT=$l2_timeout \
		FW_DIR=$fw_dir ONLY=$only sh "$NESTED_DIR/tests.sh" 2>&1 | tee "$serial"
	nested_parse "$serial" "$results_dir/results" ""
else
	# One L1 boot runs every test. If L1 itself freezes (QEMU TCG with emulated SVM: now and
	# then L1's timers stop for good, QEMU idle, whatever the test; seen with L1 -smp 2 often,
	# with -smp 1 about once in a full run), a fresh L1 runs the remaining tests, starting with
	# the one in progress again; a test during which L1 froze three times fails. A pass after
	# a freeze says so in its result line.
	bins=("$vmm")
	[ "$kind" = qemu ] && bins=(qemu)
	export NESTED_EXTRA_FILES="$fw_files"
	remaining=$names round=1 retried=" "
	: >"$results_dir/results"
	while [ -n "$remaining" ] && [ "$round" -le 8 ]; do
		log=$serial
		[ "$round" -gt 1 ] && log=$results_dir/l1-serial.$round.log
		envfile=$(mktemp) payload=$(mktemp) initrd=$cache/l1-initramfs.cpio
		cat >"$envfile" <<-EOF
			VMM=/usr/local/bin/$(basename "$vmm")
			VMM_KIND=$kind
			GUEST_DIR=/guest
			FW_DIR=/nested
			OUT_DIR=/tmp/nested
			L2_TIMEOUT=$l2_timeout
			ONLY='$(echo $remaining)'
			LOG_TO_CONSOLE=1
		EOF
		[ "$kind" = qemu ] && sed -i 's|^VMM=.*|VMM=/usr/bin/qemu-system-x86_64|' "$envfile"
		echo 'sh /nested/tests.sh' >"$payload"
		case " $(echo $remaining) " in
		*" linux-pvh "*) with_pvh=1 ;;
		*) with_pvh=0 ;;
		esac
		t0=$SECONDS
		NESTED_WITH_PVH=$with_pvh l1_build "$initrd" "$cache" "$payload" "$envfile" "${bins[@]}" ||
			{ echo "run.sh: building the L1 initramfs failed"; exit 1; }
		rm -f "$envfile" "$payload"
		echo "l1-build $((SECONDS - t0))s $(du -m "$initrd" | cut -f1)MB" >>"$results_dir/timings"
		nested_log "booting L1 (TCG, -smp $smp, limit ${l1_timeout}s); serial log: $log"
		t0=$SECONDS
		l1_boot "$cache/kernel/6.1/vmlinuz" "$initrd" "$log" "$l1_timeout" "$smp" \
			"${NESTED_STALL:-$((l2_timeout + 90))}"
		l1_status=$?
		echo "l1-run $((SECONDS - t0))s status $l1_status" >>"$results_dir/timings"
		grep -a -e 'NESTED-L1-' -e 'NESTED-HOST-' "$log" | tr -d '\r' >&2
		nested_parse "$log" "$results_dir/results.round" "$results_dir"
		cat "$results_dir/results.round" >>"$results_dir/results"
		rm -f "$results_dir/results.round"
		grep -aq NESTED-L1-DONE "$log" && break
		# The test that was running when L1 froze or died.
		current=$(tr -d '\r' <"$log" | sed -n 's/^.*NESTED-START //p' | tail -n 1)
		if [ -z "$current" ] || awk -v n="$current" '$1 == n' "$results_dir/results" | grep -q .; then
			break	# L1 never reached the tests: no point in booting it again
		fi
		tr -d '\r' <"$log" | sed -n "/NESTED-START $current\$/,\$p" >"$results_dir/$current.log"
		if [ "$(printf '%s\n' $retried | grep -cx "$current")" -ge 2 ]; then
			echo "$current FAIL $((SECONDS - t0)) L1 froze or died during this test, three times" \
				"($(basename "$log"))" >>"$results_dir/results"
		else
			retried="$retried$current "
			mv "$results_dir/$current.log" "$results_dir/$current.froze.$round.log"
			nested_log "L1 froze or died during $current: running it again in a fresh L1"
		fi
		left=
		for n in $remaining; do
			awk -v n="$n" '$1 == n' "$results_dir/results" | grep -q . || left="$left $n"
		done
		remaining=$left
		round=$((round + 1))
	done
fi
echo "total $((SECONDS - t_start))s" >>"$results_dir/timings"
for name in $(printf '%s\n' ${retried:-} | sort -u); do
	times=$(printf '%s\n' $retried | grep -cx "$name")
	awk -v n="$name" -v t="$times" '$1 == n && $2 == "PASS" { $0 = $0 " (after L1 froze " t "x during it)" } 1' \
		"$results_dir/results" >"$results_dir/results.tmp" && mv "$results_dir/results.tmp" "$results_dir/results"
done

failed=0
for name in $names; do
	line=$(awk -v n="$name" '$1 == n' "$results_dir/results" | head -n 1)
	if [ -z "$line" ]; then
		echo "$name FAIL 0 no result: the run ended before this test" >>"$results_dir/results"
		line="$name FAIL 0 no result: the run ended before this test"
	fi
	set -- $line
	verdict=$2 secs=$3
	shift 3
	reason=$*
	echo "$name: $verdict (${secs}s)${reason:+ - $reason}"
	[ "$verdict" = FAIL ] && failed=$((failed + 1))
done
if [ "$failed" -gt 0 ]; then
	for name in $names; do
		if [ -s "$results_dir/$name.log" ] && awk -v n="$name" '$1 == n && $2 == "FAIL"' \
			"$results_dir/results" | grep -q .; then
			echo "---- $name: log tail ($results_dir/$name.log)"
			tail -n 30 "$results_dir/$name.log"
		fi
	done
	if [ "$mode" = nested ] && ! grep -aq NESTED-L1-DONE "$serial"; then
		echo "---- L1 serial log tail ($serial)"
		tail -n 40 "$serial" | tr -d '\r'
	fi
fi
sed 's/^/timing: /' "$results_dir/timings"
[ "$failed" = 0 ]
