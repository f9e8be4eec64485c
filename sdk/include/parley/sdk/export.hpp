// Everything is built with -fvisibility=hidden; SDK types that cross the core/plugin boundary are
// exported so that their vtables and type_info are one and the same on both sides.
#pragma once

#define PARLEY_SDK_API __attribute__((visibility("default")))
