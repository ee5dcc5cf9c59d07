// libpng (Debian libpng-dev, pkg-config libpng): the simulated board's snapshot of the
// classroom screen, written with libpng's simplified API.
#ifndef CLASSBOX_CPNG_SHIM_H
#define CLASSBOX_CPNG_SHIM_H
#include <string.h>
#include <png.h>

/* Writes a picture in DRM XRGB8888 memory order (B, G, R, X bytes) as an 8-bit PNG. The
   simplified API has no "ignore the fourth byte" format, so it is written as BGRA: the caller
   keeps X at 0xFF (opaque), as libyuv's conversions and fills do. `stride` in bytes (one byte
   per component). Returns 0 on success. */
static inline int classbox_png_write_bgra(const char *path, const void *pixels, unsigned width, unsigned height, int stride) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = PNG_FORMAT_BGRA;
    if (!png_image_write_to_file(&image, path, 0, pixels, stride, NULL)) return 1;
    return 0;
}
#endif
