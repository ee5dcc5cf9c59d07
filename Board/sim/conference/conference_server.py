#!/usr/bin/env python3
"""Local conference server for Classbox tests and `make run`.

Real Prosody on loopback + a Jicofo/videobridge test double + simulated remote participants.
See README.md in this directory for the CLI, the events and what is (not) mirrored from Jitsi.

    python3 Board/sim/conference/conference_server.py --run-dir DIR [--http-port 15280]
        [--https-port 15281] [--c2s-port 15222] [--component-port 15347] [--events FILE]
        [--room-secret ROOM=SECRET ...] [--participant before-box|after-box|never[,...]]
        [--participants N] [--tones HZ,HZ,...] [--leave INDEX@SECONDS ...] [--opus-fec [PERCENT]]
        [--tone-am HZ] [--sender-max-height H[@T],...] [--speakers INDEX[@T],...]
        [--share INDEX@T[-T2],...] [--quiet]
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
from media import TONE_HZ, enable_opus_fec  # noqa: E402
import allocation  # noqa: E402
import bridge  # noqa: E402
import bridge_channel  # noqa: E402
from participant import AFTER_BOX_DELAY, AFTER_BOX_STAGGER, RemoteMedia, SimulatedParticipant  # noqa: E402
from prosody import Prosody, make_tls, write_config  # noqa: E402

PARTICIPANT_LABEL = "Fernunterricht 7a"
MODES = ("before-box", "after-box", "never")
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
    parser.add_argument("--participant", default="before-box", metavar="MODE[,MODE...]",
                        help="before-box, after-box or never; one mode for all participants or one per participant")
    parser.add_argument("--participants", type=int, default=None, metavar="N",
                        help="number of simulated participants (default 1, or the number of --tones)")
    parser.add_argument("--tones", default=None, metavar="HZ,HZ,...",
                        help=f"each participant's sine in Hz (default {TONE_HZ:g}, then +110 Hz per participant)")
    parser.add_argument("--leave", action="append", default=[], metavar="INDEX@SECONDS",
                        help="participant INDEX (0-based) leaves the room SECONDS after the first valid "
                             "session-accept of a box, and does not come back")
    parser.add_argument("--opus-fec", type=int, nargs="?", const=10, default=None, metavar="PERCENT",
                        help="turn on Opus in-band FEC in the participants' encoders, with this expected "
                             "packet loss (default 10)")
    parser.add_argument("--downlink-jitter", type=float, default=0.0, metavar="MS",
                        help="the network between bridge and box: every RTP packet to a box leaves after a "
                             "uniform random 0..MS ms (reordering included); the delays applied are reported "
                             "as downlink_jitter in media/session-ended. Default 0: sent at once")
    parser.add_argument("--tone-am", type=float, default=0.0, metavar="HZ",
                        help="swing the participants' tone amplitude at HZ (e.g. 4) so that Opus keeps coding "
                             "it as speech (needed for FEC beyond the first 0.6 s); default 0 = steady sine")
    parser.add_argument("--sender-max-height", action="append", default=[], metavar="H[@T],...",
                        help="bridge channel: the maxHeight the participants ask of the box's video, sent as "
                             "SenderSourceConstraints; H from T seconds after the channel opened (no @T: from "
                             "the start), e.g. 720,180@5,0@10,720@15; 'none': never sent. Default "
                             f"{bridge_channel.DEFAULT_SENDER_MAX_HEIGHT}")
    parser.add_argument("--speakers", action="append", default=[], metavar="INDEX[@T],...",
                        help="bridge channel: participant INDEX becomes dominant speaker T seconds after the "
                             "channel opened (DominantSpeakerEndpointChangeEvent), e.g. 0@0,2@6; 'none': never. "
                             "Default with two or more participants: 0 from the start")
    parser.add_argument("--share", action="append", default=[], metavar="INDEX@T[-T2],...",
                        help="participant INDEX starts a screen share (source <endpoint>-v1, videoType desktop, "
                             "1920x1080 at 5 fps) T seconds after the first box's bridge channel opened (without "
                             "one: after its session-accept) and stops it at T2 (source-remove); e.g. 2@8-14")
    parser.add_argument("--frame-number-offset", type=int, default=0, metavar="N",
                        help="participant INDEX paints its video's frame numbers from INDEX × N (default 0: "
                             "every participant from 0), so a test reading the screen knows whose picture it sees")
    parser.add_argument("--camera-fps", type=int, default=None, metavar="FPS",
                        help=f"the participants' cameras' frame rate (default {allocation.FRAME_RATES['camera']}); a "
                             "guest under QEMU's TCG decodes fewer")
    parser.add_argument("--camera-max-height", type=int, default=None, metavar="LINES",
                        help="the participants' cameras send simulcast layers up to LINES only (default: up to 720, "
                             "as a browser's 720p capture); a guest under QEMU's TCG decodes 360p in time")
    parser.add_argument("--advertise-address", default=None, metavar="ADDRESS",
                        help="the bridge's address as boxes behind a NAT reach it (e.g. 10.0.2.2 from a QEMU guest): "
                             "each host candidate is also offered as a server-reflexive candidate at ADDRESS, as JVB's "
                             "static mappings do")
    parser.add_argument("--turn", action="append", default=[], metavar="TYPE:TRANSPORT:HOST:PORT",
                        help="a TURN server Prosody names in its XEP-0215 answer (mod_external_services), "
                             "with credentials under --turn-secret (coturn's static-auth-secret)")
    parser.add_argument("--turn-secret", default=None, metavar="SECRET")
    parser.add_argument("--refuse-resumption", action="store_true",
                        help="Debian's stock anonymous login instead of Jitsi's: a reconnecting client gets a new name, "
                             "so Prosody refuses every XEP-0198 resumption (item-not-found)")
    parser.add_argument("--token-secret", default=None, metavar="SECRET",
                        help="token rooms: every login needs token=JWT on the WebSocket URL, HS256-signed with SECRET, "
                             "with exp/nbf holding and a room claim of * or the room (Jitsi's token authentication)")
    parser.add_argument("--quiet", action="store_true", help="only errors on stderr")
    args = parser.parse_args(argv)
    _participant_args(parser, args)
    _bridge_channel_args(parser, args)
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


def _participant_args(parser, args):
    """args.modes, args.tones_hz (one per participant, empty for none) and args.leave_plan."""
    modes = [m.strip() for m in args.participant.split(",") if m.strip()]
    if not modes or any(m not in MODES for m in modes):
        parser.error(f"--participant expects {', '.join(MODES)} (comma-separated), got {args.participant!r}")
    tones = None
    if args.tones is not None:
        try:
            tones = [float(t) for t in args.tones.split(",") if t.strip()]
        except ValueError:
            parser.error(f"--tones expects Hz values separated by commas, got {args.tones!r}")
        if not tones or any(not 20 <= t <= 20000 for t in tones):
            parser.error(f"--tones: every tone must be 20..20000 Hz, got {args.tones!r}")
    count = args.participants
    if count is None:
        count = len(tones) if tones else len(modes) if len(modes) > 1 else 1
    if "never" in modes:
        if len(modes) > 1 or args.participants or args.tones or args.leave:
            parser.error("--participant never means no participant: no --participants, --tones or --leave")
        count = 0
    if count < 0 or count > 16:
        parser.error("--participants must be 0..16")
    if len(modes) == 1:
        modes = modes * count
    elif len(modes) != count:
        parser.error(f"--participant gives {len(modes)} modes for {count} participants")
    if tones is None:
        tones = [TONE_HZ + 110 * k for k in range(count)]
    elif len(tones) != count:
        parser.error(f"--tones gives {len(tones)} tones for {count} participants")
    args.modes, args.tones_hz = modes, tones
    args.leave_plan = {}
    for item in args.leave:
        index, sep, seconds = item.partition("@")
        try:
            index, seconds = int(index), float(seconds)
        except ValueError:
            sep = ""
        if not sep or not 0 <= index < count or seconds < 0:
            parser.error(f"--leave expects INDEX@SECONDS with INDEX 0..{count - 1}, got {item!r}")
        args.leave_plan[index] = seconds


def _bridge_channel_args(parser, args):
    """args.sender_schedule and args.speaker_schedule: [(seconds, value)] (see bridge_channel.py)."""
    def schedule(option, items, default, minimum, maximum=None):
        text = ",".join(items)
        if not items:
            return default
        if text.strip().lower() == "none":
            return []
        try:
            entries = bridge_channel.parse_schedule(text, minimum)
        except ValueError as error:
            parser.error(f"{option}: {error}")
        if maximum is not None and any(value > maximum for _, value in entries):
            parser.error(f"{option}: INDEX must be 0..{maximum}, got {text!r}")
        return entries

    count = len(args.modes)
    args.sender_schedule = schedule("--sender-max-height", args.sender_max_height,
                                    [(0.0, bridge_channel.DEFAULT_SENDER_MAX_HEIGHT)], -1)
    if args.speakers and count == 0:
        parser.error("--speakers needs participants")
    args.speaker_schedule = schedule("--speakers", args.speakers, [(0.0, 0)] if count > 1 else [], 0,
                                     max(count - 1, 0))
    args.share_plan = []
    for item in ",".join(args.share).split(","):
        item = item.strip()
        if not item:
            continue
        index, sep, times = item.partition("@")
        start, dash, stop = times.partition("-")
        try:
            index, start, stop = int(index), float(start), float(stop) if dash else None
        except ValueError:
            sep = ""
        if not sep or not 0 <= index < count or start < 0 or (stop is not None and stop <= start):
            parser.error(f"--share expects INDEX@T[-T2] with INDEX 0..{count - 1} and T2 > T >= 0, got {item!r}")
        args.share_plan.append((index, start, stop))


def participant_label(index):
    """Display names: Fernunterricht 7a, 7b, 7c, ..."""
    return PARTICIPANT_LABEL if index == 0 else PARTICIPANT_LABEL[:-1] + chr(ord("a") + index % 26)


class Server:
    """Owns every process and connection this program starts."""

    def __init__(self, args):
        self.args = args
        self.events = EventLog(args.events, args.quiet)
        self.run_dir = os.path.abspath(args.run_dir)
        self.ports = {"c2s": args.c2s_port, "component": args.component_port,
                      "http": args.http_port, "https": args.https_port}
        self.stop_requested = asyncio.Event()
        self.prosody = self.focus = None
        self.participants = []
        self._restarting = None

    async def start(self):
        os.makedirs(self.run_dir, exist_ok=True)
        ca, cert, key = make_tls(self.run_dir)
        turn = None
        if self.args.turn:
            services = [tuple(entry.split(":", 3)) for entry in self.args.turn]
            turn = (self.args.turn_secret or secrets.token_hex(16), services)
        config = write_config(self.run_dir, self.ports, secrets.token_hex(16), cert, key, turn=turn,
                              resumption=not self.args.refuse_resumption, token_secret=self.args.token_secret)
        self.prosody = Prosody(self.run_dir, config, self.ports, self.events)
        await asyncio.get_event_loop().run_in_executor(None, self.prosody.start)
        secret = self._component_secret(config)
        if self.args.opus_fec is not None:
            enable_opus_fec(self.args.opus_fec)
        bridge.DOWNLINK_JITTER_MS = self.args.downlink_jitter
        bridge.FRAME_NUMBER_OFFSET = self.args.frame_number_offset
        bridge.ADVERTISED_ADDRESS = self.args.advertise_address
        if self.args.camera_fps:
            allocation.FRAME_RATES["camera"] = self.args.camera_fps
        if self.args.camera_max_height:
            allocation.LAYERS["camera"] = tuple(layer for layer in allocation.LAYERS["camera"]
                                                if layer[1] <= self.args.camera_max_height) or allocation.LAYERS["camera"][:1]
        bridge_channel.SENDER_MAX_HEIGHT = list(self.args.sender_schedule)
        bridge_channel.SPEAKERS = list(self.args.speaker_schedule)
        after_box = 0
        for index, (mode, tone) in enumerate(zip(self.args.modes, self.args.tones_hz)):
            delay = AFTER_BOX_DELAY + AFTER_BOX_STAGGER * after_box
            after_box += mode == "after-box"
            self.participants.append(SimulatedParticipant(
                self.ports["c2s"], mode, participant_label(index), self.events, self.args.participant_secrets,
                RemoteMedia(index, tone, self.args.tone_am), join_delay=delay,
                stats_id="Fernunterricht-sim" if index == 0 else f"Fernunterricht-sim-{index}"))
        self.focus = Focus(secret, self.ports["component"], self.events, self.args.room_secrets,
                           self.participants, self.args.leave_plan, self.args.share_plan)
        self.focus.start()
        waits = [self.focus.connected_once]
        for participant in self.participants:
            participant.start()
            waits.append(participant.ready)
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
        for participant in self.participants:
            await participant.stop()
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
        server.events.emit("ready", prosody_pid=server.prosody.pid, participant=args.participant,
                           participants=[{"index": p.index, "mode": p.mode, "endpoint": p.endpoint,
                                          "tone_hz": p.remote_media.tone_hz, "label": p.label}
                                         for p in server.participants],
                           leave={str(k): v for k, v in args.leave_plan.items()}, opus_fec=args.opus_fec,
                           tone_am=args.tone_am,
                           sender_max_height=[{"t": t, "max_height": h} for t, h in args.sender_schedule],
                           speakers=[{"t": t, "index": i} for t, i in args.speaker_schedule],
                           share=[{"index": i, "t": t, "until": u} for i, t, u in args.share_plan])
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
