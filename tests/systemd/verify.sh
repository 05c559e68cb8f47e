#!/usr/bin/env bash
# systemd-analyze verify on kvmini@.service, made from the same template as the
# installed unit but with the binaries of this build, so that every ExecStart and
# ExecStop path exists; also the sysusers.d and tmpfiles.d files parse.
#   verify.sh UNIT_DIR SYSUSERS TMPFILES
# Skips (77) where systemd-analyze is missing or cannot run here.
set -u
dir=$1 sysusers=$2 tmpfiles=$3
if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP: systemd-analyze not installed (apt-get install systemd)"
	exit 77
fi
# man pages are checked in the package test (they are not installed here)
if ! out=$(cd "$dir" && systemd-analyze verify --man=no "$dir/kvmini@verify.service" 2>&1); then
	if grep -q -e 'Failed to initialize manager' -e 'Failed to setup working directory' <<<"$out"; then
		echo "SKIP: systemd-analyze verify cannot run here: $out"
		exit 77
	fi
	echo "$out"
	echo "FAIL: systemd-analyze verify kvmini@verify.service"
	exit 1
fi
[ -z "$out" ] || { echo "$out"; echo "FAIL: systemd-analyze verify warns"; exit 1; }
echo "ok: systemd-analyze verify kvmini@verify.service"
if command -v systemd-sysusers >/dev/null; then
	tmp=$(mktemp -d) || exit 1
	trap 'rm -rf "$tmp"' EXIT
	out=$(systemd-sysusers --root="$tmp" --dry-run "$sysusers" 2>&1) ||
		{ echo "$out"; echo "FAIL: systemd-sysusers $sysusers"; exit 1; }
	grep -q 'kvmini' <<<"$out" || { echo "$out"; echo "FAIL: no kvmini user in $sysusers"; exit 1; }
	echo "ok: systemd-sysusers --dry-run: $(tr '\n' ' ' <<<"$out")"
fi
if command -v systemd-tmpfiles >/dev/null; then
	out=$(systemd-tmpfiles --root="${tmp:-/nonexistent}" --dry-run --create "$tmpfiles" 2>&1)
	if grep -qi -e 'failed to parse' -e 'unknown' -e 'invalid' <<<"$out"; then
		echo "$out"; echo "FAIL: systemd-tmpfiles $tmpfiles"; exit 1
	fi
	echo "ok: $tmpfiles parses"
fi
