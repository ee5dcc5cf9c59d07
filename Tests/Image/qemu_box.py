"""A Classbox disk image booted under QEMU (Image/qemu.sh): its serial console read as it
comes, SSH to its update user through the loopback port forward, and power cuts (SIGKILL)."""
import os
import re
import socket
import subprocess
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Box:
    #: Every box made, so a failing run can pull all their plugs.
    all = []

    def __init__(self, disk, key, work, name="box", qemu_options=()):
        Box.all.append(self)
        self.disk, self.key, self.work, self.name = disk, key, work, name
        #: Options for every start, e.g. the RTC of a board without battery clock.
        self.qemu_options = list(qemu_options)
        #: Extra user-network options of the next starts ("restrict=on": no way out but SSH).
        self.nic_options = ""
        self.port = free_port()
        self.known_hosts = os.path.join(work, "known_hosts")
        self.process = None
        self.switched_on = False
        self.lines = []
        self.boots = 0
        self.lock = threading.Lock()
        self.console = open(os.path.join(work, f"{name}-console.log"), "a", encoding="utf-8", errors="replace")

    # --- power -------------------------------------------------------------------------
    def power_on(self, nic_options=""):
        """Switches the box on, with `nic_options` for its network (Image/qemu.sh); its console
        starts empty. A reboot of the guest ends QEMU
        (-no-reboot: QEMU's own reset under TCG with OVMF now and then hangs) and is
        followed by a fresh start, as a power cycle after a clean shutdown."""
        with self.lock:
            assert self.process is None
            self.lines = []
            self.switched_on = True
            self.nic_options = nic_options
            self._launch("power on" + (f" ({nic_options})" if nic_options else ""))

    def _launch(self, why):
        """Starts QEMU; the caller holds the lock, so a start and a power cut never cross
        (a cut takes the running QEMU away under the lock, a restart puts one in under it)."""
        self.boots += 1
        # A fresh SSH port at every start: the last connection's TIME_WAIT on the old one (the
        # guest's sshd, through QEMU, closed it first) can keep QEMU from binding it again.
        # The host key stays pinned through HostKeyAlias, whatever the port.
        self.port = free_port()
        self.console.write(f"\n===== {why} (boot #{self.boots}, ssh on port {self.port}) =====\n")
        self.started = time.monotonic()
        process = subprocess.Popen([os.path.join(ROOT, "Image", "qemu.sh"), self.disk, str(self.port), "-no-reboot", *self.qemu_options],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=dict(os.environ, CLASSBOX_QEMU_NIC_OPTIONS=self.nic_options))
        self.process = process
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process):
        started = self.started
        for raw in process.stdout:
            line = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw.decode("utf-8", "replace")).rstrip("\r\n")
            with self.lock:
                self.lines.append(line)
            # Seconds since QEMU started, for reading where a boot spends its time.
            self.console.write(f"[{time.monotonic() - self.started:6.1f}] {line}\n")
            self.console.flush()
        process.wait()
        with self.lock:
            # Only the QEMU that is still the box's own restarts: one a power cut took away
            # (self.process is None or a newer one by now) stays off.
            if not (self.switched_on and process is self.process):
                return
            # A QEMU that ends within seconds did not start at all (its message is in the log;
            # no guest reboots that fast): no tight loop of restarts, the test's wait fails.
            if time.monotonic() - started < 5:
                self.lines.append("qemu_box: QEMU did not start; not trying again")
                return
            self._launch("the guest rebooted")

    def power_cut(self):
        """Pulls the plug: QEMU is killed, whatever the guest had not written is lost."""
        with self.lock:
            self.switched_on = False
            process, self.process = self.process, None
        if process and process.poll() is None:
            process.kill()
            process.wait()

    # --- console -----------------------------------------------------------------------
    def wait_for(self, pattern, timeout, start=0):
        """Returns (index, match) of the first console line from `start` on matching `pattern`."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        index = start
        while time.monotonic() < deadline:
            with self.lock:
                lines = self.lines[index:]
            for offset, line in enumerate(lines):
                match = regex.search(line)
                if match:
                    return index + offset, match
            index += len(lines)
            if not self.switched_on:
                break
            time.sleep(0.2)
        raise AssertionError(f"{self.name}: no console line matching {pattern!r} within {timeout} s; last lines:\n"
                             + "\n".join(self.tail(25)))

    def tail(self, count):
        with self.lock:
            return self.lines[-count:]

    def mark(self):
        with self.lock:
            return len(self.lines)

    def wait_ready(self, timeout=600, start=0):
        """Waits for systemd to report classbox.service started (Type=notify: READY=1) and
        returns (seconds since power on, booted slot)."""
        index, _ = self.wait_for(r"classbox: booting slot [AB]", timeout, start)
        slot = re.search(r"booting slot ([AB])", self.lines[index]).group(1)
        self.wait_for(r"Started classbox\.service", timeout, index)
        return time.monotonic() - self.started, slot

    # --- ssh -----------------------------------------------------------------------------
    def ssh(self, *command, stdin=None, timeout=600, user="update"):
        arguments = ["ssh", "-i", self.key, "-p", str(self.port), "-o", "BatchMode=yes",
                     "-o", "StrictHostKeyChecking=accept-new", "-o", f"UserKnownHostsFile={self.known_hosts}",
                     "-o", f"HostKeyAlias=classbox-{self.name}",
                     "-o", "ConnectTimeout=20", "-o", "ServerAliveInterval=10", f"{user}@127.0.0.1", *command]
        if isinstance(stdin, bytes):
            return subprocess.run(arguments, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        return subprocess.run(arguments, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)

    def ssh_when_up(self, *command, timeout=180):
        deadline = time.monotonic() + timeout
        while True:
            result = self.ssh(*command, timeout=60)
            if result.returncode != 255 or time.monotonic() > deadline:
                return result
            time.sleep(3)
