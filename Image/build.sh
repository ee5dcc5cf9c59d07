#!/usr/bin/env bash
# Builds the Classbox image for the generic x86_64 board from Debian 12 packages.
#
#   build.sh rootfs OUT BINARY VERSION KEYRING   the root filesystem (OUT/rootfs.ext4)
#   build.sh disk OUT CONFIG [ROOTFS]            the whole disk (OUT/disk.img): boot, root A
#                                                (= ROOTFS, default OUT/rootfs.ext4), root B
#                                                (empty), data
#   build.sh bundle OUT VERSION CERT KEY [ROOTFS] a signed RAUC verity bundle of ROOTFS
#                                                (default OUT/rootfs.ext4) in OUT/
#   build.sh keys DIR [NAME]                     a development signing key and certificate
#                                                (DIR/NAME.key.pem, DIR/NAME.cert.pem), made
#                                                once; production keys come from the caller
#
# Needs root (mmdebstrap in root mode), mmdebstrap, rauc, grub-efi-amd64-bin, mtools,
# dosfstools, e2fsprogs, fdisk. Nothing here needs loop devices: every partition is built as
# a file and copied into the disk at its offset.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
board="$here/../Board/x86"

# Partition layout (MiB). The root slots are sized for the root filesystem with room to
# grow; boot holds GRUB, its A/B environment and the provisioning file.
BOOT_MIB=64
ROOT_MIB=640
DATA_MIB=256
# Fixed partition UUIDs of the root slots: grub.cfg passes root=PARTUUID=... to the kernel.
SLOT_A_UUID=c1a55b0c-0a00-4a00-8a00-00000000000a
SLOT_B_UUID=c1a55b0c-0b00-4b00-8b00-00000000000b

# What runs on the box besides classbox itself: systemd, the update engine, sshd for the
# update command, the kernel, the C libraries classbox links, and the screen's font.
PACKAGES=(systemd systemd-sysv systemd-resolved systemd-timesyncd udev dbus kmod iproute2 ca-certificates usr-is-merged
          linux-image-amd64 initramfs-tools zstd
          rauc rauc-service grub-common e2fsprogs openssh-server
          libvpx7 libopus0 libsrtp2-1 libssl3 libasound2 libv4l-0 libspeexdsp1 libwebrtc-audio-processing1
          libusrsctp2 libyuv0 libdrm2 libfreetype6 libpng16-16 fonts-dejavu-core)

# Kernel module trees a classroom box never loads (GPUs, wireless, InfiniBand, ...).
PRUNE_MODULES=(drivers/gpu drivers/net/wireless drivers/infiniband drivers/staging drivers/isdn
               drivers/media/dvb-frontends drivers/media/dvb-core drivers/media/tuners drivers/media/pci
               drivers/net/ethernet/mellanox drivers/net/ethernet/chelsio drivers/net/ethernet/qlogic
               drivers/net/ethernet/broadcom/bnx2x drivers/scsi/lpfc drivers/scsi/qla2xxx drivers/scsi/mpt3sas
               drivers/bluetooth net/bluetooth net/wireless net/mac80211 sound/soc fs/ocfs2 fs/btrfs fs/xfs
               fs/nfs fs/nfsd fs/smb fs/ceph fs/gfs2 net/ceph drivers/md/bcache)

rootfs() {
    local out=$1 binary=$2 version=$3 keyring=$4
    local tree="$out/rootfs"
    mkdir -p "$out"
    rm -rf "$tree"
    # Without its symbol tables (the build keeps them for debugging).
    mkdir -p "$out/bin"
    strip -o "$out/bin/classbox" "$binary"
    binary="$out/bin/classbox"
    # The host's apt sources (Debian 12 and its security updates) are the mirror.
    mmdebstrap --mode=root --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
        --dpkgopt='path-exclude=/usr/share/info/*' \
        --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"' \
        --essential-hook="copy-in $here/initramfs/conf.d/classbox /etc/initramfs-tools/conf.d/" \
        --essential-hook="copy-in $here/initramfs/modules.d/classbox /usr/share/initramfs-tools/modules.d/" \
        --customize-hook="sync-in $here/rootfs /" \
        --customize-hook="copy-in $binary /usr/bin/" \
        --customize-hook='mkdir -p "$1/etc/rauc" "$1/data" "$1/usr/share/doc/classbox"' \
        --customize-hook="copy-in $board/system.conf /etc/rauc/" \
        --customize-hook="copy-in $here/../README.md /usr/share/doc/classbox/" \
        --customize-hook="upload $keyring /etc/rauc/keyring.pem" \
        --customize-hook="$here/customize.sh \"\$1\" $version" \
        bookworm "$tree"
    # A library classbox links but the list above lacks would only show on the box, as a unit
    # that never starts: refuse to build such a root filesystem.
    local unresolved
    unresolved=$(chroot "$tree" ldd /usr/bin/classbox | grep 'not found' || true)
    if [ -n "$unresolved" ]; then
        echo "build.sh: classbox links libraries the root filesystem lacks (add their packages to PACKAGES):" >&2
        echo "$unresolved" >&2
        exit 1
    fi
    local kernel
    kernel=$(ls "$tree/usr/lib/modules")
    for path in "${PRUNE_MODULES[@]}"; do rm -rf "$tree/usr/lib/modules/$kernel/kernel/$path"; done
    # Compressed modules (kmod loads .ko.zst): a smaller slot is a faster, safer update.
    find "$tree/usr/lib/modules/$kernel" -name '*.ko' -print0 | xargs -0 -r -P "$(nproc)" -n 64 zstd -q -9 --rm
    chroot "$tree" depmod "$kernel"
    local used_mib size_mib
    used_mib=$(du -sm --apparent-size "$tree" | cut -f1)
    size_mib=$((used_mib * 115 / 100 + 48))
    if [ "$size_mib" -gt "$ROOT_MIB" ]; then
        echo "build.sh: the root filesystem needs $size_mib MiB, more than a slot's $ROOT_MIB MiB" >&2
        exit 1
    fi
    rm -f "$out/rootfs.ext4"
    # No journal: a root slot is only ever mounted read-only, and written whole by RAUC.
    mkfs.ext4 -q -F -L rootfs -O ^has_journal -E root_owner=0:0 -d "$tree" "$out/rootfs.ext4" "${size_mib}M"
    echo "$version" > "$out/version"
    echo "build.sh: root filesystem $version: $used_mib MiB of files in a $size_mib MiB ext4 ($out/rootfs.ext4)"
}

disk() {
    local out=$1 config=$2 rootfs=${3:-$1/rootfs.ext4}
    local config_dir
    config_dir=$(dirname "$config")
    [ -f "$rootfs" ] || { echo "build.sh: build the root filesystem first" >&2; exit 1; }
    local work="$out/disk-parts"
    rm -rf "$work" && mkdir -p "$work"

    # boot: GRUB as the removable-media EFI loader, its A/B script and environment, and the
    # provisioning file (with the secret files it names, found next to it).
    grub-mkstandalone -O x86_64-efi -o "$work/BOOTX64.EFI" \
        --modules="part_gpt fat ext2 regexp loadenv test echo linux normal configfile zstd gzio" \
        --locales= --themes= --fonts= \
        "boot/grub/grub.cfg=$board/grub-embedded.cfg"
    grub-editenv "$work/grubenv" create
    grub-editenv "$work/grubenv" set ORDER="A B" A_OK=1 A_TRY=0 B_OK=0 B_TRY=0
    mkfs.vfat -C -n BOOT "$work/boot.img" $((BOOT_MIB * 1024)) >/dev/null
    mmd -i "$work/boot.img" ::/EFI ::/EFI/BOOT ::/grub ::/classbox
    mcopy -i "$work/boot.img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI
    cp "$work/grubenv" "$work/grubenv.backup"
    mcopy -i "$work/boot.img" "$board/grub.cfg" "$work/grubenv" "$work/grubenv.backup" ::/grub/
    mcopy -i "$work/boot.img" "$config" ::/classbox/classbox.toml
    local secret
    # Files the provisioning file names relative to itself (secrets, the CA bundle) go with it.
    for secret in $(sed -n 's/^[[:space:]]*\([a-z_]*_file\|ca_bundle\)[[:space:]]*=[[:space:]]*"\([^"/]*\)".*/\2/p' "$config"); do
        mcopy -i "$work/boot.img" "$config_dir/$secret" "::/classbox/$secret"
    done

    # data: empty but for the directories the box writes to.
    mkdir -p "$work/data"/{ssh,rauc,classbox,update,timesync}
    mkfs.ext4 -q -F -L data -E root_owner=0:0 -d "$work/data" "$work/data.img" "${DATA_MIB}M"

    local disk="$out/disk.img"
    rm -f "$disk"
    local total=$((1 + BOOT_MIB + 2 * ROOT_MIB + DATA_MIB + 1))
    truncate -s "${total}M" "$disk"
    local boot_start=$((1)) root_a_start=$((1 + BOOT_MIB))
    local root_b_start=$((root_a_start + ROOT_MIB)) data_start=$((root_a_start + 2 * ROOT_MIB))
    sfdisk --quiet "$disk" <<EOF
label: gpt
start=${boot_start}MiB, size=${BOOT_MIB}MiB, type=uefi, name=boot
start=${root_a_start}MiB, size=${ROOT_MIB}MiB, type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709, uuid=$SLOT_A_UUID, name=rootfs.0
start=${root_b_start}MiB, size=${ROOT_MIB}MiB, type=4f68bce3-e8cd-4db1-96e7-fbcaf984b709, uuid=$SLOT_B_UUID, name=rootfs.1
start=${data_start}MiB, size=${DATA_MIB}MiB, type=linux, name=data
EOF
    dd if="$work/boot.img" of="$disk" bs=1M seek=$boot_start conv=notrunc,sparse status=none
    dd if="$rootfs" of="$disk" bs=1M seek=$root_a_start conv=notrunc,sparse status=none
    dd if="$work/data.img" of="$disk" bs=1M seek=$data_start conv=notrunc,sparse status=none
    rm -rf "$work"
    echo "build.sh: disk image $disk ($total MiB: boot $BOOT_MIB, root A and B $ROOT_MIB each, data $DATA_MIB)"
}

bundle() {
    local out=$1 version=$2 cert=$3 key=$4 image=${5:-$1/rootfs.ext4}
    local work="$out/bundle-input"
    rm -rf "$work" && mkdir -p "$work"
    cp "$image" "$work/rootfs.ext4"
    cat > "$work/manifest.raucm" <<EOF
[update]
compatible=${CLASSBOX_COMPATIBLE:-classbox-x86_64}
version=$version
description=Classbox firmware $version for the generic x86_64 board

[bundle]
format=verity

[image.rootfs]
filename=rootfs.ext4
EOF
    local name="$out/classbox-x86_64-$version.raucb"
    rm -f "$name"
    rauc bundle --cert="$cert" --key="$key" --mksquashfs-args="-comp zstd" "$work" "$name" >/dev/null
    rm -rf "$work"
    echo "$name"
}

keys() {
    local dir=$1 name=${2:-development}
    [ -f "$dir/$name.key.pem" ] && [ -f "$dir/$name.cert.pem" ] && return 0
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -keyout "$dir/$name.key.pem" -out "$dir/$name.cert.pem" \
        -subj "/O=Classbox $name/CN=Classbox $name update signing key" 2>/dev/null
    chmod 600 "$dir/$name.key.pem"
    echo "build.sh: made the $name signing key $dir/$name.key.pem (never commit it)"
}

case "${1:-}" in
    keys) shift; keys "$@" ;;
    rootfs) shift; rootfs "$@" ;;
    disk) shift; disk "$@" ;;
    bundle) shift; bundle "$@" ;;
    *) sed -n '2,12p' "$0" >&2; exit 2 ;;
esac
