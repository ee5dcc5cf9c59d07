# Runs inside the QEMU guest (chrooted into the host's root, see rig.sh) as root.
# Puts vivid into 720p30 HDMI mode on its capture and output nodes, then runs the
# hardware tests of the host's test binary against the real drivers.
set -u
timings=width=1280,height=720,interlaced=0,polarities=3,pixelclock=74250000,hfp=1760,hs=40,hbp=220,vfp=5,vs=5,vbp=20
v4l2-ctl -d /dev/video0 -i 3 >/dev/null
v4l2-ctl -d /dev/video0 --set-dv-bt-timings=$timings >/dev/null
v4l2-ctl -d /dev/video0 --set-ctrl osd_text_mode=2
v4l2-ctl -d /dev/video1 -o 1 >/dev/null
v4l2-ctl -d /dev/video1 --set-dv-bt-timings=$timings >/dev/null
v4l2-ctl -d /dev/video1 --set-fmt-video-out=width=1280,height=720,pixelformat=YU12
echo "guest: kernel $(uname -r), $(nproc) CPUs"
CLASSBOX_QEMU_GUEST=1 CLASSBOX_QEMU_SHARE=/tmp/share "$CLASSBOX_TEST_BINARY" --testing-library swift-testing --no-parallel --filter HardwareTests > /tmp/tests.out 2>&1
status=$?
sed 's/\x1b\[[0-9;]*m//g' /tmp/tests.out
exit $status
