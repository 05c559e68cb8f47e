#!/usr/bin/env python3
"""Write the malformed kernels and initrds the CLI tests feed to kvmini, and two tiny
kernels that look like Linux (a bzImage, an ELF vmlinux) and only end the run."""
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
    img[0x200] = 0xeb                                # jmp short over the header:
    img[0x201] = 0x6a                                # the header ends at 0x202 + this
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


# The guest's whole work: write 0 to the exit device (status 1), then halt.
EXIT_CODE = bytes([0xb0, 0x00, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd])  # mov al,0; out 0xf4,al; hlt; jmp


def exit_bzimage():
    """A bzImage whose 64-bit entry (load address + 0x200) exits at once."""
    img = bytearray(bzimage())
    img[0x200:0x202] = b"\xeb\x6a"  # jmp over the setup header: it ends at 0x26c
    entry = (4 + 1) * 512 + 0x200   # after the setup sectors, at startup_64
    img[entry:entry + len(EXIT_CODE)] = EXIT_CODE
    return bytes(img)


def linux_elf():
    """An ELF64 vmlinux in miniature: one PT_LOAD that exits, and a "Linux" note."""
    paddr = 0x100000
    note = struct.pack("<III", 6, 4, 0x100) + b"Linux\0\0\0" + struct.pack("<I", 0)
    ehdr = bytearray(64)
    ehdr[0:4] = b"\x7fELF"
    ehdr[4] = 2   # ELFCLASS64
    ehdr[5] = 1   # little endian
    ehdr[6] = 1
    struct.pack_into("<HHIQQQIHHHHHH", ehdr, 16, 2, 62, 1, paddr, 64, 0, 0,
                     64, 56, 2, 64, 0, 0)
    load = struct.pack("<IIQQQQQQ", 1, 7, 0x1000, paddr, paddr, len(EXIT_CODE),
                       0x1000, 0x1000)
    pnote = struct.pack("<IIQQQQQQ", 4, 4, 0x800, 0, 0, len(note), len(note), 4)
    body = bytearray(ehdr + load + pnote)
    body += bytes(0x800 - len(body)) + note
    body += bytes(0x1000 - len(body)) + EXIT_CODE
    return bytes(body)


write("exit-bzimage.bin", exit_bzimage())
write("linux-exit.elf", linux_elf())
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
