# Nested test bed, host side (bash, sourced): build the L1 initramfs, boot L1 under QEMU TCG
# with emulated SVM, parse its serial log. Used by tests/nested/run.sh and tools/bench/boot.

NESTED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KVMINI_SRC=$(cd "$NESTED_DIR/../.." && pwd)
L1_MODULES="irqbypass kvm kvm-amd tun tap vhost_iotlb vhost vhost_net"
L0_QEMU=${L0_QEMU:-qemu-system-x86_64}

nested_log() { echo "nested: $*" >&2; }

# True when this host has hardware KVM: the tests can run without nesting.
nested_have_hw_kvm() {
	grep -qw -e vmx -e svm /proc/cpuinfo 2>/dev/null || return 1
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 1
	# PVM (software KVM) hosts hide vmx/svm; a kvm_intel or kvm_amd module means real KVM.
	grep -qw -e kvm_intel -e kvm_amd /proc/modules 2>/dev/null ||
		[ -d /sys/module/kvm_intel ] || [ -d /sys/module/kvm_amd ]
}

# l1_add_binary ROOT BIN [DEST]: copies BIN and the shared libraries ldd lists (loader included)
# to the same absolute paths under ROOT.
l1_add_binary() {
	local root=$1 bin=$2 dest=${3:-/usr/local/bin/$(basename "$2")} lib
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$bin" "$root$dest"
	ldd "$bin" >/dev/null 2>&1 || return 0	# static
	for lib in $(ldd "$bin" | awk '/=> \// { print $3 } /^[ \t]*\// { print $1 }'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

# l1_build OUT GUEST_DIR PAYLOAD ENVFILE [BIN...]: writes the L1 initramfs (uncompressed newc:
# TCG would spend seconds in gunzip). The L1 kernel is GUEST_DIR's 6.1 kernel. Each BIN is
# copied to /usr/local/bin with its libraries; "qemu" adds qemu-system-x86_64 and its ROMs.
# NESTED_WITH_PVH=0 leaves the 52 MB PVH vmlinux out; NESTED_EXTRA_FILES are copied to /nested;
# NESTED_TEST_ENV ("VAR=VALUE ...") is appended to /nested/env (tests.sh settings, e.g. NET_MB=20).
l1_build() {
	local out=$1 guests=$2 payload=$3 envfile=$4 root bb m src v f
	shift 4
	root=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-l1.XXXXXX")
	bb=$(readlink -f "$(command -v busybox)")
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,proc,sys,dev,tmp,lib/modules,nested}
	cp "$bb" "$root/bin/busybox"
	for f in $("$bb" --list-full); do
		[ -e "$root/$f" ] || ln -s /bin/busybox "$root/$f"
	done
	mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
	cp "$NESTED_DIR/l1-init" "$root/init"
	chmod 755 "$root/init"
	: >"$root/lib/modules/order"
	for m in $L1_MODULES; do
		src=$(find "$guests/kernel/6.1/modules/kernel" \( -name "$m.ko" -o -name "$m.ko.xz" \
			-o -name "$m.ko.zst" \) -print -quit)
		[ -n "$src" ] || continue	# built in
		case "$src" in
		*.xz) xz -dc "$src" >"$root/lib/modules/$m.ko" ;;
		*.zst) zstd -qdc "$src" >"$root/lib/modules/$m.ko" ;;
		*) cp "$src" "$root/lib/modules/$m.ko" ;;
		esac
		echo "$m" >>"$root/lib/modules/order"
	done
	cp "$NESTED_DIR/tests.sh" "$root/nested/tests.sh"
	cp "$payload" "$root/nested/payload"
	cp "$envfile" "$root/nested/env"
	# NESTED_TEST_ENV='VAR=VALUE ...': more settings for tests.sh (e.g. NET_MB=20)
	for v in ${NESTED_TEST_ENV:-}; do
		echo "$v" >>"$root/nested/env"
	done
	for f in ${NESTED_EXTRA_FILES:-}; do
		cp "$f" "$root/nested/"
	done
	for v in 6.1 6.12; do
		mkdir -p "$root/guest/kernel/$v" "$root/guest/guest/$v"
		cp "$guests/kernel/$v/vmlinuz" "$guests/kernel/$v/release" "$root/guest/kernel/$v/"
		cp "$guests/guest/$v/initramfs.cpio" "$root/guest/guest/$v/"
	done
	cp "$guests/guest/rootfs.ext4" "$root/guest/guest/"
	# the disk tests check guest writes on the image, as a host would
	l1_add_binary "$root" "$(command -v debugfs)" /usr/bin/debugfs
	# --volume packs directories with mkfs.ext4; the tests inspect kept images with debugfs
	l1_add_binary "$root" "$(command -v mkfs.ext4)" /usr/bin/mkfs.ext4
	# the copy-back dlopen()s libext2fs, which ldd of kvmini does not list
	for lib in libext2fs.so.2 libcom_err.so.2; do
		lib=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64/ { print $NF; exit }')
		[ -n "$lib" ] && [ ! -e "$root$lib" ] && mkdir -p "$root$(dirname "$lib")" &&
			cp -L "$lib" "$root$lib"
	done
	# the net tests: iproute2's ip (busybox ip has no tuntap, no -d details), kvmini-ifup/ifdown
	if command -v ip >/dev/null; then
		rm -f "$root/sbin/ip" "$root/bin/ip"
		l1_add_binary "$root" "$(command -v ip)" /sbin/ip
	fi
	cp "$KVMINI_SRC/tools/kvmini-ifup" "$KVMINI_SRC/tools/kvmini-ifdown" "$root/usr/local/bin/"
	mkdir -p "$root/etc"
	[ ! -f /etc/mke2fs.conf ] || cp /etc/mke2fs.conf "$root/etc/"
	if [ "${NESTED_WITH_PVH:-1}" = 1 ] && [ -f "$guests/kernel/6.1/vmlinux" ]; then
		cp "$guests/kernel/6.1/vmlinux" "$root/guest/kernel/6.1/"
	fi
	for f in "$@"; do
		if [ "$f" = qemu ]; then
			l1_add_binary "$root" "$(command -v qemu-system-x86_64)" /usr/bin/qemu-system-x86_64
			mkdir -p "$root/usr/share/qemu"
			for m in bios-microvm.bin qboot.rom linuxboot_dma.bin pvh.bin kvmvapic.bin; do
				cp -L "/usr/share/qemu/$m" "$root/usr/share/qemu/$m"
			done
		else
			l1_add_binary "$root" "$f"
		fi
	done
	# a private temporary name: several runs may build into the same cache at once
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp.$$" &&
		mv "$out.tmp.$$" "$out"
	local rc=$?
	rm -rf "$root"
	return $rc
}

# l1_boot KERNEL INITRD LOG TIMEOUT SMP [STALL]: boots L1 (TCG, emulated SVM), serial to LOG.
# Kills L1 after TIMEOUT seconds, or after STALL seconds without serial output (a frozen L1:
# its own per-guest timeouts cannot fire); either way appends a NESTED-HOST- line to LOG.
# Returns QEMU's status (137 or 143 when killed). $L1_APPEND: more L1 kernel parameters
# (MODULE.PARAM=VALUE ones reach the modules l1-init loads, e.g. kvm_amd.vgif=0).
# Before killing a frozen L1, the emulated CPU's state (QEMU monitor: registers, local APIC)
# goes to LOG.state, and its flags line into the NESTED-HOST-STALL line.
l1_boot() {
	local kernel=$1 initrd=$2 log=$3 tmo=$4 smp=$5 stall=${6:-0} pid size last_size last_change stalled
	local mondir cpu=
	mondir=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-mon.XXXXXX")	# a short path: sun_path is 108 bytes
	timeout --foreground -s KILL "$tmo" "$L0_QEMU" -accel tcg,thread=multi -cpu max,+svm -M q35 \
		-m 2048 -smp "$smp" -nodefaults -no-user-config -display none -serial stdio \
		-monitor "unix:$mondir/m,server=on,wait=off" -no-reboot -kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 rdinit=/init panic=-1 quiet ${L1_APPEND:-}" \
		</dev/null >"$log" 2>&1 &
	pid=$!
	trap 'kill $pid 2>/dev/null' EXIT INT TERM
	last_size=-1 last_change=$SECONDS stalled=0
	while kill -0 "$pid" 2>/dev/null; do
		sleep 2
		size=$(stat -c %s "$log" 2>/dev/null || echo 0)
		if [ "$size" != "$last_size" ]; then
			last_size=$size last_change=$SECONDS
		elif [ "$stall" -gt 0 ] && [ $((SECONDS - last_change)) -ge "$stall" ]; then
			stalled=1
			python3 "$NESTED_DIR/l1-monitor.py" "$mondir/m" "info registers" "info lapic" \
				>"$log.state" 2>&1
			cpu=$(grep -m 1 -o 'EFL=.*' "$log.state" 2>/dev/null)
			kill "$pid" 2>/dev/null
			break
		fi
	done
	wait "$pid"
	local rc=$?
	trap - EXIT INT TERM
	rm -rf "$mondir"
	# After QEMU has exited: it writes at its own file offset.
	[ "$stalled" = 1 ] &&
		echo "NESTED-HOST-STALL no L1 output for ${stall}s: killed${cpu:+ (L1 CPU: $cpu; $log.state)}" >>"$log"
	[ "$rc" = 137 ] && echo "NESTED-HOST-TIMEOUT L1 killed after ${tmo}s" >>"$log"
	return $rc
}

# nested_parse LOG RESULTS OUTDIR: NESTED-RESULT lines of LOG to RESULTS ("name VERDICT secs
# reason"), each test's log to OUTDIR/<name>.log (unless OUTDIR is empty).
nested_parse() {
	local log=$1 results=$2 outdir=$3
	tr -d '\r' <"$log" | sed -n 's/^.*NESTED-RESULT //p' >"$results"
	[ -n "$outdir" ] || return 0
	tr -d '\r' <"$log" | awk -v dir="$outdir" '
		/NESTED-LOG-BEGIN / { name = $NF; file = dir "/" name ".log"; printf "" > file; next }
		/NESTED-LOG-END / { close(file); file = ""; next }
		file != "" { print >> file }'
}
