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
/* Reads an 8-bit PNG into `pixels` (width × height × 4 bytes) as B, G, R, A bytes: the stored
   reference images the tests compare the composed screen with. Returns 0 on success, 1 when
   the file cannot be read, 2 when its size is not width × height. */
static inline int classbox_png_read_bgra(const char *path, void *pixels, unsigned width, unsigned height) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&image, path)) return 1;
    if (image.width != width || image.height != height) {
        png_image_free(&image);
        return 2;
    }
    image.format = PNG_FORMAT_BGRA;
    if (!png_image_finish_read(&image, NULL, pixels, (png_int_32)(width * 4), NULL)) return 1;
    return 0;
}
#endif
