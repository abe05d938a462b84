#!/usr/bin/env python3
"""Request latency while a backup runs (README, "Backups").

Against a running `jobmatch serve`: 3 threads ask a random open vacancy's best 10
candidates, 1 thread registers returnee profiles (a copy of a stored one), for
SECONDS or until the file MARKER exists; prints p50, p99 and max per kind.
Needs Python 3 with `requests`.

    benches/backup_p99.py http://127.0.0.1:8080 STAFF_KEY data/jobmatch.db 30 [MARKER]
"""
import json, os, random, sqlite3, sys, threading, time

import requests

address, key, db, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
marker = sys.argv[5] if len(sys.argv) > 5 else None
conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
vacancies = [r[0] for r in conn.execute("SELECT id FROM vacancies WHERE status='open' LIMIT 5000")]
template = json.loads(conn.execute("SELECT body FROM workers LIMIT 1").fetchone()[0])
conn.close()
for field in ("external_id", "consent"):
    template.pop(field, None)
headers = {"Authorization": f"Bearer {key}"}
results = {"candidates": [], "write": []}
lock = threading.Lock()
deadline = time.time() + seconds

def running():
    if marker and os.path.exists(marker):
        return False
    return time.time() < deadline

def reader():
    s = requests.Session()
    while running():
        v = random.choice(vacancies)
        t = time.perf_counter()
        r = s.get(f"{address}/v1/vacancies/{v}/candidates?limit=10", headers=headers)
        d = time.perf_counter() - t
        assert r.status_code == 200, r.text
        with lock:
            results["candidates"].append(d)

def writer():
    s = requests.Session()
    i = 0
    while running():
        i += 1
        body = dict(template)
        body["full_name"] = f"Load writer {threading.get_ident()} {i}"
        t = time.perf_counter()
        r = s.post(f"{address}/v1/workers", headers=headers, json=body)
        d = time.perf_counter() - t
        assert r.status_code == 201, r.text
        with lock:
            results["write"].append(d)

threads = [threading.Thread(target=reader) for _ in range(3)] + [threading.Thread(target=writer) for _ in range(1)]
for t in threads: t.start()
for t in threads: t.join()
for kind, values in results.items():
    values.sort()
    n = len(values)
    if n:
        print(f"{kind}: n={n} p50={values[n//2]*1000:.1f} ms p99={values[int(n*0.99)]*1000:.1f} ms max={values[-1]*1000:.1f} ms")
