#!/usr/bin/env python3
"""Write the seed corpora of the libFuzzer harnesses (tests/fuzz/corpus/).

A few valid inputs per harness, in the input layouts the harnesses
document at their top. Run it again after changing a layout; the files
are committed, and regression seeds (regress-*) are kept as they are.
Usage: tests/fuzz/mkcorpus.py [CORPUS_DIR]
"""
import os
import struct
import sys
import zlib

# ---- virtqueues: guest RAM layout shared by the virtq and blk seeds ----

DESC, AVAIL, USED, TABLE = 0x100, 0x200, 0x280, 0x340
HDR, STATUS, SEGS, DATA = 0x400, 0x480, 0x500, 0x600
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


class Ram:
    def __init__(self):
        self.b = bytearray()

    def put(self, gpa, data):
        if len(self.b) < gpa + len(data):
            self.b.extend(bytes(gpa + len(data) - len(self.b)))
        self.b[gpa:gpa + len(data)] = data

    def desc(self, table, i, addr, length, flags, nxt=0):
        self.put(table + 16 * i, struct.pack('<QIHH', addr, length, flags, nxt))

    def offer(self, heads, idx0=0, qsize=16):
        """The driver makes @heads available, starting at avail index @idx0."""
        for k, h in enumerate(heads):
            self.put(AVAIL + 4 + 2 * ((idx0 + k) % qsize), struct.pack('<H', h))
        self.put(AVAIL, struct.pack('<HH', 0, (idx0 + len(heads)) & 0xffff))


def ring_header(log2, flags, last_avail=0, used_idx=0):
    return struct.pack('<BBHHHHH', log2, flags, last_avail, used_idx, DESC, AVAIL, USED)


def virtq_seeds():
    seeds = {}
    # one chain: two device-readable segments, one device-writable
    r = Ram()
    r.desc(DESC, 3, DATA, 16, F_NEXT, 7)
    r.desc(DESC, 7, DATA + 0x40, 64, F_NEXT, 1)
    r.desc(DESC, 1, DATA + 0x100, 8, F_WRITE)
    r.offer([3])
    seeds['direct'] = ring_header(4, 0) + r.b
    # an indirect table, EVENT_IDX, then a direct chain
    r = Ram()
    r.desc(TABLE, 0, DATA, 16, F_NEXT, 2)
    r.desc(TABLE, 2, DATA + 0x20, 32, F_NEXT | F_WRITE, 1)
    r.desc(TABLE, 1, DATA + 0x80, 1, F_WRITE)
    r.desc(DESC, 5, TABLE, 3 * 16, F_INDIRECT)
    r.desc(DESC, 0, DATA + 0x100, 4, 0)
    r.offer([5, 0])
    r.put(AVAIL + 4 + 2 * 16, struct.pack('<H', 1))    # used_event
    seeds['indirect-event-idx'] = ring_header(4, 3) + r.b
    # 16-bit indices wrapping, three one-descriptor chains
    r = Ram()
    for i in range(3):
        r.desc(DESC, i, DATA + 16 * i, 16, F_WRITE)
    r.offer([0, 1, 2], idx0=65534)
    seeds['index-wrap'] = ring_header(4, 0, 65534, 65534) + r.b
    # a queue of one entry
    r = Ram()
    r.desc(DESC, 0, DATA, 1, 0)
    r.offer([0], qsize=1)
    seeds['size-1'] = ring_header(0, 0) + r.b
    # the same chains as 'direct', given back once and returned as a batch
    seeds['unpop-batch'] = ring_header(4, 8) + seeds['direct'][12:]
    return seeds


# ---- virtio-blk ----

T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WRITE_ZEROES = 0, 1, 4, 8, 11, 13
B_EVENT_IDX, B_INDIRECT, B_READONLY, B_DISCARD, B_WRITE_ZEROES = 1, 2, 4, 8, 16


def blk_request(r, head, type_, sector, data_len, data_in, hdr=HDR, status=STATUS,
                data=DATA, table=DESC):
    """Header, optional data, status: descriptors head, head+1, head+2."""
    r.put(hdr, struct.pack('<IIQ', type_, 0, sector))
    n = head
    r.desc(table, n, hdr, 16, F_NEXT, n + 1)
    n += 1
    if data_len:
        r.desc(table, n, data, data_len, F_NEXT | (F_WRITE if data_in else 0), n + 1)
        n += 1
    r.desc(table, n, status, 1, F_WRITE)


def blk_header(flags, sectors=128, budget=16, log2=4):
    return ring_header(log2, flags) + struct.pack('<BB', sectors - 1, budget)


def blk_seeds():
    seeds = {}
    r = Ram()
    blk_request(r, 0, T_IN, 1, 1024, True)
    r.offer([0])
    seeds['read'] = blk_header(B_EVENT_IDX) + r.b
    r = Ram()
    blk_request(r, 0, T_OUT, 2, 512, False)
    r.put(DATA, bytes(range(256)) * 2)
    r.offer([0])
    seeds['write'] = blk_header(0) + r.b
    r = Ram()
    blk_request(r, 0, T_FLUSH, 0, 0, False)
    blk_request(r, 4, T_GET_ID, 0, 20, True, hdr=HDR + 0x20, status=STATUS + 1)
    r.offer([0, 4])
    seeds['flush-get-id'] = blk_header(0) + r.b
    r = Ram()
    r.put(SEGS, struct.pack('<QII', 8, 16, 0) + struct.pack('<QII', 64, 8, 0))
    blk_request(r, 0, T_DISCARD, 0, 32, False, data=SEGS)
    r.put(SEGS + 0x40, struct.pack('<QII', 32, 8, 1))
    blk_request(r, 4, T_WRITE_ZEROES, 0, 16, False, hdr=HDR + 0x20, status=STATUS + 1,
                data=SEGS + 0x40)
    r.offer([0, 4])
    seeds['discard-write-zeroes'] = blk_header(B_DISCARD | B_WRITE_ZEROES) + r.b
    r = Ram()
    blk_request(r, 0, T_OUT, 0, 512, False)
    r.offer([0])
    seeds['readonly-write'] = blk_header(B_READONLY, sectors=8) + r.b
    r = Ram()
    blk_request(r, 0, T_IN, 3, 512, True, table=TABLE)
    r.desc(DESC, 2, TABLE, 3 * 16, F_INDIRECT)
    r.offer([2])
    seeds['indirect-read'] = blk_header(B_EVENT_IDX | B_INDIRECT) + r.b
    return seeds


# ---- virtio-net: RX rings at DESC/AVAIL/USED, TX rings after them ----

TX_DESC, TX_AVAIL, TX_USED = 0x800, 0x900, 0x980
N_EVENT_IDX, N_INDIRECT, N_MRG_RXBUF = 1, 2, 4
RX_BUF, TX_BUF = 0x1000, 0x3000


def net_header(flags, frames=(), budget=8, rx_log2=4, tx_log2=4):
    frames = (list(frames) + [0, 0, 0])[:3]
    return struct.pack('<BBBB', rx_log2, tx_log2, flags, budget) + \
        struct.pack('<5H', DESC, AVAIL, USED, 0, 0) + \
        struct.pack('<5H', TX_DESC, TX_AVAIL, TX_USED, 0, 0) + struct.pack('<3H', *frames)


def tx_offer(r, heads):
    for k, h in enumerate(heads):
        r.put(TX_AVAIL + 4 + 2 * k, struct.pack('<H', h))
    r.put(TX_AVAIL, struct.pack('<HH', 0, len(heads)))


def net_seeds():
    seeds = {}
    # TX: two frames (header and data in one buffer, then split); RX: one buffer, one frame
    r = Ram()
    r.desc(TX_DESC, 0, TX_BUF, 12 + 60, 0)
    r.desc(TX_DESC, 1, TX_BUF + 0x100, 12, F_NEXT, 2)
    r.desc(TX_DESC, 2, TX_BUF + 0x200, 100, 0)
    tx_offer(r, [0, 1])
    r.desc(DESC, 0, RX_BUF, 1526, F_WRITE)
    r.offer([0])
    seeds['tx-rx'] = net_header(N_EVENT_IDX, frames=[12 + 60]) + r.b
    # RX with MRG_RXBUF: a 3000-byte frame over three 1024-byte buffers
    r = Ram()
    for i in range(4):
        r.desc(DESC, i, RX_BUF + 0x400 * i, 0x400, F_WRITE)
    r.offer([0, 1, 2, 3])
    seeds['rx-mergeable'] = net_header(N_MRG_RXBUF, frames=[3000, 100]) + r.b
    # RX without MRG_RXBUF: a frame too big for the buffer is dropped, the next fits
    r = Ram()
    r.desc(DESC, 0, RX_BUF, 0x200, F_WRITE)
    r.offer([0])
    seeds['rx-drop'] = net_header(0, frames=[2000, 200]) + r.b
    # TX through an indirect table
    r = Ram()
    r.desc(TABLE, 0, TX_BUF, 12, F_NEXT, 1)
    r.desc(TABLE, 1, TX_BUF + 0x40, 64, 0)
    r.desc(TX_DESC, 0, TABLE, 32, F_INDIRECT)
    tx_offer(r, [0])
    seeds['tx-indirect'] = net_header(N_INDIRECT | N_EVENT_IDX) + r.b
    return seeds


# ---- kernel loaders ----

L_24M, L_64M, L_SPLIT = 1, 2, 3
L_CMDLINE_USER, L_RSDP = 16, 32


def loader_header(layout, nr_initrds=0, cmdline_units=1, initrd_units=(256, 16, 1), flags=0):
    return struct.pack('<BBHHH', layout | nr_initrds << 2 | flags, cmdline_units,
                       *initrd_units)


def bzimage():
    setup_sects, pm_len = 4, 512
    b = bytearray((setup_sects + 1) * 512 + pm_len)

    def put(off, fmt, *v):
        struct.pack_into('<' + fmt, b, off, *v)
    put(0x1f1, 'B', setup_sects)
    put(0x1f4, 'I', pm_len // 16)        # syssize
    put(0x1fe, 'H', 0xaa55)              # boot_flag
    put(0x200, 'BB', 0xeb, 0x6a)         # jmp: the header ends at 0x26c
    put(0x202, 'I', 0x53726448)          # "HdrS"
    put(0x206, 'H', 0x020f)              # protocol 2.15
    put(0x211, 'B', 1)                   # LOADED_HIGH
    put(0x22c, 'I', 0x7fffffff)          # initrd_addr_max
    put(0x230, 'I', 0x200000)            # kernel_alignment
    put(0x234, 'B', 1)                   # relocatable_kernel
    put(0x236, 'H', 3)                   # XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G
    put(0x238, 'I', 2047)                # cmdline_size
    put(0x258, 'Q', 0x1000000)           # pref_address
    put(0x260, 'I', 0x200000)            # init_size
    for i in range(pm_len):
        b[(setup_sects + 1) * 512 + i] = (i ^ 0x5a) & 0xff
    return bytes(b)


def note(name, type_, desc):
    name = name + b'\0'
    pad = lambda n: bytes(-n % 4)
    return struct.pack('<III', len(name), len(desc), type_) + name + pad(len(name)) + \
        desc + pad(len(desc))


PT_LOAD, PT_NOTE = 1, 4
CODE = b'\xf4' * 32    # hlt


def elf64(notes=b'', paddr=0x100000):
    """ELF64 x86-64 ET_EXEC: one PT_LOAD (code, then bss), an optional PT_NOTE."""
    phnum = 2 if notes else 1
    code_off = 64 + 56 * phnum
    note_off = code_off + len(CODE)
    eh = struct.pack('<16sHHIQQQIHHHHHH', b'\x7fELF\x02\x01\x01', 2, 62, 1, paddr,
                     64, 0, 0, 64, 56, phnum, 64, 0, 0)
    ph = struct.pack('<IIQQQQQQ', PT_LOAD, 7, code_off, paddr, paddr, len(CODE),
                     len(CODE) + 0x1000, 0x1000)
    if notes:
        ph += struct.pack('<IIQQQQQQ', PT_NOTE, 4, note_off, 0, 0, len(notes), len(notes), 4)
    return eh + ph + CODE + notes


def elf32(notes=b'', mb_header=b'', paddr=0x100000):
    """ELF32 i386 ET_EXEC: a multiboot header in its first bytes if given."""
    phnum = 2 if notes else 1
    code_off = 52 + 32 * phnum
    body = mb_header + CODE
    note_off = code_off + len(body)
    eh = struct.pack('<16sHHIIIIIHHHHHH', b'\x7fELF\x01\x01\x01', 2, 3, 1,
                     paddr + len(mb_header), 52, 0, 0, 52, 32, phnum, 40, 0, 0)
    ph = struct.pack('<IIIIIIII', PT_LOAD, code_off, paddr, paddr, len(body),
                     len(body) + 0x1000, 7, 0x1000)
    if notes:
        ph += struct.pack('<IIIIIIII', PT_NOTE, note_off, 0, 0, len(notes), len(notes), 4, 4)
    return eh + ph + body + notes


MB_MAGIC = 0x1badb002


def mb_header(flags, addrs=()):
    return struct.pack('<III', MB_MAGIC, flags, (-(MB_MAGIC + flags)) & 0xffffffff) + \
        struct.pack('<%dI' % len(addrs), *addrs)


def loader_seeds():
    pvh = note(b'Xen', 18, struct.pack('<I', 0x100000))
    kvmini = note(b'kvmini', 1, b'')
    # a.out kludge: header at file offset 0 loaded at 1 MiB, bss to +8 KiB
    base = 0x100000
    kludge = mb_header(0x10003, (base, base, 0, base + 0x2000, base + 32))
    kludge += CODE
    return {
        'bzimage': loader_header(L_24M, 1, flags=L_RSDP) + bzimage(),
        'bzimage-split-ram': loader_header(L_SPLIT, 1, cmdline_units=6) + bzimage(),
        'elf64': loader_header(L_24M, 1) + elf64(),
        'elf64-pvh': loader_header(L_64M, 1, flags=L_RSDP) + elf64(pvh),
        'elf32-pvh': loader_header(L_24M, 0) + elf32(pvh),
        'elf64-firmware': loader_header(L_SPLIT, 0) + elf64(kvmini),
        'multiboot-elf32': loader_header(L_24M, 2, flags=L_CMDLINE_USER) +
                           elf32(mb_header=mb_header(3)),
        'multiboot-aout': loader_header(L_SPLIT, 3, flags=L_CMDLINE_USER) + kludge,
    }


# ---- command line and helpers ----

def args(*a):
    return b'\0'.join(x.encode() for x in a)


def config_seeds():
    return {
        'kernel-memory': args('--kernel', 'bzImage', '--memory', '512M', '--cpus', '2'),
        'all-boot': args('--kernel=vmlinux', '--initrd', 'i1', '--initrd', 'i2',
                         '--cmdline', 'quiet root=/dev/vda', '--on-reboot', 'restart',
                         '--verbose', '--stats', '--timeout', '2.5'),
        'disks': args('--disk', 'path=a.img,readonly=on,id=disk0', '--disk', 'path=b.img',
                      '--transport', 'mmio', '--exit-port', '0x501', '--kernel', 'k'),
        'net-security': args('--net', 'tap=tap0,mac=02:00:00:12:34:56,vhost=off',
                             '--seccomp', 'log', '--user', 'nobody', '--group', '65534',
                             '--jail', '/var/empty', '--jail-netns', 'new', '--kernel', 'k'),
        'command': args('--volume', '/tmp:ro', '--exit-port', 'none', '--', 'sh', '-c',
                        'echo hi'),
        'help': args('--help'),
    }


def qemu_seeds():
    return {
        'kut': args('-enable-kvm', '-device', 'pc-testdev', '-device',
                    'isa-debug-exit,iobase=0xf4,iosize=0x4', '-vnc', 'none', '-serial', 'stdio',
                    '-device', 'pci-testdev', '-machine', 'accel=kvm', '-kernel', 'x.flat',
                    '-smp', '2', '-m', '256', '-append', 'a b'),
        'vng': args('-M', 'q35,accel=kvm', '-cpu', 'host', '-parallel', 'none', '-net', 'none',
                    '-vga', 'none', '-display', 'none', '-nodefaults', '-no-reboot',
                    '-serial', 'mon:stdio', '-m', '1.5G', '-smp', 'cpus=2,sockets=2', '-kernel', 'k'),
        'vng-console': args('-machine', 'accel=kvm:tcg', '-echr', '1', '-serial', 'none',
                            '-chardev', 'stdio,id=console,signal=off,mux=on', '-serial',
                            'chardev:console', '-mon', 'chardev=console', '-chardev',
                            'file,id=f,path=/tmp/x', '-kernel', 'k'),
        'disk-net': args('-kernel', 'k', '-drive', 'file=a,,b.img,if=none,id=d0,readonly=on',
                         '-device', 'virtio-blk-pci,drive=d0,serial=S', '-drive',
                         'file=r.img,if=virtio,format=raw,cache=none', '-netdev',
                         'tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=on',
                         '-device', 'virtio-net-pci,netdev=n0,mac=02:00:00:00:00:01',
                         '-nic', 'tap,ifname=t1,script=no,downscript=no,model=virtio'),
        'microvm': args('-M', 'microvm', '-kernel', 'k', '-drive', 'id=c,file=c.img,if=none',
                        '-device', 'virtio-blk-device,drive=c', '-serial', 'file:/dev/null'),
        'refused': args('-kernel', 'k', '-name', 'vm', '-snapshot', '-usb'),
        'help': args('-device', 'help'),
    }


def util_seeds():
    return {
        'size-mib': b'\0' + b'256M',
        'size-gib': b'\0' + b'1GiB',
        'size-max': b'\0' + b'18446744073709551615',
        'uint': b'\1' + struct.pack('<QQ', 1, 4096) + b'4096',
        'base64': b'\2' + b'hello, world',
        'shell': b'\3' + b'sh\0-c\0echo \'quoted\' "x"\0\0last',
    }


# ---- qcow2: small images with 512-byte clusters, then operations ----

def qcow2_image(version=3, backing=None, compressed=True):
    cs = 512
    c = lambda i: i * cs
    img = bytearray(c(8))
    hl = 104 if version == 3 else 72
    hdr = struct.pack('>IIQIIQIIQQIIQ', 0x514649fb, version, 0, 0, 9, 64 * 1024, 0, 2, c(3),
                      c(1), 1, 0, 0)
    if version == 3:
        hdr += struct.pack('>QQQII', 0, 0, 0, 4, hl)
    img[0:len(hdr)] = hdr
    pos = hl
    if backing:
        if version == 3:
            img[pos:pos + 8] = struct.pack('>II', 0xe2792aca, 3)
            img[pos + 8:pos + 11] = b'raw'
            pos += 16
        pos += 8
        name = backing.encode()
        img[8:20] = struct.pack('>QI', pos, len(name))
        img[pos:pos + len(name)] = name
    img[c(1):c(1) + 8] = struct.pack('>Q', c(2))           # refcount table -> block
    for i in range(8):
        img[c(2) + 2 * i:c(2) + 2 * i + 2] = struct.pack('>H', 1)
    copied = 1 << 63
    img[c(3):c(3) + 8] = struct.pack('>Q', c(4) | copied)  # L1[0] -> L2
    l2 = [c(5) | copied, 1 if version == 3 else 0, 0, c(7) | copied]
    if compressed:
        z = zlib.compressobj(9, zlib.DEFLATED, -12)
        data = z.compress(b'kvmini compressed cluster ' * 20) + z.flush()
        data = data[:cs]
        img[c(6):c(6) + len(data)] = data
        l2[2] = (1 << 62) | c(6)
    for i, e in enumerate(l2):
        img[c(4) + 8 * i:c(4) + 8 * i + 8] = struct.pack('>Q', e)
    img[c(5):c(6)] = b'd' * cs
    img[c(7):c(8)] = b'e' * cs
    return bytes(img)


def qcow2_ops(flags, ops):
    b = struct.pack('<BB', flags, len(ops))
    for kind, sector, count in ops:
        b += struct.pack('<BIH', kind, sector, count - 1)
    return b


def qcow2_seeds():
    read_all = [(0, 0, 128)]
    mixed = [(0, 0, 8), (1, 1, 3), (1, 100, 1), (2, 0, 1), (3, 3, 1), (0, 0, 128)]
    return {
        'v3-read': qcow2_ops(1, read_all) + qcow2_image(),
        'v3-mixed': qcow2_ops(0, mixed) + qcow2_image(),
        'v2-mixed': qcow2_ops(0, mixed) + qcow2_image(version=2),
        'v3-grow': qcow2_ops(0, [(1, 0, 128)]) + qcow2_image(compressed=False),
        'v3-probed-backing': qcow2_ops(2, read_all) + qcow2_image(backing='base.raw'),
        'v2-backing': qcow2_ops(0, read_all) + qcow2_image(version=2, backing='base.raw'),
    }


def state_file(vcpus=1, devices=(), ram=64 << 20, sections=None):
    """A snapshot state file (vmm/snapfmt.c): header, sections, CRC-32."""
    def section(tag, id_, payload):
        pad = bytes(-len(payload) % 8)
        return struct.pack('<IIQ', tag, id_, len(payload)) + payload + pad
    if sections is None:
        sections = [section(1, 0, struct.pack('<II', 32, 4) + b'pic!')]
        sections += [section(2, i, struct.pack('<II', 1, 8) + bytes(8)) for i in range(vcpus)]
        for i, (name, type_, data) in enumerate(devices):
            sections.append(section(3, i, name.ljust(24, b'\0') + type_.ljust(24, b'\0') + data))
    body = b''.join(sections)
    total = 128 + len(body) + 4
    hdr = b'KVMINISN' + struct.pack('<II', 1, 128) + b'0.1.0'.ljust(16, b'\0')
    hdr += struct.pack('<IIQIIQ', 0x8664, vcpus, ram, len(sections), 0, total)
    hdr += struct.pack('<8I', 1, 2, 3, 4, 5, 6, 7, 4096).ljust(64, b'\0')
    data = hdr + body
    return data + struct.pack('<I', zlib.crc32(data) & 0xffffffff)


def state_seeds():
    serial = bytes([1, 0, 0xc0, 3, 8, 0, 0, 1, 0, 0]) + struct.pack('<H', 2) + b'hi'
    return {
        'raw-minimal': b'\0' + state_file(),
        'raw-devices': b'\0' + state_file(vcpus=2, devices=[
            (b'serial0', b'serial', serial), (b'pm0', b'acpi-pm', bytes(6))]),
        'raw-damaged': b'\0' + state_file()[:-1] + b'\0',
        'built': bytes([1, 2, 3, 4]) + b'vmstate!' + bytes([3]) + b'cpu' + bytes([2]) + b'c1' +
                 bytes([1]) + b'd' + bytes([5]) + b'dev-1' + bytes([0]),
    }


def arm64_image(text_offset=0, image_size=0x200000, flags=0xa, length=4096):
    body = bytearray(length)
    struct.pack_into('<IIQQQQQQII', body, 0, 0x91005a4d, 0x14000000, text_offset, image_size,
                     flags, 0, 0, 0, 0x644d5241, 0)
    for i in range(64, length):
        body[i] = (i * 7) & 0xff
    return bytes(body)


def arm64_image_seeds():
    import gzip
    img = arm64_image()
    return {
        'image': b'\x01\x00\x00' + img,
        'image-initrd': b'\x02\x10\x00' + img,
        'image-old': b'\x01\x00\x00' + arm64_image(text_offset=0x1234, image_size=0),
        'image-gzip': b'\x03\x01\x00' + gzip.compress(img, mtime=0),
        'image-big': b'\x00\x00\x00' + arm64_image(image_size=0x3000000),
    }


def arm64_devtree_seeds():
    # roles: 0 UART, 1 PCI host, 2 virtio-mmio, 5 exit (vmm/inventory.h)
    def entry(role, ranges, irq=-1, pio=False):
        ranges = list(ranges) + [(0, 0)] * (3 - len(ranges))
        out = struct.pack('<BBb', role, (len([r for r in ranges if r[1]]) << 1) | pio, irq)
        for base, length in ranges:
            out += struct.pack('<QQ', base, length)
        return out

    board = (entry(0, [(0x09000000, 8)], 1) + entry(0, [(0x09001000, 8)], 2) +
             entry(2, [(0x0a000000, 0x1000)], 16) +
             entry(1, [(0x3f000000, 0x100000), (0x10000000, 0x2eff0000)]) +
             entry(5, [(0x09010000, 4)]))
    tail = struct.pack('<QQ', 0x4f000000, 0x4f100000) + b'console=ttyS0 earlycon panic=1'
    return {
        'gicv3-its': bytes([2, 3 | 4 | (2 << 3), 5]) + board + tail,
        'gicv2': bytes([4, 2 | (2 << 3), 5]) + board + tail,
        'pio-uart': bytes([1, 3 | (1 << 3), 1]) + entry(0, [(0x3f8, 8)], 4, True) + tail,
        'small-buffer': bytes([8, 3 | 4, 5]) + board + tail,
    }


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus')
    sets = {'virtq': virtq_seeds(), 'blk': blk_seeds(), 'net': net_seeds(),
            'loader': loader_seeds(),
            'config': config_seeds(), 'util': util_seeds(), 'qemu': qemu_seeds(),
            'qcow2': qcow2_seeds(), 'state': state_seeds(), 'arm64_image': arm64_image_seeds(),
            'arm64_devtree': arm64_devtree_seeds()}
    for harness, seeds in sets.items():
        d = os.path.join(root, harness)
        os.makedirs(d, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(d, name), 'wb') as f:
                f.write(bytes(data))


if __name__ == '__main__':
    main()
