// SPDX-License-Identifier: BSD-3-Clause

package gort

/*
#cgo windows LDFLAGS: -lws2_32
#include <stdint.h>
#include <string.h>
#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>
#else
#include <netinet/in.h>
#include <sys/socket.h>
#endif

// The OS's sockaddr_in / sockaddr_in6 (BSDs have sin_len): written into
// C memory, since gort may use an address after the call returns
// (Windows' ConnectEx, AcceptEx). Returns its length, 0 for a bad family.
static uint32_t gortgo_sockaddr(void* out, int family, const uint8_t* ip,
                                int port, uint32_t zone) {
  if (family == AF_INET) {
    struct sockaddr_in* sa = (struct sockaddr_in*)out;
    memset(sa, 0, sizeof *sa);
#ifdef __APPLE__
    sa->sin_len = sizeof *sa;
#endif
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    memcpy(&sa->sin_addr, ip, 4);
    return sizeof *sa;
  }
  if (family == AF_INET6) {
    struct sockaddr_in6* sa = (struct sockaddr_in6*)out;
    memset(sa, 0, sizeof *sa);
#ifdef __APPLE__
    sa->sin6_len = sizeof *sa;
#endif
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons((uint16_t)port);
    memcpy(&sa->sin6_addr, ip, 16);
    sa->sin6_scope_id = zone;
    return sizeof *sa;
  }
  return 0;
}

// Reads an address back: its family (0 if not IPv4 or IPv6), its IP in
// ip[0..16) (4 bytes for IPv4), its port and zone.
static int gortgo_sockaddr_parse(const void* in, uint32_t len, uint8_t* ip,
                                 int* port, uint32_t* zone) {
  const struct sockaddr* sa = (const struct sockaddr*)in;
  if (len >= sizeof(struct sockaddr_in) && sa->sa_family == AF_INET) {
    const struct sockaddr_in* s4 = (const struct sockaddr_in*)in;
    memcpy(ip, &s4->sin_addr, 4);
    *port = ntohs(s4->sin_port);
    *zone = 0;
    return AF_INET;
  }
  if (len >= sizeof(struct sockaddr_in6) && sa->sa_family == AF_INET6) {
    const struct sockaddr_in6* s6 = (const struct sockaddr_in6*)in;
    memcpy(ip, &s6->sin6_addr, 16);
    *port = ntohs(s6->sin6_port);
    *zone = s6->sin6_scope_id;
    return AF_INET6;
  }
  return 0;
}
*/
import "C"

import (
	"net"
	"strconv"
	"unsafe"
)

// Socket address constants of the OS gort was built for.
const (
	AF_INET      = int(C.AF_INET)
	AF_INET6     = int(C.AF_INET6)
	SOCK_STREAM  = int(C.SOCK_STREAM)
	SOCK_DGRAM   = int(C.SOCK_DGRAM)
	SOL_SOCKET   = int(C.SOL_SOCKET)
	SO_REUSEADDR = int(C.SO_REUSEADDR)
	IPPROTO_TCP  = int(C.IPPROTO_TCP)
	SOMAXCONN    = int(C.SOMAXCONN)
)

// maxAddr is gort's largest address (gort.h: 1 to 128 bytes).
const maxAddr = 128

// putTCPAddr writes a's sockaddr to out (maxAddr bytes of C memory) and
// returns its family and length; 0, 0 for an address that is neither IPv4
// nor IPv6.
func putTCPAddr(out unsafe.Pointer, a *net.TCPAddr) (family int, n C.uint32_t) {
	var ip [16]C.uint8_t
	family = AF_INET6
	src := a.IP.To16()
	if ip4 := a.IP.To4(); ip4 != nil || a.IP == nil {
		family, src = AF_INET, ip4
		if a.IP == nil {
			src = net.IPv4zero.To4()
		}
	}
	if src == nil {
		return 0, 0
	}
	for i, b := range src {
		ip[i] = C.uint8_t(b)
	}
	zone := uint32(0)
	if a.Zone != "" {
		if ifi, err := net.InterfaceByName(a.Zone); err == nil {
			zone = uint32(ifi.Index)
		} else if z, err := strconv.Atoi(a.Zone); err == nil {
			zone = uint32(z)
		}
	}
	n = C.gortgo_sockaddr(out, C.int(family), &ip[0], C.int(a.Port), C.uint32_t(zone))
	return family, n
}

// tcpAddr reads a sockaddr of n bytes at in (nil if it is no IP address).
func tcpAddr(in unsafe.Pointer, n C.uint32_t) *net.TCPAddr {
	var ip [16]C.uint8_t
	var port C.int
	var zone C.uint32_t
	fam := C.gortgo_sockaddr_parse(in, n, &ip[0], &port, &zone)
	size := 0
	switch int(fam) {
	case AF_INET:
		size = 4
	case AF_INET6:
		size = 16
	default:
		return nil
	}
	a := &net.TCPAddr{IP: make(net.IP, size), Port: int(port)}
	for i := range a.IP {
		a.IP[i] = byte(ip[i])
	}
	if zone != 0 {
		a.Zone = strconv.Itoa(int(zone))
	}
	return a
}
