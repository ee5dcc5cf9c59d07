// Linux uAPI pieces that Swift cannot import: the evdev ioctl request numbers are
// _IOC macros taking a length, and the sd_notify socket path lives in a sockaddr_un.
#ifndef CLASSBOX_CLINUX_SHIM_H
#define CLASSBOX_CLINUX_SHIM_H
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/input.h>

static inline unsigned long clinux_eviocgname(unsigned int len) { return EVIOCGNAME(len); }
static inline unsigned long clinux_eviocgbit(unsigned int ev, unsigned int len) { return EVIOCGBIT(ev, len); }
static inline unsigned long clinux_eviocgsw(unsigned int len) { return EVIOCGSW(len); }
static inline unsigned long clinux_eviocgkey(unsigned int len) { return EVIOCGKEY(len); }
static const unsigned long CLINUX_EVIOCGID = EVIOCGID;
#endif
