#!/usr/bin/env bash
# An unprivileged member of /dev/kvm's group runs the hello firmware, the
# way tools/udev/65-kvmini-kvm.rules sets hosts up; a non-member is refused.
#
#   kvm-group.sh KVMINI IMAGE EXPECTED_OUTPUT RULES_FILE
#
# The host is not changed: in a private mount namespace (unshare -m), a
# device node with /dev/kvm's numbers and the rule's GROUP and MODE, on a
# tmpfs that goes away with the namespace, is bind-mounted over /dev/kvm.
# The group is kvm when it exists (tools/setup-deps creates it), else an
# unused gid. kvmini then runs as uid 65534 with only that group.
# Exits 0 on success, 1 on failure, 77 (skip) when not root or without /dev/kvm.
set -u

if [ $# -ne 4 ]; then
	echo "usage: $0 KVMINI IMAGE EXPECTED_OUTPUT RULES_FILE" >&2
	exit 2
fi
kvmini=$1 image=$2 expected=$3 rules=$4
limit=${KVMINI_TEST_TIMEOUT:-60}
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (mount namespace, device node)"
	exit 77
fi
if ! [ -c /dev/kvm ]; then
	echo "SKIP: no /dev/kvm"
	exit 77
fi

# GROUP="..." and MODE="..." of the rule for KERNEL=="kvm"
rule=$(grep -E '^[[:space:]]*KERNEL=="kvm"' "$rules")
group=$(sed -nE 's/.*GROUP="([^"]+)".*/\1/p' <<<"$rule")
mode=$(sed -nE 's/.*MODE="([0-7]+)".*/\1/p' <<<"$rule")
if [ -z "$group" ] || [ -z "$mode" ]; then
	echo "FAIL: no KERNEL==\"kvm\" rule with GROUP and MODE in $rules"
	exit 1
fi
gid=$(getent group "$group" | cut -d: -f3)
if [ -z "$gid" ]; then
	for gid in $(seq 64990 -1 64900); do
		getent group "$gid" >/dev/null || break
	done
	echo "note: no group $group on this host (tools/setup-deps creates it); using gid $gid"
fi
major=$((16#$(stat -c %t /dev/kvm))) minor=$((16#$(stat -c %T /dev/kvm)))

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-kvmgroup.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir "$tmp/dev" "$tmp/bin"
# copies the test user can reach wherever the build tree is
cp "$kvmini" "$tmp/bin/kvmini" && cp "$image" "$tmp/bin/image" || exit 1
chmod 755 "$tmp/bin" "$tmp/bin/kvmini" && chmod 644 "$tmp/bin/image"

# run_as GROUPS_OPTION: kvmini as uid 65534 in a namespace with the new node
run_as() {
	unshare -m --propagation private bash -c '
		set -e
		mount -t tmpfs -o mode=755 kvmini-test "$1/dev"
		mknod -m "$2" "$1/dev/kvm" c "$3" "$4"
		chgrp "$5" "$1/dev/kvm"
		mount --bind "$1/dev/kvm" /dev/kvm
		set +e
		exec setpriv --reuid=65534 --regid=65534 "$6" --inh-caps=-all \
			timeout -s KILL "$7" "$1/bin/kvmini" run --kernel "$1/bin/image"
	' run_as "$tmp" "$mode" "$major" "$minor" "$gid" "$1" "$limit" \
		</dev/null >"$tmp/stdout" 2>"$tmp/stderr"
}

show_logs() {
	echo "--- guest output (stdout, last 30 lines) ---"; tail -n 30 "$tmp/stdout"
	echo "--- kvmini messages (stderr, last 30 lines) ---"; tail -n 30 "$tmp/stderr"
}

# a member of the group: runs
run_as "--groups=$gid"
status=$?
if [ "$status" -ne 0 ] || ! cmp -s "$expected" "$tmp/stdout"; then
	echo "FAIL: uid 65534 in group $group ($gid), /dev/kvm mode $mode: status $status" \
	     "(expected 0), output $(cmp -s "$expected" "$tmp/stdout" && echo as expected ||
	     echo differs)"
	show_logs
	exit 1
fi
# control: the same user outside the group is refused with the usual hint
run_as --clear-groups
status=$?
if [ "$status" -ne 2 ] || ! grep -q "add your user to group kvm" "$tmp/stderr"; then
	echo "FAIL: uid 65534 without group $group: status $status, expected 2 and the" \
	     "'add your user to group kvm' hint"
	show_logs
	exit 1
fi
echo "PASS: group $group ($gid) with mode $mode runs kvmini unprivileged; non-members are refused"
exit 0
