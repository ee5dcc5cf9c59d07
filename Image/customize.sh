#!/bin/sh
# mmdebstrap customize hook (Image/build.sh): turns the Debian root into a Classbox slot.
#   customize.sh ROOT VERSION
set -eu
root=$1 version=$2
echo "$version" > "$root/etc/classbox-version"
chroot "$root" useradd --system --home-dir / --no-create-home --shell /bin/sh update
# The provisioning file's way in: the same keys, forced to `classbox config`, and like
# `update` only allowed to reach the root side's socket (group update).
chroot "$root" useradd --system --home-dir / --no-create-home --shell /bin/sh --no-user-group --gid update config
# IT's one look at the box (`ssh status@box [json]`): the same keys, forced to the status only.
chroot "$root" useradd --system --home-dir / --no-create-home --shell /bin/sh --no-user-group --gid update status
chroot "$root" systemctl enable classbox-clock.service systemd-timesyncd.service classbox.service classbox-ssh.service classbox-health.service classbox-update.socket systemd-networkd.service systemd-resolved.service
chroot "$root" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer 2>/dev/null || true
# Every box makes its own SSH host key (on the data partition) and machine id (in RAM).
rm -f "$root"/etc/ssh/ssh_host_*
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
echo classbox > "$root/etc/hostname"
# The time floor of a box without a battery clock: PID 1 moves an earlier clock forward to
# this file's mtime (systemd >= 247), the image's build time.
touch "$root/usr/lib/clock-epoch"
ln -sf /run/systemd/resolve/stub-resolv.conf "$root/etc/resolv.conf"
# Debian's usrmerge (and with it perl) is only needed to convert old systems: ours is merged.
perl_packages=$(chroot "$root" dpkg-query -W -f '${Package}\n' usrmerge libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl perl libperl5.36 perl-modules-5.36 2>/dev/null || true)
[ -z "$perl_packages" ] || chroot "$root" dpkg --purge $perl_packages >/dev/null
# No build logs stay behind. (apt's lists and cache are not touched here: while hooks run,
# mmdebstrap has the host's own mounted there; it empties the root's copies itself at the end.)
rm -rf "$root"/var/log/*
