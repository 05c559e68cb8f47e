#!/usr/bin/env bash
# On a host whose KVM is software only (no vmx/svm CPU flag), `kvmini run` of a Linux
# kernel prints one warning line up front, then runs it anyway; a firmware guest gets none.
#
#   linux-soft-kvm.sh KVMINI BZIMAGE VMLINUX HELLO HELLO_EXPECTED
#
# BZIMAGE and VMLINUX are tiny kernels that look like Linux (tests/cli/mkbad.py) and only
# write 0 to the exit device: status 1. Every run has a --timeout.
# Exits 0 on success, 1 on failure, 77 (skip) without usable /dev/kvm or where the CPU has
# vmx/svm (there the warning must not appear, and Linux boots: the nested suite runs it).
set -u

if [ $# -ne 5 ]; then
	echo "usage: $0 KVMINI BZIMAGE VMLINUX HELLO HELLO_EXPECTED" >&2
	exit 2
fi
kvmini=$1 bzimage=$2 vmlinux=$3 hello=$4 hello_expected=$5
if ! [ -c /dev/kvm ] || ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
	echo "SKIP: no usable /dev/kvm"
	exit 77
fi
if grep -m1 '^flags' /proc/cpuinfo | grep -qw -e vmx -e svm; then
	echo "SKIP: this CPU has vmx/svm (hardware KVM): the warning is for software-only KVM"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-softkvm.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
failures=0
warning="cannot boot on this host's software KVM"

# run KERNEL: kvmini with a timeout; status in $status
run() {
	timeout --kill-after=5 60 "$kvmini" run --timeout 20 --kernel "$1" \
		</dev/null >"$tmp/stdout" 2>"$tmp/stderr"
	status=$?
}

fail() {
	echo "FAIL: $*"
	sed 's/^/  stderr: /' "$tmp/stderr" | tail -n 5
	failures=$((failures + 1))
}

# what `kvmini check` says on this host: the warning quotes its verdict
verdict=$("$kvmini" check 2>/dev/null | sed -n 's/^verdict: //p')

for k in "$bzimage" "$vmlinux"; do
	run "$k"
	line=$(grep -F -e "$warning" "$tmp/stderr")
	if [ "$status" != 1 ]; then
		fail "$k: status $status, expected 1 (the guest's exit device write)"
	elif [ "$(grep -c -F -e "$warning" "$tmp/stderr")" != 1 ]; then
		fail "$k: not exactly one warning line saying '$warning'"
	elif [ "$(wc -l <"$tmp/stderr")" != 1 ]; then
		fail "$k: stderr has more than the warning line"
	else
		bad=
		for want in "kvmini: warning: kernel $k is Linux, which $warning" \
			    "kvmini check says: " "VT-x/AMD-V" "tests/nested/"; do
			case "$line" in
			*"$want"*) ;;
			*) bad="$bad '$want'" ;;
			esac
		done
		quoted=${line#*kvmini check says: }
		quoted=${quoted%; for Linux use*}
		case "$verdict" in
		"$quoted"*) ;;
		*) bad="$bad the verdict of kvmini check ('$verdict')" ;;
		esac
		if [ -n "$bad" ]; then
			fail "$k: the warning lacks$bad"
		else
			echo "ok: $k: status 1 after: $line"
		fi
	fi
done

run "$hello"
if [ "$status" != 0 ] || ! cmp -s "$hello_expected" "$tmp/stdout"; then
	fail "$hello: status $status (expected 0) or its output differs"
elif [ -s "$tmp/stderr" ]; then
	fail "$hello: a firmware guest got a message on stderr"
else
	echo "ok: $hello: status 0, its output, and no warning"
fi
if [ "$failures" != 0 ]; then
	echo "FAIL: $failures case(s)"
	exit 1
fi
echo "PASS: Linux kernels are warned about on software KVM and still run; firmware is not"
exit 0
