"""The colibri messages of the bridge channel as jitsi-videobridge a29d97d parses and writes them
(message/BridgeChannelMessage.kt, EndpointMessageTransport.java); bridge_channel.py acts on them.

* Parsing is Jackson's (BridgeChannelMessage.parse, STRICT_DUPLICATE_DETECTION, unknown
  properties fail): invalid JSON, duplicate keys, an unknown colibriClass, an unknown field in a
  message without a catch-all, a missing or malformed required field -> "Invalid message
  received", ignored. Known classes the endpoint does not handle: "Received a message with an
  unexpected type", ignored.
* The JVB writes its messages with Jackson, compact, except SenderSourceConstraints
  (SenderSourceConstraintsMessage.createJson, with blanks) and ServerHello (a constant).
"""
import json

# Classes a client may send that EndpointMessageTransport handles.
CLIENT_CLASSES = {"ClientHello", "ReceiverVideoConstraints", "LastNChangedEvent", "EndpointStats",
                  "EndpointMessage", "SourceVideoTypeMessage", "VideoTypeMessage", "ReceiverAudioSubscription"}
# Every class BridgeChannelMessage knows (JsonSubTypes); the others fail to parse.
KNOWN_CLASSES = CLIENT_CLASSES | {"ServerHello", "DominantSpeakerEndpointChangeEvent",
                                  "EndpointConnectivityStatusChangeEvent", "ForwardedSources", "VideoSourcesMap",
                                  "AudioSourcesMap", "SenderSourceConstraints", "AddReceiver", "RemoveReceiver",
                                  "ConnectionStats", "SyntheticSourceSendingChangeEvent"}
RVC_FIELDS = {"lastN", "selectedSources", "onStageSources", "defaultConstraints", "constraints",
              "assumedBandwidthBps"}



class InvalidMessage(ValueError):
    """What makes Jackson's parse fail: the JVB logs 'Invalid message received' and ignores it."""


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    duplicate = next((k for k in keys if keys.count(k) > 1), None)
    if duplicate is not None:
        raise InvalidMessage(f"Duplicate field '{duplicate}'")  # JsonParser.Feature.STRICT_DUPLICATE_DETECTION
    return dict(pairs)


def parse_message(text):
    """The message as a dict with a string colibriClass; InvalidMessage otherwise."""
    try:
        message = json.loads(text, object_pairs_hook=_no_duplicates)
    except InvalidMessage:
        raise
    except ValueError as error:
        raise InvalidMessage(f"invalid JSON: {error}")
    if not isinstance(message, dict) or not isinstance(message.get("colibriClass"), str):
        raise InvalidMessage("missing type id property 'colibriClass'")
    return message


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _string_list(value, name):
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidMessage(f"{name} must be a list of strings")
    return list(value)


def video_constraints(value, name):
    """VideoConstraints(maxHeight: Int, maxFrameRate: Double = -1.0), unknown fields ignored."""
    if not isinstance(value, dict):
        raise InvalidMessage(f"{name} must be an object")
    height, rate = value.get("maxHeight"), value.get("maxFrameRate", -1.0)
    if not is_int(height):
        raise InvalidMessage(f"{name}.maxHeight missing or not an integer")
    if height != -1 and height < 0:
        raise InvalidMessage(f"{name}: maxHeight must be either -1, 0, or positive.")
    if rate is None:
        rate = -1.0
    if not _is_number(rate) or (rate != -1 and rate < 0):
        raise InvalidMessage(f"{name}: maxFrameRate must be either -1, or >= 0")
    return height, float(rate)


def parse_receiver_video_constraints(message):
    """ReceiverVideoConstraintsMessage: the fields present (null = absent)."""
    unknown = sorted(set(message) - RVC_FIELDS - {"colibriClass"})
    if unknown:
        raise InvalidMessage(f"Unrecognized field '{unknown[0]}'")  # FAIL_ON_UNKNOWN_PROPERTIES
    fields = {}
    if message.get("lastN") is not None:
        if not is_int(message["lastN"]):
            raise InvalidMessage("lastN must be an integer")
        fields["lastN"] = message["lastN"]
    for name in ("selectedSources", "onStageSources"):
        if message.get(name) is not None:
            fields[name] = _string_list(message[name], name)
    if message.get("defaultConstraints") is not None:
        fields["defaultConstraints"] = video_constraints(message["defaultConstraints"], "defaultConstraints")
    if message.get("constraints") is not None:
        if not isinstance(message["constraints"], dict):
            raise InvalidMessage("constraints must be an object")
        fields["constraints"] = {source: video_constraints(value, f"constraints.{source}")
                                 for source, value in message["constraints"].items()}
    if message.get("assumedBandwidthBps") is not None:
        if not is_int(message["assumedBandwidthBps"]):
            raise InvalidMessage("assumedBandwidthBps must be an integer")
        fields["assumedBandwidthBps"] = message["assumedBandwidthBps"]
    return fields


def text_of(message):
    """The JSON text the JVB writes: SenderSourceConstraintsMessage.createJson has its own
    format (with blanks), ServerHello its constant; the rest is Jackson, compact."""
    if message.get("colibriClass") == "SenderSourceConstraints":
        return (f'{{"colibriClass":"SenderSourceConstraints", "sourceName":"{message["sourceName"]}", '
                f'"maxHeight":{message["maxHeight"]}}}')
    return json.dumps(message, separators=(",", ":"))


def class_of(text):
    """Best effort colibriClass of a message that did not parse, for the event."""
    try:
        value = json.loads(text)
        return value.get("colibriClass") if isinstance(value, dict) else None
    except ValueError:
        return None


def validate(name, message):
    """The fields of a known message the endpoint acts on; InvalidMessage when Jackson would fail."""
    if name == "ReceiverVideoConstraints":
        return parse_receiver_video_constraints(message)
    if name == "ClientHello":
        extra = sorted(set(message) - {"colibriClass"})
        if extra:
            raise InvalidMessage(f"Unrecognized field '{extra[0]}'")
    if name == "LastNChangedEvent":
        if not is_int(message.get("lastN")):
            raise InvalidMessage("lastN missing or not an integer")
        return {"lastN": message["lastN"]}
    return {}
