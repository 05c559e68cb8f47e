#!/usr/bin/env bash
# The "no permission to open /dev/kvm" hint of `kvmini run` and `kvmini check` fits the
# node: joining group kvm when the node is root:kvm 0660, giving the node to group kvm
# (udev rule, chgrp + chmod) when it is root:root 0600.
#
#   kvm-node-hint.sh KVMINI IMAGE
#
# The host is not changed: in a private mount namespace, a device node with /dev/kvm's
# numbers and the owner and mode of each case, on a tmpfs, is bind-mounted over /dev/kvm;
# kvmini runs as uid 65534 without groups.
# Exits 0 on success, 1 on failure, 77 (skip) when not root or without /dev/kvm.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 KVMINI IMAGE" >&2
	exit 2
fi
kvmini=$1 image=$2
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (mount namespace, device node)"
	exit 77
fi
if ! [ -c /dev/kvm ]; then
	echo "SKIP: no /dev/kvm"
	exit 77
fi
major=$((16#$(stat -c %t /dev/kvm))) minor=$((16#$(stat -c %T /dev/kvm)))
kvm_gid=$(getent group kvm | cut -d: -f3)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-nodehint.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir "$tmp/dev" "$tmp/bin"
cp "$kvmini" "$tmp/bin/kvmini" && cp "$image" "$tmp/bin/image" || exit 1
chmod 755 "$tmp/bin" "$tmp/bin/kvmini" && chmod 644 "$tmp/bin/image"

# as_nobody MODE GID KVMINI-ARGS...: kvmini as uid 65534 with the node MODE, group GID
as_nobody() {
	local mode=$1 gid=$2
	shift 2
	unshare -m --propagation private bash -c '
		set -e
		mount -t tmpfs -o mode=755 kvmini-test "$1/dev"
		mknod -m "$2" "$1/dev/kvm" c "$3" "$4"
		chgrp "$5" "$1/dev/kvm"
		mount --bind "$1/dev/kvm" /dev/kvm
		set +e
		d=$1
		shift 5
		exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
			timeout -s KILL 60 "$d/bin/kvmini" "$@"
	' as_nobody "$tmp" "$mode" "$major" "$minor" "$gid" "$@" \
		</dev/null >"$tmp/stdout" 2>"$tmp/stderr"
}

failures=0
# expect WHAT STATUS OUTPUT-FILE TEXT [ABSENT-TEXT]
expect() {
	local what=$1 want=$2 file=$3 text=$4 absent=${5:-}
	local bad=
	[ "$status" = "$want" ] || bad="$bad; status $status, expected $want"
	grep -qF -e "$text" "$tmp/$file" || bad="$bad; $file lacks: $text"
	if [ -n "$absent" ] && grep -qF -e "$absent" "$tmp/$file"; then
		bad="$bad; $file has: $absent"
	fi
	if [ -n "$bad" ]; then
		echo "FAIL: $what$bad"
		sed 's/^/  stderr: /' "$tmp/stderr" | tail -n 5
		sed 's/^/  stdout: /' "$tmp/stdout" | grep -e hint -e verdict
		failures=$((failures + 1))
	else
		echo "ok: $what: $(grep -m1 -F -e "$text" "$tmp/$file")"
	fi
}

rule_fix='which group kvm cannot open'
rule_text='udev rule 65-kvmini-kvm.rules'
chmod_text='sudo chgrp kvm /dev/kvm && sudo chmod 0660 /dev/kvm'

as_nobody 0600 0 run --kernel "$tmp/bin/image"
status=$?
expect "run, root:root 0600" 2 stderr "/dev/kvm is root:root 0600, $rule_fix"
expect "run, root:root 0600: udev rule" 2 stderr "$rule_text"
expect "run, root:root 0600: chgrp and chmod" 2 stderr "$chmod_text"
as_nobody 0600 0 check
status=$?
expect "check, root:root 0600" 1 stdout "hint: /dev/kvm is root:root 0600, $rule_fix"
expect "check, root:root 0600: chgrp and chmod" 1 stdout "$chmod_text"

if [ -n "$kvm_gid" ]; then
	as_nobody 0660 "$kvm_gid" run --kernel "$tmp/bin/image"
	status=$?
	expect "run, root:kvm 0660" 2 stderr \
		"/dev/kvm is root:kvm 0660: add your user to group kvm: sudo usermod -aG kvm" \
		"chmod"
	as_nobody 0660 "$kvm_gid" check
	status=$?
	expect "check, root:kvm 0660" 1 stdout \
		"hint: /dev/kvm is root:kvm 0660: add your user to group kvm" "chmod"
else
	echo "note: no group kvm on this host (tools/setup-deps creates it): root:kvm case skipped"
fi
if [ "$failures" != 0 ]; then
	echo "FAIL: $failures case(s)"
	exit 1
fi
echo "PASS: the /dev/kvm hint fits the node's owner, group and mode"
exit 0
