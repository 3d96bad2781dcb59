#!/usr/bin/env python3
"""Sets a documented .rodata knob of a compiled policy object that bulwark does not expose (the
benchmarks turn the record rate limit off with it: bw_cfg_rec_rate = 0).

    bench/rodata.py OBJECT NAME VALUE     exit 0 set, 1 not set (the reason on stderr)
"""
import struct
import sys
from pathlib import Path


def set_u32(obj, name, value):
    """Sets the initial value of a `const volatile` u32 global in an ELF64 BPF object.
    Returns None, or why it could not."""
    data = bytearray(Path(obj).read_bytes())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return "not a little-endian ELF64 object"
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)]
    for sec in secs:
        if sec[1] != 2:  # SHT_SYMTAB
            continue
        strtab = secs[sec[6]]
        for off in range(sec[4], sec[4] + sec[5], 24):
            st_name, _, _, st_shndx, st_value, st_size = struct.unpack_from("<IBBHQQ", data, off)
            start = strtab[4] + st_name
            if data[start:data.index(0, start)].decode() != name:
                continue
            if st_size != 4 or st_shndx >= len(secs):
                return f"{name} is not a u32 in a section"
            struct.pack_into("<I", data, secs[st_shndx][4] + st_value, value)
            Path(obj).write_bytes(bytes(data))
            return None
    return f"no symbol {name}"


if __name__ == "__main__":
    if len(sys.argv) != 4 or not sys.argv[3].isdigit():
        sys.exit(__doc__)
    why = set_u32(sys.argv[1], sys.argv[2], int(sys.argv[3]))
    if why:
        print(f"bench/rodata.py: {sys.argv[1]}: {why}", file=sys.stderr)
    sys.exit(1 if why else 0)
