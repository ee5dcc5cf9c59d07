"""The image tier's fleet check: Image/fleet's Ansible playbooks (ansible-core, as district IT
runs them) against the QEMU box, and what their output says.

The box's forwarded SSH port changes at every QEMU start (qemu_box.Box), a real box's address
does not: a small TCP relay on a fixed loopback port stands for the box's address, so the
inventory holds through the reboots of an update.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import textwrap
import threading
import time

from qemu_box import ROOT


class Relay:
    """127.0.0.1:<port> → the box's current forwarded port; while the box is off a connection
    is closed at once, as a rebooting box's would be refused."""

    def __init__(self, box):
        self.box = box
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        try:
            upstream = socket.create_connection(("127.0.0.1", self.box.port), timeout=10)
            upstream.settimeout(None)
        except OSError:
            client.close()
            return
        back = threading.Thread(target=self._pump, args=(upstream, client), daemon=True)
        back.start()
        self._pump(client, upstream)
        back.join()
        client.close()
        upstream.close()

    @staticmethod
    def _pump(source, target):
        try:
            while True:
                data = source.recv(1 << 16)
                if not data:
                    break
                target.sendall(data)
            target.shutdown(socket.SHUT_WR)
        except OSError:
            # One side went away (the box's QEMU ended): both go.
            for s in (source, target):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()


FLEET = os.path.join(ROOT, "Image", "fleet")
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
# A line of the box's answer to the bundle, as update.yml prints it: "[  12.3 s] classbox update: ...".
TIMED = re.compile(r"^\s*\[\s*(\d+\.\d) s\] (.*)$")


class Play:
    """One ansible-playbook run: exit status, output, seconds and the PLAY RECAP per host."""

    def __init__(self, rc, out, seconds):
        self.rc, self.out, self.seconds = rc, out, seconds
        # The messages as one line each (the callback wraps long YAML strings).
        self.text = re.sub(r"\n\s+", " ", out)
        self.recap = {m.group(1): dict(zip(("ok", "changed", "unreachable", "failed"), map(int, m.groups()[1:])))
                      for m in RECAP.finditer(out)}

    def touched(self, host):
        """Whether any task ran on `host` (a result line names it, or the recap counts it)."""
        return f"[{host}]" in self.out or f"[{host} ->" in self.out or host in self.recap

    def counts(self, host, **expected):
        return all(self.recap.get(host, {}).get(key) == value for key, value in expected.items())


class Fleet:
    """The QEMU box as a district's fleet: `box`, the canary, and `box-b`, the same box under a
    second name, the rest of the classroom boxes (the waves after the canary). `check` is the
    tier's check(); `secrets` are the secret files the box's provisioning file names."""

    def __init__(self, work, box, check, secrets=()):
        self.box, self.check, self.secrets = box, check, list(secrets)
        self.dir = os.path.join(work, "fleet")
        shutil.rmtree(self.dir, ignore_errors=True)
        for sub in ("home", "tmp", "cp"):
            os.makedirs(os.path.join(self.dir, sub))
        self.relay = Relay(box)
        # The inventory a district writes (inventory.example.yml), as JSON (which is YAML), with
        # the host key pinned as Box.ssh pins it.
        common = f"-o UserKnownHostsFile={box.known_hosts} -o HostKeyAlias=classbox-{box.name} -o StrictHostKeyChecking=accept-new"
        address = {"ansible_host": "127.0.0.1", "ansible_port": self.relay.port}
        self.inventory = os.path.join(self.dir, "inventory.yml")
        with open(self.inventory, "w") as f:
            json.dump({"classroom_boxes": {
                "vars": {"ansible_user": "update", "ansible_ssh_private_key_file": box.key, "ansible_ssh_use_tty": False,
                         "ansible_ssh_common_args": common, "provision_file": os.path.join(work, "classbox.toml")},
                # The canary sends its file with the secrets (a tar), box-b the file alone.
                "children": {"canary": {"hosts": {"box": dict(address, provision_secrets=self.secrets)}}},
                "hosts": {"box-b": address}}}, f, indent=2)
        # Ansible's own files under the test's directory; only what ansible-core ships.
        self.env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(FLEET, "ansible.cfg"), ANSIBLE_HOME=os.path.join(self.dir, "home"),
                        ANSIBLE_LOCAL_TEMP=os.path.join(self.dir, "tmp"), ANSIBLE_REMOTE_TEMP=os.path.join(self.dir, "tmp"),
                        ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(self.dir, "cp"), ANSIBLE_NOCOLOR="1",
                        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", LC_ALL="C.UTF-8")  # ansible refuses a locale that is not UTF-8

    def close(self):
        self.relay.close()

    def play(self, playbook, *options, check_mode=False, timeout=900):
        arguments = ["ansible-playbook", "-i", self.inventory, os.path.join(FLEET, playbook), *options] + (["--check"] if check_mode else [])
        started = time.monotonic()
        result = subprocess.run(arguments, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=self.env, cwd=self.dir, timeout=timeout)
        play = Play(result.returncode, result.stdout, time.monotonic() - started)
        with open(os.path.join(self.dir, "plays.log"), "a") as f:
            f.write(f"\n===== {' '.join(arguments[3:])} (exit {play.rc}, {play.seconds:.0f} s)\n{play.out}")
        return play

    def update(self, bundle, version, *options):
        return self.play("update.yml", "-e", f"bundle={bundle}", "-e", f"bundle_version={version}", *options)

    # --- what the image tier asks -----------------------------------------------------------
    def good_update(self, bundle, version):
        """update.yml with a newer bundle: the canary installs it into slot B and comes up
        healthy on it; the wave after it finds box-b (the same box) on it already and sends
        nothing. Returns the update command's lines as (seconds since the push began, text),
        as Rig.start_send gives them."""
        play = self.update(bundle, version)
        lines = [(float(m.group(1)), m.group(2)) for m in map(TIMED.match, play.out.splitlines()) if m]
        print("\n".join(text for _, text in lines))
        self.check(play.rc == 0 and "rebooting into it" in play.out and f"box runs {version} from slot B, marked good" in play.text
                   and f"box-b: nothing to do: it runs {version} already (slot B)" in play.text
                   and play.counts("box", changed=1, failed=0) and play.counts("box-b", changed=0, failed=0),
                   f"Ansible's update.yml ({play.seconds:.0f} s): the canary took {version} over SSH and came up healthy on it from "
                   "slot B; the wave after it found box-b on it already (nothing sent)", play.out[-4000:])
        return lines

    def status_table(self, version):
        """status.yml in check mode and for real (with a CSV file): one table, a row per name."""
        csv = os.path.join(self.dir, "status.csv")
        for check_mode in (True, False):
            play = self.play("status.yml", "-e", f"status_file={csv}", check_mode=check_mode)
            start = play.out.find("BOX ")
            table = textwrap.dedent(play.out[play.out.rfind("\n", 0, start) + 1:play.out.find("\nTASK", start)]) if start >= 0 else ""
            rows = [line.split() for line in table.splitlines()[1:] if line.strip()]
            self.check(play.rc == 0 and [row[0] for row in rows] == ["box", "box-b"]
                       and all(row[1:5] == [version, "B", "good", version] for row in rows) and os.path.exists(csv) != check_mode,
                       f"Ansible's status.yml{' --check' if check_mode else ''} ({play.seconds:.0f} s): one table, both names on {version} "
                       f"from slot B, last update good{'; no file written' if check_mode else '; also as CSV'}", play.out[-3000:])
        print(table.rstrip())
        with open(csv) as f:
            self.check(f'"box","{version}","B","good {version}",' in f.read(), "the CSV file has the box's row")

    def provisioning(self):
        """provision.yml with the files the box has: check mode sends nothing, a real run
        changes nothing (`ok: unchanged`)."""
        names = ", ".join(os.path.basename(s) for s in self.secrets)
        play = self.play("provision.yml", check_mode=True)
        self.check(play.rc == 0 and f"as classbox.toml with {names} to config@127.0.0.1" in play.text and "ok: unchanged" not in play.out
                   and "changed: [" not in play.out and play.counts("box", changed=0) and play.counts("box-b", changed=0),
                   f"Ansible's provision.yml --check ({play.seconds:.0f} s): says what it would send, sends nothing", play.out[-3000:])
        play = self.play("provision.yml")
        self.check(play.rc == 0 and play.text.count("ok: unchanged: the box has this classbox.toml already") == 2
                   and play.counts("box", changed=0, failed=0) and play.counts("box-b", changed=0, failed=0),
                   f"Ansible's provision.yml ({play.seconds:.0f} s): the files the box has (with {names} as a tar, and alone) "
                   "are ok: unchanged, not changed", play.out[-3000:])

    def failing_update(self, bundle, version, running):
        """update.yml with an older bundle whose system fails its health check: the canary
        installs it (--allow-downgrade) and goes back by itself; the play fails on the canary's
        health check and the wave never starts: no task runs on box-b."""
        play = self.update(bundle, version, "-e", "update_allow_downgrade=true", "-e", "update_health_timeout=480")
        self.check(play.rc != 0 and f"going back from {running} to the older {version}, as asked (--allow-downgrade)" in play.out
                   and f"version {version} is installed in slot A" in play.out
                   and f"box: {version} failed its health check: the box went back to {running} in slot B" in play.text
                   and play.counts("box", failed=1) and not play.touched("box-b"),
                   f"Ansible's update.yml ({play.seconds:.0f} s): the canary took the older {version} into slot A (--allow-downgrade), "
                   f"failed its health check and went back to {running}; the rollout stopped there, box-b was never touched",
                   play.out[-4000:])
