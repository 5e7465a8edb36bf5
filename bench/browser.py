"""The playground in headless Chromium at T=50, H=64: frame rate, main-thread work, step latency.

Starts the real server (child process, loopback), opens the playground on a character language
model with 50 steps and 64 hidden units at 1280x720, then:

- plays at each speed for a few seconds and prints the browser's frame rate (requestAnimationFrame
  callbacks per second), the frames the page drew (renders per second), the page's own render
  work per drawn frame (p50 / p95 / max, from static/js/frame_batcher.js), Chromium's main-thread
  task time per second (CDP Performance.TaskDuration), long tasks (> 50 ms) and the cost of each
  chart's latest redraw;
- sends single steps and prints the time from the command to the animation frame that drew it.

Bounded in time (about 10 s plus 4 s per speed): `python bench/browser.py [--seconds 4]
[--speeds 30,60] [--steps 30] [--query '?preset=text&seq_len=50&hidden_size=64']`.
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from playwright.sync_api import Page, sync_playwright

from bench._server import running_server
from tests.browser.conftest import CHROMIUM_ARGS, chromium_path

PROBES = """
() => {
  window.__bench = { raf: 0, longTasks: [], received: 0 };
  const tick = () => { window.__bench.raf += 1; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__bench.longTasks.push(entry.duration);
  }).observe({ type: "longtask", buffered: false });
  window.unroll.stream.on("frame", () => { window.__bench.received += 1; });
}
"""

RESET = """
() => {
  window.__bench.raf = 0;
  window.__bench.longTasks = [];
  window.__bench.received = 0;
  window.unroll.frameStats.reset();
}
"""

SNAPSHOT = """
() => ({
  raf: window.__bench.raf,
  received: window.__bench.received,
  longTasks: window.__bench.longTasks.slice(),
  drawn: window.unroll.frameStats.frames,
  work: window.unroll.frameStats.recent.slice(),
  costs: { ...window.unroll.frameStats.costs },
  worst: window.unroll.frameStats.worst,
})
"""

# Time from sending one step to the end of the animation frame that rendered it: the views
# subscribed first, so their render is queued before this probe's requestAnimationFrame.
LATENCY = """
async (n) => {
  const out = [];
  const stepped = new Set(["forward", "backward", "update"]);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await new Promise((resolve) => {
      const off = window.unroll.timeline.on("frame", (frame) => {
        if (!stepped.has(frame.type)) return;
        off();
        requestAnimationFrame(() => { out.push(performance.now() - t0); resolve(); });
      });
      window.unroll.stream.request("advance");
    });
    // Under the server's rate limit, so the stream never holds a step back (that would count).
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  return out;
}
"""


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def task_seconds(cdp: Any) -> float:
    """Chromium's cumulative main-thread task time, in seconds."""
    metrics = cdp.send("Performance.getMetrics")["metrics"]
    return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))


def measure_play(page: Page, cdp: Any, speed: float, seconds: float) -> None:
    page.evaluate(RESET)
    busy0 = task_seconds(cdp)
    page.evaluate(f"window.unroll.stream.request('play', {{ steps_per_second: {speed} }})")
    page.wait_for_timeout(seconds * 1000)
    snap = page.evaluate(SNAPSHOT)
    busy = task_seconds(cdp) - busy0
    page.evaluate("window.unroll.stream.request('pause')")  # resolves once the run is still
    work = snap["work"]
    long_tasks = snap["longTasks"]
    print(
        f"play {speed:>5g} steps/s: {snap['raf'] / seconds:5.1f} fps, "
        f"{snap['drawn'] / seconds:5.1f} drawn frames/s, "
        f"{snap['received'] / seconds:5.1f} frames received/s"
    )
    print(
        f"    render work per drawn frame: p50 {percentile(work, 50):.1f} ms, "
        f"p95 {percentile(work, 95):.1f} ms, max {max(work, default=float('nan')):.1f} ms; "
        f"main thread busy {100 * busy / seconds:.0f}% ({1000 * busy / max(snap['raf'], 1):.1f} ms "
        f"per frame); long tasks: {len(long_tasks)}"
        + (f" (max {max(long_tasks):.0f} ms)" if long_tasks else "")
    )
    costs = ", ".join(f"{name} {ms:.1f}" for name, ms in sorted(snap["costs"].items()))
    print(f"    latest cost per render (ms): {costs}")
    worst = snap["worst"]
    print(f"    costliest frame {worst['ms']:.1f} ms: {', '.join(worst['renders'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per speed")
    parser.add_argument("--speeds", default="30,60", help="steps per second to play at")
    parser.add_argument("--steps", type=int, default=30, help="single steps timed")
    parser.add_argument("--query", default="?preset=text&seq_len=50&hidden_size=64")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args()

    with running_server(UNROLL_MAX_COMMANDS_PER_SECOND="200") as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(f"http://127.0.0.1:{server.port}/{args.query}")
            page.wait_for_function("window.unroll && window.unroll.state.get('settled') === true")
            run = page.evaluate("window.unroll.state.get('config')")
            print(
                f"playground {args.width}x{args.height}, task {run['task']}, "
                f"T={run['seq_len']}, H={run['hidden_size']}, cell {run['cell']}"
            )
            page.evaluate(PROBES)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            for speed in (float(s) for s in args.speeds.split(",")):
                measure_play(page, cdp, speed, args.seconds)
            latencies = page.evaluate(LATENCY, args.steps)
            print(
                f"step command -> drawn frame ({len(latencies)} steps): "
                f"p50 {statistics.median(latencies):.1f} ms, "
                f"p95 {percentile(latencies, 95):.1f} ms, max {max(latencies):.1f} ms"
            )
            if errors:
                print(f"page errors: {errors}")
        finally:
            browser.close()


if __name__ == "__main__":
    main()
