# bcc's items_lookup_batch over a u32 -> u64 map (bench/peers.ts). bcc's tables belong to a BPF
# object it compiled; to read a map it did not create, the table is built around the map's fd.
# Opens the map by id, reads it REPS times (timed), then once more (not timed) checking that it
# sees every key 0..N-1 once with value == key.
#   bcc_peer.py ID N REPS
# Prints one line of JSON: the median nanoseconds per entry, the entries, and the check.
import ctypes as ct
import json
import os
import sys
import time

from bcc import table

BPF_MAP_GET_FD_BY_ID = 14
SYS_BPF = 321  # x86_64


def fd_by_id(map_id):
    libc = ct.CDLL(None, use_errno=True)
    attr = (ct.c_uint32 * 12)()
    attr[0] = map_id
    fd = libc.syscall(SYS_BPF, BPF_MAP_GET_FD_BY_ID, ct.byref(attr), ct.sizeof(attr))
    if fd < 0:
        raise OSError(ct.get_errno(), "BPF_MAP_GET_FD_BY_ID: " + os.strerror(ct.get_errno()))
    return fd


def main():
    map_id, n, reps = (int(a) for a in sys.argv[1:4])
    t = table.HashTable.__new__(table.HashTable)
    t.map_id = map_id
    t.map_fd = fd_by_id(map_id)
    t.Key = ct.c_uint32
    t.Leaf = ct.c_uint64
    t.max_entries = n
    t.flags = 0
    t._cbs = {}
    t._name = "bench"
    runs = []
    sink = 0
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        c = 0
        for _k, v in t.items_lookup_batch():
            sink += v
            c += 1
        runs.append((time.perf_counter_ns() - t0) / max(c, 1))
    seen = bytearray(n)
    bad = entries = 0
    for k, v in t.items_lookup_batch():
        entries += 1
        if k >= n or seen[k] or v != k:
            bad += 1
        else:
            seen[k] = 1
    runs.sort()
    print(json.dumps({"entries": entries, "median_ns": runs[len(runs) // 2], "ok": entries == n and bad == 0,
                      "why": "%d entries, %d wrong or repeated" % (entries, bad), "sink": sink % 2}))


main()
