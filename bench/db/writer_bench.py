"""The daemon's write queue (db/writer.py): what `database.synchronous` costs, and how long call
records wait while a customer import runs. Prints figures (and bench/out/db_writer.json);
asserts none.

    .venv/bin/python bench/db/writer_bench.py [--calls 2000]

1. Call records through the queue, as the daemon writes them (start, answer, 4 IVR events, end
   with its seal): calls per second and transactions, with synchronous = full and = normal, on a
   real file in a temporary folder (on the disk the box has: tmpfs figures flatter 'full').
2. During an import of 200,000 customers in another process: the longest time a queued call
   record waited to be committed (the lock gap the import leaves between its chunks).
"""

from __future__ import annotations

import argparse
import functools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import trio
import trio.lowlevel

import db as database
from ccd.calls import CallLog
from db import seal
from db.writer import Writer

OUT = Path(__file__).resolve().parent.parent / "out" / "db_writer.json"


async def _calls(path: Path, synchronous: str, calls: int) -> dict[str, float]:
    db = database.open_database(path, synchronous=synchronous)
    db.conn.execute("PRAGMA busy_timeout = 100")
    writer = Writer(db)
    sealer, _ = seal.open_sealer(db, path.with_name(path.name + ".key"))
    log = CallLog(db, writer, sealer)
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        t0 = time.perf_counter()
        for i in range(calls):
            cid = f"b{synchronous}{i}"
            log.start(cid, src="13800000001", dst="96116")
            log.answered(cid)
            for node in ("greeting", "main", "balance", "bye"):
                log.event(cid, "play", node=node)
            log.end(cid, hangup_by="caller")
            if i % 20 == 0:
                await trio.lowlevel.checkpoint()  # calls arrive over time, not in one batch
        await writer.wait_idle()
        elapsed = time.perf_counter() - t0
        nursery.cancel_scope.cancel()
    stats = writer.statistics()
    db.conn.close()
    return {"calls_per_s": round(calls / elapsed, 1), "transactions": stats.transactions,
            "seconds": round(elapsed, 3)}


IMPORTER = """
import sys
import db as database
from ccd.customers_import import import_csv
db = database.open_database(sys.argv[1])
report = import_csv(db, sys.argv[2])
print(report.added)
"""


async def _during_import(path: Path, rows: int) -> dict[str, float]:
    csv = path.with_name("big.csv")
    lines = ["account_no,name,phones,address"]
    lines += [f"B{n:08d},用户{n},138{n:08d},幸福路{n}号" for n in range(rows)]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = database.open_database(path)
    db.conn.execute("PRAGMA busy_timeout = 100")
    writer = Writer(db)
    log = CallLog(db, writer)
    waits: list[float] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(writer.run)
        proc = await nursery.start(functools.partial(
            trio.run_process, [sys.executable, "-c", IMPORTER, str(path), str(csv)],
            stdout=subprocess.DEVNULL))
        t_import = time.perf_counter()
        n = 0
        while proc.returncode is None:
            t0 = time.perf_counter()
            log.start(f"imp{n}", src="13800000001", dst="96116")
            await writer.wait_idle()
            waits.append(time.perf_counter() - t0)
            n += 1
            await trio.sleep(0.05)
        import_s = time.perf_counter() - t_import
        nursery.cancel_scope.cancel()
    db.conn.close()
    waits.sort()
    return {"import_rows": rows, "import_s": round(import_s, 2), "records_written": len(waits),
            "wait_p50_ms": round(waits[len(waits) // 2] * 1000, 1),
            "wait_max_ms": round(waits[-1] * 1000, 1)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--import-rows", type=int, default=200_000)
    args = ap.parse_args()
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory(dir=Path.home()) as tmp:
        for sync in ("full", "normal"):
            out[f"synchronous_{sync}"] = trio.run(_calls, Path(tmp) / f"{sync}.sqlite3", sync,
                                                  args.calls)
            print(f"synchronous={sync}: {out[f'synchronous_{sync}']}")
        out["during_import"] = trio.run(_during_import, Path(tmp) / "imp.sqlite3",
                                        args.import_rows)
        print(f"call record commit wait during an import: {out['during_import']}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
