#!/usr/bin/env bash
# A hostile guest against --volume's copy-back: the volcopy firmware writes
# a crafted ext4 image over the volume disk and reports status 0, as a
# command that ended normally would; kvmini then copies the image back.
# Each case checks kvmini's status and message, what DIR holds afterwards,
# and that nothing outside DIR changed.
#
#   attack.sh KVMINI VOLCOPY_ELF MKEVIL CASE
#
# Exits 0 on success, 1 on failure, 77 (skip) without /dev/kvm.
set -u
kvmini=$1 volcopy=$2 mkevil=$3 case=$4

if ! [ -c /dev/kvm ] || ! (exec 3<>/dev/kvm) 2>/dev/null; then
	echo "SKIP: /dev/kvm not available"
	exit 77
fi
command -v mkfs.ext4 >/dev/null || { echo "SKIP: mkfs.ext4 (e2fsprogs) missing"; exit 77; }

w=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-vol.XXXXXX") || exit 1
trap 'chmod -R u+rwx "$w" 2>/dev/null; rm -rf "$w"' EXIT
mkdir -p "$w/p/dir" "$w/src" "$w/tmp"
echo original >"$w/p/dir/keep.txt"
echo outside >"$w/p/outside.txt"
echo victim >"$w/victim"
echo x >"$w/initrd"

fail() {
	echo "FAIL: $case: $*"
	echo "--- kvmini stderr (tail):"
	tail -n 20 "$w/tmp/stderr" 2>/dev/null
	exit 1
}

# Everything under $w but the kept images and the crafting inputs.
snapshot() {
	(cd "$w" && find . -path ./tmp -prune -o -path ./src -prune -o -name img -prune -o \
		-printf '%p %y %m %s %n %U %l\n' | LC_ALL=C sort &&
		find . -path ./tmp -prune -o -path ./src -prune -o -type f ! -name img -print0 |
		LC_ALL=C sort -z | xargs -0r sha256sum)
}

long=$(printf 'N%.0s' $(seq 1 200))	# an entry name long enough to rename to anything
want_status=0 want_msg="" limit_args=() edits=() test_env=() tmp_sub=""

case $case in
dotdot)
	echo pwned >"$w/src/$long"
	edits=(rename / "$long" "../outside.txt")
	want_status=10 want_msg="a name must be one path component"
	;;
absolute)
	echo pwned >"$w/src/$long"
	edits=(rename / "$long" "$w/victim")
	want_status=10 want_msg="a name must be one path component"
	;;
symlink-then-file)
	ln -s "$w/victim" "$w/src/p"
	echo pwned >"$w/src/$long"
	edits=(rename / "$long" p)
	want_status=10 want_msg="twice in one directory"
	;;
symlink-parent)
	ln -s .. "$w/src/up"
	ln -s ../outside.txt "$w/src/esc"
	ln -s "$w/victim" "$w/src/abs"
	;;
hardlink-fanout)
	head -c 1048576 /dev/urandom >"$w/src/big"
	mkdir "$w/src/links"
	for i in $(seq 1 2000); do ln "$w/src/big" "$w/src/links/l$i"; done
	;;
sparse-16t)
	: >"$w/src/huge"
	edits=(size /huge 17592186044416)
	want_status=10 want_msg="--volume-limit bytes=SIZE"
	;;
time)
	: >"$w/src/huge"
	edits=(size /huge 17592186044416)
	limit_args=(--volume-limit bytes=32T,time=1)
	want_status=10 want_msg="--volume-limit time=SECONDS"
	;;
dir-loop)
	mkdir -p "$w/src/a/b/c"
	edits=(relink /a/b c /a)
	want_status=10 want_msg="directory loop"
	;;
root-loop)
	mkdir -p "$w/src/a/c"
	edits=(relink /a c /)
	want_status=10 want_msg="directory loop"
	;;
many-entries)
	python3 - "$w/src" <<'PY' || fail "cannot build the tree"
import os, sys
top = sys.argv[1]
for d in range(400):           # 200 000 names of 4 files (hosts cap links at 65000)
    f = os.path.join(top, "f%d" % (d // 100))
    if d % 100 == 0:
        open(f, "w").close()
    sub = os.path.join(top, "d%03d" % d)
    os.mkdir(sub)
    for i in range(500):
        os.link(f, os.path.join(sub, "l%03d" % i))
PY
	want_status=10 want_msg="more than 100000 entries"
	;;
deep)
	d="$w/src"
	for i in $(seq 1 130); do d="$d/d"; done
	mkdir -p "$d"
	want_status=10 want_msg="--volume-limit depth=N"
	;;
long-path)
	# paths past PATH_MAX: hardlinks that deep come back as copies, still right
	python3 - "$w/src" <<'PY' || fail "cannot build the tree"
import os, sys
os.chdir(sys.argv[1])           # relative steps: the host's PATH_MAX applies per call
for i in range(18):
    name = ("L%02d" % i) * 80   # 240 bytes: 18 levels pass 4096
    os.mkdir(name)
    os.chdir(name)
    for j in range(3):
        os.mkdir("x%d" % j)
        with open("h%d" % j, "w") as f:
            f.write("level %d file %d\n" % (i, j))
        os.link("h%d" % j, "k%d" % j)
PY
	;;
fast-symlink)
	# i_size smaller than the inline target (debugfs overflowed its buffer)
	ln -s 0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ "$w/src/s"
	edits=(size /s 5)
	;;
symlink-size)
	ln -s short "$w/src/s"
	edits=(size /s 100000)
	want_status=10 want_msg="a target of 100000 bytes"
	;;
device-node)
	: >"$w/src/null"
	: >"$w/src/fifo"
	edits=(mode /null 020666 mode /fifo 010644)
	want_msg="left out 2 device nodes"
	;;
setuid)
	printf '#!/bin/sh\n' >"$w/src/suid"
	chmod 4755 "$w/src/suid"
	mkdir "$w/src/sgid"
	chmod 2775 "$w/src/sgid"
	want_msg="cleared the setuid/setgid bits of 1 file"
	;;
garbage)
	head -c 4194304 /dev/urandom >"$w/src/../img.raw"
	;;
confine-write)
	# a compromised reader writing a file nobody may write: Landlock stops it
	python3 -c 'import ctypes, sys; sys.exit(ctypes.CDLL(None).syscall(444, None, 0, 1) < 1)' ||
		{ echo "SKIP: the kernel has no Landlock (landlock_create_ruleset)"; exit 77; }
	chmod 0755 "$w"	# nobody may reach the target: only Landlock stops the write
	mkdir -m 0777 "$w/open"
	echo untouched >"$w/open/target"
	chmod 0666 "$w/open/target"
	echo new >"$w/src/new.txt"
	test_env=(KVMINI_TEST_UNPACK="write=$w/open/target")
	;;
confine-socket)
	# a compromised reader making a system call outside its list: killed
	echo new >"$w/src/new.txt"
	test_env=(KVMINI_TEST_UNPACK=socket)
	want_status=10 want_msg="killed by signal 31"
	;;
tmpdir-comma)
	# a TMPDIR with a comma: the volume's disk reaches the image by descriptor
	mkdir -p "$w/src/sub"
	echo new >"$w/src/sub/new.txt"
	tmp_sub="a,b"
	;;
owner)
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to give DIR to nobody"; exit 77; }
	# DIR belongs to nobody: the copy-back runs as nobody, so its files do too
	mkdir -p "$w/src/sub"
	echo new >"$w/src/sub/new.txt"
	chown -R nobody "$w/p/dir"
	;;
*)
	echo "unknown case $case"
	exit 2
	;;
esac

if [ "$case" = garbage ]; then
	mv "$w/img.raw" "$w/img"
	want_status=10 want_msg="not an ext4 file system"
else
	mkfs.ext4 -q -F -O ^has_journal -N 1024 -d "$w/src" "$w/img" 32M >/dev/null ||
		fail "mkfs.ext4 -d failed"
	if [ ${#edits[@]} -gt 0 ]; then
		"$mkevil" "$w/img" "${edits[@]}" || fail "mkevil failed"
	fi
fi
before=$(snapshot)

tmp=$w/tmp${tmp_sub:+/$tmp_sub}
mkdir -p "$tmp"
env TMPDIR="$tmp" "${test_env[@]}" timeout -s KILL 120 "$kvmini" run --timeout 100 --kernel "$volcopy" \
	--initrd "$w/initrd" --disk "path=$w/img,readonly=on" "${limit_args[@]}" \
	--volume "$w/p/dir" -- true </dev/null >"$w/tmp/stdout" 2>"$w/tmp/stderr"
status=$?

[ "$status" = "$want_status" ] || fail "status $status, expected $want_status"
if [ -n "$want_msg" ] && ! grep -qF -- "$want_msg" "$w/tmp/stderr"; then
	fail "stderr lacks '$want_msg'"
fi
[ -e "$w/victim" ] && [ "$(cat "$w/victim")" = victim ] || fail "$w/victim changed"
[ "$(cat "$w/p/outside.txt")" = outside ] || fail "p/outside.txt changed"
ls -a "$w/p" | grep -q kvmini && fail "a staging directory was left next to DIR"

if [ "$want_status" != 0 ]; then
	# refused: everything exactly as before, the image kept and named
	[ "$(snapshot)" = "$before" ] || {
		diff <(echo "$before") <(snapshot) | head
		fail "something changed although the copy-back was refused"
	}
	kept=$(ls "$w"/tmp/kvmini-volume-* 2>/dev/null)
	[ -n "$kept" ] || fail "the image was not kept"
	grep -qF "$kept" "$w/tmp/stderr" || fail "the message does not name the kept image $kept"
	grep -qF "kvmini unpack $kept DEST" "$w/tmp/stderr" || fail "no hint how to get the files"
	echo "PASS: $case: refused with status $status: $(grep -m1 -F -- "$want_msg" "$w/tmp/stderr")"
	exit 0
fi

[ -z "$(ls "$tmp" | grep kvmini-volume)" ] || fail "the image was not removed after a good copy-back"
[ ! -e "$w/p/dir/keep.txt" ] || fail "DIR was not replaced by the guest's tree"
d=$w/p/dir
case $case in
symlink-parent)
	[ "$(readlink "$d/up")" = .. ] && [ "$(readlink "$d/esc")" = ../outside.txt ] &&
		[ "$(readlink "$d/abs")" = "$w/victim" ] || fail "symlinks not recreated as they were"
	;;
hardlink-fanout)
	[ "$(stat -c %h "$d/big")" = 2001 ] || fail "big has $(stat -c %h "$d/big") links, not 2001"
	cmp -s "$d/big" "$w/src/big" || fail "big differs"
	[ "$(du -sk "$d" | cut -f1)" -lt 4096 ] || fail "hardlinks came back as copies"
	;;
long-path)
	python3 - "$d" <<'PY' || fail "deep files or hardlinks did not come back right"
import os, sys
def walk(fd, depth):
    n = 0
    for e in os.listdir(fd):
        st = os.stat(e, dir_fd=fd, follow_symlinks=False)
        if e.startswith("k"):
            with open(os.open(e, os.O_RDONLY, dir_fd=fd)) as a, \
                 open(os.open("h" + e[1:], os.O_RDONLY, dir_fd=fd)) as b:
                assert a.read() == b.read() == "level %d file %s\n" % (depth, e[1:]), e
            n += 1
        elif e.startswith("L"):
            sub = os.open(e, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            n += walk(sub, depth + 1)
            os.close(sub)
    return n
top = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
n = walk(top, -1)
assert n == 54, "%d of 54 deep hardlinks" % n
PY
	;;
fast-symlink)
	[ "$(readlink "$d/s")" = 01234 ] || fail "s -> '$(readlink "$d/s")', expected 01234"
	;;
device-node)
	[ ! -e "$d/null" ] && [ ! -e "$d/fifo" ] || fail "a device node or FIFO came back"
	;;
setuid)
	[ "$(stat -c %a "$d/suid")" = 755 ] || fail "suid has mode $(stat -c %a "$d/suid")"
	[ "$(stat -c %a "$d/sgid")" = 775 ] || fail "sgid has mode $(stat -c %a "$d/sgid")"
	;;
confine-write)
	[ "$(cat "$w/open/target")" = untouched ] || fail "the confined reader wrote outside DIR"
	[ "$(cat "$d/new.txt")" = new ] || fail "new.txt missing"
	;;
tmpdir-comma)
	[ "$(cat "$d/sub/new.txt")" = new ] || fail "new.txt missing"
	;;
owner)
	[ "$(cat "$d/sub/new.txt")" = new ] || fail "new.txt missing"
	bad=$(find "$d" ! -user nobody)
	[ -z "$bad" ] || fail "not owned by nobody: $bad"
	;;
esac
echo "PASS: $case: status 0, DIR holds the guest's tree, nothing outside changed"
