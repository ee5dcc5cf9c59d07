#!/usr/bin/env python3
"""The image tier (make image-test): the x86_64 disk image booted under QEMU (TCG), updated
over SSH with RAUC bundles, refusing bad ones, rolling back a system that fails its health
check, and surviving power cuts during installs.

The box signs in to a real Prosody (Board/sim/conference) on the host, which the guest
reaches at 10.0.2.2 through QEMU's user network; SSH reaches the guest through a port
forwarded on 127.0.0.1 only. Prints one line per result and exits non-zero on the first
failure.
"""
import argparse
import calendar
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qemu_box import ROOT, Box  # noqa: E402
from fleet import Fleet  # noqa: E402

BUILD = os.path.join(ROOT, "Image", "build.sh")


def run(*args, **kwargs):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs).stdout


def check(condition, message, details=""):
    if not condition:
        print(f"FAIL: {message}\n{details}", flush=True)
        raise SystemExit(1)
    print(f"ok: {message}", flush=True)


class Rig:
    def __init__(self, image_dir, keys, work, power_cuts, chronyd):
        self.image_dir, self.keys, self.work, self.power_cuts, self.chronyd = image_dir, keys, work, power_cuts, chronyd
        self.ntp = None
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        with open(os.path.join(image_dir, "version")) as f:
            self.version = f.read().strip()
        self.rootfs = os.path.join(image_dir, "rootfs.ext4")
        # The image's time floor (/usr/lib/clock-epoch's mtime, set when the image was built).
        stat = run("debugfs", "-R", "stat /usr/lib/clock-epoch", self.rootfs)
        self.clock_epoch = int(re.search(r"mtime: (0x[0-9a-f]+)", stat).group(1), 16)

    # --- fixtures ------------------------------------------------------------------------
    def start_server(self):
        """The district's conference server: real Prosody plus the focus double."""
        run_dir = os.path.join(self.work, "conference")
        self.events = os.path.join(self.work, "conference-events.jsonl")
        self.server = subprocess.Popen([sys.executable, os.path.join(ROOT, "Board/sim/conference/conference_server.py"),
                                        "--run-dir", run_dir, "--participant", "never", "--quiet", "--events", self.events,
                                        "--room-secret", "klasse-4b=image-test-secret"],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        line = self.server.stdout.readline()
        ready = json.loads(line)
        check(ready.get("ready"), "the local conference server runs (Prosody + focus double)", line)
        return ready["ca_bundle"]

    def start_ntp(self):
        """The district's NTP server: Debian's chronyd on the host's loopback port 123, which
        the guest reaches as 10.0.2.2:123 through QEMU's user network; -x: it serves its time
        and never sets the host's clock."""
        conf = os.path.join(self.work, "chrony.conf")
        with open(conf, "w") as f:
            f.write(f"local stratum 8\nallow 127.0.0.1\nbindaddress 127.0.0.1\nport 123\ncmdport 0\npidfile {self.work}/chronyd.pid\n")
        self.ntp = subprocess.Popen([self.chronyd, "-x", "-d", "-u", "root", "-f", conf], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        time.sleep(1)
        check(self.ntp.poll() is None, "an NTP server (chronyd) serves the host's time on 127.0.0.1:123")

    def stop_ntp(self):
        if self.ntp:
            self.ntp.terminate()
            self.ntp.wait(timeout=10)
            self.ntp = None

    def write_config(self, ca):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "district-it", "-f", os.path.join(self.work, "it_key")], check=True)
        with open(os.path.join(self.work, "it_key.pub")) as f:
            public = f.read().strip()
        shutil.copy(ca, os.path.join(self.work, "ca.pem"))
        with open(os.path.join(self.work, "room-password"), "w") as f:
            f.write("image-test-secret\n")
        os.chmod(os.path.join(self.work, "room-password"), 0o600)
        config = os.path.join(self.work, "classbox.toml")
        with open(config, "w") as f:
            f.write(f"""config_version = 1
[server]
host = "10.0.2.2"
xmpp_domain = "meet.classbox.test"
muc_domain = "conference.meet.classbox.test"
focus = "focus.meet.classbox.test"
websocket_url = "wss://10.0.2.2:15281/xmpp-websocket"
ca_bundle = "ca.pem"
[room]
name = "klasse-4b"
password_file = "room-password"
label = "Klasse 4b"
[camera]
device = "test-pattern"
width = 320
height = 180
fps = 10
[audio]
capture = "null"
playback = "null"
[privacy]
switch = "simulated"
[network]
district_domains = ["10.0.2.2"]
ntp = ["10.0.2.2"]
[update]
authorized_keys = ["{public}"]
trial_seconds = 90
""")
        out = run(os.path.join(ROOT, ".build/release/classbox"), "check-config", config)
        print(out.strip())
        return config

    def build_disk(self, config):
        run(BUILD, "disk", self.work, config, self.rootfs)
        self.pristine = os.path.join(self.work, "pristine.img")
        os.rename(os.path.join(self.work, "disk.img"), self.pristine)

    def fresh_disk(self, name):
        disk = os.path.join(self.work, f"{name}.img")
        run("cp", "--sparse=always", self.pristine, disk)
        return disk

    def variant_rootfs(self, name, version, break_service=False):
        """A copy of the root filesystem with another version (and, for the failing system,
        a classbox.service that cannot find its provisioning file)."""
        path = os.path.join(self.work, f"rootfs-{name}.ext4")
        run("cp", "--sparse=always", self.rootfs, path)
        version_file = os.path.join(self.work, f"version-{name}")
        with open(version_file, "w") as f:
            f.write(version + "\n")
        commands = f"rm /etc/classbox-version\nwrite {version_file} /etc/classbox-version\n"
        if break_service:
            unit = os.path.join(ROOT, "Image/rootfs/etc/systemd/system/classbox.service")
            broken = os.path.join(self.work, "classbox-broken.service")
            with open(unit) as f, open(broken, "w") as g:
                g.write(f.read().replace("--config /boot/classbox/classbox.toml", "--config /boot/classbox/missing.toml"))
            commands += f"rm /etc/systemd/system/classbox.service\nwrite {broken} /etc/systemd/system/classbox.service\n"
        subprocess.run(["debugfs", "-w", "-f", "-", path], input=commands, text=True, check=True, capture_output=True)
        return path

    def bundle(self, version, rootfs=None, key="development", compatible=None):
        env = dict(os.environ)
        if compatible:
            env["CLASSBOX_COMPATIBLE"] = compatible
        out = run(BUILD, "bundle", self.work, version, os.path.join(self.keys, f"{key}.cert.pem"),
                  os.path.join(self.keys, f"{key}.key.pem"), rootfs or self.rootfs, env=env)
        path = out.strip().splitlines()[-1]
        named = os.path.join(self.work, f"{version}-{key}-{compatible or 'x86_64'}.raucb")
        os.rename(path, named)
        return named

    # --- steps ---------------------------------------------------------------------------
    def send(self, box, bundle, *options):
        with open(bundle, "rb") as f:
            return box.ssh("update", *options, stdin=f, timeout=900)

    def start_send(self, box, bundle):
        """Starts `ssh update@box update < bundle`; returns the process and a list that gets
        (seconds since the start, line) for each line of its output."""
        f = open(bundle, "rb")
        process = subprocess.Popen(["ssh", "-i", box.key, "-p", str(box.port), "-o", "BatchMode=yes",
                                    "-o", "StrictHostKeyChecking=accept-new", "-o", f"UserKnownHostsFile={box.known_hosts}",
                                    "-o", f"HostKeyAlias=classbox-{box.name}",
                                    "update@127.0.0.1", "update"], stdin=f, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        lines = []
        started = time.monotonic()

        def read():
            for raw in process.stdout:
                lines.append((time.monotonic() - started, raw.decode("utf-8", "replace").rstrip()))
            f.close()
        threading.Thread(target=read, daemon=True).start()
        return process, lines

    @staticmethod
    def wait_line(lines, text, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for at, line in list(lines):
                if text in line:
                    return at
            time.sleep(0.1)
        raise AssertionError(f"no line with {text!r} within {timeout} s: {lines[-5:]}")

    def joined(self, room, after):
        """Whether the box (label "Klasse 4b") joined `room` after the events' time `after`."""
        try:
            with open(self.events) as f:
                lines = [line for line in f if line.endswith("\n")]
        except OSError:
            return False
        records = [json.loads(line) for line in lines]
        return any(r.get("event") == "occupant-joined" and r.get("label") == "Klasse 4b" and r.get("room", "").startswith(room + "@")
                   and r.get("t", 0) > after for r in records)

    def events_now(self):
        try:
            with open(self.events) as f:
                return max((json.loads(line).get("t", 0) for line in f if line.endswith("\n")), default=0)
        except OSError:
            return 0

    def status(self, box):
        result = box.ssh_when_up("status")
        text = result.stdout.decode()
        check(result.returncode == 0, "ssh update@box status answers", text)
        return text


# What may persist on a box's disk after it ran: the boot partition as IT wrote it plus
# GRUB's A/B environment, and on the data partition the SSH host key, RAUC's slot status and
# the last update's record. No captured picture or sound, no log, no chat, ever.
ALLOWED_BOOT = {"EFI/BOOT/BOOTX64.EFI", "grub/grub.cfg", "grub/grubenv", "grub/grubenv.backup",
                "classbox/classbox.toml", "classbox/ca.pem", "classbox/room-password",
                "classbox/last-good/classbox.toml", "classbox/last-good/ca.pem", "classbox/last-good/room-password"}
ALLOWED_DATA = {"rauc/central.raucs", "ssh/ssh_host_ed25519_key", "ssh/ssh_host_ed25519_key.pub", "classbox/last-update",
                "timesync/clock"}


def partitions(disk):
    table = json.loads(run("sfdisk", "-J", disk))["partitiontable"]
    return {p["name"]: (p["start"] * 512, p["size"] * 512) for p in table["partitions"]}


def extract(disk, offset, size, path):
    run("dd", f"if={disk}", f"of={path}", "bs=1M", f"skip={offset}", f"count={size}", "iflag=skip_bytes,count_bytes", "status=none")


def persistent_files(disk, work):
    """Every file on the boot and data partitions, and whether a root slot was ever mounted
    writable (ext4 counts mounts and records their time only then)."""
    parts = partitions(disk)
    boot_offset = parts["boot"][0]
    listing = run("mdir", "-/", "-b", "-i", f"{disk}@@{boot_offset}", "::/")
    boot = {line.strip()[3:] for line in listing.splitlines() if line.strip() and not line.strip().endswith("/")}
    image = os.path.join(work, "audit.part")
    extract(disk, *parts["data"], image)
    dump = os.path.join(work, "audit-data")
    shutil.rmtree(dump, ignore_errors=True)
    os.makedirs(dump)
    subprocess.run(["debugfs", "-R", f"rdump / {dump}", image], check=True, capture_output=True)
    data = {os.path.relpath(os.path.join(d, f), dump) for d, _, files in os.walk(dump) for f in files}
    slots = {}
    for name in ("rootfs.0", "rootfs.1"):
        extract(disk, parts[name][0], 1 << 20, image)  # the superblock is in the first MiB
        header = subprocess.run(["dumpe2fs", "-h", image], capture_output=True, text=True).stdout
        if "Mount count" in header:
            slots[name] = ("Mount count:              0" in header, "Last mount time:          n/a" in header)
    os.remove(image)
    return boot, data, slots


# The last line `classbox health` prints on each boot (not its earlier ones, e.g. "removed a
# bundle left over from an interrupted update"): the slot is marked and the record written.
HEALTH_DONE = r"classbox health: (.*marked good|rolled back:|trial failed:|the install of .* was interrupted|.* failed its trial before)"


def boot_environment(disk, work, name):
    """One copy of GRUB's A/B environment on the boot partition, as `grub-editenv list` reads
    it (GRUB's own parser), or None when it cannot be read."""
    offset = partitions(disk)["boot"][0]
    copy = os.path.join(work, name)
    run("mcopy", "-o", "-n", "-i", f"{disk}@@{offset}", f"::/grub/{name}", copy)
    result = subprocess.run(["grub-editenv", copy, "list"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line) if result.returncode == 0 else None


def tear_boot_environment(disk, work):
    """What a power cut while grub-editenv rewrote grubenv left behind: an empty file."""
    offset = partitions(disk)["boot"][0]
    empty = os.path.join(work, "empty-grubenv")
    open(empty, "w").close()
    run("mcopy", "-o", "-i", f"{disk}@@{offset}", empty, "::/grub/grubenv")


def audit(disk, work, what):
    boot, data, slots = persistent_files(disk, work)
    check(boot <= ALLOWED_BOOT, f"{what}: the boot partition holds only GRUB, its A/B state and the provisioning files", sorted(boot - ALLOWED_BOOT))
    check(data <= ALLOWED_DATA, f"{what}: the data partition holds only {', '.join(sorted(data))}", sorted(data - ALLOWED_DATA))
    check(slots and all(never and no_time for never, no_time in slots.values()),
          f"{what}: root slots {', '.join(sorted(slots))} were never mounted writable", slots)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--image-dir", required=True)
    parser.add_argument("--keys", required=True)
    parser.add_argument("--power-cuts", type=int, default=int(os.environ.get("POWER_CUTS", "20")))
    parser.add_argument("--chronyd", required=True, help="Debian's chronyd (make image-test unpacks it)")
    args = parser.parse_args()
    rig = Rig(os.path.abspath(args.image_dir), os.path.abspath(args.keys), os.path.join(os.path.abspath(args.image_dir), "test"),
              args.power_cuts, os.path.abspath(args.chronyd))
    try:
        scenarios(rig)
    finally:
        for box in Box.all:
            box.power_cut()
        if getattr(rig, "server", None):
            os.killpg(rig.server.pid, 15)
        rig.stop_ntp()


def provisioning_over_ssh(rig, box, config):
    """ssh config@box: a broken file is refused with its lines and changes nothing; a good one
    moves the box into another room within 15 s; rollback brings it back."""
    with open(config) as f:
        text = f.read()
    broken = text.replace('name = "klasse-4b"', 'name = "Klasse 4c"').replace("trial_seconds = 90", "trial_seconds = 90\ncolour = 1")
    result = box.ssh(stdin=broken.encode(), user="config", timeout=120)
    out = result.stdout.decode()
    check(result.returncode != 0 and "classbox.toml:" in out and "room.name" in out and "nothing changed" in out,
          "a broken provisioning file pushed over SSH is refused with its lines: " + " | ".join(l for l in out.splitlines() if "classbox.toml:" in l), out)
    for name, pushed, room in [("a good file", text.replace('name = "klasse-4b"', 'name = "klasse-4c"'), "klasse-4c"),
                               ("rollback", None, "klasse-4b")]:
        after = rig.events_now()
        started = time.monotonic()
        result = box.ssh("rollback", user="config", timeout=120) if pushed is None else box.ssh(stdin=pushed.encode(), user="config", timeout=120)
        out = result.stdout.decode()
        check(result.returncode == 0 and "ok: " in out, f"{name} over SSH is taken: {out.strip().splitlines()[-1] if out.strip() else ''}", out)
        # From the answer on (the SSH login and the check before it are TCG's, not the box's).
        answered = time.monotonic()
        while not rig.joined(room, after) and time.monotonic() < answered + 60:
            time.sleep(0.2)
        seconds = time.monotonic() - answered
        check(rig.joined(room, after) and seconds <= 15,
              f"after {name} the box is in room {room} {seconds:.1f} s after the answer ({answered - started:.1f} s for SSH and the check)", out)


def boot_file(disk, work, name):
    """A file of the boot partition as the box left it (QEMU off), or None."""
    copy = os.path.join(work, "boot-file")
    if subprocess.run(["mcopy", "-o", "-n", "-i", f"{disk}@@{partitions(disk)['boot'][0]}", f"::/{name}", copy],
                      capture_output=True).returncode != 0:
        return None
    with open(copy) as f:
        return f.read()


def config_power_cuts(rig, box, config, count):
    """`ssh config@box` with the power cut at a random moment near the swap: the boot partition
    then holds the old or the new provisioning file whole, never a torn one, and the box starts
    with it (the push's leftovers removed at boot)."""
    with open(config) as f:
        rooms = {"klasse-4b": f.read()}
    rooms["klasse-4c"] = rooms["klasse-4b"].replace('name = "klasse-4b"', 'name = "klasse-4c"')
    rng = random.Random(11)
    room, duration = "klasse-4b", None
    for attempt in range(count + 1):
        box.power_on()
        box.wait_ready(timeout=600)
        box.wait_for(HEALTH_DONE, 600)
        other = "klasse-4c" if room == "klasse-4b" else "klasse-4b"
        box.ssh_when_up("status")  # SSH up before the push is timed
        started = time.monotonic()
        pusher = subprocess.Popen(["ssh", "-i", box.key, "-p", str(box.port), "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={box.known_hosts}",
                                   "-o", f"HostKeyAlias=classbox-{box.name}", "config@127.0.0.1"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        pusher.stdin.write(rooms[other].encode())
        pusher.stdin.close()
        if duration is None:
            # The first push runs to its answer: how long one takes here, to aim the cuts.
            out = pusher.stdout.read().decode()
            pusher.wait()
            duration = time.monotonic() - started
            check(pusher.returncode == 0 and "ok: classbox.toml replaced" in out, f"a push takes {duration:.1f} s to its answer", out)
            room = other
            box.power_cut()
            continue
        delay = rng.uniform(duration * 0.4, duration * 1.0)
        time.sleep(delay)
        box.power_cut()
        pusher.kill()
        out = pusher.stdout.read().decode()
        pusher.wait()
        found = boot_file(box.disk, rig.work, "classbox/classbox.toml")
        whole = next((name for name, text in rooms.items() if text == found), None)
        answered = "ok: classbox.toml replaced" in out
        check(whole is not None and (whole == other or not answered),
              f"config cut {attempt}: {delay:.1f} s into a push ({'after' if answered else 'before'} its answer): the boot partition holds "
              f"the {'new' if whole == other else 'old'} file whole", (found or "")[:400])
        room = whole
    after = rig.events_now()
    box.power_on()
    box.wait_ready(timeout=600)
    box.wait_for(HEALTH_DONE, 600)
    deadline = time.monotonic() + 120
    while not rig.joined(room, after) and time.monotonic() < deadline:
        time.sleep(0.5)
    check(rig.joined(room, after), f"the box started with the file the cuts left and joined {room}")
    box.power_cut()
    boot, _, _ = persistent_files(box.disk, rig.work)
    check(boot <= ALLOWED_BOOT, f"after {count} cuts during pushes the boot partition holds no leftover of a push (removed at boot)",
          sorted(boot - ALLOWED_BOOT))


def utc_seconds(text, form="%Y-%m-%d %H:%M:%S"):
    return calendar.timegm(time.strptime(text, form))


def waiting_for_time(rig, box, ca):
    """A box with neither NTP nor its server (QEMU's user network restricted) waits for the
    time and says so, without a crash loop; its clock starts at the image's floor, which lies
    before the server certificate's start, so TLS could not have worked."""
    box.power_on(nic_options="restrict=on")
    seconds, _ = box.wait_ready(timeout=600)
    _, start = box.wait_for(r"classbox clock: the clock reads (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC at start", 300)
    started = utc_seconds(start.group(1))
    not_before = utc_seconds(run("openssl", "x509", "-noout", "-startdate", "-in", ca).strip().split("=", 1)[1], "%b %d %H:%M:%S %Y GMT")
    # The floor (not the reading, which includes the boot so far) lies before the certificate's
    # start: the image is built before the server runs, as a box's image before any renewal.
    check(rig.clock_epoch <= started < rig.clock_epoch + 600 and rig.clock_epoch < not_before,
          f"with its RTC in 2000 the box's clock starts from the image's build time ({start.group(1)} UTC at the keeper's start), "
          f"a floor {not_before - rig.clock_epoch:.0f} s before the server certificate is valid")
    time.sleep(25)  # past NTP's 20 s and a few of the server's retries
    status = rig.status(box)
    print(status)
    restarts = [line for line in box.lines if "classbox.service" in line and ("Failed" in line or "restart" in line.lower())]
    check("clock: " in status and "not synchronised: waiting for the time from 10.0.2.2 (NTP) or https://10.0.2.2:15281" in status
          and "conference: waiting for the time from 10.0.2.2 (NTP) or https://10.0.2.2:15281" in status and not restarts,
          f"cut off from NTP and the server, the box waits for the time and says so, without restarting (ready in {seconds:.0f} s)",
          status + "\n".join(restarts))
    box.power_cut()


def scenarios(rig):
    run(BUILD, "keys", rig.keys, "other")
    ca = rig.start_server()
    config = rig.write_config(ca)
    rig.build_disk(config)
    size = os.path.getsize(rig.rootfs) / 2**20
    print(f"image: root filesystem {size:.0f} MiB, disk {os.path.getsize(rig.pristine) / 2**20:.0f} MiB (sparse)")

    # 0. The clock. The box's RTC reads 2000-01-01 at every start, as a board without a battery
    #    clock would (a Raspberry Pi has none). Its first start is cut off from all but SSH.
    box = Box(rig.fresh_disk("box"), os.path.join(rig.work, "it_key"), rig.work, qemu_options=["-rtc", "base=2000-01-01T00:00:00,clock=vm"])
    waiting_for_time(rig, box, ca)

    # 1. First boot with the network, no NTP: the time comes from the server's Date.
    box.power_on()
    seconds, slot = box.wait_ready(timeout=600)
    check(slot == "A", f"the image boots under QEMU (TCG) to classbox ready in {seconds:.0f} s, from slot A")
    box.wait_for(r"classbox health: slot A .* marked good", 300)
    _, stepped = box.wait_for(r"classbox clock: set the clock forward by ([0-9.]+) s from https://10\.0\.2\.2:15281", 120)
    status = rig.status(box)
    print(status)
    check("set from the district server's Date at" in status and "conference: " in status,
          f"without NTP the box set its clock {float(stepped.group(1)):.0f} s forward from the server's Date over HTTPS and signed in", status)
    check(f"firmware {rig.version}" in status and "booted from slot A" in status, "status names the firmware and the booted slot", status)
    check("conference: " in status and "privacy: camera private" in status, "status shows the box itself (classbox status)", status)
    result = box.ssh("status", "--json", timeout=120)
    # ssh's own notices would share the output: the report is the line that is a JSON object.
    line = next((text for text in reversed(result.stdout.decode().splitlines()) if text.startswith("{")), "")
    try:
        report = json.loads(line)
    except ValueError:
        report = {}
    check(result.returncode == 0 and report.get("update", {}).get("booted") == "A" and report.get("box", {}).get("running") is True
          and report.get("box", {}).get("conference", {}).get("in_room") is True and report.get("firmware") == rig.version,
          "ssh update@box status --json gives one object for a fleet's table", result.stdout.decode())
    # The `status` user: the same keys, the status and nothing else.
    screen = box.ssh(user="status", timeout=120).stdout.decode()
    line = next((text for text in reversed(box.ssh("json", user="status", timeout=120).stdout.decode().splitlines()) if text.startswith("{")), "{}")
    refused = box.ssh("update", user="status", stdin=b"not a bundle", timeout=120)
    check("booted from slot A" in screen and "conference: " in screen and json.loads(line).get("firmware") == rig.version
          and refused.returncode != 0 and "unknown command" in refused.stdout.decode(),
          "ssh status@box [json] shows the status, and that key can do nothing else", screen + refused.stdout.decode())

    # 1b. The provisioning file over SSH.
    provisioning_over_ssh(rig, box, config)

    # 2. Bad bundles are refused and change nothing.
    newer = f"{rig.version}.1"
    good = rig.bundle(newer, rig.variant_rootfs("good", newer))
    wrong_key = rig.bundle(newer, key="other")
    other_board = rig.bundle(newer, compatible="classbox-rpi-arm64")
    older = rig.bundle("0.0.1")
    truncated = os.path.join(rig.work, "truncated.raucb")
    with open(good, "rb") as f, open(truncated, "wb") as g:
        g.write(f.read(os.path.getsize(good) // 2))
    for name, bundle, expected in [("a bundle signed with a wrong key", wrong_key, "not signed with a key this box trusts"),
                                   ("a truncated bundle", truncated, "refused"),
                                   ("a bundle for another board", other_board, "is for 'classbox-rpi-arm64'"),
                                   ("an older version", older, "is older than the running")]:
        result = rig.send(box, bundle)
        text = result.stdout.decode()
        check(result.returncode != 0 and expected in text and "is unchanged" in text, f"{name} is refused: {text.strip().splitlines()[-1]}", text)
    status = rig.status(box)
    check("booted from slot A" in status and "next boot: slot A" in status and "last update: refused" in status,
          "after the refusals the box still runs slot A and will boot it next", status)

    # 3. A good update: installed into slot B, rebooted into, marked good. From now on the
    #    district's NTP server answers. District IT's Ansible (Image/fleet/update.yml) sends it,
    #    the box as the canary; the play's output keeps the update command's lines with their
    #    times, so the transfer and RAUC are measured as before.
    rig.start_ntp()
    mark = box.mark()
    fleet = Fleet(rig.work, box, check, secrets=[os.path.join(rig.work, "room-password"), os.path.join(rig.work, "ca.pem")])
    lines = fleet.good_update(good, newer)
    received = Rig.wait_line(lines, "checking the signature", 1)
    installing = Rig.wait_line(lines, "installing into slot", 1)
    installed = Rig.wait_line(lines, "rebooting into it", 1)
    rauc_seconds = installed - installing
    print(f"update {newer}: {os.path.getsize(good) / 2**20:.0f} MiB bundle received in {received:.0f} s, "
          f"checked in {installing - received:.0f} s, written by RAUC in {rauc_seconds:.0f} s")
    box.wait_for(r"classbox: booting slot B", 300, mark)
    box.wait_for(r"classbox health: .* came up healthy and was marked good", 600, mark)
    status = rig.status(box)
    print(status)
    check(f"firmware {newer}" in status and "booted from slot B" in status and "last update: good" in status,
          "the box rebooted into slot B with the new version and marked it good", status)
    check("synchronised by NTP" in status, "with the NTP server reachable, systemd-timesyncd synchronised the clock from it", status)
    rig.stop_ntp()

    # 3b. The fleet's other playbooks on the box as it is now: the status table (check mode and
    #     real), and the provisioning files it has already (check mode sends nothing; a real push
    #     is "ok: unchanged").
    fleet.status_table(newer)
    fleet.provisioning()

    # 4. A system that fails its health check goes back by itself. It is older than the
    #    running one, so this is also the admin's forced downgrade. Sent by update.yml to the
    #    canary: its failed health check stops the rollout before the next box (box-b).
    failing_version = f"{rig.version}.0"
    failing = rig.bundle(failing_version, rig.variant_rootfs("failing", failing_version, break_service=True))
    mark = box.mark()
    fleet.failing_update(failing, failing_version, newer)
    fleet.close()
    box.wait_for(r"classbox: booting slot A", 300, mark)
    index, _ = box.wait_for(r"classbox health: trial failed", 900, mark)
    failed_line = box.lines[index]
    box.wait_for(r"classbox: booting slot B", 300, mark)
    status = rig.status(box)
    print(status)
    check("booted from slot B" in status and f"firmware {newer}" in status and "last update: rolled-back" in status,
          "the failing system rolled back to slot B by itself", status)
    # Its service ends with "cannot read the provisioning file", which systemd does not restart:
    # the trial ends then, not after the whole trial time.
    check("gave up" in failed_line and "of its 90 s trial" in failed_line,
          "the trial ended as soon as systemd gave up on the failing service", failed_line)
    box.power_cut()

    # 4b. The A/B state survives a torn grubenv. Slot A is the failed system (marked bad), so
    #     grub.cfg's defaults (A first) would boot it: only the backup copy keeps the box on B.
    cut_at = time.time()
    tear_boot_environment(box.disk, rig.work)
    check(boot_environment(box.disk, rig.work, "grubenv") is None, "an emptied grubenv (a power cut in grub-editenv's rewrite) cannot be read")
    box.power_on()
    box.wait_for(r"classbox: grubenv cannot be read; the A/B state comes from grubenv.backup", 300)
    # The RTC reads 2000 again and NTP is gone: systemd-timesyncd moved the clock to the time it
    # saved before the cut (every minute), which the keeper reads before it asks the server.
    _, start = box.wait_for(r"classbox clock: no answer from NTP within 20 s; the clock reads (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC; asking", 300)
    floor = calendar.timegm(time.strptime(start.group(1), "%Y-%m-%d %H:%M:%S"))
    # timesyncd saves every minute (±10 s) and the reading comes ~20 s into the boot: 150 s
    # leaves room for both, and the image's own floor lies further back (checked).
    check(cut_at - 150 <= floor <= time.time() and rig.clock_epoch < cut_at - 150,
          f"after a power cut without NTP the clock started from the floor saved on the data partition ({start.group(1)} UTC "
          f"20 s into the boot, {floor - cut_at:+.0f} s from the cut; the image's own floor is {floor - rig.clock_epoch:.0f} s earlier)")
    seconds, slot = box.wait_ready(timeout=600)
    box.wait_for(r"classbox health: slot B .* marked good", 600)
    box.power_cut()
    primary, backup = boot_environment(box.disk, rig.work, "grubenv"), boot_environment(box.disk, rig.work, "grubenv.backup")
    check(slot == "B" and primary is not None and primary == backup and primary.get("A_OK") == "0" and primary.get("B_OK") == "1",
          f"with grubenv emptied GRUB read grubenv.backup and booted slot B (in {seconds:.0f} s); the health check's mark wrote both copies again", (slot, primary, backup))
    audit(box.disk, rig.work, "after 6 boots, 2 updates, a rollback and a torn grubenv")

    # 5. Power cuts at random moments of an install.
    cuts_version = f"{rig.version}.3"
    cuts = rig.bundle(cuts_version, rig.variant_rootfs("cuts", cuts_version))
    box = Box(rig.fresh_disk("power"), os.path.join(rig.work, "it_key"), rig.work, name="power")
    config_power_cuts(rig, box, config, max(2, rig.power_cuts // 5))
    good_boots = 0
    rng = random.Random(7)
    for attempt in range(1, rig.power_cuts + 1):
        box.power_on()  # the console starts empty at each power on
        seconds, slot = box.wait_ready(timeout=600)
        box.wait_for(HEALTH_DONE, 600)
        good_boots += 1
        box.ssh_when_up("status")
        # The dangerous window: from the moment RAUC starts until a little after it is done
        # (the record, the reboot). The transfer before it touches nothing but the data partition.
        delay = rng.uniform(0, rauc_seconds * 1.3)
        sender, lines = rig.start_send(box, cuts)
        Rig.wait_line(lines, "installing into slot", 300)
        time.sleep(delay)
        box.power_cut()
        sender.kill()
        sender.wait()
        phase = "after the install" if any("rebooting into it" in line for _, line in lines) else "during the install"
        print(f"power cut {attempt}: booted slot {slot} in {seconds:.0f} s; cut {delay:.1f} s after RAUC started ({phase})", flush=True)
    box.power_on()
    seconds, slot = box.wait_ready(timeout=600)
    box.wait_for(HEALTH_DONE, 600)
    good_boots += 1
    status = rig.status(box)
    print(status)
    check(good_boots == rig.power_cuts + 1, f"{rig.power_cuts} power cuts during installs: the box booted a good slot all {good_boots} times")
    box.power_cut()
    audit(box.disk, rig.work, f"after {rig.power_cuts} power cuts")


if __name__ == "__main__":
    main()
