#!/usr/bin/env bash
# Boots a Classbox disk image under QEMU (TCG, UEFI firmware from Debian's ovmf package), the
# serial console on stdout. The box's SSH port is forwarded to 127.0.0.1:SSH_PORT only.
#
#   qemu.sh DISK [SSH_PORT] [QEMU OPTIONS...]   (default port 2222; DISK's .vars.fd next to it
#                                               keeps the UEFI variables)
# CLASSBOX_QEMU_NIC_OPTIONS adds options to the user network, e.g. "restrict=on": a box cut off
# from everything but its SSH port.
set -euo pipefail
disk=$1
port=${2:-2222}
shift $(( $# < 2 ? $# : 2 ))
vars="${disk%.img}.vars.fd"
[ -f "$vars" ] || cp /usr/share/OVMF/OVMF_VARS_4M.fd "$vars"
exec qemu-system-x86_64 -accel tcg,thread=multi -machine q35 -cpu max -smp 2 -m 1024 \
    -nographic -monitor none -serial stdio \
    -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd \
    -drive if=pflash,format=raw,file="$vars" \
    -drive file="$disk",format=raw,if=virtio,cache=writeback \
    -nic user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:"$port"-:22${CLASSBOX_QEMU_NIC_OPTIONS:+,$CLASSBOX_QEMU_NIC_OPTIONS} \
    -device i6300esb -action watchdog=reset "$@"
