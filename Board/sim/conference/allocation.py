"""The videobridge double's video allocation for one receiving endpoint, as jitsi-videobridge
a29d97d runs it (cc/allocation/AllocationSettings.kt, Prioritize.kt, BandwidthAllocator.kt,
BitrateController.kt, VideoConstraints.kt, SingleSourceAllocation.kt; reference.conf cc).

* Before the first ReceiverVideoConstraints every source has initial-max-height-px = 0: no
  video is forwarded. A first message without defaultConstraints sets default-max-height-px =
  180. Omitted fields keep their value; `constraints` replaces the whole map.
* Sources are ordered on-stage first, then selected (in the order given), then by speech
  activity (recent speakers first, then the others in join order; an endpoint's sources in
  their order, camera before share). The first lastN sources (-1: all) whose constraints are
  not disabled (maxHeight 0 or maxFrameRate 0) are forwarded (getEffectiveConstraints).
* Each forwarded source goes at one layer (SingleSourceAllocation.kt selectLayersForCamera,
  selectLayersForScreensharing; BandwidthAllocator.kt improve()): the highest layer whose
  height <= its effective maxHeight (-1: any), or the lowest layer when none is that low. The
  double has no bandwidth estimation, so every source reaches that layer (the JVB's "within
  bandwidth" is always true here); maxFrameRate only disables (0), no temporal layers are dropped.
  For a camera with 30 fps layers selectLayersForCamera's preferred-height/fps rule
  (onstage-preferred-height-px 360 @ 30 fps) yields the same layer; screen shares keep only
  layers <= maxHeight, else the lowest.
* The layers (what a browser sends; lib-jitsi-meet 01daa07c): a camera has 3-layer
  simulcast 320x180, 640x360, 1280x720 at 30 fps (service/RTC/StandardVideoQualitySettings.ts
  SIM_LAYERS, scale factors 4, 2, 1 of a 720p capture);
  a screen share one layer 1920x1080 at 5 fps (ScreenObtainer.ts SS_DEFAULT_FRAME_RATE = 5;
  TPCUtils.ts calculateEncodingsActiveState keeps only the HD encoding of a low-fps desktop
  track active), so the JVB forwards it at 1080 whatever maxHeight > 0 the box asks.
* The JVB forwards the chosen simulcast layer on the source's one (primary) SSRC, rewriting
  sequence numbers, timestamps and VP8 picture ids (cc/AdaptiveSourceProjection, cc/vp8/
  VP8AdaptiveSourceProjectionContext, VP8QualityFilter: a switch waits for a keyframe),
  and it asks the sender for a keyframe of the target layer: the
  receiver sees one SSRC whose picture size changes with a keyframe (bridge.py applies it).
"""

INITIAL_MAX_HEIGHT = 0  # videobridge.cc.initial-max-height-px
DEFAULT_MAX_HEIGHT = 180  # videobridge.cc.default-max-height-px
INITIAL_LAST_N = -1  # videobridge.cc.initial-last-n


def disabled(constraints):
    """VideoConstraints.isDisabled."""
    return constraints[0] == 0 or constraints[1] == 0.0


def constraints_json(constraints):
    return {"maxHeight": constraints[0], "maxFrameRate": constraints[1]}


class AllocationSettings:
    """AllocationSettingsWrapper: the receiver's settings, each field kept until sent again."""

    def __init__(self):
        self.last_n = INITIAL_LAST_N
        self.selected, self.on_stage = [], []
        self.default = (INITIAL_MAX_HEIGHT, -1.0)
        self.constraints = {}
        self.ever_set = False

    def update(self, fields):
        """setBandwidthAllocationSettings: True when something changed. assumedBandwidthBps is
        ignored (no assumed-bandwidth-limit configured)."""
        changed = False
        for key, attribute in (("lastN", "last_n"), ("selectedSources", "selected"), ("onStageSources", "on_stage"),
                               ("constraints", "constraints")):
            if key in fields and getattr(self, attribute) != fields[key]:
                setattr(self, attribute, fields[key])
                changed = True
        default = fields.get("defaultConstraints")
        if default is None and not self.ever_set:
            default = (DEFAULT_MAX_HEIGHT, -1.0)
        if default is not None and default != self.default:
            self.default = default
            changed = True
        self.ever_set = True
        return changed

    def set_last_n(self, last_n):
        if last_n == self.last_n:
            return False
        self.last_n = last_n
        return True

    def constraints_for(self, source):
        return self.constraints.get(source, self.default)

    def describe(self):
        return {"lastN": self.last_n, "selectedSources": self.selected, "onStageSources": self.on_stage,
                "defaultConstraints": constraints_json(self.default),
                "constraints": {s: constraints_json(c) for s, c in self.constraints.items()}}


def forwarded_sources(sources, settings):
    """The video sources (names, in the conference's speech-activity order) the bridge forwards:
    prioritize() (on-stage, then selected, then the rest) and getEffectiveConstraints() (only
    the first lastN sources with enabled constraints). No bandwidth limit in the double."""
    selected = list(settings.on_stage) + [s for s in settings.selected if s not in settings.on_stage]
    ordered = sorted((s for s in sources if s in selected), key=selected.index) + \
        [s for s in sources if s not in selected]
    limit = settings.last_n if settings.last_n >= 0 else len(ordered)
    result = []
    for source in ordered:
        if len(result) >= limit:
            break
        if not disabled(settings.constraints_for(source)):
            result.append(source)
    return result


# (width, height) of each layer, lowest first, and frames per second, by videoType.
LAYERS = {"camera": ((320, 180), (640, 360), (1280, 720)), "desktop": ((1920, 1080),)}
FRAME_RATES = {"camera": 30, "desktop": 5}
UNSIGNALLED_LAYER = {"camera": (640, 360), "desktop": (1920, 1080)}  # a box without the bridge channel


def select_layer(video_type, constraints):
    """The (width, height) the JVB forwards of a source for these constraints (see above)."""
    layers = LAYERS.get(video_type, LAYERS["camera"])
    max_height = constraints[0]
    fitting = [layer for layer in layers if max_height < 0 or layer[1] <= max_height]
    return fitting[-1] if fitting else layers[0]


def allocate(sources, settings):
    """sources: [(name, videoType)] in speech-activity order. The forwarded ones in priority
    order (forwarded_sources) with the layer each is sent at: {name: (width, height)}."""
    types = dict(sources)
    return {name: select_layer(types[name], settings.constraints_for(name))
            for name in forwarded_sources([name for name, _ in sources], settings)}
