#!/usr/bin/env bash
# run-guest.sh (from $PRIVS_RUN_GUEST) with kvmini's privilege options added:
# the words of $PRIVS_ARGS (e.g. "--user nobody"), and with PRIVS_JAIL=1
# "--jail DIR" on a fresh empty directory, removed afterwards.
#
#   with-privs.sh KVMINI IMAGE EXPECTED_OUTPUT EXPECTED_STATUS [KVMINI_ARGS...]
#
# Same interface as run-guest.sh, so virtioblk-run.sh can take it as its
# runner. Skips (77) unless run as root: switching users and creating
# namespaces need root.
set -u

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: needs root (to switch users and create namespaces)"
	exit 77
fi
runner=${PRIVS_RUN_GUEST:?set PRIVS_RUN_GUEST to tests/firmware/run-guest.sh}
read -r -a extra <<<"${PRIVS_ARGS:-}"
jail=
if [ "${PRIVS_JAIL:-0}" = 1 ]; then
	jail=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-jail.XXXXXX") || exit 1
	trap 'rmdir "$jail"' EXIT
	extra+=(--jail "$jail")
fi
bash "$runner" "$1" "$2" "$3" "$4" "${extra[@]}" "${@:5}"
status=$?
# the jail must stay empty: kvmini needs nothing in it and leaves nothing there
if [ -n "$jail" ] && [ -n "$(ls -A "$jail")" ]; then
	echo "FAIL: the jail directory $jail is not empty after the run:"
	ls -la "$jail"
	exit 1
fi
exit "$status"
