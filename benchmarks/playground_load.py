"""Load test of the Playground server on loopback: many training sessions at once.

    python benchmarks/playground_load.py [--sessions 64] [--seconds 20] [--port 0]

Starts ``chainrule playground`` in a subprocess on 127.0.0.1, opens ``--sessions`` WebSocket
sessions that all press play, and for ``--seconds`` polls ``/healthz`` every 50 ms. Reports the
health check's latency (p50, p99, max), the frames per second each session received (min,
median), and the server's resident memory at the start, the end and its peak. Bounded in time
and in requests; it only ever talks to 127.0.0.1.

Targets (issue #21): p99 < 100 ms, every session ≥ 2 frames/s, memory bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _memory_mib(pid: int) -> dict[str, float]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1]) / 1024
    return out


async def _health(port: int) -> float:
    t0 = time.perf_counter()
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"GET /healthz HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n"
                 .encode())
    await writer.drain()
    await reader.read()
    writer.close()
    return time.perf_counter() - t0


async def _session(port: int, counts: list[int], i: int, start: asyncio.Event,
                   stop: asyncio.Event) -> None:
    import websockets

    async with websockets.connect(f"ws://{HOST}:{port}/ws", max_size=None) as ws:
        await ws.send('{"type": "play"}')
        await start.wait()
        while not stop.is_set():
            try:
                msg = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            if msg.startswith('{"type":"frame"'):
                counts[i] += 1


async def _run(port: int, sessions: int, seconds: float, server_pid: int) -> dict:
    counts = [0] * sessions
    start, stop = asyncio.Event(), asyncio.Event()
    tasks = [asyncio.create_task(_session(port, counts, i, start, stop)) for i in range(sessions)]
    await asyncio.sleep(2.0)  # all connected and playing
    mem_start = _memory_mib(server_pid)
    for i in range(sessions):
        counts[i] = 0
    start.set()
    latencies = []
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end:
        latencies.append(await asyncio.wait_for(_health(port), 10))
        await asyncio.sleep(0.05)
    frames = [c / seconds for c in counts]
    stop.set()
    mem_end = _memory_mib(server_pid)
    await asyncio.gather(*tasks, return_exceptions=True)
    lat = sorted(latencies)
    return {"health_p50_ms": 1e3 * statistics.median(lat),
            "health_p99_ms": 1e3 * lat[min(len(lat) - 1, int(0.99 * len(lat)))],
            "health_max_ms": 1e3 * lat[-1], "health_requests": len(lat),
            "fps_min": min(frames), "fps_median": statistics.median(frames),
            "rss_start_mib": mem_start["VmRSS"], "rss_end_mib": mem_end["VmRSS"],
            "rss_peak_mib": mem_end["VmHWM"]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--sessions", type=int, default=64, help="concurrent sessions (64)")
    p.add_argument("--seconds", type=float, default=20.0, help="measured time (20)")
    p.add_argument("--port", type=int, default=0, help="server port (0: a free one)")
    args = p.parse_args()
    port = args.port or _free_port()
    server = subprocess.Popen([sys.executable, "-m", "chainrule.playground.server", "--port",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((HOST, port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the playground server did not start") from None
                time.sleep(0.1)
        r = asyncio.run(_run(port, args.sessions, args.seconds, server.pid))
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"{args.sessions} sessions training for {args.seconds:g} s on {os.cpu_count()} cores")
    print(f"/healthz latency: p50 {r['health_p50_ms']:.1f} ms, p99 {r['health_p99_ms']:.1f} ms, "
          f"max {r['health_max_ms']:.1f} ms ({r['health_requests']} requests)")
    print(f"frames per second per session: min {r['fps_min']:.2f}, "
          f"median {r['fps_median']:.2f}")
    print(f"server memory: {r['rss_start_mib']:.0f} MiB at start, {r['rss_end_mib']:.0f} MiB "
          f"at end, peak {r['rss_peak_mib']:.0f} MiB")
    ok = r["health_p99_ms"] < 100 and r["fps_min"] >= 2
    print("targets (p99 < 100 ms, every session >= 2 frames/s):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
