/* SPDX-License-Identifier: BSD-3-Clause */
/* Stub umbrella header; see CFTimeZone.h. */
#include <CoreFoundation/CFTimeZone.h>
