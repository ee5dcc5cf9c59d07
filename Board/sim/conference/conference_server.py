#!/usr/bin/env python3
"""Local conference server for Classbox tests and `make run`.

Real Prosody on loopback + a Jicofo/videobridge test double + one simulated remote participant.
See README.md in this directory for the CLI, the events and what is (not) mirrored from Jitsi.

    python3 Board/sim/conference/conference_server.py --run-dir DIR [--http-port 15280]
        [--https-port 15281] [--c2s-port 15222] [--component-port 15347] [--events FILE]
        [--room-secret ROOM=SECRET ...] [--participant before-box|after-box|never] [--quiet]
"""
import argparse
import asyncio
import json
import logging
import os
import secrets
import signal
import sys

sys.dont_write_bytecode = True  # no __pycache__ inside the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from events import EventLog  # noqa: E402
from focus import Focus  # noqa: E402
from participant import RemoteMedia, SimulatedParticipant  # noqa: E402
from prosody import Prosody, make_tls, write_config  # noqa: E402

PARTICIPANT_LABEL = "Fernunterricht 7a"
RESTART_DELAY = 1.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run-dir", required=True, help="directory for Prosody's config, TLS files and logs")
    parser.add_argument("--http-port", type=int, default=15280)
    parser.add_argument("--https-port", type=int, default=15281)
    parser.add_argument("--c2s-port", type=int, default=15222)
    parser.add_argument("--component-port", type=int, default=15347)
    parser.add_argument("--events", help="append JSON-lines events to this file")
    parser.add_argument("--room-secret", action="append", default=[], metavar="ROOM=SECRET",
                        help="the focus locks ROOM with SECRET when it creates it")
    parser.add_argument("--participant-password", action="append", default=[], metavar="ROOM=SECRET",
                        help="the simulated participant joins ROOM with SECRET (a room the box locks as organiser)")
    parser.add_argument("--participant", choices=("before-box", "after-box", "never"), default="before-box")
    parser.add_argument("--quiet", action="store_true", help="only errors on stderr")
    args = parser.parse_args(argv)
    args.room_secrets = {}
    for item in args.room_secret:
        room, sep, secret = item.partition("=")
        if not sep or not room:
            parser.error(f"--room-secret expects ROOM=SECRET, got {item!r}")
        args.room_secrets[room.lower()] = secret
    # What the participant knows: the focus's secrets plus passwords only it was told.
    args.participant_secrets = dict(args.room_secrets)
    for item in args.participant_password:
        room, sep, secret = item.partition("=")
        if not sep or not room:
            parser.error(f"--participant-password expects ROOM=SECRET, got {item!r}")
        args.participant_secrets[room.lower()] = secret
    return args


class Server:
    """Owns every process and connection this program starts."""

    def __init__(self, args):
        self.args = args
        self.events = EventLog(args.events, args.quiet)
        self.run_dir = os.path.abspath(args.run_dir)
        self.ports = {"c2s": args.c2s_port, "component": args.component_port,
                      "http": args.http_port, "https": args.https_port}
        self.stop_requested = asyncio.Event()
        self.prosody = self.focus = self.participant = None
        self._restarting = None

    async def start(self):
        os.makedirs(self.run_dir, exist_ok=True)
        ca, cert, key = make_tls(self.run_dir)
        config = write_config(self.run_dir, self.ports, secrets.token_hex(16), cert, key)
        self.prosody = Prosody(self.run_dir, config, self.ports, self.events)
        await asyncio.get_event_loop().run_in_executor(None, self.prosody.start)
        remote = RemoteMedia() if self.args.participant != "never" else None
        secret = self._component_secret(config)
        if remote:
            self.participant = SimulatedParticipant(self.ports["c2s"], self.args.participant, PARTICIPANT_LABEL,
                                                    self.events, self.args.participant_secrets, remote)
        self.focus = Focus(secret, self.ports["component"], self.events, remote, self.args.room_secrets,
                           self.participant)
        self.focus.start()
        waits = [self.focus.connected_once]
        if self.participant:
            self.participant.start()
            waits.append(self.participant.ready)
        await asyncio.wait_for(asyncio.gather(*waits), 20)
        return ca

    @staticmethod
    def _component_secret(config_path):
        with open(config_path) as f:
            return next(line.split('"')[1] for line in f if "component_secret" in line)

    def ready_line(self, ca):
        return json.dumps({"ready": True,
                           "websocket": f"ws://127.0.0.1:{self.ports['http']}/xmpp-websocket",
                           "secure_websocket": f"wss://localhost:{self.ports['https']}/xmpp-websocket",
                           "ca_bundle": ca, "prosody_pid": self.prosody.pid})

    def restart_prosody(self):
        """SIGUSR1: the nightly restart. SIGKILL now, start again after about a second."""
        if self._restarting and not self._restarting.done():
            return
        self._restarting = asyncio.ensure_future(self._restart())

    async def _restart(self):
        old = self.prosody.pid
        self.prosody.kill()
        self.events.emit("prosody-killed", pid=old)
        await asyncio.sleep(RESTART_DELAY)
        try:
            await asyncio.get_event_loop().run_in_executor(None, self.prosody.start)
        except Exception as error:
            self.events.error(f"Prosody did not come back: {error}")
            return
        self.events.emit("prosody-restarted", pid=self.prosody.pid, previous_pid=old)

    async def shutdown(self):
        if self._restarting:
            await asyncio.gather(self._restarting, return_exceptions=True)
        if self.focus:
            for conference in list(self.focus.conferences.values()):
                await conference.stop("server shutdown")
            await self.focus.stop()
        if self.participant:
            await self.participant.stop()
        if self.prosody:
            self.prosody.stop()
        self.events.emit("stopped")
        self.events.close()


async def run(args):
    server = Server(args)
    loop = asyncio.get_event_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, server.stop_requested.set)
    loop.add_signal_handler(signal.SIGUSR1, server.restart_prosody)
    try:
        starting = asyncio.ensure_future(server.start())
        stopping = asyncio.ensure_future(server.stop_requested.wait())
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():  # SIGTERM during startup
            starting.cancel()
            await asyncio.gather(starting, return_exceptions=True)
            return 0
        stopping.cancel()
        ca = starting.result()
        print(server.ready_line(ca), flush=True)
        server.events.emit("ready", prosody_pid=server.prosody.pid, participant=args.participant)
        await server.stop_requested.wait()
    finally:
        await server.shutdown()
    return 0


def main():
    args = parse_args()
    logging.basicConfig(level=logging.ERROR if args.quiet else logging.WARNING, stream=sys.stderr,
                        format="[%(name)s] %(levelname)s %(message)s")
    try:
        return asyncio.run(run(args))
    except Exception as error:
        sys.stderr.write(f"conference_server: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
