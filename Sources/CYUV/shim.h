// libyuv (Debian libyuv-dev; no pkg-config file): its C API for scaling planar pictures, converting
// them to XRGB and filling rectangles (the camera for the bridge, the classroom screen).
#ifndef CLASSBOX_CYUV_SHIM_H
#define CLASSBOX_CYUV_SHIM_H
#include <libyuv/scale.h>
#include <libyuv/convert_argb.h>
#include <libyuv/planar_functions.h>
#endif
