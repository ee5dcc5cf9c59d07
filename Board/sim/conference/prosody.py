"""The real Prosody (Debian's 0.12) on loopback, configured like a Jitsi Meet deployment.

What mirrors Jitsi (jitsi/docker-jitsi-meet prosody/rootfs/defaults/conf.d/jitsi-meet.cfg.lua,
jitsi/jitsi-meet debian prosody config): anonymous VirtualHost, XMPP over WebSocket with
consider_websocket_secure, a MUC component with restrict_room_creation = true whose
admins list holds the focus (so only the focus creates rooms and is owner everywhere),
muc_room_locking = false and public JIDs, and memory storage (a restart loses every room).
Jicofo reaches Prosody as a client plus a client_proxy component; our focus double is an
external component (XEP-0114) on focus.<domain>, which gives the box the same address.

Prosody refuses to run as root; as root we set run_as_root = true (test-rig.md part F).
"""
import os
import signal
import socket
import subprocess
import time

DOMAIN = "meet.classbox.test"
MUC_DOMAIN = "conference." + DOMAIN
FOCUS_DOMAIN = "focus." + DOMAIN
FOCUS_JID = "focus@" + FOCUS_DOMAIN


def make_tls(run_dir):
    """A test CA and a server certificate for localhost/127.0.0.1 signed by it (openssl CLI).

    Kept across runs in the same directory so a box that already loaded DIR/ca.pem still
    trusts the server after a restart of this program. Returns (ca_path, cert_path, key_path).
    """
    tls = os.path.join(run_dir, "tls")
    os.makedirs(tls, exist_ok=True)
    ca_key, ca_crt = os.path.join(tls, "ca.key"), os.path.join(run_dir, "ca.pem")
    key, crt = os.path.join(tls, "server.key"), os.path.join(tls, "server.crt")
    if all(os.path.exists(p) for p in (ca_key, ca_crt, key, crt)):
        return ca_crt, crt, key
    ext = os.path.join(tls, "server.ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:10.0.2.2\n")  # 10.0.2.2: the host as a QEMU guest sees it (image tier)
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)
    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", ca_key, "-out", ca_crt, "-days", "3650", "-subj", "/CN=Classbox test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    csr = os.path.join(tls, "server.csr")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key, "-out", csr, "-subj", "/CN=localhost")
    run("x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial", "-CAserial", os.path.join(tls, "ca.srl"),
        "-out", crt, "-days", "825", "-extfile", ext)
    os.chmod(key, 0o644)  # read by Prosody, also when it runs as the prosody user
    return ca_crt, crt, key


def external_services(turn):
    """Prosody 0.12's mod_external_services as Jitsi deployments set it up (XEP-0215): each
    TURN server with short-lived credentials under a secret shared with coturn's
    use-auth-secret. `turn`: (secret, [(type, transport, host, port), ...]) or None. A `turns`
    entry needs algorithm = "turn" to get credentials (school-networks.md §2.1)."""
    if not turn:
        return "", ""
    secret, services = turn
    items = "".join(f'    {{ type = "{kind}"; transport = "{transport}"; host = "{host}"; port = {port}; secret = true; '
                    f'algorithm = "turn"; ttl = 3600 }};\n' for kind, transport, host, port in services)
    return '; "external_services"', f'external_service_secret = "{secret}"\nexternal_services = {{\n{items}}}\n'


MODULES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prosody-modules")


def write_config(run_dir, ports, focus_secret, cert, key, turn=None, resumption=True, token_secret=None):
    """Writes DIR/prosody.cfg.lua; every path points into DIR.

    XEP-0198 (mod_smacks, in Prosody 0.12's core) is on, as in Jitsi's deployments, with
    docker-jitsi-meet's 60 s hibernation. `resumption`: the anonymous login gives a
    reconnecting client its old name when the URL carries `previd=`, as Jitsi's auth modules
    do (prosody-modules/mod_auth_classbox_anonymous.lua); False: Debian's stock anonymous
    login, under which every resume is refused (item-not-found). `token_secret`: logins need a
    JWT signed with it on the URL (the module's stand-in for Jitsi's token authentication)."""
    data, certs = os.path.join(run_dir, "prosody-data"), os.path.join(run_dir, "prosody-certs")
    os.makedirs(data, exist_ok=True)
    os.makedirs(certs, exist_ok=True)  # empty on purpose: no STARTTLS on loopback c2s
    path = os.path.join(run_dir, "prosody.cfg.lua")
    run_as_root = "true" if os.geteuid() == 0 else "false"
    extdisco_module, extdisco_options = external_services(turn)
    text = f"""-- Written by Board/sim/conference/prosody.py: loopback-only Prosody shaped like Jitsi Meet's.
run_as_root = {run_as_root}
pidfile = "{run_dir}/prosody.pid"
data_path = "{data}"
certificates = "{certs}"
log = {{ info = "{run_dir}/prosody.log"; error = "{run_dir}/prosody.err" }}
interfaces = {{ "127.0.0.1" }}
c2s_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {ports['c2s']} }}
s2s_ports = {{ }}
component_interfaces = {{ "127.0.0.1" }}
component_ports = {{ {ports['component']} }}
http_interfaces = {{ "127.0.0.1" }}
http_ports = {{ {ports['http']} }}
https_interfaces = {{ "127.0.0.1" }}
https_ports = {{ {ports['https']} }}
https_ssl = {{ certificate = "{cert}"; key = "{key}" }}
-- Serve HTTP(S) as "localhost": the TLS name (SNI) of https://localhost and the route
-- for any other Host header such as 127.0.0.1:PORT.
http_default_host = "localhost"
plugin_paths = {{ "{MODULES}" }}
modules_enabled = {{ "disco"; "ping"; "saslauth"; "websocket"; "smacks"; "posix"{extdisco_module} }}
smacks_hibernation_time = 60
smacks_max_unacked_stanzas = 5
modules_disabled = {{ "s2s"; "offline" }}
c2s_require_encryption = false
consider_websocket_secure = true
storage = "memory"
use_libevent = false

{extdisco_options}
VirtualHost "{DOMAIN}"
    authentication = "{"classbox_anonymous" if resumption else "anonymous"}"
    http_host = "localhost"
{f'    classbox_token_secret = "{token_secret}"' if token_secret else ""}

Component "{MUC_DOMAIN}" "muc"
    -- Jitsi: only the focus (an admin of this component) may create rooms.
    restrict_room_creation = true
    admins = {{ "{FOCUS_JID}" }}
    muc_room_locking = false
    muc_room_default_public_jids = true
    muc_room_cache_size = 1000

Component "{FOCUS_DOMAIN}"
    component_secret = "{focus_secret}"
"""
    with open(path, "w") as f:
        f.write(text)
    return path


def _port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_for_ports(ports, timeout):
    """Blocks until every TCP port accepts a connection on 127.0.0.1, or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    pending = list(ports)
    while pending:
        port = pending[0]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pending.pop(0)
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Prosody port {port} did not open")
            time.sleep(0.05)


class Prosody:
    """Starts, kills and restarts one Prosody process (foreground mode, its own process group)."""

    def __init__(self, run_dir, config_path, ports, log):
        self.run_dir, self.config_path, self.ports, self.log = run_dir, config_path, ports, log
        self.process = None

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def start(self, timeout=20):
        busy = [port for port in self.ports.values() if _port_open(port)]
        if busy:
            raise RuntimeError(f"ports already in use on 127.0.0.1: {busy}")
        stderr = open(os.path.join(self.run_dir, "prosody.stderr"), "ab")
        self.process = subprocess.Popen(
            ["prosody", "-F", "--config", self.config_path],
            stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True)
        stderr.close()
        try:
            wait_for_ports(self.ports.values(), timeout)
        except TimeoutError:
            self.stop()
            raise
        time.sleep(0.1)  # Prosody shuts itself down when one port fails to open
        if self.process.poll() is not None:
            self.process = None
            raise RuntimeError(f"Prosody exited with {self.process.returncode}; see {self.run_dir}/prosody.err")
        self.log.info(f"prosody pid {self.pid} listening on {sorted(self.ports.values())}")

    def kill(self):
        """SIGKILL, as a crashed or OOM-killed server would go: no stream close for anyone."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None

    def stop(self, grace=5):
        if not self.process:
            return
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
