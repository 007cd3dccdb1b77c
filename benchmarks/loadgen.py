"""A small HTTP/1.1 load generator for scenario 3, used when ``wrk`` is not installed.

``python -m benchmarks.loadgen --port P --requests N [--connections 64]`` sends ``N`` GET
requests for ``/users/{id}`` over ``--connections`` keep-alive connections, then prints one
JSON line with the keys ``benchmarks/wrk_users.lua`` prints. Runs on uvloop when it can: in
its own process, so that its CPU is not the server's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Sequence

__all__ = ["main"]


async def _load(host: str, port: int, total: int, connections: int) -> dict[str, float]:
    latencies: list[float] = []
    issued = 0
    errors = 0
    status_errors = 0

    async def client() -> None:
        nonlocal issued, errors, status_errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while issued < total:
                issued += 1
                request = (
                    f"GET /users/{issued % 10000 + 1} HTTP/1.1\r\nHost: {host}\r\n\r\n"
                ).encode()
                t0 = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if not head.startswith((b"HTTP/1.1 2", b"HTTP/1.0 2")):
                    status_errors += 1
        except (OSError, asyncio.IncompleteReadError):
            errors += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    seconds = time.perf_counter() - t0
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "responses": len(latencies),
        "seconds": seconds,
        "requests": len(latencies),
        "duration_us": seconds * 1e6,
        "errors": errors,
        "status_errors": status_errors,
        "p50_us": cuts[49] * 1e6,
        "p90_us": cuts[89] * 1e6,
        "p99_us": cuts[98] * 1e6,
        "max_us": max(latencies, default=0.0) * 1e6,
        "mean_us": statistics.fmean(latencies) * 1e6 if latencies else 0.0,
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options, run the load, print the JSON line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadgen")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args(argv)
    try:
        import uvloop

        runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    except ImportError:
        runner = asyncio.Runner()
    with runner:
        result = runner.run(_load(args.host, args.port, args.requests, args.connections))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
