// Package httpx holds the HTTP request helpers the API surfaces share: who
// the client is and how it reached the server, given the proxies the
// operator trusts.
package httpx

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// RemoteIP is the address of the peer of r's connection (not of any client
// behind a proxy), IPv4-mapped addresses unmapped. It reports false when
// r.RemoteAddr is not an address.
func RemoteIP(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

// ClientIP is the address of the client: the peer of r's connection or,
// when that peer is a trusted proxy, the nearest address in
// X-Forwarded-For that is not a trusted proxy (each proxy appends the
// address it was reached from, so the entries right of it are proxies we
// trust and the rest may be made up). It reports false when r.RemoteAddr
// is not an address.
func ClientIP(r *http.Request, trusted []netip.Prefix) (netip.Addr, bool) {
	ip, ok := RemoteIP(r)
	if !ok || !isTrusted(ip, trusted) {
		return ip, ok
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // unreadable: the last address we could trust stands
		}
		ip = hop.Unmap()
		if !isTrusted(ip, trusted) {
			break
		}
	}
	return ip, true
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Secure reports whether the client reached us over TLS, directly or through
// a trusted proxy that says so in X-Forwarded-Proto.
func Secure(r *http.Request, trusted []netip.Prefix) bool {
	if r.TLS != nil {
		return true
	}
	if len(trusted) == 0 || !strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		return false
	}
	ip, ok := RemoteIP(r)
	return ok && isTrusted(ip, trusted)
}

// PublicBase is the configured public URL (without trailing slashes), or one
// derived from the request: its Host, and https when the connection is TLS or
// a trusted proxy says so.
func PublicBase(configured string, r *http.Request, trusted []netip.Prefix) string {
	if configured != "" {
		return strings.TrimRight(configured, "/")
	}
	scheme := "http"
	if Secure(r, trusted) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// AddrKey is the block a per-client limit counts an address in: an IPv4
// address alone (/32), an IPv6 one by its /64, the block one subscriber
// usually holds whole. IPv4-mapped IPv6 addresses count as IPv4.
func AddrKey(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	if ip.Is4() {
		return netip.PrefixFrom(ip, 32)
	}
	p, _ := ip.Prefix(64)
	return p
}
