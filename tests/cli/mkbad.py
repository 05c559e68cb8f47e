#!/usr/bin/env python3
"""Write the malformed kernels and initrds the CLI tests feed to kvmini."""
import os
import struct
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def bzimage(proto=0x020f, xlf=0x1, size=64 * 1024):
    """A header that passes the magic checks, with a tiny payload."""
    setup_sects = 4
    img = bytearray(size)
    img[0x1f1] = setup_sects
    struct.pack_into("<H", img, 0x1fe, 0xAA55)
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, proto)
    img[0x211] = 0x01                                # loadflags: LOADED_HIGH
    struct.pack_into("<I", img, 0x22c, 0x7fffffff)   # initrd_addr_max
    struct.pack_into("<I", img, 0x230, 0x200000)     # kernel_alignment
    img[0x234] = 1                                   # relocatable
    struct.pack_into("<H", img, 0x236, xlf)          # xloadflags
    struct.pack_into("<I", img, 0x238, 2048)         # cmdline_size
    struct.pack_into("<Q", img, 0x258, 0x1000000)    # pref_address
    struct.pack_into("<I", img, 0x260, 0x400000)     # init_size
    return bytes(img)


def elf64(machine=62, paddr=0x100000, memsz=0x1000):
    ehdr = bytearray(64)
    ehdr[0:4] = b"\x7fELF"
    ehdr[4] = 2   # ELFCLASS64
    ehdr[5] = 1   # little endian
    ehdr[6] = 1
    struct.pack_into("<HHIQQQIHHHHHH", ehdr, 16, 2, machine, 1, paddr, 64, 0, 0,
                     64, 56, 1, 64, 0, 0)
    phdr = struct.pack("<IIQQQQQQ", 1, 7, 0x1000, paddr, paddr, 0x10, memsz, 0x1000)
    body = ehdr + phdr
    body += bytes(0x1000 - len(body)) + b"\xf4" * 0x10
    return bytes(body)


write("text.txt", b"This is a README, not a kernel.\n" * 20)
write("empty.bin", b"")
write("truncated-bzimage.bin", bzimage()[:0x300])
write("old-protocol-bzimage.bin", bzimage(proto=0x0204))
write("no64-bzimage.bin", bzimage(xlf=0))
write("arm64.elf", elf64(machine=183))
write("outside-ram.elf", elf64(paddr=0x1000000000))
write("huge-bss.elf", elf64(memsz=0x7ffff0000000))
# An initrd bigger than the guest RAM given with --memory 16M
with open(os.path.join(out, "big-initrd.img"), "wb") as f:
    f.truncate(24 << 20)
