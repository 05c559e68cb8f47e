#!/usr/bin/env bash
# bash completion (tools/host/kvmini.bash-completion) against this build's kvmini:
# subcommands, the options `kvmini help` lists, --disk/--net keys and values,
# and VM names from `kvmini list` (a stub here until the control plane lands).
#   completion.sh COMPLETION_FILE KVMINI
set -u
file=$1 kvmini=$2
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
# kvmini on PATH; `kvmini list` answers like the control plane's, with a header
cat >"$tmp/kvmini" <<STUB
#!/bin/sh
if [ "\$1" = list ]; then printf 'NAME PID STATE\nweb 100 running\nwebdb 101 paused\n'; exit 0; fi
exec "$kvmini" "\$@"
STUB
chmod +x "$tmp/kvmini"
export PATH="$tmp:$PATH"
# shellcheck source=/dev/null
. "$file" || { echo "FAIL: cannot source $file"; exit 1; }
complete -p kvmini >/dev/null || { echo "FAIL: no completion for kvmini"; exit 1; }
failures=0

# expect "WORDS..." WANT...: completing the last word offers every WANT
expect() {
	local line=$1 w
	shift
	read -r -a COMP_WORDS <<<"$line"
	[ "${line: -1}" = " " ] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_kvmini kvmini "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
	for w in "$@"; do
		if ! printf '%s\n' "${COMPREPLY[@]}" | grep -qxF -- "$w"; then
			echo "FAIL: '$line' offers [${COMPREPLY[*]}], not '$w'"
			failures=$((failures + 1))
			return
		fi
	done
	echo "ok: '$line' -> ${COMPREPLY[*]}"
}
# refuse "WORDS..." NOT: completing the last word never offers NOT
refuse() {
	read -r -a COMP_WORDS <<<"$1"
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_kvmini kvmini "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
	if printf '%s\n' "${COMPREPLY[@]}" | grep -qxF -- "$2"; then
		echo "FAIL: '$1' offers '$2'"
		failures=$((failures + 1))
	fi
}

expect "kvmini " run check unpack help version list stop snapshot snapshot-disk stat
expect "kvmini ru" run
expect "kvmini run --ke" --kernel
expect "kvmini run --ser" --serial
expect "kvmini run --con" --config
expect "kvmini run --disk " path= format= readonly= snapshot= id=
expect "kvmini run --disk path=/tmp,read" path=/tmp,readonly=
expect "kvmini run --disk path=/tmp,readonly=" path=/tmp,readonly=on path=/tmp,readonly=off
expect "kvmini run --disk path=/tmp,format=" path=/tmp,format=raw path=/tmp,format=qcow2
expect "kvmini run --net " tap= mac= vhost=
expect "kvmini run --net tap=x,vhost=" tap=x,vhost=auto tap=x,vhost=on tap=x,vhost=off
expect "kvmini run --net tap=" tap=lo
expect "kvmini run --serial " stdio pty null file=
expect "kvmini run --seccomp " on log off
expect "kvmini run --on-reboot r" restart
expect "kvmini stop " web webdb
expect "kvmini info we" web webdb
refuse "kvmini stop " NAME
expect "kvmini stop web --" --timeout --force --json
expect "kvmini pause --" --json
expect "kvmini snapshot " web webdb
expect "kvmini snapshot --" --resume --stop --json
expect "kvmini run --res" --restore
expect "kvmini snapshot-disk " web webdb
expect "kvmini snapshot-disk web --" --disk --file --image --format
expect "kvmini snapshot-disk --format " raw qcow2
refuse "kvmini pause --" --timeout
expect "kvmini list --" --json
expect "kvmini run --" --name --pidfile --api-socket --config
refuse "kvmini run --" --force
echo "$failures failure(s)"
[ "$failures" = 0 ]
