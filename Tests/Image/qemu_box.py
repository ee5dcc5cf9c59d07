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
    def __init__(self, disk, key, work, name="box"):
        self.disk, self.key, self.work, self.name = disk, key, work, name
        self.port = free_port()
        self.known_hosts = os.path.join(work, "known_hosts")
        self.process = None
        self.lines = []
        self.boots = 0
        self.lock = threading.Lock()
        self.console = open(os.path.join(work, f"{name}-console.log"), "a", encoding="utf-8", errors="replace")

    # --- power -------------------------------------------------------------------------
    def power_on(self):
        assert self.process is None or self.process.poll() is not None
        self.boots += 1
        with self.lock:
            self.lines = []
        self.console.write(f"\n===== power on #{self.boots} =====\n")
        self.started = time.monotonic()
        self.process = subprocess.Popen([os.path.join(ROOT, "Image", "qemu.sh"), self.disk, str(self.port)],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()

    def _read(self, process):
        for raw in process.stdout:
            line = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw.decode("utf-8", "replace")).rstrip("\r\n")
            with self.lock:
                self.lines.append(line)
            self.console.write(line + "\n")
            self.console.flush()

    def power_cut(self):
        """Pulls the plug: QEMU is killed, whatever the guest had not written is lost."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def wait_off(self, timeout):
        """Waits for the guest to power itself off or reboot (QEMU runs with -no-reboot? no: reboots stay in QEMU)."""
        try:
            self.process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

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
            if self.process.poll() is not None:
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
        slot = self.lines[index].split()[-3] if False else re.search(r"booting slot ([AB])", self.lines[index]).group(1)
        self.wait_for(r"Started classbox\.service", timeout, index)
        return time.monotonic() - self.started, slot

    # --- ssh -----------------------------------------------------------------------------
    def ssh(self, *command, stdin=None, timeout=600):
        arguments = ["ssh", "-i", self.key, "-p", str(self.port), "-o", "BatchMode=yes",
                     "-o", "StrictHostKeyChecking=accept-new", "-o", f"UserKnownHostsFile={self.known_hosts}",
                     "-o", "ConnectTimeout=20", "-o", "ServerAliveInterval=10", "update@127.0.0.1", *command]
        return subprocess.run(arguments, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)

    def ssh_when_up(self, *command, timeout=180):
        deadline = time.monotonic() + timeout
        while True:
            result = self.ssh(*command, timeout=60)
            if result.returncode != 255 or time.monotonic() > deadline:
                return result
            time.sleep(3)
