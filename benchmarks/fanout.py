"""Fan-out benchmark: one post to N followers on H servers, delivered over real loopback sockets.

    python benchmarks/fanout.py --followers 10000 --hosts 1000 [--faults] [--profile]
                                [--database postgresql+asyncpg://user@host/db] [--repeat 3]

A separate process serves H virtual hosts (one port each on 127.0.0.1) and verifies every
signature. This process is the sending instance as `fediverse serve` runs it: the store
(a temporary SQLite file unless --database is given), the pooled HTTP client, the job runner as
an embedded worker. It publishes one post with `create_post` and waits until no delivery is
pending. `--faults` adds a run where a deterministic share of receivers misbehaves on first
contact. `--profile` adds a profiled clean run and shows where the sender's CPU went.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from fanout_measure import (
    cpu_seconds,
    load_average,
    machine_busy_seconds,
    new_profiler,
    peak_rss_mib,
    reset_peak_rss,
    summarise,
    thread_cpu,
    thread_groups,
)
from fanout_receivers import FAULT_SHARES, ReceiverPlan, run_receivers
from fanout_report import (
    RunResult,
    median_run,
    print_profile,
    print_table,
    say,
    summarise_receivers,
)
from fanout_store import (
    AUTHOR,
    Database,
    bench_config,
    delivery_counts,
    delivery_latencies,
    fast_forward,
    insert_followers,
)
from fanout_transports import build_transport

from fediverse.app import build_context, build_runner
from fediverse.config import Config
from fediverse.services.actors import NewUser, create_user, ensure_instance_actor
from fediverse.services.context import Context
from fediverse.services.posts import NewPost, create_post
from fediverse.services.reach import reach_for_post
from fediverse.store.migrate import upgrade
from fediverse.store.types import utcnow

POLL_SECONDS = 0.05
PROGRESS_SECONDS = 0.5


def _receive(conn: Connection, timeout: float) -> Any:
    if not conn.poll(timeout):
        raise TimeoutError(f"the receiver process did not answer within {timeout:g} s")
    return conn.recv()


class Receivers:
    """The receiver process: started with the sender's public key, stopped for its report."""

    def __init__(self, plan: ReceiverPlan) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=run_receivers, args=(plan, child), name="fanout-receivers", daemon=True
        )
        self.process.start()
        child.close()

    async def ready(self) -> list[int]:
        message = await asyncio.to_thread(_receive, self.conn, 120.0)
        return list(message["ports"])

    async def stop(self) -> dict[str, Any]:
        self.conn.send("stop")
        report: dict[str, Any] = await asyncio.to_thread(_receive, self.conn, 60.0)
        await asyncio.to_thread(self.process.join, 10.0)
        return report

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(5.0)


async def run(args: argparse.Namespace, *, faults: bool, profile: bool = False) -> RunResult:
    """Set up a fresh sender and receivers, publish one post, wait for full delivery."""
    label = "faults" if faults else "clean"
    result = RunResult(label, faults, args.followers, args.hosts)
    what = f"{label} run{' (profiled)' if profile else ''}"
    say(f"\n== {what}: {args.followers:,} followers on {args.hosts:,} hosts ==")
    with tempfile.TemporaryDirectory(prefix="fanout-") as folder:
        database = Database.choose(args.database, Path(folder))
        config = _config(args, database)
        transport = build_transport(args.transport, config.delivery.max_in_flight)
        ctx = build_context(config, transport=transport)
        receivers: Receivers | None = None
        try:
            say(f"setting up the sender ({database.engine_name}) ...")
            await upgrade(ctx.engine, schema=config.database.schema)
            await ensure_instance_actor(ctx)
            author, _user = await create_user(ctx, NewUser(username=AUTHOR))
            assert author.public_key_id and author.public_key_pem
            say(f"starting {args.hosts:,} receiver hosts in a separate process ...")
            started = time.perf_counter()
            receivers = Receivers(
                ReceiverPlan(
                    hosts=args.hosts,
                    key_id=author.public_key_id,
                    owner=author.uri,
                    public_key_pem=author.public_key_pem,
                    faults=faults,
                    slow_seconds=args.timeout + 1.0,
                    max_run_seconds=args.max_wait + 600.0,
                    latency_seconds=args.latency_ms / 1000,
                )
            )
            ports = await receivers.ready()
            say(f"  {len(ports):,} hosts listening ({time.perf_counter() - started:.1f} s)")
            say(f"inserting {args.followers:,} followers ...")
            await insert_followers(ctx, author.id, ports, args.followers, say)
            await _deliver(ctx, config, args, result, profile)
            result.receiver = await receivers.stop()
            receivers = None
        finally:
            if receivers is not None:
                receivers.kill()
            await ctx.close()
            await database.drop()
    return result


def _config(args: argparse.Namespace, database: Database) -> Config:
    chosen = {
        "workers": {"batch_size": args.batch_size, "lease_seconds": args.lease_seconds},
        "delivery": {"max_in_flight": args.max_in_flight, "per_host_limit": args.per_host_limit},
    }
    given = {
        section: {key: value for key, value in values.items() if value is not None}
        for section, values in chosen.items()
    }
    return bench_config(
        database, timeout_seconds=args.timeout, workers=given["workers"], delivery=given["delivery"]
    )


async def _deliver(
    ctx: Context, config: Config, args: argparse.Namespace, result: RunResult, profile: bool
) -> None:
    """Start the embedded worker, publish, poll until nothing is pending, measure."""
    runner = build_runner(ctx)
    stop = asyncio.Event()
    worker = asyncio.create_task(runner.run_forever(stop))
    say(
        f"worker: batch_size={config.workers.batch_size}, "
        f"max_in_flight={config.delivery.max_in_flight}, "
        f"per_host_limit={config.delivery.per_host_limit}, "
        f"timeout={config.federation.fetch_timeout_seconds:g} s, transport={args.transport}"
    )
    await asyncio.sleep(0.2)  # let the worker reach its idle wait, as on a running server
    profiler = new_profiler() if profile else None
    result.load_before = load_average()
    result.peak_rss_reset = reset_peak_rss()
    threads_before, cpu_before, busy_before = thread_cpu(), cpu_seconds(), machine_busy_seconds()
    published_at = utcnow()
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    try:
        published = await create_post(
            ctx, AUTHOR, NewPost(text="Benchmark post: one activity to every follower's server.")
        )
        result.publish_seconds = time.perf_counter() - started
        result.inboxes = published.inboxes
        say(
            f"published: {published.followers_targeted:,} followers → {published.inboxes:,} "
            f"inboxes queued in {result.publish_seconds:.3f} s"
        )
        await _wait(ctx, published.activity_id, started, args.max_wait, result)
    finally:
        if profiler is not None:
            profiler.disable()
        result.sender_cpu = cpu_seconds() - cpu_before
        result.machine_busy = machine_busy_seconds() - busy_before
        result.threads = thread_groups(threads_before, thread_cpu())
        result.peak_rss_delivery = peak_rss_mib()
        stop.set()
        await worker
    if profiler is not None:
        result.profile = summarise(profiler)
        if args.profile_out:
            profiler.dump_stats(args.profile_out)
            say(f"raw profile written to {args.profile_out} (read it with python -m pstats)")
    result.latencies = await delivery_latencies(ctx, published.activity_id, published_at)
    reach = await reach_for_post(ctx, str(published.post.id))
    result.reach = reach.summary()
    result.activity_uri = reach.activity


async def _wait(
    ctx: Context, activity_id: int, started: float, max_wait: float, result: RunResult
) -> None:
    """Poll the delivery rows until none is pending; fast-forward retries after the first pass.

    Retries back off by design (30 s, then doubling; a 503 waits for its Retry-After). Once
    every delivery has been tried, the benchmark makes waiting retries due at once instead of
    sleeping through the backoff, and says so each time.
    """
    next_report = PROGRESS_SECONDS
    while True:
        counts = await delivery_counts(ctx, activity_id)
        elapsed = time.perf_counter() - started
        if result.first_pass is None and counts.attempted_rows >= counts.total:
            result.first_pass, result.first_pass_seconds = counts, elapsed
            say(
                f"  every delivery tried once at {elapsed:.2f} s: {counts.sent:,} sent, "
                f"{counts.pending:,} waiting to retry"
            )
        if counts.pending == 0:
            result.final, result.delivered_seconds = counts, elapsed
            say(f"  all {counts.total:,} deliveries finished at {elapsed:.2f} s")
            return
        if result.first_pass is not None and counts.pending > counts.leased:
            moved, skipped, causes = await fast_forward(ctx, activity_id)
            if moved:
                result.fast_forwarded += moved
                result.skipped_seconds = max(result.skipped_seconds, skipped)
                say(
                    f"  FAST-FORWARD at {elapsed:.2f} s: {moved:,} deliveries were waiting for "
                    f"their retry time (up to {skipped:.0f} s away); the benchmark made them due "
                    "now instead of sleeping through the backoff. They waited because of:"
                )
                for cause, count in causes.items():
                    say(f"    {count:5,} after {cause}")
                ctx.notify()
        if elapsed >= next_report:
            next_report += PROGRESS_SECONDS
            say(
                f"  {elapsed:5.2f} s: sent {counts.sent:,}/{counts.total:,}, "
                f"pending {counts.pending:,} ({counts.leased:,} held by the worker), "
                f"answers recorded {counts.attempts:,}"
            )
        if elapsed > max_wait:
            result.final = counts
            say(f"  GAVE UP after {max_wait:g} s with {counts.pending:,} deliveries pending")
            return
        await asyncio.sleep(POLL_SECONDS)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add = parser.add_argument
    add("--followers", type=int, default=10_000, help="followers, N (10,000)")
    add("--hosts", type=int, default=1_000, help="receiving servers, H (1,000)")
    add("--faults", action="store_true", help="add a run with faults injected")
    add("--faults-only", action="store_true", help="only the run with faults")
    add("--profile", action="store_true", help="add a profiled clean run")
    add("--profile-out", help="write that run's raw cProfile stats to this file")
    add("--repeat", type=int, default=1, help="repeat each run, report the median (1)")
    add("--database", help="postgresql+asyncpg:// URL (a private schema is made and dropped)")
    add("--target", type=float, default=5.0, help="target seconds, publish to delivered (5)")
    add("--timeout", type=float, default=2.0, help="the sender's fetch_timeout_seconds (2)")
    add("--max-wait", type=float, default=180.0, help="give up after this many seconds (180)")
    add("--batch-size", type=int, help="[workers] batch_size (default: as shipped)")
    add("--lease-seconds", type=int, help="[workers] lease_seconds")
    add("--max-in-flight", type=int, help="[delivery] max_in_flight")
    add("--per-host-limit", type=int, help="[delivery] per_host_limit")
    add(
        "--transport",
        default="stock",
        help="HTTP pool: stock (as served), or what-ifs keepalive:N, shards:K, null",
    )
    add("--latency-ms", type=float, default=0.0, help="receivers answer after this delay (0)")
    args = parser.parse_args(argv)
    if args.followers < args.hosts or args.hosts < 1 or args.repeat < 1:
        parser.error("need hosts ≥ 1, followers ≥ hosts and repeat ≥ 1")
    return args


async def main_async(args: argparse.Namespace) -> int:
    say(
        f"fan-out benchmark: python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"{platform.machine()}, started {datetime.now().isoformat(timespec='seconds')}, "
        f"load average {load_average():.2f}"
    )
    results: list[RunResult] = []
    if not args.faults_only:
        results.append(median_run([await run(args, faults=False) for _ in range(args.repeat)]))
    if args.faults or args.faults_only:
        shares = ", ".join(f"{share}% {kind}" for kind, share in FAULT_SHARES)
        say(f"\nfaults on first contact: {shares} (slow: answered after the sender's timeout)")
        results.append(median_run([await run(args, faults=True) for _ in range(args.repeat)]))
    profiled = await run(args, faults=False, profile=True) if args.profile else None
    print_table(results, args.target)
    if profiled is not None and profiled.profile is not None:
        print_profile(profiled.profile, profiled)
    return 0 if all(summarise_receivers(result).missing == 0 for result in results) else 1


def main() -> None:
    sys.exit(asyncio.run(main_async(parse_args())))


if __name__ == "__main__":
    main()
