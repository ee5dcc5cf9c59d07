#!/bin/sh
# RAUC's custom bootloader backend (system.conf: bootloader=custom,
# [handlers] bootloader-custom-backend=/usr/lib/classbox/rauc-tryboot.sh) for the Raspberry
# Pi firmware's A/B boot: autoboot.txt on the first partition names the boot partition of
# each slot under [all] (what always boots) and [tryboot] (what boots once after
# `reboot "0 tryboot"`; the firmware clears that flag before it starts, so any crash, hang
# or power cut brings back [all]). The firmware never writes to the card; this script does.
#
# Slot A boots from partition 2, slot B from partition 3. "Primary" is the slot the next
# update reboot starts: the [tryboot] one while a trial is pending, else the [all] one.
# Marking the running trial slot good commits it ([all] = it); marking a slot bad takes
# it out of [tryboot]. The bad marks live on the data partition.
#
#   rauc-tryboot.sh get-primary | set-primary SLOT | get-state SLOT | set-state SLOT good|bad | get-current
set -eu
autoboot=${CLASSBOX_AUTOBOOT:-/boot/firmware/autoboot.txt}
marks=${CLASSBOX_TRYBOOT_MARKS:-/data/rauc/tryboot-bad}
booted=${CLASSBOX_BOOTED_PARTITION:-/proc/device-tree/chosen/bootloader/partition}

partition_of() { case $1 in A) echo 2 ;; B) echo 3 ;; *) echo "unknown slot $1" >&2; exit 1 ;; esac; }
slot_of() { case $1 in 2) echo A ;; 3) echo B ;; *) echo "unknown boot partition $1" >&2; exit 1 ;; esac; }

# boot_partition under [SECTION] of autoboot.txt
read_section() {
    awk -v want="[$1]" '/^\[/ { in_section = ($0 == want) } in_section && /^boot_partition=/ { sub(/^boot_partition=/, ""); print; exit }' "$autoboot"
}

# Writes autoboot.txt with [all] ALL and [tryboot] TRYBOOT, next to it first, then renamed.
write_autoboot() {
    printf '[all]\ntryboot_a_b=1\nboot_partition=%s\n[tryboot]\nboot_partition=%s\n' "$1" "$2" > "$autoboot.new"
    sync "$autoboot.new"
    mv "$autoboot.new" "$autoboot"
    sync "$(dirname "$autoboot")"
}

is_bad() { [ -f "$marks" ] && grep -qx "$1" "$marks"; }
unmark() { if [ -f "$marks" ]; then grep -vx "$1" "$marks" > "$marks.new" || true; mv "$marks.new" "$marks"; fi; }

all=$(read_section all)
try=$(read_section tryboot)
try=${try:-$all}

case ${1:-} in
    get-current)
        # The firmware tells the kernel the partition it booted from (big-endian 32 bits).
        slot_of "$(od -An -tu1 "$booted" | awk '{ print $NF }')" ;;
    get-primary)
        if [ "$try" != "$all" ] && ! is_bad "$(slot_of "$try")"; then slot_of "$try"; else slot_of "$all"; fi ;;
    set-primary)
        unmark "$2"
        write_autoboot "$all" "$(partition_of "$2")" ;;
    get-state)
        if is_bad "$2"; then echo bad; else echo good; fi ;;
    set-state)
        case $3 in
            good)
                unmark "$2"
                current=$("$0" get-current)
                if [ "$2" = "$current" ] && [ "$(partition_of "$2")" != "$all" ]; then
                    write_autoboot "$(partition_of "$2")" "$(partition_of "$2")"  # the trial passed: commit
                fi ;;
            bad)
                mkdir -p "$(dirname "$marks")"
                is_bad "$2" || echo "$2" >> "$marks"
                if [ "$(partition_of "$2")" = "$try" ]; then write_autoboot "$all" "$all"; fi ;;
            *) echo "state must be good or bad" >&2; exit 1 ;;
        esac ;;
    *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
