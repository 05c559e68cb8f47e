#!/usr/bin/env bash
# Builds the Debian packages from a copy of the source tree (dpkg-buildpackage
# -us -uc -b), fails on any lintian error, checks what each package holds and
# depends on, then unpacks them with dpkg -x into a scratch root and runs the
# installed kvmini there: the installed hello firmware (serial output and exit
# status), kvmini check, kvmini version and kvmini-mkguest --help.
#
#   build-and-run.sh SOURCE_DIR
#
# Exits 77 (skip) when the packaging tools are missing (tools/setup-deps --pkg
# installs them; tools/test does so), and after the lintian and content checks
# when there is no usable /dev/kvm to run the installed kvmini on.
set -u
src=${1:?usage: build-and-run.sh SOURCE_DIR}

missing=()
for t in dpkg-buildpackage dpkg-checkbuilddeps dh lintian dpkg-deb; do
	command -v "$t" >/dev/null || missing+=("$t")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "SKIP: packaging tools missing: ${missing[*]} (apt-get install dpkg-dev debhelper lintian, or tools/setup-deps --pkg)"
	exit 77
fi
if ! deps=$(cd "$src" && dpkg-checkbuilddeps 2>&1); then
	echo "SKIP: build dependencies of debian/control missing: $deps (tools/setup-deps installs them)"
	exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-pkg.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A copy: dpkg-buildpackage writes obj-*/, debian/tmp and the .debs (into the parent).
mkdir "$tmp/src"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	(cd "$src" && git ls-files -co --exclude-standard -z | tar --null -cf - -T -) |
		tar -xf - -C "$tmp/src" || fail "cannot copy $src"
else
	tar -C "$src" --exclude='./build*' --exclude='./obj-*' -cf - . |
		tar -xf - -C "$tmp/src" || fail "cannot copy $src"
fi

echo "+ dpkg-buildpackage -us -uc -b"
if ! (cd "$tmp/src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	tail -n 60 "$tmp/build.log"
	fail "dpkg-buildpackage failed"
fi
changes=$(ls "$tmp"/kvmini_*_amd64.changes 2>/dev/null | head -n 1)
[ -n "$changes" ] || fail "no .changes file after the build"

echo "+ lintian --fail-on error $(basename "$changes")"
# lintian refuses nothing as root, it only says it is not recommended
lintian --fail-on error "$changes" 2>&1 |
	grep -v 'running with root privileges' | tee "$tmp/lintian.log"
[ "${PIPESTATUS[0]}" = 0 ] || fail "lintian reports errors (above)"

deb() { ls "$tmp/$1"_*.deb 2>/dev/null | head -n 1; }
for p in kvmini kvmini-tools kvmini-guest kvmini-doc kvmini-qemu; do
	[ -n "$(deb "$p")" ] || fail "package $p was not built"
done

# contents: PACKAGE PATH...
holds() {
	local p=$1 list
	shift
	list=$(dpkg-deb -c "$(deb "$p")" | awk '{ print $6 }')
	for f in "$@"; do
		grep -qx "./$f" <<<"$list" || fail "$p lacks /$f"
	done
}
holds kvmini usr/bin/kvmini usr/share/man/man1/kvmini.1.gz \
	usr/lib/udev/rules.d/65-kvmini-kvm.rules usr/lib/modules-load.d/kvmini.conf \
	usr/lib/systemd/system/kvmini@.service usr/lib/sysusers.d/kvmini.conf \
	usr/lib/tmpfiles.d/kvmini.conf usr/share/man/man5/kvmini.conf.5.gz
holds kvmini-tools usr/sbin/kvmini-ifup usr/sbin/kvmini-ifdown \
	usr/share/man/man8/kvmini-ifup.8.gz usr/share/man/man8/kvmini-ifdown.8.gz \
	usr/share/bash-completion/completions/kvmini
holds kvmini-guest usr/bin/kvmini-mkguest usr/lib/kvmini/kvmini-exit \
	usr/lib/kvmini/firmware/hello.elf usr/share/man/man1/kvmini-mkguest.1.gz
holds kvmini-qemu usr/bin/qemu-kvm usr/bin/kvm usr/share/man/man1/kvmini-qemu.1.gz
holds kvmini usr/share/man/man1/kvmini-stat.1.gz
holds kvmini-doc usr/share/doc/kvmini-doc/design.md.gz \
	usr/share/doc/kvmini-doc/examples/example.conf

# dependencies: only kvmini-guest needs e2fsprogs, busybox-static and apt
for p in kvmini kvmini-tools kvmini-doc kvmini-qemu; do
	d=$(dpkg-deb -f "$(deb "$p")" Depends)
	grep -qwE 'e2fsprogs|busybox-static|apt' <<<"$d" && fail "$p depends on: $d"
done
d=$(dpkg-deb -f "$(deb kvmini-guest)" Depends)
for need in e2fsprogs busybox-static apt; do
	grep -qw "$need" <<<"$d" || fail "kvmini-guest does not depend on $need: $d"
done
echo "ok: contents and dependencies"

root=$tmp/root
for p in kvmini kvmini-tools kvmini-guest kvmini-doc kvmini-qemu; do
	dpkg -x "$(deb "$p")" "$root" || fail "dpkg -x $(deb "$p")"
done
# the installed qemu-kvm is kvmini's front end
"$root/usr/bin/qemu-kvm" -version | grep -q '^QEMU emulator version .*(kvmini ' ||
	fail "qemu-kvm -version: $("$root/usr/bin/qemu-kvm" -version 2>&1)"
kvmini=$root/usr/bin/kvmini

"$kvmini" version | grep -q '^kvmini ' || fail "kvmini version: $("$kvmini" version 2>&1)"
grep -qx 'KVMINI_PKGLIBDIR=/usr/lib/kvmini' "$root/usr/bin/kvmini-mkguest" ||
	fail "kvmini-mkguest does not point at /usr/lib/kvmini"
"$root/usr/bin/kvmini-mkguest" --help | grep -q '^Usage: kvmini-mkguest' ||
	fail "kvmini-mkguest --help"
bash -n "$root/usr/share/bash-completion/completions/kvmini" || fail "completion: syntax"
# The unit names installed paths (tests/systemd runs systemd-analyze verify on the
# same template with the build's binaries: verify needs the commands on this host).
unit=$root/usr/lib/systemd/system/kvmini@.service
for cmd in $(sed -n 's/^Exec[A-Za-z]*=\([^ ]*\).*/\1/p' "$unit"); do
	[ -x "$root$cmd" ] || fail "kvmini@.service runs $cmd, which the packages do not install"
done
grep -qx 'ExecStart=/usr/bin/kvmini run --name %i --config /etc/kvmini/%i.conf' "$unit" ||
	fail "kvmini@.service: unexpected ExecStart: $(grep ExecStart "$unit")"
dpkg-deb -I "$(deb kvmini)" postinst | grep -q 'systemd-sysusers.*kvmini.conf' ||
	fail "kvmini's postinst does not create the kvmini user"
# the example config boots the installed hello firmware (below)
grep -qx 'kernel /usr/lib/kvmini/firmware/hello.elf' "$root/usr/share/doc/kvmini-doc/examples/example.conf" ||
	fail "example.conf does not name the installed hello firmware"

"$kvmini" check >"$tmp/check.out" 2>&1
st=$?
cat "$tmp/check.out"
{ [ $st = 0 ] || [ $st = 1 ]; } || fail "kvmini check exited $st"
grep -q '^verdict: ' "$tmp/check.out" || fail "kvmini check printed no verdict"

if ! [ -c /dev/kvm ] || ! (exec 3<>/dev/kvm) 2>/dev/null; then
	echo "SKIP: packages built, lintian-clean and unpacked; no usable /dev/kvm to boot the installed hello firmware"
	exit 77
fi
echo "+ $kvmini run --kernel $root/usr/lib/kvmini/firmware/hello.elf"
timeout -s KILL 60 "$kvmini" run --kernel "$root/usr/lib/kvmini/firmware/hello.elf" --timeout 30 \
	</dev/null >"$tmp/hello.out" 2>"$tmp/hello.err"
st=$?
cat "$tmp/hello.out"
[ $st = 0 ] || { cat "$tmp/hello.err"; fail "the installed kvmini exited $st on hello.elf, not 0"; }
grep -qx 'Hello from kvmini firmware!' "$tmp/hello.out" ||
	fail "no 'Hello from kvmini firmware!' line from the installed hello.elf"
echo "ok: installed kvmini booted the installed hello firmware (status 0)"

# the example of kvmini@.service, through --config, with the paths moved into the root
sed "s|/usr/lib/kvmini|$root/usr/lib/kvmini|" "$root/usr/share/doc/kvmini-doc/examples/example.conf" \
	>"$tmp/example.conf"
timeout -s KILL 60 "$kvmini" run --config "$tmp/example.conf" </dev/null >"$tmp/conf.out" 2>&1
st=$?
[ $st = 0 ] && grep -qx 'Hello from kvmini firmware!' "$tmp/conf.out" ||
	{ cat "$tmp/conf.out"; fail "kvmini run --config example.conf exited $st"; }
echo "ok: kvmini run --config example.conf"
