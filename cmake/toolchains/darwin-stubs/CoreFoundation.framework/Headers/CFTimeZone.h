/* SPDX-License-Identifier: BSD-3-Clause */
/* Stub of the few CoreFoundation declarations Abseil's cctz uses to read the
 * default time zone (workaround W3 in shared/reference/cross-targets.md).
 * Zig ships no macOS SDK frameworks; this lets gort compile and link for macOS
 * here. The signatures and constants match Apple's public headers. */
#ifndef GORT_STUB_CFTIMEZONE_H_
#define GORT_STUB_CFTIMEZONE_H_
#ifdef __cplusplus
extern "C" {
#endif
typedef const void* CFTypeRef;
typedef const struct __CFString* CFStringRef;
typedef const struct __CFTimeZone* CFTimeZoneRef;
typedef long CFIndex;
typedef unsigned int CFStringEncoding;
typedef unsigned char Boolean;
enum { kCFStringEncodingUTF8 = 0x08000100 };
CFTimeZoneRef CFTimeZoneCopyDefault(void);
CFStringRef CFTimeZoneGetName(CFTimeZoneRef tz);
CFIndex CFStringGetLength(CFStringRef s);
CFIndex CFStringGetMaximumSizeForEncoding(CFIndex length, CFStringEncoding e);
Boolean CFStringGetCString(CFStringRef s, char* buffer, CFIndex size,
                           CFStringEncoding e);
void CFRelease(CFTypeRef cf);
#ifdef __cplusplus
}
#endif
#endif
