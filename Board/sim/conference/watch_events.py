"""Prints, once a second, what the simulated remote participant of the local conference
server receives from the box (for `make run`): decoded frames, frame numbers, the tone.

    watch_events.py EVENTS_FILE PID    (stops when process PID ends)
"""
import json
import os
import sys
import time


def main():
    path, pid = sys.argv[1], int(sys.argv[2])
    offset, last = 0, None
    while True:
        try:
            os.kill(pid, 0)
        except OSError:
            return
        try:
            with open(path) as events:
                events.seek(offset)
                for line in events:
                    if not line.endswith("\n"):
                        break  # the server is still writing this line: read it next round
                    offset += len(line.encode())
                    event = json.loads(line)
                    if event.get("event") == "media":
                        last = event
                    elif event.get("event") in ("session-accept", "session-ended", "room-destroyed", "prosody-restarted"):
                        print(f"[remote participant] {event['event']}", flush=True)
        except (OSError, ValueError):
            pass
        if last:
            print(f"[remote participant] from the box: {last.get('video_frames', 0)} video frames "
                  f"(numbers {last.get('numbers_first')}…{last.get('numbers_last')}, in order: {last.get('in_order')}), "
                  f"{last.get('audio_frames', 0)} audio frames, tone {last.get('tone_hz')} Hz", flush=True)
            last = None
        time.sleep(5)


if __name__ == "__main__":
    main()
