"""The classroom benchmark's figures: what the students got against what the teacher got, what
the forkers trained, and what it all cost."""

from __future__ import annotations

import argparse
import bisect
import os

from bench import _server as harness
from bench._classroom_clients import Forked, Share

Row = dict[str, float]
TARGET_LAG_P99_MS = 30.0  # issue 12: lag behind the teacher, p99, for healthy students
TARGET_SHARE = 0.99  # and the share of the teacher's frames each of them gets


def summary(
    shares: list[Share],
    reference: dict[str, float],
    usage: harness.Usage,
    cores: tuple[float, float],
    window: tuple[float, float],
) -> Row:
    """The figures of one run: `cores` the client processes' and the whole machine's while
    the teacher played, `window` when that was (monotonic seconds)."""
    clients_cores, machine_cores = cores
    seen = [s for share in shares for s in share.seen]
    got = [sum(k in s.arrivals for k in reference) for s in seen]
    shares_got = [n / max(len(reference), 1) for n in got]
    lags = sorted(
        s.arrivals[k] - at for s in seen for k, at in reference.items() if k in s.arrivals
    )
    lateness = sorted(x for share in shares for x in share.loop_lateness)
    steps = sum(not k.startswith(('{"type":"sequence"', '{"type":"spectrum"')) for k in reference)
    row = {
        "students": len(seen),
        "closed_politely": sum(s.closed for s in seen),
        "teacher_frames_per_s": len(reference) / usage.wall,
        "teacher_steps_per_s": steps / usage.wall,
        "delivered_frames_per_s": sum(got) / usage.wall,
        "worst_share": min(shares_got, default=float("nan")),
        "mean_share": sum(shares_got) / max(len(shares_got), 1),
        "lag_p50_ms": 1000 * harness.quantile(lags, 0.5),
        "lag_p99_ms": 1000 * harness.quantile(lags, 0.99),
        "lag_max_ms": 1000 * harness.quantile(lags, 1.0),
        "cpu_cores": usage.cpu_cores,
        "loop_cores": usage.loop_cores,
        "loop_preemptions_per_s": usage.loop_preemptions_per_s,
        "rss_mb": usage.rss_mb,
        "rss_growth_mb": usage.rss_growth_mb,
        "client_cpu_cores": clients_cores + usage.own_cpu_seconds / usage.wall,
        "machine_cores": machine_cores,
        "client_loop_late_p99_ms": 1000 * harness.quantile(lateness, 0.99),
        "client_loop_late_max_ms": 1000 * harness.quantile(lateness, 1.0),
    }
    row.update(forks_summary([f for share in shares for f in share.forked], window))
    return row


def trained_in(fork: Forked, window: tuple[float, float]) -> int:
    """Iterations a fork trained while the teacher played, from its progress frames (each
    carries the run's iteration, so a dropped one loses nothing)."""
    times = [at for at, _ in fork.progress]
    start, end = window
    before = bisect.bisect_right(times, start) - 1
    last = bisect.bisect_right(times, end) - 1
    if last < 0 or last <= before:
        return 0
    first = fork.progress[max(before, 0)][1]
    return fork.progress[last][1] - first


def forks_summary(forks: list[Forked], window: tuple[float, float]) -> Row:
    """How many forked, and how fast they trained during the window."""
    seconds = window[1] - window[0]
    rates = sorted(trained_in(f, window) / seconds for f in forks if f.forked_at is not None)
    return {
        "forks_asked": len(forks),
        "forked": len(rates),
        "fork_refusals": sum(len(f.refusals) for f in forks),
        "trains_finished": sum(f.trains for f in forks),
        "fork_iterations_per_s": sum(rates),
        "fork_rate_mean": sum(rates) / max(len(rates), 1),
        "fork_rate_min": rates[0] if rates else float("nan"),
        "fork_rate_max": rates[-1] if rates else float("nan"),
    }


def show(row: Row, args: argparse.Namespace) -> None:
    """Print the figures."""
    watching = row["students"]
    print(
        f"room: {args.students} students, {row['forked']:.0f} of {row['forks_asked']:.0f} forked "
        f"and training, {watching:.0f} following (+1 stalled); teacher plays at {args.rate:g} "
        f"steps/s for {args.seconds:g} s"
    )
    print(
        f"teacher got {row['teacher_frames_per_s']:.1f} frames/s ({row['teacher_steps_per_s']:.1f}"
        f" steps/s); following students got {row['delivered_frames_per_s']:.0f} frames/s in all"
    )
    print(
        f"share of the teacher's frames per following student: worst {row['worst_share']:.2%}, "
        f"mean {row['mean_share']:.2%}"
    )
    print(
        f"lag behind the teacher: p50 {row['lag_p50_ms']:.2f} ms, p99 {row['lag_p99_ms']:.2f} ms, "
        f"max {row['lag_max_ms']:.2f} ms"
    )
    if row["forks_asked"]:
        print(
            f"forks: {row['fork_iterations_per_s']:.0f} iterations/s in all while the teacher "
            f"played; per fork mean {row['fork_rate_mean']:.1f}, min {row['fork_rate_min']:.1f}, "
            f"max {row['fork_rate_max']:.1f} it/s; {row['trains_finished']:.0f} train commands "
            f"of {args.iterations} finished, {row['fork_refusals']:.0f} refused"
        )
    print(
        f"server: {row['cpu_cores']:.3f} cores (its event loop's process "
        f"{row['loop_cores']:.3f}, preempted {row['loop_preemptions_per_s']:.0f} times/s), "
        f"{row['rss_mb']:.0f} MB RSS "
        f"({row['rss_growth_mb']:+.1f} MB while playing)"
    )
    print(
        f"clients (not the server): {row['client_cpu_cores']:.2f} cores; their event loops woke "
        f"late by p99 {row['client_loop_late_p99_ms']:.1f} ms, max "
        f"{row['client_loop_late_max_ms']:.1f} ms"
    )
    others = row["machine_cores"] - row["cpu_cores"] - row["client_cpu_cores"]
    print(
        f"machine: {row['machine_cores']:.2f} of {os.cpu_count()} cores busy, of which "
        f"{max(others, 0):.2f} neither this server nor its clients (a shared machine)"
    )
    print(f"closed politely at the room's end: {row['closed_politely']:.0f} of {watching:.0f}")
    met = row["lag_p99_ms"] <= TARGET_LAG_P99_MS and row["worst_share"] >= TARGET_SHARE
    print(
        f"target (lag p99 <= {TARGET_LAG_P99_MS:g} ms, >= {TARGET_SHARE:.0%} of frames for "
        f"every following student): {'met' if met else 'MISSED'}"
    )


def _ms(ordered: list[float]) -> str:
    """p50 and p99 of sorted seconds, in ms."""
    return (
        f"p50 {1000 * harness.quantile(ordered, 0.5):6.2f} "
        f"p99 {1000 * harness.quantile(ordered, 0.99):6.2f} ms"
    )


def detail(shares: list[Share], reference: dict[str, float]) -> None:
    """Where the lag comes from: by frame type, by client process, and within one frame's
    fan-out (its first and its last student)."""
    by_type: dict[str, list[float]] = {}
    for share in shares:
        for s in share.seen:
            for k, at in reference.items():
                if k in s.arrivals:
                    by_type.setdefault(k.split('"')[3], []).append(s.arrivals[k] - at)
    students = max(sum(len(share.seen) for share in shares), 1)
    for kind, lags in sorted(by_type.items()):
        print(f"  {kind:>9}: {len(lags) / students:4.0f} frames, lag {_ms(sorted(lags))}")
    for i, share in enumerate(shares):
        lags = sorted(
            s.arrivals[k] - at for s in share.seen for k, at in reference.items() if k in s.arrivals
        )
        print(f"  client process {i}: {len(share.seen)} students, lag {_ms(lags)}")
    first, spread = [], []
    for k, at in reference.items():
        times = sorted(s.arrivals[k] for share in shares for s in share.seen if k in s.arrivals)
        if times:
            first.append(times[0] - at)
            spread.append(times[-1] - times[0])
    print(f"  per frame: the first student's lag {_ms(sorted(first))}")
    print(f"  per frame: from the first student to the last {_ms(sorted(spread))}")
