#!/usr/bin/env python3
"""make bench: the box's send path against vpxenc and GStreamer, same input, same settings.

300 frames of 1280x720 moving SMPTE bars (GStreamer's videotestsrc) go through
  (a) vpxenc                                   (the encoder alone: the physical limit),
  (b) gst filesrc ! vp8enc ! rtpvp8pay ! srtpenc ! udpsink,
  (c) classbox-bench: read -> VP8 -> RTP -> history -> SRTP -> UDP (the box's own code),
each RUNS times, alternating, in this one invocation. CPU seconds are user+sys of each child
(getrusage); medians are compared. The last line is the result:
  send-pipeline: ratio-vs-vpxenc=R1 ratio-vs-gstreamer=R2 allocs-per-frame=A rss-mib=M

With valgrind installed it also counts the instructions each one executes on the first
CALLGRIND_FRAMES frames (callgrind): unlike CPU seconds on a shared 2-core VM, that count
is the same on every run, so it shows the true cost difference when the timings are noisy.
"""
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading

FRAMES = 300
CALLGRIND_FRAMES = int(os.environ.get("CALLGRIND_FRAMES", "60"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
WIDTH, HEIGHT, FPS, KBPS = 1280, 720, 30, 1500
KEY = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d"
CPU = max(os.sched_getaffinity(0))
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
work = os.path.join(root, ".build", "bench")
os.makedirs(work, exist_ok=True)
clip = os.path.join(work, "moving720.i420")
bench = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build", "release", "classbox-bench")

# Identical libvpx settings for all three (research note test-rig.md, part D).
def vpxenc(source, frames):
    return ["vpxenc", "--codec=vp8", "--rt", "--cpu-used=-6", "--end-usage=cbr", f"--target-bitrate={KBPS}", "--threads=1",
          "--lag-in-frames=0", "--kf-max-dist=3000", "--min-q=2", "--max-q=56", "--undershoot-pct=100", "--overshoot-pct=15",
          "--buf-sz=1000", "--buf-initial-sz=500", "--buf-optimal-sz=600", "--drop-frame=0", "--static-thresh=1",
          "--token-parts=0", "--noise-sensitivity=0", "--error-resilient=0", "--i420", f"-w", str(WIDTH), "-h", str(HEIGHT),
          f"--fps={FPS}/1", f"--limit={frames}", "--ivf", "-o", os.path.join(work, "vpxenc.ivf"), source]


def gstreamer(port, source=clip):
    return ["gst-launch-1.0", "-q",
            "filesrc", f"location={source}", f"blocksize={WIDTH * HEIGHT * 3 // 2}", "!",
            "rawvideoparse", f"width={WIDTH}", f"height={HEIGHT}", "format=i420", f"framerate={FPS}/1", "!",
            "vp8enc", "deadline=1", "cpu-used=-6", "end-usage=cbr", f"target-bitrate={KBPS * 1000}", "threads=1",
            "lag-in-frames=0", "keyframe-max-dist=3000", "min-quantizer=2", "max-quantizer=56", "undershoot=100",
            "overshoot=15", "buffer-size=1000", "buffer-initial-size=500", "buffer-optimal-size=600",
            "dropframe-threshold=0", "static-threshold=1", "token-partitions=0", "noise-sensitivity=0", "!",
            "rtpvp8pay", "pt=96", "mtu=1200", "ssrc=1111", "!", "application/x-rtp,payload=96,ssrc=(uint)1111", "!",
            "srtpenc", f"key={KEY}", "rtp-cipher=aes-128-icm", "rtp-auth=hmac-sha1-80",
            "rtcp-cipher=aes-128-icm", "rtcp-auth=hmac-sha1-80", "!",
            "udpsink", "host=127.0.0.1", f"port={port}", "sync=false"]


def cpu_seconds(command):
    """User+sys CPU of one child run, from the kernel's accounting of waited-for children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # Each measured program runs alone on the last CPU; the receiver drains on the others.
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: os.sched_setaffinity(0, {CPU}))
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(command[:2])} failed:\n{result.stdout[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), result.stdout


def instructions(command):
    """Instructions executed in user space, counted by callgrind."""
    out = os.path.join(work, "callgrind.out")
    result = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + command,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    match = re.search(r"Collected : (\d+)", result.stdout)
    if result.returncode != 0 or not match:
        sys.exit(f"bench: callgrind of {command[0]} failed:\n{result.stdout[-2000:]}")
    return int(match.group(1))


def callgrind_ratios(port):
    short = os.path.join(work, f"first{CALLGRIND_FRAMES}.i420")
    with open(clip, "rb") as source, open(short, "wb") as target:
        target.write(source.read(CALLGRIND_FRAMES * WIDTH * HEIGHT * 3 // 2))
    # valgrind cannot read the Swift debug information; a copy without it is profiled.
    stripped = os.path.join(work, "classbox-bench.stripped")
    subprocess.run(["strip", "--strip-debug", "-o", stripped, bench], check=True)
    counts = {"vpxenc": instructions(vpxenc(short, CALLGRIND_FRAMES)),
              "gstreamer": instructions(gstreamer(port, short)),
              "classbox": instructions([stripped, short, str(CALLGRIND_FRAMES), str(port), KEY])}
    for name, count in counts.items():
        print(f"{name:10s} instructions for {CALLGRIND_FRAMES} frames: {count:,} ({count / CALLGRIND_FRAMES / 1e6:.1f} M/frame)")
    return counts["classbox"] / counts["vpxenc"], counts["classbox"] / counts["gstreamer"]


def main():
    if not os.path.exists(clip) or os.path.getsize(clip) != FRAMES * WIDTH * HEIGHT * 3 // 2:
        subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", f"num-buffers={FRAMES}", "pattern=smpte", "horizontal-speed=4", "!",
                        f"video/x-raw,format=I420,width={WIDTH},height={HEIGHT},framerate={FPS}/1", "!",
                        "filesink", f"location={clip}"], check=True)
    # A receiver that drains the datagrams, so both senders see an open port.
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    port = sink.getsockname()[1]
    def drain():
        while True:
            try:
                sink.recv(2048)
            except OSError:
                return
    threading.Thread(target=drain, daemon=True).start()
    others = os.sched_getaffinity(0) - {CPU}
    if others:
        os.sched_setaffinity(0, others)

    times = {"vpxenc": [], "gstreamer": [], "classbox": []}
    stats = None
    for run in range(RUNS):
        times["vpxenc"].append(cpu_seconds(vpxenc(clip, FRAMES))[0])
        times["gstreamer"].append(cpu_seconds(gstreamer(port))[0])
        seconds, output = cpu_seconds([bench, clip, str(FRAMES), str(port), KEY])
        times["classbox"].append(seconds)
        stats = dict(field.split("=") for field in output.split() if "=" in field)
    for name, values in times.items():
        per_frame = [1000 * value / FRAMES for value in values]
        print(f"{name:10s} CPU s per run: {' '.join(f'{v:.2f}' for v in values)}   median {statistics.median(per_frame):.2f} ms/frame")
    print(f"classbox   frames {stats['frames']} packets {stats['packets']} bytes {stats['bytes']} send errors {stats['send-errors']}")
    ours = statistics.median(times["classbox"])
    r1 = ours / statistics.median(times["vpxenc"])
    r2 = ours / statistics.median(times["gstreamer"])
    allocs = float(stats["allocs-per-frame"])
    rss = int(stats["max-rss-kib"]) / 1024
    best = {name: min(values) for name, values in times.items()}
    print(f"fastest runs: ratio-vs-vpxenc={best['classbox'] / best['vpxenc']:.3f} "
          f"ratio-vs-gstreamer={best['classbox'] / best['gstreamer']:.3f} (least disturbed run of each)")
    if shutil.which("valgrind") and CALLGRIND_FRAMES > 0:
        i1, i2 = callgrind_ratios(port)
        print(f"instructions: ratio-vs-vpxenc={i1:.3f} ratio-vs-gstreamer={i2:.3f} (deterministic, first {CALLGRIND_FRAMES} frames)")
    print(f"send-pipeline: ratio-vs-vpxenc={r1:.3f} ratio-vs-gstreamer={r2:.3f} allocs-per-frame={allocs:g} rss-mib={rss:.1f}")


main()
