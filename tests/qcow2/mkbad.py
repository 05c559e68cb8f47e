#!/usr/bin/env python3
"""Crafted qcow2 images that kvmini must refuse, one per name.

    mkbad.py NAME OUT       write the image for NAME to OUT
    mkbad.py --list         print each NAME and the words its refusal must contain

Each starts from a valid image qemu-img made, with one field changed.
"""
import os
import struct
import subprocess
import sys

# name: (what the one-line refusal must contain)
CASES = {
    'encrypted': 'with encryption',
    'data-file': 'external data file',
    'extended-l2': 'extended L2',
    'refcount-32': '32-bit refcounts',
    'refcount-1': '1-bit refcounts',
    'unknown-incompat': 'unknown incompatible feature bits 0x10000000000',
    'zstd': 'compression type other than zlib',
    'corrupt-bit': 'marked corrupt',
    'dirty': 'not closed cleanly',
    'version-4': 'version 4',
    'cluster-bits-22': 'clusters outside 512 B to 2 MiB',
    'cluster-bits-8': 'clusters outside 512 B to 2 MiB',
    'truncated': 'header is truncated',
    'truncated-v3': 'header is truncated',
    'huge-l1': 'L1 table over 32 MiB',
    'small-l1': 'L1 table is too small',
    'l1-past-end': 'past the end of the file',
    'l1-unaligned': 'not aligned',
    'l1-entry-past-end': 'entry points past the end of the file',
    'refcount-block-past-end': 'entry points past the end of the file',
    'huge-refcount-table': 'over 8 MiB',
    'size-odd': 'not a multiple of 512',
    'size-absurd': 'L1 table is too small',
    'backing-name-long': 'over 1023 bytes',
    'backing-name-outside': 'outside the first cluster',
    'backing-format-vmdk': "format 'vmdk'",
    'extension-overrun': 'runs past the first cluster',
    'header-length': 'header length out of range',
}


def qemu_img(*args):
    subprocess.run(['qemu-img'] + list(args), check=True, stdout=subprocess.DEVNULL)


def patch(path, off, fmt, value):
    with open(path, 'r+b') as f:
        f.seek(off)
        f.write(struct.pack('>' + fmt, value))


def make(name, out):
    if os.path.exists(out):
        os.unlink(out)
    qemu_img('create', '-q', '-f', 'qcow2', '-o', 'cluster_size=65536', out, '1M')
    incompat = lambda bit: patch(out, 72, 'Q', 1 << bit)
    if name == 'encrypted':
        patch(out, 32, 'I', 1)
    elif name == 'data-file':
        incompat(2)
    elif name == 'extended-l2':
        incompat(4)
    elif name == 'refcount-32':
        patch(out, 96, 'I', 5)
    elif name == 'refcount-1':
        patch(out, 96, 'I', 0)
    elif name == 'unknown-incompat':
        incompat(40)
    elif name == 'zstd':
        incompat(3)
    elif name == 'corrupt-bit':
        incompat(1)
    elif name == 'dirty':
        incompat(0)
    elif name == 'version-4':
        patch(out, 4, 'I', 4)
    elif name == 'cluster-bits-22':
        patch(out, 20, 'I', 22)
    elif name == 'cluster-bits-8':
        patch(out, 20, 'I', 8)
    elif name == 'truncated':
        os.truncate(out, 50)
    elif name == 'truncated-v3':
        os.truncate(out, 90)
    elif name == 'huge-l1':
        patch(out, 36, 'I', 0x10000000)
    elif name == 'small-l1':
        patch(out, 24, 'Q', 1 << 40)		# 1 TiB with one L1 entry
    elif name == 'size-absurd':
        patch(out, 24, 'Q', 0xfffffffffffffe00)
    elif name == 'l1-past-end':
        patch(out, 40, 'Q', 1 << 50)
    elif name == 'l1-unaligned':
        patch(out, 40, 'Q', 0x30008)
    elif name == 'l1-entry-past-end':
        l1 = struct.unpack('>Q', open(out, 'rb').read()[40:48])[0]
        patch(out, l1, 'Q', (1 << 63) | (1 << 40))
    elif name == 'refcount-block-past-end':
        rt = struct.unpack('>Q', open(out, 'rb').read()[48:56])[0]
        patch(out, rt + 8, 'Q', 1 << 40)
    elif name == 'huge-refcount-table':
        patch(out, 56, 'I', 0xffffffff)
    elif name == 'size-odd':
        patch(out, 24, 'Q', 1000)
    elif name == 'backing-name-long':
        patch(out, 8, 'Q', 0x200)
        patch(out, 16, 'I', 2000)
    elif name == 'backing-name-outside':
        patch(out, 8, 'Q', 0xffffffffffff)
        patch(out, 16, 'I', 8)
    elif name == 'backing-format-vmdk':
        base = out + '.base'
        qemu_img('create', '-q', '-f', 'vmdk', base, '1M')
        os.unlink(out)
        qemu_img('create', '-q', '-f', 'qcow2', '-b', os.path.basename(base), '-F', 'vmdk',
                 out)
    elif name == 'extension-overrun':
        hl = struct.unpack('>I', open(out, 'rb').read()[100:104])[0]
        patch(out, hl, 'I', 0x12345678)
        patch(out, hl + 4, 'I', 0x7fffffff)
    elif name == 'header-length':
        patch(out, 100, 'I', 0x10000)
    else:
        sys.exit('mkbad.py: unknown case ' + name)


if __name__ == '__main__':
    if sys.argv[1:] == ['--list']:
        for k, v in CASES.items():
            print(k + '\t' + v)
    elif len(sys.argv) == 3:
        make(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
