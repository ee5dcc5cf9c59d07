// FreeType 2 (Debian libfreetype-dev, pkg-config freetype2): glyphs of a TrueType font rendered
// to 8-bit coverage for the classroom screen's text.
#ifndef CLASSBOX_CFREETYPE_SHIM_H
#define CLASSBOX_CFREETYPE_SHIM_H
#include <ft2build.h>
#include FT_FREETYPE_H

/* FT_LOAD_* are macros with casts that Swift does not import: rendered to 8-bit coverage,
   hinted lightly (vertical only), as screen text at TV distance wants it. */
static inline FT_Int32 classbox_ft_load_render_light(void) { return FT_LOAD_RENDER | FT_LOAD_TARGET_LIGHT; }
static inline int classbox_ft_pixel_mode_gray(void) { return FT_PIXEL_MODE_GRAY; }
#endif
