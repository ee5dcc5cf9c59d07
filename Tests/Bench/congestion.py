#!/usr/bin/env python3
"""make bench: the bottleneck test of issue 13 — the box's congestion control against libwebrtc's
GoogCC through the same real bottleneck, one after the other.

    congestion.py [CLASSBOX_INTEROP]        (default .build/debug/classbox-interop)

Two network namespaces of this run's own (cgA<pid>, cgB<pid>) are joined by a veth pair
(10.77.0.1/24 in A, 10.77.0.2/24 in B). The sender runs in A, the receiver in B; A's egress is
the bottleneck, a token bucket (the kernel has no netem):
    tc qdisc add dev vA root tbf rate 1mbit burst 4kb latency 300ms
whose rate follows the phases of RFC 8867 (as pion's bwe-test runs them):
    1 Mbit/s 40 s -> 2.5 Mbit/s 20 s -> 0.5 Mbit/s 20 s -> 1 Mbit/s 20 s
(CONGESTION_SCALE=0.3 shortens every phase to 30 %, for a quick trial). The senders:
  (a) the box (classbox-interop, answering) -> headless Chromium (Tests/Interop/chromium_peer.py,
      offering): the box's VP8 test pattern and Opus tone;
  (b) Chromium (offering) -> Chromium (answering): the fake camera 1280x720 under libwebrtc's
      own GoogCC. Both Chromiums send both ways; only A's egress is shaped, so what counts is
      A -> B.
The phase clock starts WARMUP (5) s after the answer is written (ICE, DTLS and the first
ramp fit in it easily on a veth; the first phase's ramp is outside its steady part anyway).

Every 100 ms `tc -s -j qdisc show dev vA` in A gives the bytes and packets the bucket sent, its
drops and its backlog. Per phase, over its steady part (the second half):
  - the median throughput through the bottleneck (bytes sent per sample interval) / capacity,
  - the p95 queueing delay (backlog x 8 / rate),
  - the loss at the bottleneck (dropped / (sent + dropped) packets);
and after the drop to 0.5 Mbit/s, the seconds until the queueing delay is under 100 ms and
stays there for a second. From the receiving Chromium's getStats: video freezes (count and
total duration: getStats has no longest freeze), frames decoded, and the audio it concealed.

The one line on stdout is the result:
  congestion: box → Chromium: 1.0 Mbit/s 0.91× p95 62 ms loss 0.0 %; 2.5 Mbit/s …; short again
  1.4 s after the drop; freezes 0 (0.0 s), audio concealed 0.3 % | Chromium → Chromium: …
The details (per phase, the box's counters, Chromium's estimate per phase) go to stderr. The
exit status is 0 whatever the numbers (a benchmark); non-zero only when the rig could not run
(namespaces, Chromium, the box).
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEER = os.path.join(ROOT, "Tests", "Interop", "chromium_peer.py")
SCALE = float(os.environ.get("CONGESTION_SCALE", "1.0"))
PHASES = [(1.0, 40.0 * SCALE), (2.5, 20.0 * SCALE), (0.5, 20.0 * SCALE), (1.0, 20.0 * SCALE)]  # Mbit/s, s
WARMUP = 5.0      # s from the answer to the first phase
INTERVAL = 0.1    # s between tc samples
SHORT_MS = 100    # a queue this short again after the drop...
SHORT_FOR = 1.0   # ...for this long counts as recovered
# Every process of ours carries this in its environment, so that none outlives the run
# (Chromium's helpers included), and no process of anyone else is touched.
MARK = f"CONGESTION_BENCH_RUN={os.getpid()}-{time.time_ns()}"


class RigError(Exception):
    pass


def log(text):
    print(text, file=sys.stderr, flush=True)


def run(command, timeout=30):
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RigError(f"{' '.join(command)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


class Rig:
    """The two namespaces, the veth pair and the token bucket on A's side."""

    def __init__(self, tag):
        pid = os.getpid()
        self.a, self.b = f"cgA{pid}{tag}", f"cgB{pid}{tag}"
        self.va, self.vb = f"vA{pid}{tag}"[:15], f"vB{pid}{tag}"[:15]
        self.made = []

    def up(self, mbit):
        for ns in (self.a, self.b):
            run(["ip", "netns", "add", ns])
            self.made.append(ns)
        for command in [
            ["ip", "link", "add", self.va, "type", "veth", "peer", "name", self.vb],
            ["ip", "link", "set", self.va, "netns", self.a], ["ip", "link", "set", self.vb, "netns", self.b],
            ["ip", "-n", self.a, "addr", "add", "10.77.0.1/24", "dev", self.va],
            ["ip", "-n", self.b, "addr", "add", "10.77.0.2/24", "dev", self.vb],
            ["ip", "-n", self.a, "link", "set", self.va, "up"], ["ip", "-n", self.b, "link", "set", self.vb, "up"],
            ["ip", "-n", self.a, "link", "set", "lo", "up"], ["ip", "-n", self.b, "link", "set", "lo", "up"],
            self.tbf("add", mbit),
        ]:
            run(command)

    def tbf(self, verb, mbit):
        return ["tc", "-n", self.a, "qdisc", verb, "dev", self.va, "root", "tbf",
                "rate", f"{int(round(mbit * 1000))}kbit", "burst", "4kb", "latency", "300ms"]

    def rate(self, mbit):
        run(self.tbf("change", mbit))

    def sample(self):
        """(bytes sent, packets sent, packets dropped, backlog bytes) of the bucket."""
        out = subprocess.run(["tc", "-n", self.a, "-s", "-j", "qdisc", "show", "dev", self.va],
                             capture_output=True, text=True, timeout=5).stdout
        q = next(q for q in json.loads(out) if q.get("kind") == "tbf")
        return q["bytes"], q["packets"], q["drops"], q["backlog"]

    def down(self):
        # Deleting a veth end deletes its peer; deleting a namespace deletes what is in it.
        for ns in self.made:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)
        self.made = []


class Sampler(threading.Thread):
    def __init__(self, rig):
        super().__init__(daemon=True)
        self.rig, self.samples, self.stop, self.errors = rig, [], threading.Event(), 0

    def run(self):
        next_at = time.monotonic()
        while not self.stop.is_set():
            before = time.monotonic()
            try:
                counters = self.rig.sample()
                self.samples.append(((before + time.monotonic()) / 2,) + counters)
            except Exception:  # a sample lost is not the run lost
                self.errors += 1
            next_at += INTERVAL
            delay = next_at - time.monotonic()
            if delay < 0:
                next_at = time.monotonic()
            else:
                self.stop.wait(delay)


class Child:
    """A process in a namespace (ns None: in ours), in its own process group, its output
    collected (stderr lines with the time they came)."""

    def __init__(self, name, ns, command, env):
        self.name = name
        self.proc = subprocess.Popen((["ip", "netns", "exec", ns] if ns else []) + command, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
        self.out, self.err = [], []
        self.threads = [threading.Thread(target=self._read, args=(self.proc.stdout, self.out), daemon=True),
                        threading.Thread(target=self._read, args=(self.proc.stderr, self.err), daemon=True)]
        for t in self.threads:
            t.start()

    @staticmethod
    def _read(stream, into):
        for line in stream:
            into.append((time.monotonic(), line.rstrip("\n")))

    def wait(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RigError(f"{self.name} still running {timeout:.0f} s after it should have ended")
        for t in self.threads:
            t.join(5)
        return self.proc.returncode

    def json(self):
        for _, line in reversed(self.out):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    pass
        return None

    def stderr_tail(self, chars=1500):
        return "\n".join(line for _, line in self.err)[-chars:]

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(3)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def marked():
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if MARK.encode() in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            pass
    return found


def kill_marked():
    """Whatever of ours outlived its process group (a Chromium helper), by pid; waits (up to
    5 s) until they are gone."""
    deadline = time.monotonic() + 5
    while (pids := marked()) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)


def wait_for_file(path, timeout, children):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and "a=" in open(path, errors="replace").read():
            return time.monotonic()
        for child in children:
            if child.proc.poll() is not None:
                raise RigError(f"{child.name} ended (status {child.proc.returncode}) before {os.path.basename(path)} "
                               f"was written: {child.stderr_tail()}")
        time.sleep(0.02)
    raise RigError(f"{os.path.basename(path)} not written within {timeout} s")


def p95(values):
    values = sorted(values)
    return values[min(len(values) - 1, int(0.95 * len(values)))] if values else float("nan")


def analyse(samples, bounds):
    """Per phase (steady part = second half): median throughput / capacity, p95 queueing delay,
    loss; the whole phase's loss and longest delay; and the recovery after the drop."""
    phases = []
    for (mbit, start, end) in bounds:
        rate = mbit * 1e6
        steady = [s for s in samples if start + (end - start) / 2 <= s[0] <= end]
        whole = [s for s in samples if start < s[0] <= end]
        rates = [(b[1] - a[1]) * 8 / (b[0] - a[0]) for a, b in zip(steady, steady[1:]) if b[0] > a[0]]
        delays = [s[4] * 8 / rate * 1000 for s in steady]

        def loss(part):
            if len(part) < 2:
                return float("nan"), 0
            sent, dropped = part[-1][2] - part[0][2], part[-1][3] - part[0][3]
            return (100.0 * dropped / (sent + dropped) if sent + dropped else 0.0), dropped

        steady_loss, _ = loss(steady)
        whole_loss, whole_dropped = loss(whole)
        median = statistics.median(rates) if rates else float("nan")
        phases.append({"mbit": mbit, "ratio": median / rate, "kbps": median / 1000, "p95": p95(delays),
                       "loss": steady_loss, "wholeLoss": whole_loss, "wholeDropped": whole_dropped,
                       "maxDelay": max((s[4] * 8 / rate * 1000 for s in whole), default=float("nan")),
                       "wholeP95": p95([s[4] * 8 / rate * 1000 for s in whole]), "samples": len(steady),
                       "p10": sorted(rates)[len(rates) // 10] / rate if rates else float("nan"),
                       "p90": sorted(rates)[len(rates) * 9 // 10] / rate if rates else float("nan")})
    # After the drop (the third phase): the first moment from which the queue stays under
    # SHORT_MS for SHORT_FOR.
    mbit, start, end = bounds[2]
    after = [(s[0], s[4] * 8 / (mbit * 1e6) * 1000) for s in samples if start < s[0] <= end]
    recovered = None
    for i, (t, _) in enumerate(after):
        window = [d for (u, d) in after[i:] if u <= t + SHORT_FOR]
        if after[-1][0] >= t + SHORT_FOR and all(d < SHORT_MS for d in window):
            recovered = t - start
            break
    return phases, recovered


def chromium_summary(stats):
    inbound = stats.get("inbound", {}) if stats else {}
    video, audio = inbound.get("video", {}), inbound.get("audio", {})
    samples = audio.get("totalSamplesReceived", 0)
    concealed = 100.0 * audio.get("concealedSamples", 0) / samples if samples else float("nan")
    emitted = video.get("jitterBufferEmittedCount", 0)
    emitted_audio = audio.get("jitterBufferEmittedCount", 0)
    return {"freezes": video.get("freezeCount", 0), "frozen": video.get("totalFreezesDuration", 0.0),
            "pauses": video.get("pauseCount", 0), "paused": video.get("totalPausesDuration", 0.0),
            "decoded": video.get("framesDecoded", 0), "received": video.get("framesReceived", 0),
            "dropped": video.get("framesDropped", 0), "width": video.get("frameWidth"), "height": video.get("frameHeight"),
            "packets": video.get("packetsReceived", 0), "lost": video.get("packetsLost", 0),
            "nacks": video.get("nackCount", 0), "plis": video.get("pliCount", 0),
            "videoBufferMs": 1000 * video.get("jitterBufferDelay", 0) / emitted if emitted else float("nan"),
            "audioBufferMs": 1000 * audio.get("jitterBufferDelay", 0) / emitted_audio if emitted_audio else float("nan"),
            "concealed": concealed, "audioLost": audio.get("packetsLost", 0)}


def timeline_by_phase(stats, read_at, bounds):
    """Chromium's sending estimate and encoder target per phase (steady part), from its
    once-a-second timeline. The page's clock is put on ours through the moment the statistics
    were read (its last point lies within the second before): good to about a second."""
    points = (stats or {}).get("timeline") or []
    if not points:
        return []
    offset = read_at - (points[-1]["t"] + 0.5)
    out = []
    for (_, start, end) in bounds:
        steady = [p for p in points if start + (end - start) / 2 <= p["t"] + offset <= end]
        available = [p["available"] / 1000 for p in steady if p.get("available")]
        target = [p["target"] / 1000 for p in steady if p.get("target")]
        widths = sorted({p.get("width") for p in steady if p.get("width")})
        sent = [(b["bytes"] - a["bytes"]) * 8 / (b["t"] - a["t"]) / 1000 for a, b in zip(steady, steady[1:])
                if a.get("bytes") is not None and b.get("bytes") is not None and b["t"] > a["t"]]
        out.append((statistics.median(available) if available else float("nan"),
                    statistics.median(target) if target else float("nan"), widths,
                    statistics.median(sent) if sent else float("nan")))
    return out


def timeline_text(stats, read_at, start):
    """Each second of Chromium's sending: s from the first phase, estimate/target/sent kbit/s, width."""
    points = (stats or {}).get("timeline") or []
    if not points:
        return "-"
    offset = read_at - (points[-1]["t"] + 0.5)
    text, previous = [], None
    for p in points:
        sent = ((p["bytes"] - previous["bytes"]) * 8 / (p["t"] - previous["t"]) / 1000
                if previous and p.get("bytes") is not None and previous.get("bytes") is not None and p["t"] > previous["t"] else None)
        kbps = lambda v: f"{v / 1000:.0f}" if v else "-"
        text.append(f"{p['t'] + offset - start:.0f}:{kbps(p.get('available'))}/{kbps(p.get('target'))}/"
                    f"{f'{sent:.0f}' if sent is not None else '-'}/{p.get('width') or '-'}")
        previous = p
    return " ".join(text)


def scenario(name, tag, interop):
    """One sender through the bottleneck; returns its result line's part and detail lines."""
    rig, children, scratch = Rig(tag), [], tempfile.mkdtemp(prefix=f"congestion-{tag}-")
    sampler = None
    total = sum(seconds for _, seconds in PHASES)
    peer_seconds = WARMUP + total + 1.0          # the receiving Chromium reads its stats then
    box_seconds = peer_seconds + 2.0             # and the box still sends while it does
    env = dict(os.environ, TMPDIR=scratch)       # chromium_peer's profile (and Chromium's files) in scratch
    for name in [name for name in env if name.startswith("CHROMIUM_PEER_")]:
        del env[name]                            # Chromium's own fake camera here, whatever the shell says
    key, value = MARK.split("=", 1)
    env[key] = value
    try:
        rig.up(PHASES[0][0])
        sampler = Sampler(rig)
        sampler.start()
        offer, answer = os.path.join(scratch, "offer.sdp"), os.path.join(scratch, "answer.sdp")
        python = sys.executable or "python3"
        if tag == "a":
            sim = os.path.join(scratch, "sim")
            shutil.copytree(os.path.join(ROOT, "Board", "sim"), sim, ignore=shutil.ignore_patterns("conference"))
            os.chmod(os.path.join(sim, "room-password"), 0o600)
            receiver = Child("chromium_peer.py offer (receiver, in B)", rig.b, [python, PEER, "offer", offer, answer, f"{peer_seconds}"], env)
            children.append(receiver)
            wait_for_file(offer, 90, children)
            sender = Child("classbox-interop (sender, in A)", rig.a,
                           [interop, "--config", os.path.join(sim, "classbox.toml"), "--role", "answer", "--offer", offer,
                            "--answer", answer, "--duration", f"{box_seconds}", "--no-loopback", "--trace"], env)
            children.append(sender)
        else:
            sender = Child("chromium_peer.py offer (sender, in A)", rig.a, [python, PEER, "offer", offer, answer, f"{peer_seconds}"], env)
            receiver = Child("chromium_peer.py answer (receiver, in B)", rig.b, [python, PEER, "answer", offer, answer, f"{peer_seconds}"], env)
            children += [sender, receiver]
        exchanged = wait_for_file(answer, 90, children)

        # The phases, on our clock from the exchange on.
        bounds, at = [], exchanged + WARMUP
        for i, (mbit, seconds) in enumerate(PHASES):
            time.sleep(max(0.0, at - time.monotonic()))
            if i > 0:
                rig.rate(mbit)
            begun = time.monotonic()
            bounds.append((mbit, begun, at + seconds))
            at += seconds
        time.sleep(max(0.0, at - time.monotonic()))
        phases_end = time.monotonic()

        statuses = {child.name: child.wait(box_seconds + 60) for child in children}
        sampler.stop.set()
        sampler.join(5)
        for child in children:
            if statuses[child.name] != 0:
                raise RigError(f"{child.name} failed (status {statuses[child.name]}): {child.stderr_tail()}")
        stats = receiver.json()
        if not stats or "connected" not in stats.get("states", []):
            raise RigError(f"the receiving Chromium never connected: {stats and stats.get('states')}; {receiver.stderr_tail()}")
        samples = sampler.samples
        sent_in_phases = [s for s in samples if bounds[0][1] <= s[0] <= phases_end]
        if len(sent_in_phases) < 10 or sent_in_phases[-1][1] - sent_in_phases[0][1] < 10_000 * SCALE:
            raise RigError(f"hardly anything went through the bottleneck ({len(samples)} samples): did the media take another path?")

        phases, recovered = analyse(samples, bounds)
        seen = chromium_summary(stats)
        parts = [f"{p['mbit']:.1f} Mbit/s {p['ratio']:.2f}× p95 {p['p95']:.0f} ms loss {p['loss']:.1f} %" for p in phases]
        short = f"short again {recovered:.1f} s after the drop" if recovered is not None else "never short again after the drop"
        line = (f"{name}: " + "; ".join(parts) + f"; {short}; freezes {seen['freezes']} ({seen['frozen']:.1f} s), "
                f"audio concealed {seen['concealed']:.1f} %")

        details = [f"{name}: {len(samples)} tc samples ({sampler.errors} failed), phases from {WARMUP:.0f} s after the answer, "
                   f"each phase's steady part is its second half"]
        for p in phases:
            details.append(f"  {p['mbit']:.1f} Mbit/s: median {p['kbps']:.0f} kbit/s = {p['ratio']:.2f}× (p10 {p['p10']:.2f}×, p90 {p['p90']:.2f}×) "
                           f"over {p['samples']} samples; queue p95 {p['p95']:.0f} ms (whole phase: p95 {p['wholeP95']:.0f} ms, max {p['maxDelay']:.0f} ms); "
                           f"loss {p['loss']:.2f} % (whole phase {p['wholeLoss']:.2f} %, {p['wholeDropped']} packets dropped)")
        details.append(f"  after the drop to 0.5 Mbit/s: queue under {SHORT_MS} ms for {SHORT_FOR:.0f} s from "
                       + (f"{recovered:.1f} s on" if recovered is not None else "never (within the phase)"))
        details.append(f"  the receiving Chromium: decoded {seen['decoded']} of {seen['received']} frames ({seen['dropped']} dropped), "
                       f"last {seen['width']}x{seen['height']}, {seen['freezes']} freezes {seen['frozen']:.2f} s, {seen['pauses']} pauses "
                       f"{seen['paused']:.2f} s, video packets lost {seen['lost']} of {seen['packets'] + seen['lost']}, {seen['nacks']} NACKs, "
                       f"{seen['plis']} PLIs, video jitter buffer {seen['videoBufferMs']:.0f} ms; audio concealed {seen['concealed']:.2f} %, "
                       f"{seen['audioLost']} packets lost, audio jitter buffer {seen['audioBufferMs']:.0f} ms")
        if tag == "a":
            box = sender.json() or {}
            keep = ["videoBitrateKbps", "delayBasedKbps", "acknowledgedKbps", "overuses", "delayUsage", "framesSkippedForPacing",
                    "pacerLongestWaitMicroseconds", "pacerRefused", "pacingTargetKbps", "frames", "keyframes", "retransmissions", "retransmissionsRateLimited",
                    "nacksReceived", "keyframeRequests", "peerReportedLost", "roundTripMicroseconds"]
            details.append("  the box at the end: " + ", ".join(f"{k} {box[k]}" for k in keep if k in box))
            cuts = [(t, text.split("congestion: ", 1)[1].split(" event=")[0].strip()) for t, text in sender.err if "congestion: the path" in text]
            if cuts:
                details.append("  the box's estimate cut (s from the first phase): " + "; ".join(f"{t - bounds[0][1]:.1f} {c}" for t, c in cuts))
            # The box's own trace (--trace, every 0.5 s), one point a second: video target /
            # delay-based estimate / acknowledged kbit/s and the detector's verdict (+ overuse).
            trace = []
            for t, text in sender.err:
                if text.startswith("trace "):
                    values = dict(item.split("=", 1) for item in text.split()[2:])
                    trace.append((t - bounds[0][1], values))
            if trace:
                verdict = {"1": "+", "-1": "-", "0": ""}
                details.append("  the box each second (s: target/estimate/acknowledged kbit/s, + overuse, - underuse): " + " ".join(
                    f"{t:.0f}:{v.get('videoBitrateKbps')}/{v.get('delayBasedKbps')}/{v.get('acknowledgedKbps')}{verdict.get(v.get('delayUsage'), '')}"
                    for t, v in trace[::2]))
            sizes = [(t, text.split("video: sending", 1)[1].split(" event=")[0].strip()) for t, text in sender.err if "video: sending" in text]
            if sizes:
                details.append("  the box's picture size (s from the first phase): "
                               + ", ".join(f"{t - bounds[0][1]:.1f} {what}" for t, what in sizes))
        else:
            sent_stats = sender.json() or {}
            # The offering Chromium read its statistics peer_seconds after it took the answer (~50 ms after it was written).
            per_phase = timeline_by_phase(sent_stats, exchanged + peer_seconds + 0.05, bounds)
            for (mbit, _, _), (available, target, widths, sent) in zip(bounds, per_phase):
                details.append(f"  Chromium's sending at {mbit:.1f} Mbit/s (steady part, ±1 s): estimate {available:.0f} kbit/s, "
                               f"encoder target {target:.0f} kbit/s, video sent {sent:.0f} kbit/s, width {widths}")
            details.append("  Chromium's sending each second (s from the first phase: estimate/target/sent kbit/s/width): "
                           + timeline_text(sent_stats, exchanged + peer_seconds + 0.05, bounds[0][1]))
            out_video = (sent_stats.get("outbound") or {}).get("video", {})
            details.append(f"  Chromium's sender at the end: target {out_video.get('targetBitrate')}, "
                           f"{out_video.get('frameWidth')}x{out_video.get('frameHeight')}, limited by {out_video.get('qualityLimitationReason')} "
                           f"{out_video.get('qualityLimitationDurations')}")
        return line, details
    finally:
        if sampler:
            sampler.stop.set()
        for child in children:
            child.kill()
        kill_marked()
        rig.down()
        shutil.rmtree(scratch, ignore_errors=True)


def main():
    interop = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "debug", "classbox-interop")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if os.geteuid() != 0:
        log("congestion: needs root (network namespaces, tc)")
        return 2
    for path in (interop, "/usr/bin/chromium", "/usr/bin/chromedriver"):
        if not os.access(path, os.X_OK):
            log(f"congestion: {path} missing (make deps; swift build --product classbox-interop)")
            return 2
    lines, details = [], []
    try:
        only = os.environ.get("CONGESTION_ONLY")  # "a" or "b": one sender only (a trial)
        for name, tag in (("box → Chromium", "a"), ("Chromium → Chromium", "b")):
            if only and only != tag:
                continue
            log(f"congestion: {name}, {sum(s for _, s in PHASES) + WARMUP:.0f} s of phases ...")
            line, more = scenario(name, tag, interop)
            lines.append(line)
            details += more
            for text in more:
                log(text)
    except (RigError, subprocess.SubprocessError, OSError) as error:
        log(f"congestion: the rig could not run: {error}")
        return 1
    finally:
        kill_marked()
    print("congestion: " + " | ".join(lines), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
