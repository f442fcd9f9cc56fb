"""Resident memory of reading a whole on-disk array batch by batch through ArrayFileReader (as a worker).

Writes a float32 ``.npy`` of ``--rows`` x ``--width`` (default 50,000 x 1,024 = 195 MB) under ``--dir``,
pickles an :class:`transfergraph.planner.inputs.readers.ArrayFileReader` over it (what a Ray worker receives), resets the
process's peak RSS (``/proc/self/clear_refs``), reads every row in batches of 256 and reports the peak
RSS growth and the file-backed resident memory (``RssFile``). Linux only. Usage::

    PYTHONPATH=. python benchmarks/array_rows_rss.py --dir /work/data
"""
from __future__ import annotations

import argparse
import os
import pickle
import re
import tempfile

import numpy as np


def _status_mb(key: str) -> float:
    return int(re.search(rf"{key}:\s+(\d+) kB", open("/proc/self/status").read()).group(1)) / 1024


def main() -> None:
    from transfergraph.planner.inputs.readers import ArrayFileReader

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", default=None)
    p.add_argument("--rows", type=int, default=50_000)
    p.add_argument("--width", type=int, default=1024)
    args = p.parse_args()
    folder = tempfile.mkdtemp(dir=args.dir)
    path = os.path.join(folder, "x.npy")
    np.save(path, np.random.default_rng(0).standard_normal((args.rows, args.width), dtype=np.float32))
    try:
        reader = pickle.loads(pickle.dumps(ArrayFileReader(np.load(path, mmap_mode="r"))))
        open("/proc/self/clear_refs", "w").write("5")
        before = _status_mb("VmRSS")
        for lo in range(0, args.rows, 256):
            reader.read_rows(np.arange(lo, min(lo + 256, args.rows)))
        print(f"file {os.path.getsize(path) / 2**20:.0f} MB: peak RSS growth {_status_mb('VmHWM') - before:.1f} MB, "
              f"RssFile {_status_mb('RssFile'):.1f} MB")
    finally:
        os.remove(path)
        os.rmdir(folder)


if __name__ == "__main__":
    main()
