"""A small asyncio HTTP/1.1 load client: pre-built requests, Connection: close.

Every request opens a connection, sends its bytes, reads to EOF and closes, on both
servers alike (keep-alive answers stall about 40 ms on this machine's loopback).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    rows_per_request: int
    statuses: dict[int, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def rows_per_second(self) -> float:
        return self.rps * self.rows_per_request

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        return self.percentile(99)


def build_request(port: int, path: str, body: dict, headers: dict[str, str]) -> bytes:
    payload = json.dumps(body, separators=(",", ":")).encode()
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(payload)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def build_get(port: int, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _one(port: int, raw: bytes) -> tuple[int, float]:
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        data = await reader.read()
    finally:
        writer.close()
    elapsed = (time.perf_counter() - started) * 1000
    try:
        status = int(data[9:12])
    except ValueError:
        status = 0
    return status, elapsed


async def _run(port: int, requests: list[bytes], concurrency: int) -> tuple[list, float]:
    queue = iter(requests)
    results: list[tuple[int, float]] = []

    async def worker():
        for raw in queue:
            try:
                results.append(await _one(port, raw))
            except OSError:
                results.append((0, 0.0))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.perf_counter() - started


def load(port: int, requests: list[bytes], *, concurrency: int, rows: int) -> Result:
    """Send ``requests`` with ``concurrency`` connections at a time."""
    results, seconds = asyncio.run(_run(port, requests, concurrency))
    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    ok = [ms for status, ms in results if status == 200]
    return Result(
        requests=len(ok),
        errors=len(results) - len(ok),
        seconds=seconds,
        latencies_ms=ok or [0.0],
        rows_per_request=rows,
        statuses=statuses,
    )


# -- time-bounded runs of labelled requests (bench.load, bench.soak) --------------------


@dataclass
class Sample:
    kind: str
    status: int
    ms: float
    finished: float  # time.monotonic() when the answer was complete


async def _drive(
    port: int, next_request: Callable[[], tuple[str, bytes]], concurrency: int, seconds: float
) -> tuple[list[Sample], float]:
    started = time.monotonic()
    deadline = started + seconds
    samples: list[Sample] = []

    async def worker():
        while time.monotonic() < deadline:
            kind, raw = next_request()
            try:
                status, ms = await _one(port, raw)
            except OSError:
                status, ms = 0, 0.0
            samples.append(Sample(kind, status, ms, time.monotonic()))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples, time.monotonic() - started


def run_for(
    port: int,
    next_request: Callable[[], tuple[str, bytes]],
    *,
    concurrency: int,
    seconds: float,
) -> tuple[list[Sample], float]:
    """Keep ``concurrency`` requests in flight for ``seconds``; ``next_request()`` gives
    each one's label and bytes. Requests under way at the deadline are finished. The
    samples and the seconds the run took."""
    return asyncio.run(_drive(port, next_request, concurrency, seconds))


def summarize(samples: Iterable[Sample], seconds: float, ok: Iterable[int] = (200, 201)) -> Result:
    """The samples as a Result: statuses in ``ok`` succeed, anything else is an error
    (status 0: the connection failed)."""
    ok = set(ok)
    statuses: dict[int, int] = {}
    latencies, errors = [], 0
    for sample in samples:
        statuses[sample.status] = statuses.get(sample.status, 0) + 1
        if sample.status in ok:
            latencies.append(sample.ms)
        else:
            errors += 1
    return Result(
        requests=len(latencies),
        errors=errors,
        seconds=seconds,
        latencies_ms=latencies or [0.0],
        rows_per_request=0,
        statuses=statuses,
    )
