// Linux uAPI pieces that Swift cannot import: the evdev ioctl request numbers are
// _IOC macros taking a length, and the sd_notify socket path lives in a sockaddr_un.
#ifndef CLASSBOX_CLINUX_SHIM_H
#define CLASSBOX_CLINUX_SHIM_H
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/netlink.h>

static inline unsigned long clinux_eviocgname(unsigned int len) { return EVIOCGNAME(len); }
static inline unsigned long clinux_eviocgbit(unsigned int ev, unsigned int len) { return EVIOCGBIT(ev, len); }
static inline unsigned long clinux_eviocgsw(unsigned int len) { return EVIOCGSW(len); }
static inline unsigned long clinux_eviocgkey(unsigned int len) { return EVIOCGKEY(len); }
static const unsigned long CLINUX_EVIOCGID = EVIOCGID;

/* uinput, for tests that need an input device the kernel believes in (the QEMU tier). */
static const unsigned long CLINUX_UI_SET_EVBIT = UI_SET_EVBIT;
static const unsigned long CLINUX_UI_SET_SWBIT = UI_SET_SWBIT;
static const unsigned long CLINUX_UI_SET_KEYBIT = UI_SET_KEYBIT;
static const unsigned long CLINUX_UI_DEV_SETUP = UI_DEV_SETUP;
static const unsigned long CLINUX_UI_DEV_CREATE = UI_DEV_CREATE;
static const unsigned long CLINUX_UI_DEV_DESTROY = UI_DEV_DESTROY;
static inline unsigned long clinux_ui_get_sysname(unsigned int len) { return UI_GET_SYSNAME(len); }

/* prctl is variadic; naming the calling thread (15 bytes shown by top -H) needs only this. */
static inline int clinux_set_thread_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }

/* cpu_set_t's macros and sched_setaffinity need _GNU_SOURCE; the raw call needs only a mask.
   Pins the calling thread to the CPUs in `mask` (bit n = CPU n); for tests that place threads. */
static inline int clinux_pin_calling_thread(unsigned long mask) {
    return (int)syscall(SYS_sched_setaffinity, 0, sizeof(mask), &mask);
}

/* The CPUs this process may run on (its affinity mask: a container's or a cgroup's cpuset,
   not the host's count), at least 1. */
static inline int clinux_usable_cpus(void) {
    unsigned long mask[16] = {0};
    long size = syscall(SYS_sched_getaffinity, 0, sizeof(mask), mask);
    if (size <= 0) {
        long online = sysconf(_SC_NPROCESSORS_ONLN);
        return online > 0 ? (int)online : 1;
    }
    int count = 0;
    for (long i = 0; i < size / (long)sizeof(unsigned long); i++) count += __builtin_popcountl(mask[i]);
    return count > 0 ? count : 1;
}

/* The kernel's uevents (hotplug of screens and other devices) without udev: a netlink socket
   bound to the kernel's broadcast group 1, non-blocking. Returns the descriptor or -1. */
static inline int clinux_open_uevent_socket(void) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
    if (fd < 0) return -1;
    struct sockaddr_nl address = { .nl_family = AF_NETLINK, .nl_pid = 0, .nl_groups = 1 };
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) { close(fd); return -1; }
    return fd;
}

/* Address, route and link changes (rtnetlink), for noticing that the network under a call
   changed: a netlink socket bound to the IPv4/IPv6 address and route groups and the link
   group, non-blocking. Returns the descriptor or -1. */
static inline int clinux_open_route_socket(void) {
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0) return -1;
    struct sockaddr_nl address = { .nl_family = AF_NETLINK, .nl_pid = 0,
        .nl_groups = 0x1 /* RTMGRP_LINK */ | 0x10 /* RTMGRP_IPV4_IFADDR */ | 0x40 /* RTMGRP_IPV4_ROUTE */
                   | 0x100 /* RTMGRP_IPV6_IFADDR */ | 0x400 /* RTMGRP_IPV6_ROUTE */ };
    if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) { close(fd); return -1; }
    return fd;
}
#endif
