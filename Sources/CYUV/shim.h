// libyuv (Debian libyuv-dev; no pkg-config file): its C API for scaling planar pictures.
#ifndef CLASSBOX_CYUV_SHIM_H
#define CLASSBOX_CYUV_SHIM_H
#include <libyuv/scale.h>
#endif
