package fetch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// errCode returns the Code of the *Error in err's chain, or "" when there is none.
func errCode(err error) string {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return ""
}

func wantCode(t *testing.T, err error, code string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", code)
	}
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("got %T %v, want *Error %s", err, err, code)
	}
	if fe.Code != code {
		t.Fatalf("got code %s (%v), want %s", fe.Code, err, code)
	}
	return fe
}

// server is an httptest server that counts the requests it receives.
type server struct {
	*httptest.Server
	hits atomic.Int64
}

// serve starts a server listening on addr ("127.0.0.1:0" and the like).
func serve(t *testing.T, addr string, h http.HandlerFunc) *server {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s := &server{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func port(t *testing.T, s *server) string {
	t.Helper()
	_, p, err := net.SplitHostPort(s.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func text(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, body)
	}
}

func TestIsForbidden(t *testing.T) {
	tests := []struct {
		ip        string
		forbidden bool
	}{
		// public
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"93.184.216.34", false},
		{"100.63.255.255", false},
		{"100.128.0.0", false},
		{"172.15.255.255", false},
		{"172.32.0.0", false},
		{"192.0.3.1", false},
		{"198.17.255.255", false},
		{"198.20.0.0", false},
		{"223.255.255.255", false},
		{"2606:4700::1", false},
		{"2001:4860:4860::8888", false},
		{"2a00:1450:4001::200e", false},
		{"::ffff:8.8.8.8", false},
		{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
		{"2002:808:808::1", false},  // 6to4 of 8.8.8.8
		// loopback
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"::1", true},
		// private
		{"10.0.0.1", true},
		{"10.255.255.255", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.168.1.1", true},
		{"fc00::1", true},
		{"fd12:3456:789a::1", true},
		// link-local
		{"169.254.169.254", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"febf::1", true},
		// CGNAT
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		// unspecified, "this network"
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"::", true},
		// multicast, broadcast, reserved
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"ff02::1", true},
		{"ff0e::1", true},
		{"255.255.255.255", true},
		{"240.0.0.1", true},
		{"250.1.2.3", true},
		// special-purpose, documentation, benchmarking
		{"192.0.0.1", true},
		{"192.0.0.170", true},
		{"192.0.2.1", true},
		{"192.88.99.1", true},
		{"198.18.0.1", true},
		{"198.19.255.255", true},
		{"198.51.100.7", true},
		{"203.0.113.9", true},
		{"2001:db8::1", true},
		{"3fff::1", true},
		{"2001::1", true},      // Teredo
		{"2001:2::1", true},    // benchmarking
		{"2001:10::1", true},   // ORCHID
		{"100::1", true},       // discard-only
		{"fec0::1", true},      // deprecated site-local
		{"64:ff9b:1::1", true}, // local-use NAT64
		// IPv4 embedded in IPv6
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:0.0.0.0", true},
		{"::127.0.0.1", true}, // IPv4-compatible, deprecated
		{"::8.8.8.8", true},   // IPv4-compatible, deprecated
		{"2002:7f00:1::1", true},
		{"2002:a00:1::", true},
		{"2002:a9fe:a9fe::1", true},
		{"64:ff9b::7f00:1", true},
		{"64:ff9b::a00:1", true},
		{"64:ff9b::c0a8:101", true},
	}
	for _, tt := range tests {
		ip, err := netip.ParseAddr(tt.ip)
		if err != nil {
			t.Fatalf("ParseAddr(%q): %v", tt.ip, err)
		}
		if got := IsForbidden(ip); got != tt.forbidden {
			t.Errorf("IsForbidden(%s) = %v, want %v", tt.ip, got, tt.forbidden)
		}
	}
	if !IsForbidden(netip.Addr{}) {
		t.Error("IsForbidden(zero Addr) = false, want true")
	}
}

func TestParseLegacyIPv4(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" when invalid
	}{
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"0x7f.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"0x7F.0.0.0x1", "127.0.0.1"},
		{"10.0x10000", "10.1.0.0"},
		{"192.168.0x101", "192.168.1.1"},
		{"134744072", "8.8.8.8"},
		{"0", "0.0.0.0"},
		{"0x", "0.0.0.0"},
		{"1.2.3.4.", "1.2.3.4"},
		{"4294967296", ""},
		{"256.1.1.1", ""},
		{"1.2.3.256", ""},
		{"1.2.65536", ""},
		{"08.1.1.1", ""},
		{"1.2.3.4.5", ""},
		{"1..2", ""},
		{"0xg", ""},
	}
	for _, tt := range tests {
		got, ok := parseLegacyIPv4(tt.in)
		switch {
		case tt.want == "" && ok:
			t.Errorf("parseLegacyIPv4(%q) = %v, want invalid", tt.in, got)
		case tt.want != "" && (!ok || got.String() != tt.want):
			t.Errorf("parseLegacyIPv4(%q) = %v, %v, want %s", tt.in, got, ok, tt.want)
		}
	}
}

func TestToASCII(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example.com", "example.com"},
		{"münchen.de", "xn--mnchen-3ya.de"},
		{"MÜNCHEN.de", "xn--mnchen-3ya.de"},
		{"bücher.example", "xn--bcher-kva.example"},
		{"пример.рф", "xn--e1afmkfd.xn--p1ai"},
		{"例え.テスト", "xn--r8jz45g.xn--zckzah"},
	}
	for _, tt := range tests {
		got, err := toASCII(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("toASCII(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}

// stubLookup resolves from a fixed table; names not in it do not exist.
func stubLookup(table map[string][]string) func(context.Context, string) ([]netip.Addr, error) {
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ss, ok := table[host]
		if !ok {
			return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
		}
		var addrs []netip.Addr
		for _, s := range ss {
			addrs = append(addrs, netip.MustParseAddr(s))
		}
		return addrs, nil
	}
}

func TestValidate(t *testing.T) {
	table := map[string][]string{
		"example.com":           {"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"},
		"localhost":             {"127.0.0.1", "::1"},
		"internal.test":         {"10.0.0.5"},
		"metadata.test":         {"169.254.169.254"},
		"mapped.test":           {"::ffff:127.0.0.1"},
		"mixed.test":            {"10.0.0.1", "1.1.1.1"},
		"empty.test":            {},
		"xn--mnchen-3ya.test":   {"8.8.4.4"},
		"under_score.example":   {"8.8.8.8"},
		"trailing-dot.example.": {"8.8.8.8"},
	}
	tests := []struct {
		raw  string
		code string // "" for success
	}{
		{"https://example.com/a.jpg", ""},
		{"  https://example.com/a.jpg\n", ""},
		{"HTTP://EXAMPLE.COM/a.jpg", ""},
		{"http://example.com:8080/a.jpg", ""},
		{"http://example.com:1/", ""},
		{"http://example.com:65535/", ""},
		{"http://user:pass@example.com/a", ""},
		{"http://8.8.8.8/a.png", ""},
		{"http://[2606:4700::1]:8443/x", ""},
		{"http://mixed.test/", ""},
		{"http://münchen.test/", ""},
		{"http://under_score.example/", ""},
		{"http://trailing-dot.example./", ""},

		{"http://%41/", CodeURLParsingFailed},
		{"http://exa mple.com/", CodeURLParsingFailed},
		{"http://[::1/", CodeURLParsingFailed},
		{"http://example.com:port/", CodeURLParsingFailed},
		{":", CodeURLParsingFailed},

		{"example.com/a.jpg", CodeURLSchemeRequired},
		{"//example.com/a.jpg", CodeURLSchemeRequired},
		{"/a.jpg", CodeURLSchemeRequired},

		{"ftp://example.com/a.jpg", CodeURLSchemeInvalid},
		{"file:///etc/passwd", CodeURLSchemeInvalid},
		{"gopher://example.com/", CodeURLSchemeInvalid},
		{"javascript:alert(1)", CodeURLSchemeInvalid},
		{"localhost:8080/a.jpg", CodeURLSchemeInvalid},

		{"http:///a.jpg", CodeURLHostRequired},
		{"http:example.com", CodeURLHostRequired},
		{"https://:443/", CodeURLHostRequired},

		{"http://a..b/", CodeURLHostMalformed},
		{"http://ex!ample.com/", CodeURLHostMalformed},
		{"http://example.com:0/", CodeURLHostMalformed},
		{"http://example.com:99999/", CodeURLHostMalformed},
		{"http://" + strings.Repeat("a", 64) + ".com/", CodeURLHostMalformed},
		{"http://1.2.3.4.5/", CodeURLHostMalformed},
		{"http://08.8.8.8/", CodeURLHostMalformed},
		{"http://134744072/", CodeURLHostMalformed}, // 8.8.8.8, non-canonical
		{"http://example.123/", CodeURLHostMalformed},

		{"http://127.0.0.1/", CodeURLHostPrivateIPForbidden},
		{"http://127.0.0.1:8080/a.jpg", CodeURLHostPrivateIPForbidden},
		{"http://[::1]/", CodeURLHostPrivateIPForbidden},
		{"http://[::ffff:127.0.0.1]/", CodeURLHostPrivateIPForbidden},
		{"http://[::ffff:7f00:1]/", CodeURLHostPrivateIPForbidden},
		{"http://[64:ff9b::a9fe:a9fe]/", CodeURLHostPrivateIPForbidden},
		{"http://[fe80::1%25eth0]/", CodeURLHostPrivateIPForbidden},
		{"http://10.1.2.3/", CodeURLHostPrivateIPForbidden},
		{"http://169.254.169.254/latest/meta-data/", CodeURLHostPrivateIPForbidden},
		{"http://0.0.0.0/", CodeURLHostPrivateIPForbidden},
		{"http://2130706433/", CodeURLHostPrivateIPForbidden},
		{"http://0x7f.1/", CodeURLHostPrivateIPForbidden},
		{"http://0177.0.0.1/", CodeURLHostPrivateIPForbidden},
		{"http://127.1/", CodeURLHostPrivateIPForbidden},
		{"http://0/", CodeURLHostPrivateIPForbidden},
		{"http://localhost/", CodeURLHostPrivateIPForbidden},
		{"http://internal.test/", CodeURLHostPrivateIPForbidden},
		{"http://metadata.test/", CodeURLHostPrivateIPForbidden},
		{"http://mapped.test/", CodeURLHostPrivateIPForbidden},

		{"http://nope.test/", CodeHostnameNotFound},
		{"http://empty.test/", CodeHostnameNotFound},
	}
	c := New(Options{})
	c.lookup = stubLookup(table)
	for _, tt := range tests {
		u, err := c.Validate(context.Background(), tt.raw)
		if tt.code == "" {
			if err != nil {
				t.Errorf("Validate(%q): %v", tt.raw, err)
			} else if u == nil || u.Host == "" {
				t.Errorf("Validate(%q) = %v, want a URL with a host", tt.raw, u)
			}
			continue
		}
		if got := errCode(err); got != tt.code {
			t.Errorf("Validate(%q) = %v, want %s", tt.raw, err, tt.code)
		}
	}
}

func TestValidateMessages(t *testing.T) {
	c := New(Options{})
	c.lookup = stubLookup(map[string][]string{"lo.test": {"127.0.0.1"}})
	tests := []struct{ raw, code, msg string }{
		{"http://%41/", CodeURLParsingFailed, "Failed to parse URL."},
		{"example.com", CodeURLSchemeRequired, "No URL scheme supplied."},
		{"ftp://example.com", CodeURLSchemeInvalid, "Invalid URL scheme."},
		{"http:///x", CodeURLHostRequired, "No URL host supplied."},
		{"http://a..b/", CodeURLHostMalformed, "URL host is malformed."},
		{"http://127.0.0.1/", CodeURLHostPrivateIPForbidden, "Only public IPs are allowed."},
		{"http://lo.test/", CodeURLHostPrivateIPForbidden, "Only public IPs are allowed."},
		{"http://nope.test/", CodeHostnameNotFound, "Host does not exist."},
	}
	for _, tt := range tests {
		_, err := c.Validate(context.Background(), tt.raw)
		fe := wantCode(t, err, tt.code)
		if fe.Message != tt.msg {
			t.Errorf("Validate(%q) message %q, want %q", tt.raw, fe.Message, tt.msg)
		}
	}
}

func TestValidateAllowPrivate(t *testing.T) {
	c := New(Options{AllowPrivate: true})
	c.lookup = stubLookup(map[string][]string{"localhost": {"127.0.0.1"}})
	for _, raw := range []string{"http://127.0.0.1:8080/", "http://[::1]/", "http://10.0.0.1/", "http://localhost/"} {
		if _, err := c.Validate(context.Background(), raw); err != nil {
			t.Errorf("Validate(%q) with AllowPrivate: %v", raw, err)
		}
	}
	// Odd spellings stay malformed, whatever they mean.
	if _, err := c.Validate(context.Background(), "http://2130706433/"); errCode(err) != CodeURLHostMalformed {
		t.Errorf("Validate(2130706433) with AllowPrivate = %v, want %s", err, CodeURLHostMalformed)
	}
	if _, err := c.Validate(context.Background(), "http://nope.test/"); errCode(err) != CodeHostnameNotFound {
		t.Errorf("Validate(nope.test) with AllowPrivate = %v, want %s", err, CodeHostnameNotFound)
	}
}

func TestValidateSystemResolver(t *testing.T) {
	if _, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", "localhost"); err != nil {
		t.Skipf("localhost does not resolve here: %v", err)
	}
	c := New(Options{})
	_, err := c.Validate(context.Background(), "http://localhost/a.jpg")
	wantCode(t, err, CodeURLHostPrivateIPForbidden)
}

func TestValidateCanceled(t *testing.T) {
	c := New(Options{})
	c.lookup = stubLookup(map[string][]string{"example.com": {"93.184.216.34"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Validate(ctx, "http://example.com/")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Validate with canceled ctx = %v, want context.Canceled", err)
	}
}

func TestOpenLoopback(t *testing.T) {
	s := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("X-UA", r.Header.Get("User-Agent"))
		io.WriteString(w, "PNG bytes")
	})
	p := port(t, s)

	t.Run("refused", func(t *testing.T) {
		c := New(Options{})
		for _, raw := range []string{
			s.URL + "/a.png",                            // literal IP, refused up front
			"http://localhost:" + p + "/a.png",          // a name: refused at dial time
			"http://[::ffff:127.0.0.1]:" + p + "/a.png", // mapped
		} {
			_, err := c.Open(context.Background(), mustURL(t, raw))
			fe := wantCode(t, err, CodeURLHostPrivateIPForbidden)
			if fe.Message != "Only public IPs are allowed." {
				t.Errorf("message %q", fe.Message)
			}
		}
		if n := s.hits.Load(); n != 0 {
			t.Fatalf("server received %d requests, want 0", n)
		}
	})

	t.Run("dial-time check", func(t *testing.T) {
		c := New(Options{})
		_, err := c.Open(context.Background(), mustURL(t, "http://localhost:"+p+"/a.png"))
		var fd *forbiddenDialError
		if !errors.As(err, &fd) || !fd.addr.Unmap().IsLoopback() {
			t.Fatalf("Open(localhost) = %v, want a dial-time refusal of a loopback address", err)
		}
	})

	t.Run("allowed", func(t *testing.T) {
		c := New(Options{AllowPrivate: true, UserAgent: "test-agent/1"})
		resp, err := c.Open(context.Background(), mustURL(t, s.URL+"/dir/a.png?x=1"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != "PNG bytes" || resp.Size != 9 || resp.ContentType != "image/png" ||
			resp.Filename != "a.png" || resp.FinalURL != s.URL+"/dir/a.png?x=1" {
			t.Fatalf("got body %q size %d type %q name %q final %q", b, resp.Size, resp.ContentType, resp.Filename, resp.FinalURL)
		}
	})

	t.Run("user agent", func(t *testing.T) {
		var ua string
		s2 := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) { ua = r.Header.Get("User-Agent") })
		for _, tt := range []struct{ opt, want string }{{"", "Satchel"}, {"agent/2", "agent/2"}} {
			resp, err := New(Options{AllowPrivate: true, UserAgent: tt.opt}).Open(context.Background(), mustURL(t, s2.URL))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if ua != tt.want {
				t.Errorf("User-Agent %q, want %q", ua, tt.want)
			}
		}
	})
}

// TestDialerRefuses checks the dial-time control directly: whatever a name or
// spelling resolves to, a connection to a forbidden address is not made.
func TestDialerRefuses(t *testing.T) {
	s := serve(t, "127.0.0.1:0", text("secret"))
	p := port(t, s)
	c := New(Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, addr := range []string{"127.0.0.1", "[::ffff:127.0.0.1]", "localhost"} {
		conn, err := c.transport.DialContext(ctx, "tcp", addr+":"+p)
		if err == nil {
			conn.Close()
			t.Fatalf("dial %s: connected, want refusal", addr)
		}
		var fd *forbiddenDialError
		if !errors.As(err, &fd) {
			t.Errorf("dial %s: %v, want a forbiddenDialError", addr, err)
		}
	}
	// Numeric spellings resolve to loopback with some resolvers and to
	// nothing with others; either way no connection may be made.
	for _, host := range []string{"2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0x7f000001"} {
		conn, err := c.transport.DialContext(ctx, "tcp", host+":"+p)
		if err == nil {
			conn.Close()
			t.Fatalf("dial %s: connected, want refusal", host)
		}
		_, err = c.Open(ctx, mustURL(t, "http://"+host+":"+p+"/"))
		wantCode(t, err, CodeURLHostPrivateIPForbidden)
		_, err = c.HTTPClient().Get("http://" + host + ":" + p + "/")
		wantCode(t, err, CodeURLHostPrivateIPForbidden)
	}
	if n := s.hits.Load(); n != 0 {
		t.Fatalf("server received %d requests, want 0", n)
	}
}

func TestRedirects(t *testing.T) {
	// Target servers that must never be reached.
	forbidden := serve(t, "127.0.0.2:0", text("internal"))
	forbiddenPort := port(t, forbidden)

	origin := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/to-forbidden":
			http.Redirect(w, r, forbidden.URL+"/x", http.StatusFound)
		case "/to-forbidden-hex":
			http.Redirect(w, r, "http://0x7f.0.0.2:"+forbiddenPort+"/x", http.StatusMovedPermanently)
		case "/to-forbidden-mapped":
			http.Redirect(w, r, "http://[::ffff:127.0.0.2]:"+forbiddenPort+"/x", http.StatusTemporaryRedirect)
		case "/to-ftp":
			http.Redirect(w, r, "ftp://127.0.0.1/x", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		case "/to-ok":
			http.Redirect(w, r, "/files/final%20name.txt", http.StatusSeeOther)
		case "/files/final name.txt":
			io.WriteString(w, "final")
		default:
			http.NotFound(w, r)
		}
	})

	c := New(Options{})
	c.forbidden = func(ip netip.Addr) bool { return ip.Unmap() == netip.MustParseAddr("127.0.0.2") }

	tests := []struct{ path, code string }{
		{"/to-forbidden", CodeURLHostPrivateIPForbidden},
		{"/to-forbidden-hex", CodeURLHostPrivateIPForbidden},
		{"/to-forbidden-mapped", CodeURLHostPrivateIPForbidden},
		{"/to-ftp", CodeURLSchemeInvalid},
		{"/to-file", CodeURLSchemeInvalid},
	}
	for _, tt := range tests {
		_, err := c.Open(context.Background(), mustURL(t, origin.URL+tt.path))
		wantCode(t, err, tt.code)
	}
	if n := forbidden.hits.Load(); n != 0 {
		t.Fatalf("forbidden server received %d requests, want 0", n)
	}

	// An allowed redirect is followed; the final URL names the file.
	resp, err := c.Open(context.Background(), mustURL(t, origin.URL+"/to-ok"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "final" || resp.FinalURL != origin.URL+"/files/final%20name.txt" || resp.Filename != "final name.txt" {
		t.Fatalf("got %q final %q name %q", b, resp.FinalURL, resp.Filename)
	}

	// The same holds for the webhook client.
	_, err = c.HTTPClient().Post(origin.URL+"/to-forbidden", "application/json", strings.NewReader("{}"))
	wantCode(t, err, CodeURLHostPrivateIPForbidden)
	if n := forbidden.hits.Load(); n != 0 {
		t.Fatalf("forbidden server received %d requests, want 0", n)
	}
}

// TestRedirectDialTime redirects to a host name that passes the URL checks
// and is only caught when its address is dialed.
func TestRedirectDialTime(t *testing.T) {
	internal := serve(t, "127.0.0.1:0", text("internal"))
	origin := serve(t, "127.0.0.2:0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://localhost:"+port(t, internal)+"/", http.StatusFound)
	})
	c := New(Options{})
	c.forbidden = func(ip netip.Addr) bool {
		ip = ip.Unmap()
		return ip == netip.MustParseAddr("127.0.0.1") || ip == netip.IPv6Loopback()
	}
	_, err := c.Open(context.Background(), mustURL(t, origin.URL+"/"))
	wantCode(t, err, CodeURLHostPrivateIPForbidden)
	var fd *forbiddenDialError
	if !errors.As(err, &fd) {
		t.Fatalf("got %v, want a dial-time refusal", err)
	}
	if origin.hits.Load() != 1 || internal.hits.Load() != 0 {
		t.Fatalf("origin hits %d, internal hits %d; want 1 and 0", origin.hits.Load(), internal.hits.Load())
	}
}

func TestRedirectLimit(t *testing.T) {
	// /hop/N redirects to /hop/N-1; /hop/0 serves the file.
	s := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/hop/"))
		if err != nil {
			http.Redirect(w, r, r.URL.Path, http.StatusFound) // loops forever
			return
		}
		if n == 0 {
			io.WriteString(w, "done")
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
	})
	tests := []struct {
		max  int
		hops string
		ok   bool
	}{
		{3, "3", true},
		{3, "4", false},
		{-1, "0", true},
		{-1, "1", false},
		{0, "10", true}, // default 10
		{0, "11", false},
		{0, "loop", false},
	}
	for _, tt := range tests {
		c := New(Options{AllowPrivate: true, MaxRedirects: tt.max})
		before := s.hits.Load()
		resp, err := c.Open(context.Background(), mustURL(t, s.URL+"/hop/"+tt.hops))
		if tt.ok {
			if err != nil {
				t.Errorf("max %d, %s hops: %v", tt.max, tt.hops, err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(b) != "done" {
				t.Errorf("max %d, %s hops: body %q", tt.max, tt.hops, b)
			}
			continue
		}
		fe := wantCode(t, err, CodeURLRedirectsLimitExceeded)
		if fe.Message != "Too many redirects." {
			t.Errorf("message %q", fe.Message)
		}
		limit := tt.max
		if limit == 0 {
			limit = 10
		} else if limit < 0 {
			limit = 0
		}
		if got := s.hits.Load() - before; got != int64(limit)+1 {
			t.Errorf("max %d, %s hops: %d requests made, want %d", tt.max, tt.hops, got, limit+1)
		}
	}
}

func TestHTTPStatus(t *testing.T) {
	s := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		w.WriteHeader(code)
		io.WriteString(w, "error page")
	})
	tests := []struct {
		status int
		code   string
		msg    string
	}{
		{200, "", ""},
		{201, "", ""},
		{206, "", ""},
		{400, CodeDownloadFileHTTPClientError, "HTTP client error: 400."},
		{403, CodeDownloadFileHTTPClientError, "HTTP client error: 403."},
		{404, CodeDownloadFileHTTPClientError, "HTTP client error: 404."},
		{410, CodeDownloadFileHTTPClientError, "HTTP client error: 410."},
		{429, CodeDownloadFileHTTPClientError, "HTTP client error: 429."},
		{304, CodeDownloadFileHTTPClientError, "HTTP client error: 304."},
		{500, CodeDownloadFileHTTPServerError, "HTTP server error: 500."},
		{502, CodeDownloadFileHTTPServerError, "HTTP server error: 502."},
		{503, CodeDownloadFileHTTPServerError, "HTTP server error: 503."},
	}
	c := New(Options{AllowPrivate: true})
	for _, tt := range tests {
		resp, err := c.Open(context.Background(), mustURL(t, fmt.Sprintf("%s/%d", s.URL, tt.status)))
		if tt.code == "" {
			if err != nil {
				t.Errorf("status %d: %v", tt.status, err)
			} else {
				resp.Body.Close()
			}
			continue
		}
		fe := wantCode(t, err, tt.code)
		if fe.Message != tt.msg {
			t.Errorf("status %d: message %q, want %q", tt.status, fe.Message, tt.msg)
		}
	}
}

func TestSizeLimit(t *testing.T) {
	const limit = 1000
	s := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		data := bytes.Repeat([]byte("x"), n)
		if r.URL.Query().Get("chunked") != "" {
			// Flushing before the end makes the server send chunks
			// without a Content-Length.
			for len(data) > 0 {
				k := min(len(data), 100)
				w.Write(data[:k])
				w.(http.Flusher).Flush()
				data = data[k:]
			}
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(data)
	})
	c := New(Options{AllowPrivate: true, MaxBytes: limit})

	tests := []struct {
		n        int
		chunked  bool
		openErr  bool // refused up front on Content-Length
		readErr  bool // refused while streaming
		wantSize int64
	}{
		{limit, false, false, false, limit},
		{limit - 1, false, false, false, limit - 1},
		{limit + 1, false, true, false, 0},
		{5 * limit, false, true, false, 0},
		{limit, true, false, false, -1},
		{limit + 1, true, false, true, -1},
		{5 * limit, true, false, true, -1},
		{0, true, false, false, 0},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("n=%d chunked=%v", tt.n, tt.chunked)
		raw := fmt.Sprintf("%s/f?n=%d", s.URL, tt.n)
		if tt.chunked {
			raw += "&chunked=1"
		}
		resp, err := c.Open(context.Background(), mustURL(t, raw))
		if tt.openErr {
			fe := wantCode(t, err, CodeDownloadFileSizeLimitExceeded)
			if want := fmt.Sprintf("Downloaded file is too big: %d > %d.", tt.n, limit); fe.Message != want {
				t.Errorf("%s: message %q, want %q", name, fe.Message, want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if resp.Size != tt.wantSize {
			t.Errorf("%s: Size %d, want %d", name, resp.Size, tt.wantSize)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if tt.readErr {
			fe := wantCode(t, err, CodeDownloadFileSizeLimitExceeded)
			if !strings.HasPrefix(fe.Message, "Downloaded file is too big: ") || !strings.HasSuffix(fe.Message, fmt.Sprintf(" > %d.", limit)) {
				t.Errorf("%s: message %q", name, fe.Message)
			}
			if len(b) > limit {
				t.Errorf("%s: read %d bytes past the limit of %d", name, len(b), limit)
			}
			continue
		}
		if err != nil || len(b) != tt.n {
			t.Errorf("%s: read %d bytes, %v; want %d", name, len(b), err, tt.n)
		}
	}

	// Unlimited.
	resp, err := New(Options{AllowPrivate: true}).Open(context.Background(), mustURL(t, s.URL+"/f?n=50000&chunked=1"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || len(b) != 50000 {
		t.Fatalf("unlimited: read %d bytes, %v", len(b), err)
	}
}

// TestBodyLimitSmallReads reads one byte at a time to check the limit's
// bookkeeping.
func TestBodyLimitSmallReads(t *testing.T) {
	for _, n := range []int{9, 10, 11} {
		b := &body{rc: io.NopCloser(strings.NewReader(strings.Repeat("y", n))), ctx: context.Background(), cancel: func() {}, max: 10}
		var got int
		var err error
		buf := make([]byte, 1)
		for {
			var k int
			k, err = b.Read(buf)
			got += k
			if err != nil {
				break
			}
		}
		if n <= 10 && (err != io.EOF || got != n) {
			t.Errorf("n=%d: read %d, %v; want %d, EOF", n, got, err, n)
		}
		if n > 10 && (errCode(err) != CodeDownloadFileSizeLimitExceeded || got != 10) {
			t.Errorf("n=%d: read %d, %v; want 10 and a size error", n, got, err)
		}
	}
}

func TestFilename(t *testing.T) {
	s := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		if cd := r.URL.Query().Get("cd"); cd != "" {
			w.Header().Set("Content-Disposition", cd)
		}
		io.WriteString(w, "data")
	})
	tests := []struct {
		path string
		cd   string
		want string
	}{
		{"/x/y", `attachment; filename="report.pdf"`, "report.pdf"},
		{"/x/y", `attachment; filename=plain.txt`, "plain.txt"},
		{"/x/y", `attachment; filename="fallback.txt"; filename*=UTF-8''%E2%82%AC%20rates.txt`, "€ rates.txt"},
		{"/x/y", `inline; filename*=UTF-8''na%C3%AFve.jpg`, "naïve.jpg"},
		{"/x/y", `inline; filename="../../etc/passwd"`, "passwd"},
		{"/x/y", `attachment; filename="C:\\Users\\me\\photo.jpg"`, "photo.jpg"},
		{"/x/y", `filename="bare.gif"`, "bare.gif"},
		{"/files/photo.jpg", `attachment`, "photo.jpg"},
		{"/files/photo.jpg", `attachment; filename=""`, "photo.jpg"},
		{"/files/photo.jpg", `attachment; filename=foo bar.jpg`, "photo.jpg"}, // malformed header
		{"/files/caf%C3%A9%20au%20lait.png", "", "café au lait.png"},
		{"/files/a%2Fb.png", "", "b.png"},
		{"/files/", "", ""},
		{"/", "", ""},
		{"/..", "", ""},
	}
	c := New(Options{AllowPrivate: true})
	for _, tt := range tests {
		raw := s.URL + tt.path
		if tt.cd != "" {
			raw += "?cd=" + url.QueryEscape(tt.cd)
		}
		resp, err := c.Open(context.Background(), mustURL(t, raw))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		resp.Body.Close()
		if resp.Filename != tt.want {
			t.Errorf("path %q, Content-Disposition %q: Filename %q, want %q", tt.path, tt.cd, resp.Filename, tt.want)
		}
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	s := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow-body" {
			w.Header().Set("Content-Length", "100")
			io.WriteString(w, "partial")
			w.(http.Flusher).Flush()
		}
		select {
		case <-r.Context().Done():
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})
	const limit = 300 * time.Millisecond
	c := New(Options{AllowPrivate: true, Timeout: limit})

	t.Run("headers", func(t *testing.T) {
		start := time.Now()
		_, err := c.Open(context.Background(), mustURL(t, s.URL+"/slow-headers"))
		fe := wantCode(t, err, CodeDownloadFileTimeLimitExceeded)
		if fe.Message != "Download time limit exceeded." {
			t.Errorf("message %q", fe.Message)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%v does not wrap context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d < limit || d > 5*time.Second {
			t.Errorf("gave up after %v, want about %v", d, limit)
		}
	})

	t.Run("body", func(t *testing.T) {
		start := time.Now()
		resp, err := c.Open(context.Background(), mustURL(t, s.URL+"/slow-body"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		wantCode(t, err, CodeDownloadFileTimeLimitExceeded)
		if string(b) != "partial" {
			t.Errorf("read %q before the time limit, want %q", b, "partial")
		}
		if d := time.Since(start); d < limit || d > 5*time.Second {
			t.Errorf("gave up after %v, want about %v", d, limit)
		}
	})

	t.Run("parent deadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := New(Options{AllowPrivate: true}).Open(ctx, mustURL(t, s.URL+"/slow-headers"))
		wantCode(t, err, CodeDownloadFileTimeLimitExceeded)
	})

	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, err := c.Open(ctx, mustURL(t, s.URL+"/slow-headers"))
		wantCode(t, err, CodeDownloadFileHTTPNetworkError)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v does not wrap context.Canceled", err)
		}
	})

	t.Run("webhook client", func(t *testing.T) {
		hc := c.HTTPClient()
		if hc.Timeout != limit {
			t.Fatalf("HTTPClient().Timeout = %v, want %v", hc.Timeout, limit)
		}
		start := time.Now()
		_, err := hc.Post(s.URL+"/slow-headers", "application/json", strings.NewReader("{}"))
		if err == nil || time.Since(start) > 5*time.Second {
			t.Fatalf("POST to a stalled server: %v after %v", err, time.Since(start))
		}
	})

	if d := New(Options{}).timeout; d != 10*time.Minute {
		t.Errorf("default timeout %v, want 10m", d)
	}
}

func TestNetworkError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	hangup := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	short := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "only this")
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})

	c := New(Options{AllowPrivate: true})
	_, err = c.Open(context.Background(), mustURL(t, "http://"+closedAddr+"/"))
	fe := wantCode(t, err, CodeDownloadFileHTTPNetworkError)
	if fe.Message != "Network error: connection refused." {
		t.Errorf("message %q", fe.Message)
	}

	_, err = c.Open(context.Background(), mustURL(t, hangup.URL+"/"))
	fe = wantCode(t, err, CodeDownloadFileHTTPNetworkError)
	if !strings.HasPrefix(fe.Message, "Network error: ") {
		t.Errorf("message %q", fe.Message)
	}

	resp, err := c.Open(context.Background(), mustURL(t, short.URL+"/"))
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	wantCode(t, err, CodeDownloadFileHTTPNetworkError)
}

func TestHTTPS(t *testing.T) {
	s := httptest.NewTLSServer(text("secure"))
	defer s.Close()

	_, err := New(Options{}).Open(context.Background(), mustURL(t, s.URL))
	wantCode(t, err, CodeURLHostPrivateIPForbidden)

	c := New(Options{AllowPrivate: true})
	_, err = c.Open(context.Background(), mustURL(t, s.URL))
	fe := wantCode(t, err, CodeDownloadFileHTTPNetworkError)
	if fe.Message != "Network error: TLS certificate verification failed." {
		t.Errorf("message %q", fe.Message)
	}

	c.transport.TLSClientConfig = s.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	resp, err := c.Open(context.Background(), mustURL(t, s.URL+"/s.txt"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "secure" || resp.Filename != "s.txt" {
		t.Fatalf("got %q, %q", b, resp.Filename)
	}
}

func TestHTTPClient(t *testing.T) {
	var got string
	s := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = r.Method + " " + string(b)
	})

	_, err := New(Options{}).HTTPClient().Post(s.URL+"/hook", "application/json", strings.NewReader(`{"a":1}`))
	wantCode(t, err, CodeURLHostPrivateIPForbidden)
	_, err = New(Options{}).HTTPClient().Post("http://localhost:"+port(t, s)+"/hook", "application/json", strings.NewReader(`{"a":1}`))
	wantCode(t, err, CodeURLHostPrivateIPForbidden)
	if n := s.hits.Load(); n != 0 {
		t.Fatalf("server received %d requests, want 0", n)
	}

	resp, err := New(Options{AllowPrivate: true}).HTTPClient().Post(s.URL+"/hook", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got != `POST {"a":1}` {
		t.Fatalf("server got %q", got)
	}
}

// TestProxyIgnored checks that a proxy from the environment, which would
// connect on our behalf and escape the dial-time check, is not used.
func TestProxyIgnored(t *testing.T) {
	proxy := serve(t, "127.0.0.1:0", text("from proxy"))
	for _, k := range []string{"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"} {
		t.Setenv(k, proxy.URL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")

	c := New(Options{AllowPrivate: true})
	if c.transport.Proxy != nil {
		t.Fatal("transport has a Proxy function")
	}
	// Proxies are never used for loopback targets anyway, so ask for a
	// name that does not resolve: only a proxy could answer it.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Open(ctx, mustURL(t, "http://satchel-proxy-check.invalid/a.txt"))
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("got %q, want an error", b)
	}
	if n := proxy.hits.Load(); n != 0 {
		t.Fatalf("proxy received %d requests, want 0", n)
	}

	origin := serve(t, "127.0.0.1:0", text("direct"))
	resp, err = c.Open(context.Background(), mustURL(t, origin.URL))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "direct" || proxy.hits.Load() != 0 {
		t.Fatalf("got %q with %d proxy hits", b, proxy.hits.Load())
	}
}

func TestError(t *testing.T) {
	cause := errors.New("boom")
	e := &Error{Code: "C", Message: "M.", Err: cause}
	if e.Error() != "C: M.: boom" || !errors.Is(e, cause) {
		t.Fatalf("Error() = %q, Is(cause) = %v", e.Error(), errors.Is(e, cause))
	}
	if (&Error{Code: "C", Message: "M."}).Error() != "C: M." {
		t.Fatal("Error() without cause")
	}
}
