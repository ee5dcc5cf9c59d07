#!/usr/bin/env python3
"""Headless Chromium (Debian's `chromium`, a real libwebrtc) as the box's peer in Tests/Interop.

    chromium_peer.py offer  OFFER_OUT ANSWER_IN SECONDS
    chromium_peer.py answer OFFER_IN ANSWER_OUT SECONDS

Chromium sends its fake camera (1280x720, 30 fps asked) and fake microphone, VP8 and Opus,
receives the box's, and after SECONDS of media prints one line of JSON: the connection states
it went through and getStats' inbound-rtp, outbound-rtp, remote-inbound-rtp and the selected
candidate pair, each as Chromium counts them. Driven by selenium through Debian's
chromedriver; the page is a local file (a secure context: getUserMedia needs one).
"""
import json
import os
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

# For the call bench: CHROMIUM_PEER_FPS, the fake camera's frame rate (Chromium's own default
# is 20 fps); CHROMIUM_PEER_CAMERA, a Y4M clip Chromium sends as its camera (looped), at the
# size it has whatever Chromium's adaptation would prefer (degradationPreference
# maintain-resolution), so that both sides of a call encode the same picture;
# CHROMIUM_PEER_SCREEN (e.g. "1920x1080"), the window's size, the other's video filling it as
# the box's screen shows the other full size; CHROMIUM_PEER_MAX_KBPS, the clip's bitrate cap.
FPS = os.environ.get("CHROMIUM_PEER_FPS")
CAMERA = os.environ.get("CHROMIUM_PEER_CAMERA")
SCREEN = os.environ.get("CHROMIUM_PEER_SCREEN")
MAX_KBPS = int(os.environ.get("CHROMIUM_PEER_MAX_KBPS", "0"))  # with a clip: the video's cap, as the box's
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--use-fake-device-for-media-stream" + (f"=fps={FPS}" if FPS else ""), "--use-fake-ui-for-media-stream",
         "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required",
         # Chromium's own warnings (libwebrtc's RTC_LOG among them) to its log, which the
         # result counts: how the peer judged what the box sent, not only what it measured.
         "--enable-logging=stderr", "--v=0"]
# libwebrtc's warnings about the box's sender reports (rtc_base/rtp_to_ntp_estimator.cc):
# the lip-sync mapping refused.
INVALID_SR = ("Newer RTCP SR report with older RTP timestamp", "Multiple consecutively invalid RTCP SR reports")

# Everything runs in the page: the peer connection, its media and its statistics.
SETUP = """
window.states = [];
window.makePeer = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true, video: {width: 1280, height: 720, frameRate: 30}});
  const pc = new RTCPeerConnection({bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require'});
  pc.onconnectionstatechange = () => window.states.push(pc.connectionState);
  // Each track into its own element, so that Chromium plays the audio out (its samples are
  // counted only when played) and decodes the video as a page showing it would.
  pc.ontrack = (event) => { document.getElementById(event.track.kind === 'audio' ? 'a' : 'v').srcObject = new MediaStream([event.track]); };
  window.pc = pc;
  return stream;
};
// Once a second: how Chromium's sending develops (its estimate, its encoder's target and
// picture), to see a ramp and not only where it ended.
window.timeline = [];
setInterval(async () => {
  if (!window.pc) return;
  const report = await pc.getStats();
  const point = {t: performance.now() / 1000};
  report.forEach(s => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') Object.assign(point, {target: s.targetBitrate, width: s.frameWidth, fps: s.framesPerSecond, reason: s.qualityLimitationReason, bytes: s.bytesSent});
    if (s.type === 'transport' && report.get(s.selectedCandidatePairId)) point.available = report.get(s.selectedCandidatePairId).availableOutgoingBitrate;
  });
  window.timeline.push(point);
}, 1000);
// A clip's picture at its own size (the call bench): the sender keeps the resolution.
window.keepSize = async (keepResolution, maxKbps) => {
  if (!keepResolution) return;
  for (const sender of pc.getSenders()) {
    if (!sender.track || sender.track.kind !== 'video') continue;
    const parameters = sender.getParameters();
    parameters.degradationPreference = 'maintain-resolution';
    if (maxKbps > 0) parameters.encodings.forEach(e => { e.maxBitrate = maxKbps * 1000; });
    await sender.setParameters(parameters);
  }
};
window.gathered = () => new Promise(resolve => {
  if (pc.iceGatheringState === 'complete') return resolve();
  pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
});
"""

OFFER = SETUP + """
const done = arguments[arguments.length - 1];
(async () => {
  const stream = await makePeer();
  for (const track of stream.getTracks()) {
    const transceiver = pc.addTransceiver(track, {direction: 'sendrecv', streams: [stream]});
    if (track.kind === 'video') {
      // The box speaks VP8 (and RTX for it) only, as Jitsi's bridge asks of it.
      const codecs = RTCRtpReceiver.getCapabilities('video').codecs;
      transceiver.setCodecPreferences(codecs.filter(c => /VP8|rtx/i.test(c.mimeType)));
    }
  }
  await pc.setLocalDescription(await pc.createOffer());
  await keepSize(arguments[0], arguments[1]);
  await gathered();
  done(pc.localDescription.sdp);
})().catch(e => done('ERROR ' + e));
"""

ANSWER = SETUP + """
const done = arguments[arguments.length - 1];
(async () => {
  const stream = await makePeer();
  await pc.setRemoteDescription({type: 'offer', sdp: arguments[0]});
  for (const transceiver of pc.getTransceivers()) {
    const track = stream.getTracks().find(t => t.kind === transceiver.receiver.track.kind);
    if (track) { await transceiver.sender.replaceTrack(track); transceiver.direction = 'sendrecv'; }
  }
  await pc.setLocalDescription(await pc.createAnswer());
  await keepSize(arguments[1], arguments[2]);
  await gathered();
  done(pc.localDescription.sdp);
})().catch(e => done('ERROR ' + e));
"""

ACCEPT = """
const done = arguments[arguments.length - 1];
pc.setRemoteDescription({type: 'answer', sdp: arguments[0]}).then(() => done('ok')).catch(e => done('ERROR ' + e));
"""

STATS = """
const done = arguments[arguments.length - 1];
pc.getStats().then(report => {
  const out = {states: window.states, inbound: {}, outbound: {}, remoteInbound: {}, pair: null, timeline: window.timeline};
  report.forEach(s => {
    if (s.type === 'inbound-rtp') out.inbound[s.kind] = s;
    if (s.type === 'outbound-rtp') out.outbound[s.kind] = s;
    if (s.type === 'remote-inbound-rtp') out.remoteInbound[s.kind] = s;
    if (s.type === 'transport' && report.get(s.selectedCandidatePairId)) out.pair = report.get(s.selectedCandidatePairId);
  });
  done(JSON.stringify(out));
}).catch(e => done(JSON.stringify({error: String(e)})));
"""


def wait_for(path, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            text = open(path).read()
            if "a=" in text:
                return text
        time.sleep(0.05)
    raise SystemExit(f"chromium_peer: {path} did not appear in {timeout} s")


def main():
    role, offer_path, answer_path, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    options = Options()
    for flag in FLAGS:
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="chromium-peer-")
    options.add_argument(f"--user-data-dir={profile}")
    if CAMERA:
        options.add_argument(f"--use-file-for-fake-video-capture={CAMERA}")
    style = ""
    if SCREEN:
        options.add_argument("--window-size=" + SCREEN.replace("x", ","))
        style = "<style>body{margin:0;background:#000}video{position:fixed;inset:0;width:100vw;height:100vh;object-fit:contain}</style>"
    page = os.path.join(profile, "peer.html")
    with open(page, "w") as f:
        f.write(f"<html><head>{style}</head><body><video id=v autoplay muted playsinline></video><audio id=a autoplay></audio></body></html>")
    log_path = os.path.join(profile, "chromium.log")
    log = open(log_path, "w")
    driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver", log_output=log))
    try:
        driver.set_script_timeout(60)
        driver.get("file://" + page)
        if role == "offer":
            sdp = driver.execute_async_script(OFFER, bool(CAMERA), MAX_KBPS)
            if sdp.startswith("ERROR"):
                raise SystemExit(f"chromium_peer: {sdp}")
            with open(offer_path + ".tmp", "w") as f:
                f.write(sdp)
            os.rename(offer_path + ".tmp", offer_path)
            result = driver.execute_async_script(ACCEPT, wait_for(answer_path))
            if result != "ok":
                raise SystemExit(f"chromium_peer: the box's answer was refused: {result}")
        else:
            sdp = driver.execute_async_script(ANSWER, wait_for(offer_path), bool(CAMERA), MAX_KBPS)
            if sdp.startswith("ERROR"):
                raise SystemExit(f"chromium_peer: the box's offer was refused: {sdp}")
            with open(answer_path + ".tmp", "w") as f:
                f.write(sdp)
            os.rename(answer_path + ".tmp", answer_path)
        time.sleep(seconds)
        stats = json.loads(driver.execute_async_script(STATS))
    finally:
        driver.quit()
        log.close()
    lines = open(log_path, errors="replace").read().splitlines()
    stats["invalidSenderReports"] = [line for line in lines if any(text in line for text in INVALID_SR)][:5]
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
