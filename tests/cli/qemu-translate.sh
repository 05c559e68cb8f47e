#!/usr/bin/env bash
# kvmini qemu -kvmini-print: each QEMU command line must become exactly the
# kvmini run command given, and print it with status 0; kvmini run as
# qemu-kvm or kvm (a link) takes the same options.
#   qemu-translate.sh KVMINI
set -u
kvmini=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmini-qemu.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# expect 'kvmini run words...' QEMU-ARGS...
expect() {
	local want=$1 got status
	shift
	got=$(timeout 30 "$kvmini" qemu -kvmini-print "$@" 2>"$tmp/err")
	status=$?
	if [ "$status" != 0 ] || [ "$got" != "$want" ] || [ -s "$tmp/err" ]; then
		echo "FAIL: qemu $*"
		echo "  status $status"
		echo "  want: $want"
		echo "  got:  $got"
		sed 's/^/  stderr: /' "$tmp/err"
		fail=1
	else
		echo "ok: qemu $*"
	fi
}

base="'run' '--kernel' 'K'"
tail0="'--on-reboot' 'restart' '--exit-port' 'none'"
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0" -kernel K
expect "kvmini $base '--initrd' 'I' '--cmdline' 'console=ttyS0 x=1' '--memory' '128M' '--cpus' '1' $tail0" \
	-kernel K -initrd I -append 'console=ttyS0 x=1'
# -m: a bare number is MiB; suffixes in either case; size=; fractions; 8 KiB rounding
expect "kvmini $base '--memory' '256M' '--cpus' '1' $tail0" -kernel K -m 256
expect "kvmini $base '--memory' '2048M' '--cpus' '1' $tail0" -kernel K -m 2G
expect "kvmini $base '--memory' '512M' '--cpus' '1' $tail0" -kernel K -m size=512m
expect "kvmini $base '--memory' '1536M' '--cpus' '1' $tail0" -kernel K -m 1.5G
expect "kvmini $base '--memory' '4104K' '--cpus' '1' $tail0" -kernel K -m 4100K
expect "kvmini $base '--memory' '64M' '--cpus' '1' $tail0" -kernel K -m 67108864B
# -serial none, and -nodefaults without -serial: no serial port (--serial none)
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--serial' 'none'" -kernel K -serial none
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--serial' 'none'" -kernel K -nodefaults
# -name and -pidfile: kvmini's --name and --pidfile
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--name' 'vm1' '--pidfile' '/tmp/x.pid'" \
	-kernel K -name vm1 -pidfile /tmp/x.pid
# -smp
expect "kvmini $base '--memory' '128M' '--cpus' '4' $tail0" -kernel K -smp 4
expect "kvmini $base '--memory' '128M' '--cpus' '2' $tail0" -kernel K -smp cpus=2,maxcpus=2
expect "kvmini $base '--memory' '128M' '--cpus' '3' $tail0" -kernel K -smp 3,sockets=3,cores=1,threads=1
expect "kvmini $base '--memory' '128M' '--cpus' '2' $tail0" -kernel K -smp sockets=2
# accepted as they are what kvmini does anyway
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0" -kernel K -enable-kvm -accel kvm \
	-cpu host -machine q35,accel=kvm -nographic -display none -vga none -vnc none \
	-no-user-config -parallel none -net none -monitor none -nic none
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0" -kernel K -cpu max -M pc -accel kvm:tcg
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0" --kernel K --enable-kvm
# -no-reboot, the exit device, the serial console
expect "kvmini $base '--memory' '128M' '--cpus' '1' '--on-reboot' 'exit' '--exit-port' '0xf4'" \
	-kernel K -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x4
expect "kvmini $base '--memory' '128M' '--cpus' '1' '--on-reboot' 'restart' '--exit-port' '0x501'" \
	-kernel K -device isa-debug-exit,iosize=4
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0" -kernel K -nodefaults -serial stdio
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0" -kernel K -serial mon:stdio
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 </dev/null >'/tmp/con log'" \
	-kernel K -serial 'file:/tmp/con log'
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 </dev/null >/dev/null" -kernel K -serial null
# virtme-ng's console: a muxed stdio chardev for COM1 and the monitor, after -serial none
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0" -kernel K -echr 1 -serial none \
	-chardev stdio,id=console,signal=off,mux=on -serial chardev:console -mon chardev=console
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 </dev/null >'/tmp/c,log'" -kernel K \
	-serial chardev:f -chardev file,id=f,path=/tmp/c,,log -mon chardev=f,mode=readline
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 </dev/null >/dev/null" -kernel K \
	-nodefaults -chardev null,id=n -serial chardev:n
# disks
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--disk' 'path=root.img,format=raw'" \
	-kernel K -drive file=root.img,if=virtio,format=raw,cache=none,aio=native,media=disk
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--disk' 'path=a.img,readonly=on,id=SER1' '--disk' 'path=b.img,format=raw'" \
	-kernel K -drive file=b.img,if=none,id=d1,format=raw -drive file=a.img,if=none,id=d0,readonly=on \
	-device virtio-blk-pci,drive=d0,serial=SER1,id=blk0 -device virtio-blk-pci,drive=d1
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--transport' 'mmio' '--disk' 'path=c.img'" \
	-kernel K -M microvm -drive file=c.img,if=none,id=c,cache=writeback,aio=threads \
	-device virtio-blk-device,drive=c
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--transport' 'mmio' '--disk' 'path=c.img'" \
	-kernel K -drive id=c,file=c.img,if=none -device virtio-blk-device,drive=c
# network: QEMU's default MACs and its default of vhost=off
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--net' 'tap=tap0,mac=52:54:00:12:34:56,vhost=off' '--net' 'tap=tap1,mac=02:00:00:00:00:07,vhost=on'" \
	-kernel K -netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
	-netdev tap,id=n1,ifname=tap1,script=no,downscript=no,vhost=on \
	-device virtio-net-pci,netdev=n0 -device virtio-net-pci,netdev=n1,mac=02:00:00:00:00:07
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--net' 'tap=tap0,mac=52:54:00:12:34:56,vhost=off' '--net' 'tap=tap1,mac=52:54:00:12:34:57,vhost=off'" \
	-kernel K -nic tap,ifname=tap0,script=no,downscript=no,model=virtio \
	-nic tap,ifname=tap1,script=no,downscript=no,model=virtio-net-pci,id=x
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--transport' 'mmio' '--net' 'tap=t,mac=52:54:00:12:34:56,vhost=off'" \
	-kernel K -netdev tap,id=n,ifname=t,script=no,downscript=no -device virtio-net-device,netdev=n
# kvm-unit-tests' x86/run and virtme-ng shapes
expect "kvmini $base '--memory' '128M' '--cpus' '1' '--on-reboot' 'restart' '--exit-port' '0xf4' '--device' 'pc-testdev' '--device' 'pci-testdev'" \
	-enable-kvm -device pc-testdev -device isa-debug-exit,iobase=0xf4,iosize=0x4 -vnc none \
	-serial stdio -device pci-testdev -kernel K -smp 1
expect "kvmini $base '--memory' '128M' '--cpus' '1' '--on-reboot' 'restart' '--exit-port' '0xf4'" \
	-enable-kvm -device isa-debug-exit,iobase=0xf4,iosize=0x4 -vnc none -serial stdio -kernel K -smp 1
expect "kvmini $base '--cmdline' 'console=ttyS0' '--memory' '1024M' '--cpus' '2' '--on-reboot' 'exit' '--exit-port' 'none'" \
	-M q35,accel=kvm -cpu host -parallel none -net none -vga none -display none -nodefaults \
	-no-reboot -serial mon:stdio -m 1G -smp 2 -kernel K -append console=ttyS0
# the same under the names qemu-kvm and kvm
for name in qemu-kvm kvm; do
	ln -s "$(realpath "$kvmini")" "$tmp/$name"
	got=$("$tmp/$name" -kvmini-print -kernel K -m 64 2>&1)
	if [ "$got" != "kvmini $base '--memory' '64M' '--cpus' '1' $tail0" ]; then
		echo "FAIL: as $name: $got"
		fail=1
	else
		echo "ok: as $name"
	fi
	got=$("$tmp/$name" -version 2>&1)
	if [ "$got" != "QEMU emulator version 7.2.0 (kvmini $(sed -n "s/^kvmini //p" <("$kvmini" version)) compatibility)" ]; then
		echo "FAIL: $name -version: $got"
		fail=1
	else
		echo "ok: $name -version"
	fi
done
# -device help lists what kvm-unit-tests' runner greps for
if ! "$kvmini" qemu -device '?' | grep -qF '"pc-testdev"' ||
   ! "$kvmini" qemu -device help | grep -qF 'name "isa-debug-exit"'; then
	echo "FAIL: -device help"
	fail=1
fi
if ! "$kvmini" qemu -help | grep -q -- '-kvmini-print'; then
	echo "FAIL: -help"
	fail=1
fi
# without format= kvmini run probes (and refuses a probed qcow2 that names a backing file):
# the translation never adds format=qcow2 on its own
printf 'QFI\373' >"$tmp/q.img"
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--disk' 'path=$tmp/q.img'" \
	-kernel K -drive file="$tmp/q.img",if=virtio
# format=qcow2 and snapshot=on (or -snapshot) become --disk's keys
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--disk' 'path=x.img,format=qcow2,snapshot=on'" \
	-kernel K -drive file=x.img,if=virtio,format=qcow2 -snapshot
expect "kvmini $base '--memory' '128M' '--cpus' '1' $tail0 '--disk' 'path=x.img,snapshot=on'" \
	-kernel K -drive file=x.img,if=virtio,snapshot=on
exit $fail
