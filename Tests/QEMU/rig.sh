#!/usr/bin/env bash
# The QEMU tier's rig: Debian's own kernel (which ships vivid and snd-aloop as modules)
# booted under TCG with a busybox initramfs. The guest mounts the host's root read-only
# over 9p and chroots into it, so the host's test binaries run unchanged against real
# kernel drivers: V4L2 on vivid, ALSA on snd-aloop, evdev through uinput, KMS on QEMU's
# bochs-display (1280x720). A guest test gets QEMU's own screendump of what the virtual
# screen shows by writing a name into /tmp/share/screendump.request and waiting for
# NAME.ppm.done in the share (served by the host below, through the monitor socket).
#
# RIG_DISPLAY=virtio gives the guest a virtio-gpu-pci instead of the bochs-display (both
# 1280x720); RIG_NETWORK=user gives it QEMU's user network (the guest is 10.0.2.15, the host's
# loopback 10.0.2.2), as the image tier has.
#
#   rig.sh build                build the kernel + initramfs into .build/qemu (cached)
#   rig.sh run SCRIPT [SHARE]   boot, run SCRIPT (a host path) inside the guest as root with
#                               SHARE (default: a fresh directory) at /tmp/share; print the
#                               serial console; exit with the script's status
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rig="$root/.build/qemu"
modules="vivid snd-aloop snd-dummy uinput evdev bochs virtio_gpu virtio_pci virtio_net 9pnet_virtio 9p"

build() {
    mkdir -p "$rig"
    local package kver
    # A fresh machine (or a container) may not have read its package lists yet.
    apt-cache policy linux-image-amd64 2>/dev/null | grep -q 'Candidate: [0-9]' || apt-get update -qq
    package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
    kver=${package#linux-image-}
    local stamp="$kver $(sha256sum "$0" | cut -c1-16)"
    if [ -f "$rig/initrd.img" ] && [ "$(cat "$rig/kver" 2>/dev/null)" = "$stamp" ]; then return 0; fi
    echo "rig: building for kernel $kver" >&2
    rm -rf "$rig/kroot" "$rig/initrd" "$rig"/*.deb
    (cd "$rig" && apt-get download "$package" >/dev/null 2>&1 || apt-get download "$package")
    dpkg -x "$rig/${package}"_*.deb "$rig/kroot"
    depmod -b "$rig/kroot" "$kver"
    mkdir -p "$rig"/initrd/{bin,proc,sys,dev,tmp,host,lib/modules/"$kver"}
    cp /usr/bin/busybox "$rig/initrd/bin/"
    for module in $modules; do
        modprobe -d "$rig/kroot" -S "$kver" --show-depends "$module" | awk '$1 == "insmod" {print $2}'
    done | sort -u | while read -r file; do
        relative=${file#"$rig/kroot"}
        mkdir -p "$rig/initrd$(dirname "$relative")"
        cp "$file" "$rig/initrd$relative"
    done
    cp "$rig/kroot/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} "$rig/initrd/lib/modules/$kver/" 2>/dev/null || true
    depmod -b "$rig/initrd" "$kver"
    cat > "$rig/initrd/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in vivid snd-aloop snd-dummy uinput evdev bochs virtio_gpu virtio_pci virtio_net 9pnet_virtio 9p; do
  modprobe $m || echo "GUEST: modprobe $m FAILED"
done
ip link set lo up
if [ -e /sys/class/net/eth0 ]; then  # QEMU's user network (RIG_NETWORK=user)
  ip addr add 10.0.2.15/24 dev eth0; ip link set eth0 up; ip route add default via 10.0.2.2
fi
mount -t 9p -o trans=virtio,version=9p2000.L,ro hostroot /host
mount -t proc proc /host/proc; mount -t sysfs sys /host/sys; mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm; mount -t devpts devpts /host/dev/pts; mount -t tmpfs tmpfs /host/dev/shm
mount -t tmpfs tmpfs /host/tmp; mount -t tmpfs tmpfs /host/run
mkdir -p /host/tmp/share && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 share /host/tmp/share
# The package under test, at its host path, in case that path is hidden by the tmpfs above.
package=$(sed -n 's/.*classbox.package=\([^ ]*\).*/\1/p' /proc/cmdline)
if [ -n "$package" ] && [ ! -d "/host$package" ]; then
  mkdir -p "/host$package" && mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro package "/host$package"
fi
chroot /host /bin/sh -c 'cd /tmp/share && HOME=/tmp /bin/sh /tmp/share/guest.sh > /tmp/share/guest.log 2>&1; echo $? > /tmp/share/guest.status'
echo "GUEST: guest.sh exit=$(cat /host/tmp/share/guest.status)"
sync
echo "=== RIG-DONE ==="
poweroff -f
INIT
    chmod +x "$rig/initrd/init"
    (cd "$rig/initrd" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$rig/initrd.img")
    cp "$rig/kroot/boot/vmlinuz-$kver" "$rig/vmlinuz"
    echo "$stamp" > "$rig/kver"
}

# Answers the guest's screendump requests until QEMU ($2) exits: QEMU's monitor writes what
# the virtual screen scans out as a PPM (P6) into the share, then NAME.ppm.done appears.
serve_screendumps() {
    local share=$1 qemu=$2 name
    while kill -0 "$qemu" 2>/dev/null; do
        if [ -f "$share/screendump.request" ]; then
            name=$(tr -dc 'A-Za-z0-9._-' < "$share/screendump.request")
            rm -f "$share/screendump.request"
            python3 - "$share/monitor.sock" "$share/$name.ppm" <<'PY' || echo "rig: screendump $name failed" >&2
import socket, sys
monitor = socket.socket(socket.AF_UNIX)
monitor.settimeout(30)
monitor.connect(sys.argv[1])
def prompt():
    seen = b""
    while not seen.endswith(b"(qemu) "):
        chunk = monitor.recv(4096)
        if not chunk:
            raise SystemExit("monitor closed")
        seen += chunk
prompt()
monitor.sendall(("screendump " + sys.argv[2] + "\n").encode())
prompt()
PY
            touch "$share/$name.ppm.done"
        fi
        sleep 0.2
    done
}

run() {
    local script=$1 share=${2:-}
    build
    if [ -z "$share" ]; then share=$(mktemp -d "$rig/share.XXXXXX"); fi
    cp "$script" "$share/guest.sh"
    rm -f "$share/guest.status" "$share/guest.log"
    rm -f "$share/monitor.sock" "$share/screendump.request" "$share"/*.ppm "$share"/*.ppm.done
    local display="bochs-display" network=()
    if [ "${RIG_DISPLAY:-bochs}" = virtio ]; then display="virtio-gpu-pci"; fi
    if [ "${RIG_NETWORK:-}" = user ]; then network=(-netdev user,id=net0 -device virtio-net-pci,netdev=net0); fi
    timeout 900 qemu-system-x86_64 -accel tcg,thread=multi -m 2G -smp 2 -nographic -no-reboot \
        -vga none -device "$display,xres=1280,yres=720" -monitor "unix:$share/monitor.sock,server,nowait" "${network[@]}" \
        -kernel "$rig/vmlinuz" -initrd "$rig/initrd.img" \
        -append "console=ttyS0 quiet panic=-1 classbox.package=$root" \
        -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on \
        -virtfs local,path="$root",mount_tag=package,security_model=none,readonly=on \
        -virtfs local,path="$share",mount_tag=share,security_model=none \
        > "$share/console.log" 2>&1 &
    local qemu=$!
    serve_screendumps "$share" "$qemu" &
    local server=$!
    wait "$qemu" || true
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    cat "$share/guest.log" 2>/dev/null || true
    if ! grep -q "RIG-DONE" "$share/console.log"; then
        echo "rig: the guest did not finish; console:" >&2
        tail -30 "$share/console.log" >&2
        return 1
    fi
    return "$(cat "$share/guest.status" 2>/dev/null || echo 1)"
}

case "${1:-}" in
    build) build ;;
    run) shift; run "$@" ;;
    *) echo "usage: $0 build | run SCRIPT [SHARE]" >&2; exit 2 ;;
esac
