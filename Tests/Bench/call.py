#!/usr/bin/env python3
"""make bench: the `call:` line of issue 12 — what schools run today against the box, side by
side in one run. A 1:1 call on this machine's loopback between

  - the box: `classbox-interop` (release), answering, sending its 720p30 test pattern in VP8
    and its Opus tone (with the microphone path's echo canceller and noise suppressor, as the
    simulated board is provisioned), receiving, decoding and playing Chromium's Opus and
    decoding Chromium's VP8 — and showing the lesson as on a classroom TV: `--screen 1920x1080`,
    the screen thread, sink and wall of a real call drawing into two off-screen buffers (the
    peer on stage, the box's own picture small, the name plate and the status bar);
  - headless Chromium (Debian's, Tests/Interop/chromium_peer.py, offering): as its camera the
    box's own test pattern, 1280x720 at 30 fps (a Y4M clip `classbox-bench pattern-y4m` writes,
    one period of the background's scroll, ~440 MB in TMPDIR; held at its size), and its fake
    microphone, VP8 and Opus; the box's video shown in a `<video>` element and its sound in an
    `<audio>` element. Both encoders thus work on the same picture: a scrolling textured
    background, every macroblock moving (Chromium's own fake camera, a still background, costs
    its encoder a fraction of that).

    call.py CLASSBOX_INTEROP CLASSBOX_BENCH   (both release builds; CALL_SECONDS: the measured
                                               window, default 30)

After WARMUP s from the answer (ICE, DTLS, both estimators' ramp), the CPU time (user +
system, /proc/PID/stat) of each whole process tree is read, and again CALL_SECONDS later: the
box's process with all its threads; Chromium's browser with every process it started (zygote,
renderers, GPU, network and audio services; found in the driver's process tree and by the
mark in their environment, and counted per process, children they reaped included). The Python driver and chromedriver that
steer Chromium are the rig's: counted apart, not in Chromium's figure. The box's screen is in
ordinary memory with no page flip to wait for: its composing cost here is a lower bound of a
board's, whose scan-out buffers are slower to write.

The one line on stdout:
  call: 1:1 720p30 + Opus, 30 s: the box 12.4 CPU s (41 % of a core), Chromium 23.3 CPU s
  (78 %); the box uses 0.53× Chromium's (goal ≤ 0.33×); …what each sent and decoded…
Details on stderr. Exit status 0 whatever the figures (a benchmark); non-zero only when the
rig could not run. No root needed.
"""
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import congestion as rig  # noqa: E402  (its process helpers: Child, wait_for_file, kill_marked)

ROOT = rig.ROOT
WARMUP = 10.0
SECONDS = float(os.environ.get("CALL_SECONDS", "30"))
SCREEN = "1920x1080"
TICK = os.sysconf("SC_CLK_TCK")
PATTERN_FRAMES = 320  # the test pattern's background scrolls 4 pixels a frame: 1280 / 4


def read_stat(path):
    """A /proc stat file: the command name and the fields after it (None when it is gone)."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces; the fields after it are plain.
    return text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()


def processes():
    """Every process now: pid -> (parent pid, command name, its own CPU seconds, its reaped
    children's CPU seconds)."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or (stat := read_stat(f"/proc/{entry}/stat")) is None:
            continue
        name, fields = stat
        table[int(entry)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / TICK,
                             (int(fields[13]) + int(fields[14])) / TICK)
    return table


def tree(table, root):
    """root and all its descendants."""
    members, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, *_) in table.items():
            if ppid == parent and pid not in members:
                members.add(pid)
                frontier.append(pid)
    return members & table.keys()


class Parts:
    """Which process is whose: the box's tree; the rig's driver (chromium_peer.py and
    chromedriver); Chromium — every other process of the driver's tree, and any process
    carrying the run's mark in its environment (a helper Chromium double-forks away; its
    zygote and renderers do not keep the environment, but stay in the tree)."""

    def __init__(self, box_pid, peer_pid):
        self.box_pid, self.peer_pid = box_pid, peer_pid

    def snapshot(self):
        table = processes()
        ours = (set(rig.marked()) | tree(table, self.peer_pid)) & table.keys()
        box = tree(table, self.box_pid)
        driver = {pid for pid in ours if pid == self.peer_pid or table[pid][1] == "chromedriver"}
        chromium = ours - box - driver
        return table, {"box": box, "chromium": chromium, "driver": driver}


def used_between(before, after):
    """CPU seconds each part used between two snapshots: per process, what it used since the
    first (0 for one that started since), plus what its reaped children used meanwhile."""
    (old, _), (new, parts) = before, after
    used = {}
    for part, pids in parts.items():
        total = 0.0
        for pid in pids:
            _, _, cpu, children = new[pid]
            _, _, cpu0, children0 = old.get(pid, (0, "", 0.0, 0.0))
            total += (cpu - cpu0) + (children - children0)
        used[part] = total
    return used


def threads(pids):
    """CPU seconds so far of the threads of pids, summed by thread name."""
    by_name = {}
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for entry in tasks:
            if (stat := read_stat(f"/proc/{pid}/task/{entry}/stat")) is None:
                continue
            name, fields = stat
            by_name[name] = by_name.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / TICK
    return by_name


def difference(after, before):
    return {name: seconds - before.get(name, 0.0) for name, seconds in after.items()}


def busiest(by_name, count=8):
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in sorted(by_name.items(), key=lambda item: -item[1])[:count] if seconds >= 0.01)


def main():
    interop = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "classbox-interop")
    bench = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, ".build", "release", "classbox-bench")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    for path in (interop, bench, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not os.access(path, os.X_OK):
            rig.log(f"call: {path} missing (make deps; swift build -c release --product classbox-interop)")
            return 2
    scratch = tempfile.mkdtemp(prefix="call-bench-")
    clip = os.path.join(scratch, "pattern.y4m")
    with open(os.path.join(ROOT, "Board", "sim", "classbox.toml"), "rb") as f:
        box_kbps = tomllib.load(f)["camera"]["max_bitrate_kbps"]  # Chromium's video is capped alike
    env = dict(os.environ, TMPDIR=scratch, CHROMIUM_PEER_FPS="30", CHROMIUM_PEER_CAMERA=clip, CHROMIUM_PEER_SCREEN=SCREEN,
               CHROMIUM_PEER_MAX_KBPS=str(box_kbps))
    key, value = rig.MARK.split("=", 1)
    env[key] = value
    children = []
    try:
        rig.run([bench, "pattern-y4m", clip, str(PATTERN_FRAMES)], timeout=120)
        sim = os.path.join(scratch, "sim")
        shutil.copytree(os.path.join(ROOT, "Board", "sim"), sim, ignore=shutil.ignore_patterns("conference"))
        os.chmod(os.path.join(sim, "room-password"), 0o600)
        offer, answer = os.path.join(scratch, "offer.sdp"), os.path.join(scratch, "answer.sdp")
        call_seconds = WARMUP + SECONDS + 3.0
        python = sys.executable or "python3"
        peer = rig.Child("chromium_peer.py offer", None, [python, os.path.join(ROOT, "Tests", "Interop", "chromium_peer.py"),
                                                          "offer", offer, answer, f"{call_seconds}"], env)
        children.append(peer)
        rig.wait_for_file(offer, 90, children)
        box = rig.Child("classbox-interop", None, [interop, "--config", os.path.join(sim, "classbox.toml"), "--role", "answer",
                                                   "--offer", offer, "--answer", answer, "--duration", f"{call_seconds + 2.0}",
                                                   "--screen", SCREEN], env)
        children.append(box)
        exchanged = rig.wait_for_file(answer, 90, children)
        time.sleep(max(0.0, exchanged + WARMUP - time.monotonic()))
        parts = Parts(box.proc.pid, peer.proc.pid)
        before = parts.snapshot()
        box_threads, peer_threads = threads([box.proc.pid]), threads(before[1]["chromium"])
        began = time.monotonic()
        time.sleep(SECONDS)
        after = parts.snapshot()
        window = time.monotonic() - began
        used = used_between(before, after)
        names = sorted({after[0][pid][1] for pid in after[1]["chromium"]})
        box_threads = difference(threads([box.proc.pid]), box_threads)
        peer_threads = difference(threads(after[1]["chromium"]), peer_threads)
        statuses = {child.name: child.wait(call_seconds + 60) for child in children}
        for child in children:
            if statuses[child.name] != 0:
                raise rig.RigError(f"{child.name} failed (status {statuses[child.name]}): {child.stderr_tail()}")
        stats, counters = peer.json(), box.json()
        if not stats or "connected" not in stats.get("states", []) or not counters or counters.get("state") != "connected":
            raise rig.RigError(f"the call did not connect: Chromium {stats and stats.get('states')}, the box {counters and counters.get('state')}")
    except (rig.RigError, OSError) as error:
        rig.log(f"call: the rig could not run: {error}")
        return 1
    finally:
        for child in children:
            child.kill()
        rig.kill_marked()
        shutil.rmtree(scratch, ignore_errors=True)

    ratio = used["box"] / used["chromium"] if used["chromium"] > 0 else float("nan")
    seen = rig.chromium_summary(stats)
    # Chromium's sending in its last SECONDS seconds (its timeline is in its own clock).
    sending = [p for p in stats.get("timeline", [])[-int(SECONDS):] if p.get("width")]
    width = statistics.median(p["width"] for p in sending) if sending else None
    fps = statistics.median(p.get("fps") or 0 for p in sending) if sending else None
    reasons = sorted({p.get("reason") for p in sending if p.get("reason")})
    out_video = stats.get("outbound", {}).get("video", {})
    chromium_kbps = statistics.median(p.get("target") or 0 for p in sending) / 1000 if sending else float("nan")
    rig.log(f"call: CPU over {window:.1f} s — the box {used['box']:.2f} s, Chromium {used['chromium']:.2f} s "
            f"(its processes: {', '.join(names)}), the rig's driver and chromedriver {used['driver']:.2f} s "
            f"(a process that ended within the window is not counted)")
    rig.log(f"call: the box's threads: {busiest(box_threads)}")
    rig.log(f"call: Chromium's busiest threads (by name, over its processes): {busiest(peer_threads)}")
    rig.log(f"call: the box sent {counters.get('frames')} frames ({counters.get('videoBytes', 0) * 8 / 1000 / (call_seconds + 2):.0f} kbit/s over the call), "
            f"decoded {counters.get('decodedFrames')} of Chromium's, composed {counters.get('screenFrames')} screen frames at {SCREEN}; "
            f"Chromium sent {out_video.get('framesEncoded')} frames, {width}px wide at {fps} fps and a {chromium_kbps:.0f} kbit/s target in its last {SECONDS:.0f} s "
            f"(limited by: {reasons or 'nothing'}), encoder {out_video.get('encoderImplementation')}, "
            f"decoded {seen['decoded']} of the box's ({seen['width']}x{seen['height']}), freezes {seen['freezes']}, audio concealed {seen['concealed']:.1f} %")
    print(f"call: 1:1 720p30 + Opus, {window:.0f} s: the box {used['box']:.1f} CPU s ({100 * used['box'] / window:.0f} % of a core), "
          f"Chromium {used['chromium']:.1f} CPU s ({100 * used['chromium'] / window:.0f} %); the box uses {ratio:.2f}× Chromium's "
          f"(goal ≤ 0.33×); the box decoded {counters.get('decodedFrames')} frames and composed {counters.get('screenFrames')} at {SCREEN}, "
          f"Chromium sent {width}px at {fps} fps and decoded {seen['decoded']} of the box's {seen['width']}x{seen['height']} frames", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
