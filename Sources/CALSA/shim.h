// alsa-lib imports as is (the *_alloca macros are avoided in favour of *_malloc).
#ifndef CLASSBOX_CALSA_SHIM_H
#define CLASSBOX_CALSA_SHIM_H
#include <alsa/asoundlib.h>
#endif
