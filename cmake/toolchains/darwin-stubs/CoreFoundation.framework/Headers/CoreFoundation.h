/* Stub umbrella header; see CFTimeZone.h. */
#include <CoreFoundation/CFTimeZone.h>
