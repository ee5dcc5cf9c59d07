// libdrm (Debian libdrm-dev, pkg-config libdrm): kernel mode setting for the classroom screen —
// connectors and modes, dumb buffers, page flips and their events.
#ifndef CLASSBOX_CDRM_SHIM_H
#define CLASSBOX_CDRM_SHIM_H
#include <stdint.h>
#include <string.h>
#include <xf86drm.h>
#include <xf86drmMode.h>
#include <drm_fourcc.h>

/* fourcc_code() is a function-like macro that Swift does not import. */
static inline uint32_t classbox_drm_format_xrgb8888(void) { return DRM_FORMAT_XRGB8888; }

/* Mode type and flag bits (shift macros). */
static inline uint32_t classbox_drm_mode_type_preferred(void) { return DRM_MODE_TYPE_PREFERRED; }
static inline uint32_t classbox_drm_mode_flag_interlace(void) { return DRM_MODE_FLAG_INTERLACE; }

/* drmHandleEvent with a page-flip handler that hands the event's user data and time back
   through `flipped` (a C function pointer Swift can pass). */
static inline int classbox_drm_handle_flip_events(int fd, void (*flipped)(int, unsigned int, unsigned int, unsigned int, void *)) {
    drmEventContext context;
    memset(&context, 0, sizeof context);
    context.version = 2;
    context.page_flip_handler = flipped;
    return drmHandleEvent(fd, &context);
}
#endif
