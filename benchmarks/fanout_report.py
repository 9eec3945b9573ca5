"""What one fan-out run measured, and the tables the benchmark prints."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from fanout_measure import ProfileReport
from fanout_store import Counts


def say(text: str = "") -> None:
    print(text, flush=True)


@dataclass
class RunResult:
    """Everything one run measured."""

    label: str
    faults: bool
    followers: int
    hosts: int
    inboxes: int = 0
    publish_seconds: float = 0.0  # create_post: store, fan-out, queue, commit
    delivered_seconds: float | None = None  # create_post called → nothing pending
    first_pass_seconds: float | None = None  # every delivery tried at least once
    final: Counts | None = None
    first_pass: Counts | None = None
    latencies: list[float] = field(default_factory=list)
    sender_cpu: float = 0.0
    threads: dict[str, float] = field(default_factory=dict)
    receiver: dict[str, Any] = field(default_factory=dict)
    machine_busy: float = 0.0  # every process on the machine, during delivery
    load_before: float = 0.0
    peak_rss_delivery: float = 0.0
    peak_rss_reset: bool = False
    fast_forwarded: int = 0
    skipped_seconds: float = 0.0
    reach: str = ""
    activity_uri: str = ""
    profile: ProfileReport | None = None
    walls: list[float] = field(default_factory=list)  # every repeat of this run

    @property
    def receiver_cpu(self) -> float:
        return float(self.receiver.get("cpu_seconds", 0.0))

    @property
    def others_cpu(self) -> float:
        """CPU the rest of the machine used during delivery (a shared machine's noise)."""
        return max(0.0, self.machine_busy - self.sender_cpu - self.receiver_cpu)


@dataclass(frozen=True)
class ReceiverSummary:
    verified: int
    refused: int
    exactly_once: int
    missing: int
    duplicates: int
    late_answers: int
    faults_shown: dict[str, int]
    duplicates_by_fault: dict[str, int]


def summarise_receivers(result: RunResult) -> ReceiverSummary:
    """Count, over every virtual host, how many copies of the post it verified."""
    hosts: list[dict[str, Any]] = result.receiver.get("hosts", [])
    faults: dict[str, int] = {}
    by_fault: dict[str, int] = {}
    once = missing = duplicates = 0
    for host in hosts:
        copies = int(host["activities"].get(result.activity_uri, 0))
        once += copies == 1
        missing += copies == 0
        duplicates += max(0, copies - 1)
        if copies > 1:
            kind = host["fault"] or "none"
            by_fault[kind] = by_fault.get(kind, 0) + copies - 1
        if host["fault"] and host["faults_shown"]:
            faults[host["fault"]] = faults.get(host["fault"], 0) + 1
    return ReceiverSummary(
        verified=sum(h["verified"] for h in hosts),
        refused=sum(h["refused"] for h in hosts),
        exactly_once=once,
        missing=missing if hosts else result.hosts,
        duplicates=duplicates,
        late_answers=sum(h["late_answers"] for h in hosts),
        faults_shown=faults,
        duplicates_by_fault=by_fault,
    )


def median_run(runs: list[RunResult]) -> RunResult:
    """Return the run with the median wall time, carrying every repeat's wall time."""
    ordered = sorted(runs, key=lambda run: run.delivered_seconds or float("inf"))
    chosen = ordered[(len(ordered) - 1) // 2]
    chosen.walls = [run.delivered_seconds or float("nan") for run in runs]
    return chosen


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, max(0, round(share * (len(values) - 1))))]


def _rows(result: RunResult, target: float) -> dict[str, str]:
    final = result.final
    receivers = summarise_receivers(result)
    sent = final.sent if final else 0
    wall = result.delivered_seconds
    met = wall is not None and wall <= target and receivers.missing == 0
    per_k = result.sender_cpu / sent * 1000 if sent else float("nan")
    lat = result.latencies
    rows = {
        "inboxes queued (followers / hosts)": (
            f"{result.inboxes:,} ({result.followers:,} / {result.hosts:,})"
        ),
        "create_post (store, fan-out, queue)": f"{result.publish_seconds:.3f} s",
        "publish → all delivered (wall)": f"{_seconds(wall)} " + ("✓" if met else "✗"),
    }
    if len(result.walls) > 1:
        walls = sorted(result.walls)
        rows[f"  min / median / max of {len(walls)} runs"] = (
            f"{walls[0]:.2f} / {statistics.median(walls):.2f} / {walls[-1]:.2f} s"
        )
    rows |= {
        "publish → every delivery tried once": _seconds(result.first_pass_seconds),
        "delivery latency p50 / p90 / p99": " / ".join(
            f"{_percentile(lat, share):.2f}" for share in (0.5, 0.9, 0.99)
        )
        + " s",
        "deliveries per second": f"{sent / wall:,.0f}" if wall else "—",
        "POSTs answered (incl. retries)": f"{final.attempts if final else 0:,}",
        "sender CPU (all threads)": f"{result.sender_cpu:.2f} s",
        "sender CPU per 1,000 deliveries": f"{per_k:.2f} s",
    }
    for group in sorted(result.threads):
        rows[f"  {group}"] = f"{result.threads[group]:.2f} s"
    rows["receiver CPU (separate process)"] = f"{result.receiver_cpu:.2f} s"
    rows["other processes' CPU meanwhile"] = (
        f"{result.others_cpu:.2f} s (load {result.load_before:.1f} before)"
    )
    peak = "during delivery" if result.peak_rss_reset else "process lifetime"
    rows[f"sender peak RSS ({peak})"] = f"{result.peak_rss_delivery:.0f} MiB"
    if result.inboxes:
        first = result.first_pass.sent_first_try if result.first_pass else 0
        rows["delivered on first attempt"] = f"{first / result.inboxes:.1%}"
        rows["delivered in the end"] = f"{sent / result.inboxes:.1%}"
    rows["signatures verified / refused"] = f"{receivers.verified:,} / {receivers.refused:,}"
    rows["hosts that got the post exactly once"] = f"{receivers.exactly_once:,} / {result.hosts:,}"
    rows["hosts that never got it"] = f"{receivers.missing:,}"
    rows["duplicates (of which answered late)"] = (
        f"{receivers.duplicates:,} ({receivers.late_answers:,})"
    )
    rows["  duplicates by the host's fault"] = (
        ", ".join(f"{kind} {n}" for kind, n in sorted(receivers.duplicates_by_fault.items()))
        or "none"
    )
    shown = ", ".join(f"{kind} {count}" for kind, count in sorted(receivers.faults_shown.items()))
    rows["faults injected (hosts)"] = shown or "none"
    rows["retries fast-forwarded (longest wait skipped)"] = (
        f"{result.fast_forwarded:,} ({result.skipped_seconds:.0f} s)"
    )
    return rows


TARGETS = {
    "publish → all delivered (wall)": "≤ {target:g} s",
    "hosts that got the post exactly once": "all",
    "hosts that never got it": "0",
    "signatures verified / refused": "all / 0",
    "duplicates (of which answered late)": "= late",
}


def print_table(results: list[RunResult], target: float) -> None:
    """Print every run side by side, with the target next to the figures that have one."""
    columns = [_rows(result, target) for result in results]
    labels = list(dict.fromkeys(label for column in columns for label in column))
    width = max(len(label) for label in labels) + 2
    cell = max([len(v) for column in columns for v in column.values()] + [10])
    rule = width + 12 + (cell + 3) * len(results)
    say("\n" + "=" * rule)
    say(
        "figure".ljust(width)
        + "target".ljust(12)
        + "".join(f" | {r.label:<{cell}}" for r in results)
    )
    say("-" * rule)
    for label in labels:
        goal = TARGETS.get(label, "").format(target=target)
        values = "".join(f" | {column.get(label, ''):<{cell}}" for column in columns)
        say(label.ljust(width) + goal.ljust(12) + values)
    say("=" * rule)
    for result in results:
        say(f"reach receipt ({result.label}): {result.reach}")
        ratio = (result.delivered_seconds or float("inf")) / target
        say(f"  wall time / target ({result.label}): {ratio:.2f}")


def print_profile(report: ProfileReport, result: RunResult) -> None:
    """Print where the sender's CPU went: by thread, by library, then the top functions."""
    say("\n== profile of the sender, clean run (CPU time; a separate, unmeasured run) ==")
    say("cProfile slows Python code about 2x: read the shares, not this run's wall time.")
    say("\nCPU by thread (each thread's CPU clock; signing and SQLite run off the event loop):")
    total = sum(result.threads.values()) or 1.0
    for group, seconds in sorted(result.threads.items(), key=lambda item: -item[1]):
        say(f"  {seconds:7.3f} s {seconds / total:6.1%}  {group}")
    say(f"\nevent loop thread by library ({report.total:.3f} s of CPU profiled):")
    say(f"  {'own functions':>16}  {'+ built-ins they call':>22}  library")
    own = dict(report.own_groups)
    for group, seconds in report.groups:
        mine = own.get(group, 0.0)
        say(
            f"  {mine:7.3f} s {mine / report.total:6.1%}"
            f"      {seconds:7.3f} s {seconds / report.total:6.1%}     {group}"
        )
    say(f"\ntop {len(report.top)} functions by self time:")
    say(f"  {'self s':>8} {'cum s':>8} {'calls':>10}  function")
    for name, calls, mine, cumulative in report.top:
        say(f"  {mine:8.3f} {cumulative:8.3f} {calls:10,}  {name}")
