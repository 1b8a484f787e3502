package httpx

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestSecureAndPublicBase(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	cases := []struct {
		name    string
		remote  string
		proto   string
		tls     bool
		trusted []netip.Prefix
		want    bool
	}{
		{"plain", "10.1.2.3:5000", "", false, trusted, false},
		{"tls", "192.0.2.1:5000", "", true, nil, true},
		{"trusted proxy says https", "10.1.2.3:5000", "HTTPS", false, trusted, true},
		{"mapped address of trusted proxy", "[::ffff:10.1.2.3]:5000", "https", false, trusted, true},
		{"ipv6 trusted proxy", "[::1]:5000", "https", false, trusted, true},
		{"untrusted peer says https", "192.0.2.1:5000", "https", false, trusted, false},
		{"no proxies trusted", "10.1.2.3:5000", "https", false, nil, false},
		{"proxy says http", "10.1.2.3:5000", "http", false, trusted, false},
		{"peer without port", "10.1.2.3", "https", false, trusted, true},
		{"peer not an address", "@unix", "https", false, trusted, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "http://files.example/x", nil)
			r.RemoteAddr = c.remote
			if c.proto != "" {
				r.Header.Set("X-Forwarded-Proto", c.proto)
			}
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := Secure(r, c.trusted); got != c.want {
				t.Errorf("Secure = %v, want %v", got, c.want)
			}
			want := "http://files.example"
			if c.want {
				want = "https://files.example"
			}
			if got := PublicBase("", r, c.trusted); got != want {
				t.Errorf("PublicBase = %q, want %q", got, want)
			}
			if got := PublicBase("https://cdn.example//", r, c.trusted); got != "https://cdn.example" {
				t.Errorf("configured PublicBase = %q", got)
			}
		})
	}
}

func TestRemoteIP(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[::ffff:127.0.0.1]:80"
	if ip, ok := RemoteIP(r); !ok || ip != netip.MustParseAddr("127.0.0.1") || !ip.IsLoopback() {
		t.Errorf("RemoteIP = %v %v", ip, ok)
	}
	r.RemoteAddr = "pipe"
	if _, ok := RemoteIP(r); ok {
		t.Error("RemoteIP of a non-address reported ok")
	}
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"203.0.113.7:1234", nil, "203.0.113.7"},
		// An untrusted peer's header is ignored.
		{"203.0.113.7:1234", []string{"198.51.100.1"}, "203.0.113.7"},
		// Through a trusted proxy: the client it saw.
		{"10.0.0.2:80", []string{"198.51.100.1"}, "198.51.100.1"},
		// A made-up entry left of the real client does not count.
		{"10.0.0.2:80", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		// Two trusted proxies, several header lines.
		{"10.0.0.2:80", []string{"1.2.3.4", "198.51.100.1, 10.0.0.3"}, "198.51.100.1"},
		// An unreadable entry: the last trusted hop stands.
		{"10.0.0.2:80", []string{"198.51.100.1, junk, 10.0.0.3"}, "10.0.0.3"},
		{"10.0.0.2:80", nil, "10.0.0.2"},
		{"10.0.0.2:80", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if ip, ok := ClientIP(r, trusted); !ok || ip != netip.MustParseAddr(c.want) {
			t.Errorf("ClientIP(%s, %q) = %v %v, want %s", c.remote, c.xff, ip, ok, c.want)
		}
	}
}

func TestAddrKey(t *testing.T) {
	for _, c := range []struct{ ip, want string }{
		{"198.51.100.7", "198.51.100.7/32"},
		{"::ffff:198.51.100.7", "198.51.100.7/32"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"},
	} {
		if got := AddrKey(netip.MustParseAddr(c.ip)); got.String() != c.want {
			t.Errorf("AddrKey(%s) = %s, want %s", c.ip, got, c.want)
		}
	}
}
