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
* A single-layer camera is forwarded at whatever maxHeight > 0 (its one layer is the lowest).
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
