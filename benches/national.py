#!/usr/bin/env python3
"""Request latency at national scale, over HTTP only, so the same run works on
either backend (README, "National scale").

Against a running `jobmatch serve` (or two replicas: give both addresses,
comma-separated, and the requests alternate between them), with a staff key:

- candidates: GET /v1/vacancies/{id}/candidates?limit=10 for random open vacancies;
- search: GET /v1/vacancies?q=... over English and Khmer words a counsellor types;
- batch: POST /v1/workers/batch of 1,000 new profiles (copies of the lines of a
  `jobmatch gen` workers file, each with a fresh external_id) with a partner key.

Prints requests, p50, p99 and max per kind, in milliseconds. Needs Python 3 and
`requests`.

    benches/national.py http://127.0.0.1:8080 STAFF_KEY PARTNER_KEY gen/workers.ndjson \
        [--requests 400] [--batches 10] [--clients 2]
"""
import argparse, itertools, json, random, statistics, threading, time, uuid

import requests

SEARCHES = ["sewing", "garment", "construction", "welder", "bricklayer", "driver",
            "factory worker", "machine operator", "ដេរ", "សំណង់", "កម្មករ", "Pursat",
            "Siem Reap", "security guard", "cook", "electrician"]

parser = argparse.ArgumentParser()
parser.add_argument("addresses")
parser.add_argument("staff_key")
parser.add_argument("partner_key")
parser.add_argument("workers_file")
parser.add_argument("--requests", type=int, default=400, help="per read kind")
parser.add_argument("--batches", type=int, default=10)
parser.add_argument("--clients", type=int, default=2, help="concurrent readers")
args = parser.parse_args()
addresses = args.addresses.split(",")
staff = {"Authorization": f"Bearer {args.staff_key}"}
partner = {"Authorization": f"Bearer {args.partner_key}"}


def open_vacancies(limit=2000):
    ids, cursor, session = [], None, requests.Session()
    while len(ids) < limit:
        params = {"status": "open", "limit": 100}
        if cursor:
            params["cursor"] = cursor
        page = session.get(f"{addresses[0]}/v1/vacancies", headers=staff, params=params)
        page.raise_for_status()
        body = page.json()
        ids += [item["id"] for item in body["items"]]
        cursor = body.get("next_cursor")
        if not cursor:
            break
    return ids


def timed(kind, count, request):
    """Runs `request(session, address)` count times over args.clients threads."""
    durations, failures, lock, counter = [], [], threading.Lock(), itertools.count()

    def client():
        session = requests.Session()
        while (n := next(counter)) < count:
            address = addresses[n % len(addresses)]
            start = time.perf_counter()
            response = request(session, address)
            elapsed = time.perf_counter() - start
            if response.status_code >= 300:
                with lock:
                    failures.append(f"{kind}: {response.status_code} {response.text[:300]}")
                return
            with lock:
                durations.append(elapsed * 1000)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(failures[0])
    durations.sort()
    p99 = durations[min(len(durations) - 1, int(len(durations) * 0.99))]
    print(f"{kind:<11} {len(durations):>5} requests  p50 {statistics.median(durations):8.1f} ms"
          f"  p99 {p99:8.1f} ms  max {durations[-1]:8.1f} ms", flush=True)


vacancies = open_vacancies()
print(f"{len(vacancies)} open vacancies sampled; {len(addresses)} address(es); "
      f"{args.clients} concurrent clients for reads", flush=True)
timed("candidates", args.requests, lambda session, address: session.get(
    f"{address}/v1/vacancies/{random.choice(vacancies)}/candidates",
    headers=staff, params={"limit": 10}))
timed("search", args.requests, lambda session, address: session.get(
    f"{address}/v1/vacancies", headers=staff,
    params={"q": random.choice(SEARCHES), "status": "open", "limit": 20}))

with open(args.workers_file, encoding="utf-8") as lines:
    profiles = [json.loads(line) for line, _ in zip(lines, range(1000))]
run = uuid.uuid4().hex[:8]


def batch(session, address, numbers=itertools.count()):
    n = next(numbers)
    items = [dict(profile, external_id=f"national-{run}-{n}-{i}")
             for i, profile in enumerate(profiles)]
    return session.post(f"{address}/v1/workers/batch", headers=partner, json={"items": items})


# One partner sends its batches one after another, as a registration drive would.
args.clients = 1
timed("batch 1000", args.batches, batch)
