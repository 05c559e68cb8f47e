#!/usr/bin/env bash
# Hostile values for every option of tools/kvmini-ifup and tools/kvmini-ifdown. Each must be
# refused with status 2 and a message naming the option, before anything runs: no command
# injected through the value runs, no tap appears and no record is written to the state
# directory. A valid set of options then works, so the checks can see a tap and a record.
#
#   ifup-hostile.sh TOOLS_DIR
#
# Runs in a new network namespace (unshare -n): the host's interfaces are never touched, and
# whatever a broken script might create goes away with the namespace. The records go to the
# default state directory, /run/kvmini-ifup, under names unique to this run.
# Exits 0 on success, 1 on failure, 77 (skip) when not root or without /dev/net/tun.
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 TOOLS_DIR" >&2
	exit 2
fi
tools=$(cd "$1" && pwd) || exit 1
if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (network namespace, taps)"
	exit 77
fi
if ! [ -c /dev/net/tun ]; then
	echo "SKIP: no /dev/net/tun"
	exit 77
fi
if [ -z "${IFUP_HOSTILE_IN_NETNS:-}" ]; then
	IFUP_HOSTILE_IN_NETNS=1 exec unshare --net bash "$0" "$@"
fi

state_dir=/run/kvmini-ifup
id=kvh$$		# in every name this run uses: at most 10 characters
tap=${id}t bridge=${id}b
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-ifup-hostile.XXXXXX") || exit 1
cleanup() {
	"$tools/kvmini-ifdown" -q "$tap" >/dev/null 2>&1
	rm -f "$state_dir/$tap" "$state_dir/bridge:$bridge"
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$tmp/cwd"
cd "$tmp/cwd" || exit 1	# where a relative "touch pwned" would land
mark=$tmp/pwned		# and an absolute one
links() { ip -o link show | awk -F': ' '{ print $2 }' | sort; }
records() { ls -A "$state_dir" 2>/dev/null | grep -F "$id" | sort; }
links_before=$(links)
failures=0

# expect WHAT OPTION TOOL ARGS...: TOOL ARGS must fail with status 2, name OPTION on stderr,
# run nothing and leave the links and our records as they were.
expect() {
	local what=$1 option=$2 tool=$3 status bad=
	shift 3
	local links_then records_then
	links_then=$(links) records_then=$(records)
	"$tools/$tool" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	[ "$status" = 2 ] || bad="$bad; status $status, expected 2"
	grep -qF -e "$option" "$tmp/err" || bad="$bad; stderr does not name $option"
	if [ -e "$mark" ] || [ -n "$(ls -A "$tmp/cwd")" ]; then
		bad="$bad; an injected command ran (created $(ls -A "$mark" "$tmp/cwd" 2>/dev/null | tr '\n' ' '))"
		rm -rf "$mark" "$tmp/cwd"/* "$tmp/cwd"/.[!.]* 2>/dev/null
	fi
	[ "$(links)" = "$links_then" ] || bad="$bad; links changed: $(links | tr '\n' ' ')"
	[ "$(records)" = "$records_then" ] ||
		bad="$bad; records in $state_dir changed: $(records | tr '\n' ' ')"
	if [ -n "$bad" ]; then
		echo "FAIL: $tool $what${bad}"
		printf '  args:'; printf ' [%s]' "$@"; echo
		sed 's/^/  stderr: /' "$tmp/err"
		failures=$((failures + 1))
		# what a broken script left must not confuse the next case
		for l in $(links); do
			case " $(echo $links_then) " in *" $l "*) ;; *) ip link del "$l" 2>/dev/null ;; esac
		done
		for r in $(records); do
			case " $(echo $records_then) " in *" $r "*) ;; *) rm -f "$state_dir/$r" ;; esac
		done
	else
		echo "ok: $tool $what: $(head -n 1 "$tmp/err")"
	fi
}

nl='
'
long=${id}aaaaaaaaaaaaaaaaaaaa	# more than 15 characters

# --user
expect "user sed-style" --user kvmini-ifup --user 'zz/1/;e touch pwned;#' "$tap"
expect "user substitution" --user kvmini-ifup --user "\$(touch $mark)" "$tap"
expect "user semicolon" --user kvmini-ifup --user='root;touch pwned' "$tap"
expect "user newline" --user kvmini-ifup -u "root${nl}touch pwned" "$tap"
expect "user uid too large" --user kvmini-ifup --user 99999999999999999999 "$tap"
expect "user leading dash" --user kvmini-ifup --user -0 "$tap"
# --group
expect "group sed e command" --group kvmini-ifup --group 'zz/1/;e touch pwned;#' "$tap"
expect "group sed e command, = form" --group kvmini-ifup --group='x:/;e touch pwned;#' "$tap"
expect "group substitution" --group kvmini-ifup -g "\$(touch $mark)" "$tap"
expect "group newline" --group kvmini-ifup --group "root${nl}touch pwned" "$tap"
expect "group regex" --group kvmini-ifup --group '.*' "$tap"
expect "group gid too large" --group kvmini-ifup --group 4294967296 "$tap"
# --bridge (and --create-bridge, which takes no value)
expect "bridge semicolon" --bridge kvmini-ifup -c --bridge "$id;touch pwned" "$tap"
expect "bridge substitution" --bridge kvmini-ifup -c -b "\$(touch $mark)" "$tap"
expect "bridge newline" --bridge kvmini-ifup -c --bridge "${id}${nl}x" "$tap"
expect "bridge too long" --bridge kvmini-ifup -c --bridge "$long" "$tap"
expect "bridge leading dash" --bridge kvmini-ifup -c --bridge="-$id" "$tap"
expect "bridge glob" --bridge kvmini-ifup -c --bridge "${id}*" "$tap"
expect "create-bridge with a value" --create-bridge kvmini-ifup "--create-bridge=\$(touch $mark)" "$tap"
# --address
expect "address semicolon" --address kvmini-ifup --address '10.0.0.1/24;touch pwned' "$tap"
expect "address substitution" --address kvmini-ifup -a "\$(touch $mark)/24" "$tap"
expect "address glob" --address kvmini-ifup --address '*/*' "$tap"
expect "address two words" --address kvmini-ifup --address '10.0.0.1/24 10.0.0.2/24' "$tap"
expect "address newline" --address kvmini-ifup --address "10.0.0.1/24${nl}10.0.0.2/24" "$tap"
expect "address octet 300" --address kvmini-ifup --address 300.0.0.1/24 "$tap"
expect "address prefix 33" --address kvmini-ifup --address=10.0.0.1/33 "$tap"
expect "address ipv6 prefix 129" --address kvmini-ifup --address fd00::1/129 "$tap"
expect "address option word" --address kvmini-ifup --address 'dev/24' "$tap"
# --mtu
expect "mtu semicolon" --mtu kvmini-ifup --mtu '1500;touch pwned' "$tap"
expect "mtu substitution" --mtu kvmini-ifup -m "\$(touch $mark)" "$tap"
expect "mtu zero" --mtu kvmini-ifup --mtu 0 "$tap"
expect "mtu huge" --mtu kvmini-ifup --mtu=99999999999999999999 "$tap"
expect "mtu above 65535" --mtu kvmini-ifup --mtu 65536 "$tap"
# --quiet and --help take no value
expect "quiet with a value" --quiet kvmini-ifup "--quiet=\$(touch $mark)" "$tap"
expect "help with a value" --help kvmini-ifup "--help=\$(touch $mark)" "$tap"
# TAP
expect "tap semicolon" TAP kvmini-ifup "$id;touch pwned"
expect "tap substitution" TAP kvmini-ifup "${id}\$(touch $mark)"
expect "tap newline (record lines)" TAP kvmini-ifup "${id}${nl}created_tap=1"
expect "tap too long" TAP kvmini-ifup "$long"
expect "tap glob" TAP kvmini-ifup "${id}*"
expect "tap quote" TAP kvmini-ifup "${id}'x"

# A valid set of options works, and leaves a tap and a record that the checks would see.
for g in kvm nogroup root; do
	getent group "$g" >/dev/null && break
done
if ! "$tools/kvmini-ifup" -q --user nobody --group "$g" --bridge "$bridge" --create-bridge \
	--address 10.231.$(($$ % 250)).1/24 --address fd00:ad::1/64 --mtu 1400 "$tap" \
	>"$tmp/out" 2>"$tmp/err"; then
	echo "FAIL: kvmini-ifup with valid options failed:"
	sed 's/^/  stderr: /' "$tmp/err"
	exit 1
fi
if ! ip link show dev "$tap" >/dev/null 2>&1 || ! [ -f "$state_dir/$tap" ]; then
	echo "FAIL: kvmini-ifup with valid options made no tap $tap or no record $state_dir/$tap"
	exit 1
fi
echo "ok: kvmini-ifup with valid options made $tap on $bridge (group $g) and its record"

# kvmini-ifdown: TAP, --quiet and --help; the real tap and its record stay.
expect "tap semicolon" TAP kvmini-ifdown "$tap;touch pwned"
expect "tap substitution" TAP kvmini-ifdown "${tap}\$(touch $mark)"
expect "tap glob" TAP kvmini-ifdown "${id}*"
expect "tap newline" TAP kvmini-ifdown "${tap}${nl}x"
expect "tap too long" TAP kvmini-ifdown "$long"
expect "tap leading dots" TAP kvmini-ifdown "..$tap"
expect "quiet with a value" --quiet kvmini-ifdown "--quiet=\$(touch $mark)" "$tap"
expect "help with a value" --help kvmini-ifdown "--help=\$(touch $mark)" "$tap"
if ! ip link show dev "$tap" >/dev/null 2>&1 || ! [ -f "$state_dir/$tap" ]; then
	echo "FAIL: a refused kvmini-ifdown removed $tap or its record"
	failures=$((failures + 1))
fi
if ! "$tools/kvmini-ifdown" -q "$tap" 2>"$tmp/err" || ip link show dev "$tap" >/dev/null 2>&1 ||
	ip link show dev "$bridge" >/dev/null 2>&1 || [ -n "$(records)" ]; then
	echo "FAIL: kvmini-ifdown $tap did not remove $tap, $bridge and the records:"
	sed 's/^/  stderr: /' "$tmp/err"
	failures=$((failures + 1))
fi
if [ "$(links)" != "$links_before" ]; then
	echo "FAIL: links left behind: $(links | tr '\n' ' ')"
	failures=$((failures + 1))
fi
if [ "$failures" != 0 ]; then
	echo "FAIL: $failures case(s)"
	exit 1
fi
echo "PASS: every hostile value was refused by name; nothing ran and nothing was created"
exit 0
