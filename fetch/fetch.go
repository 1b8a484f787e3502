// Package fetch downloads remote files on behalf of users ("upload from URL")
// and delivers outgoing requests such as webhooks, without letting a caller
// reach addresses that are not public: loopback, private networks, link-local
// and other special-purpose ranges.
//
// The protection is enforced where it cannot be bypassed: at dial time, on the
// IP address actually being connected to. A host name that resolves to a public
// address during validation and to a private one when connecting (DNS
// rebinding) is therefore still refused. URLs are also checked up front and on
// every redirect so that users get a precise error early.
package fetch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// Uploadcare error codes produced by this package.
const (
	CodeURLParsingFailed              = "URLParsingFailedError"
	CodeURLSchemeRequired             = "URLSchemeRequiredError"
	CodeURLSchemeInvalid              = "URLSchemeInvalidError"
	CodeURLHostRequired               = "URLHostRequiredError"
	CodeURLHostMalformed              = "URLHostMalformedError"
	CodeURLHostPrivateIPForbidden     = "URLHostPrivateIPForbiddenError"
	CodeHostnameNotFound              = "HostnameNotFoundError"
	CodeURLRedirectsLimitExceeded     = "URLRedirectsLimitExceededError"
	CodeDownloadFileHTTPClientError   = "DownloadFileHTTPClientError"
	CodeDownloadFileHTTPServerError   = "DownloadFileHTTPServerError"
	CodeDownloadFileHTTPNetworkError  = "DownloadFileHTTPNetworkError"
	CodeDownloadFileSizeLimitExceeded = "DownloadFileSizeLimitExceededError"
	CodeDownloadFileTimeLimitExceeded = "DownloadFileTimeLimitExceededError"
)

// DefaultTimeout limits a request when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Minute

const (
	defaultMaxRedirects = 10
	defaultUserAgent    = "Satchel"
)

// Options bound a fetch.
type Options struct {
	// AllowPrivate allows loopback, private, link-local, CGNAT and other
	// non-public targets. Meant for tests and development only.
	AllowPrivate bool
	// MaxBytes caps the body size; 0 means unlimited.
	MaxBytes int64
	// Timeout limits a whole request, including reading the body; 0 means 10 minutes.
	Timeout time.Duration
	// MaxRedirects is how many redirects are followed; 0 means 10 and a
	// negative value means none.
	MaxRedirects int
	// UserAgent is sent with every request; empty means "Satchel".
	UserAgent string
	// Deny lists networks that are always refused, even with AllowPrivate
	// (an operator's own infrastructure, a metadata service).
	Deny []netip.Prefix
}

// Error is a fetch failure with an Uploadcare error code and sentence.
type Error struct {
	// Code is the Uploadcare error code, such as "URLHostPrivateIPForbiddenError".
	Code string
	// Message is the sentence shown to API clients.
	Message string
	// Err is the underlying cause, for logs; never shown to clients.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

func newError(code, msg string, err error) *Error {
	return &Error{Code: code, Message: msg, Err: err}
}

// errTimeLimit is the cancellation cause of a request that ran out of time.
var errTimeLimit = errors.New("fetch: time limit exceeded")

// forbiddenDialError is returned by the dialer when asked to connect to a
// forbidden address.
type forbiddenDialError struct {
	addr netip.Addr
}

func (e *forbiddenDialError) Error() string {
	return fmt.Sprintf("fetch: refusing to connect to non-public address %s", e.addr)
}

// Client fetches URLs while refusing to connect to non-public addresses. It is
// safe for concurrent use.
type Client struct {
	maxBytes     int64
	timeout      time.Duration
	maxRedirects int
	userAgent    string

	// forbidden decides which addresses may not be connected to; nil allows
	// all. Tests replace it.
	forbidden func(netip.Addr) bool
	// lookup resolves a host name for Validate. Tests replace it.
	lookup func(ctx context.Context, host string) ([]netip.Addr, error)

	transport *http.Transport
	client    *http.Client // for Open: no Timeout, the context carries it
}

// New returns a Client bounded by o.
func New(o Options) *Client {
	c := &Client{
		maxBytes:     o.MaxBytes,
		timeout:      o.Timeout,
		maxRedirects: o.MaxRedirects,
		userAgent:    o.UserAgent,
		lookup: func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		},
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	switch {
	case c.maxRedirects == 0:
		c.maxRedirects = defaultMaxRedirects
	case c.maxRedirects < 0:
		c.maxRedirects = 0
	}
	if c.maxBytes < 0 {
		c.maxBytes = 0
	}
	if c.userAgent == "" {
		c.userAgent = defaultUserAgent
	}
	switch deny := o.Deny; {
	case !o.AllowPrivate && len(deny) == 0:
		c.forbidden = IsForbidden
	case !o.AllowPrivate:
		c.forbidden = func(ip netip.Addr) bool { return IsForbidden(ip) || denied(deny, ip) }
	case len(deny) > 0:
		c.forbidden = func(ip netip.Addr) bool { return denied(deny, ip) }
	}

	dialer := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control:   c.dialControl,
	}
	c.transport = &http.Transport{
		// A proxy would make the connection on our behalf, out of reach of
		// the dial-time check, so proxies from the environment are ignored.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   30 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Files are fetched as served: no transparent gzip decoding, so
		// Content-Length and the bytes stored are what the server sent.
		DisableCompression: true,
	}
	c.client = &http.Client{
		Transport:     guardTransport{c},
		CheckRedirect: c.checkRedirect,
	}
	return c
}

// HTTPClient returns an *http.Client with the same protections as Open, for
// other requests such as webhook deliveries: non-public addresses are refused
// at dial time, only http and https URLs are requested, redirects are
// re-checked and limited, and Timeout bounds each request including its body.
// Refusals are returned as *Error (wrapped in *url.Error).
func (c *Client) HTTPClient() *http.Client {
	return &http.Client{
		Transport:     guardTransport{c},
		CheckRedirect: c.checkRedirect,
		Timeout:       c.timeout,
	}
}

// guardTransport checks every outgoing request URL and turns dial-time
// refusals into *Error.
type guardTransport struct{ c *Client }

func (g guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.c.checkURL(req.URL); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	resp, err := g.c.transport.RoundTrip(req)
	if err != nil {
		var fd *forbiddenDialError
		if errors.As(err, &fd) {
			return nil, newError(CodeURLHostPrivateIPForbidden, "Only public IPs are allowed.", err)
		}
		return nil, err
	}
	return resp, nil
}

func (c *Client) blocked(ip netip.Addr) bool {
	return c.forbidden != nil && c.forbidden(ip)
}

// dialControl runs after the address to connect to has been resolved and
// before connecting: it is the check DNS answers cannot get around.
func (c *Client) dialControl(network, address string, _ syscall.RawConn) error {
	if c.forbidden == nil {
		return nil
	}
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("fetch: refusing to dial network %q", network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("fetch: refusing to dial unparsable address %q: %w", address, err)
	}
	if c.blocked(ap.Addr()) {
		return &forbiddenDialError{addr: ap.Addr()}
	}
	return nil
}

func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > c.maxRedirects {
		return newError(CodeURLRedirectsLimitExceeded, "Too many redirects.",
			fmt.Errorf("stopped after %d redirects", c.maxRedirects))
	}
	return c.checkURL(req.URL)
}

// Validate checks a source URL synchronously, before any job is queued. It
// parses raw, requires an http or https URL with a well-formed host, refuses
// literal non-public IPs and host names that resolve only to non-public IPs,
// and reports host names that do not resolve. Failures are *Error with the
// matching Uploadcare code. When ctx ends during the lookup, the returned
// error wraps ctx.Err() and is not an *Error.
func (c *Client) Validate(ctx context.Context, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, newError(CodeURLParsingFailed, "Failed to parse URL.", err)
	}
	if err := c.checkURL(u); err != nil {
		return nil, err
	}
	host := u.Hostname()
	if _, err := netip.ParseAddr(host); err == nil {
		return u, nil // a literal IP, already judged by checkURL
	}
	name, err := toASCII(host)
	if err != nil {
		return nil, newError(CodeURLHostMalformed, "URL host is malformed.", err)
	}
	addrs, err := c.lookup(ctx, name)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("fetch: resolving %q: %w", name, ctx.Err())
		}
		return nil, newError(CodeHostnameNotFound, "Host does not exist.",
			fmt.Errorf("resolving %q: %w", name, err))
	}
	if len(addrs) == 0 {
		return nil, newError(CodeHostnameNotFound, "Host does not exist.",
			fmt.Errorf("resolving %q: no addresses", name))
	}
	for _, a := range addrs {
		if !c.blocked(a) {
			return u, nil
		}
	}
	return nil, newError(CodeURLHostPrivateIPForbidden, "Only public IPs are allowed.",
		fmt.Errorf("%q resolves only to non-public addresses %v", name, addrs))
}

// checkURL validates u without touching the network: scheme, host syntax,
// port and literal IPs. It runs for the first request and for every redirect.
func (c *Client) checkURL(u *url.URL) error {
	if u == nil {
		return newError(CodeURLParsingFailed, "Failed to parse URL.", errors.New("nil URL"))
	}
	if u.Scheme == "" {
		return newError(CodeURLSchemeRequired, "No URL scheme supplied.", nil)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
	default:
		return newError(CodeURLSchemeInvalid, "Invalid URL scheme.",
			fmt.Errorf("scheme %q is not http or https", u.Scheme))
	}
	host := u.Hostname()
	if host == "" {
		return newError(CodeURLHostRequired, "No URL host supplied.", nil)
	}
	malformed := func(err error) error {
		return newError(CodeURLHostMalformed, "URL host is malformed.", fmt.Errorf("host %q: %w", host, err))
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return malformed(fmt.Errorf("invalid port %q", p))
		}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if strings.HasPrefix(u.Host, "[") != ip.Is6() {
			return malformed(errors.New("misplaced brackets"))
		}
		if c.blocked(ip) {
			return newError(CodeURLHostPrivateIPForbidden, "Only public IPs are allowed.",
				fmt.Errorf("%s is not a public address", ip))
		}
		return nil
	}
	if strings.HasPrefix(u.Host, "[") {
		return malformed(errors.New("invalid IPv6 literal"))
	}
	if endsInNumber(host) {
		// An IPv4 address in a spelling other than canonical dotted decimal
		// ("2130706433", "0x7f.1", "0177.0.0.1"). Resolvers disagree on these,
		// so they are refused; when one means a non-public address the user is
		// told so.
		if ip, ok := parseLegacyIPv4(host); ok && c.blocked(ip) {
			return newError(CodeURLHostPrivateIPForbidden, "Only public IPs are allowed.",
				fmt.Errorf("host %q means %s, which is not a public address", host, ip))
		}
		return malformed(errors.New("not a canonical IPv4 address"))
	}
	name, err := toASCII(host)
	if err != nil {
		return malformed(err)
	}
	if err := checkHostname(name); err != nil {
		return malformed(err)
	}
	return nil
}

// checkHostname checks the syntax of an ASCII host name.
func checkHostname(name string) error {
	name = strings.TrimSuffix(name, ".")
	if name == "" {
		return errors.New("empty name")
	}
	if len(name) > 253 {
		return errors.New("name longer than 253 characters")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" {
			return errors.New("empty label")
		}
		if len(label) > 63 {
			return errors.New("label longer than 63 characters")
		}
		for i := 0; i < len(label); i++ {
			b := label[i]
			if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_') {
				return fmt.Errorf("invalid character %q", b)
			}
		}
	}
	return nil
}

// endsInNumber reports whether the last label of host is a number (decimal,
// or hexadecimal with 0x), the test browsers use to treat a host as IPv4.
func endsInNumber(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if last == "" {
		return false
	}
	if strings.HasPrefix(last, "0x") || strings.HasPrefix(last, "0X") {
		for _, r := range last[2:] {
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
		return true
	}
	for _, r := range last {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// parseLegacyIPv4 parses the inet_aton spellings of IPv4: one to four parts,
// each decimal, octal (leading 0) or hexadecimal (0x), the last part filling
// the remaining bytes.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	parts := strings.Split(strings.TrimSuffix(s, "."), ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, ok := parseIPv4Part(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 && n > 255 {
			return netip.Addr{}, false
		}
		nums[i] = n
	}
	v := nums[len(nums)-1]
	if v >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, false
	}
	for i := 0; i < len(nums)-1; i++ {
		v |= nums[i] << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseIPv4Part(p string) (uint64, bool) {
	if p == "" {
		return 0, false
	}
	base := 10
	switch {
	case strings.HasPrefix(p, "0x") || strings.HasPrefix(p, "0X"):
		p, base = p[2:], 16
		if p == "" {
			return 0, true
		}
	case len(p) > 1 && p[0] == '0':
		p, base = p[1:], 8
	}
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}

// Response is an open download. The caller must close Body.
type Response struct {
	// Body streams the content. Reading past MaxBytes yields an *Error
	// DownloadFileSizeLimitExceededError; running out of time yields
	// DownloadFileTimeLimitExceededError; other failures
	// DownloadFileHTTPNetworkError.
	Body io.ReadCloser
	// Size is the Content-Length, or -1 when unknown.
	Size int64
	// ContentType is the Content-Type header as sent.
	ContentType string
	// Filename comes from Content-Disposition (filename* or filename), else
	// the last path segment of FinalURL, unescaped; "" when neither gives one.
	// Directory parts are removed.
	Filename string
	// FinalURL is the URL the content came from, after redirects.
	FinalURL string
}

// Open performs a GET of u, following redirects (each re-checked, at most
// MaxRedirects). The whole download, body included, must finish within
// Timeout. Every failure is an *Error:
//   - URLHostPrivateIPForbiddenError when u, a redirect or a resolved
//     address is not public;
//   - URLSchemeInvalidError and other URL codes for bad redirect targets;
//   - URLRedirectsLimitExceededError after too many redirects;
//   - HostnameNotFoundError when the host does not resolve;
//   - DownloadFileHTTPClientError / DownloadFileHTTPServerError for non-2xx
//     statuses (5xx is a server error, any other a client error);
//   - DownloadFileSizeLimitExceededError when Content-Length exceeds MaxBytes;
//   - DownloadFileTimeLimitExceededError when Timeout or ctx's deadline passes;
//   - DownloadFileHTTPNetworkError for other failures, including ctx being
//     canceled (the error then wraps context.Canceled).
func (c *Client) Open(ctx context.Context, u *url.URL) (*Response, error) {
	if err := c.checkURL(u); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.timeout, errTimeLimit)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		cancel()
		return nil, newError(CodeURLParsingFailed, "Failed to parse URL.", err)
	}
	uc := *u
	req.URL, req.Host = &uc, uc.Host
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "*/*")

	resp, err := c.client.Do(req)
	if err != nil {
		err = mapError(ctx, fmt.Errorf("GET %s: %w", u.Redacted(), err))
		cancel()
		return nil, err
	}
	final := resp.Request.URL
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10) // lets the connection be reused
		_ = resp.Body.Close()
		cancel()
		cause := fmt.Errorf("GET %s: %s", final.Redacted(), resp.Status)
		if resp.StatusCode >= 500 {
			return nil, newError(CodeDownloadFileHTTPServerError,
				fmt.Sprintf("HTTP server error: %d.", resp.StatusCode), cause)
		}
		return nil, newError(CodeDownloadFileHTTPClientError,
			fmt.Sprintf("HTTP client error: %d.", resp.StatusCode), cause)
	}
	if c.maxBytes > 0 && resp.ContentLength > c.maxBytes {
		_ = resp.Body.Close()
		cancel()
		return nil, tooBig(resp.ContentLength, c.maxBytes)
	}
	return &Response{
		Body:        &body{rc: resp.Body, ctx: ctx, cancel: cancel, max: c.maxBytes},
		Size:        resp.ContentLength,
		ContentType: resp.Header.Get("Content-Type"),
		Filename:    filename(resp.Header.Get("Content-Disposition"), final),
		FinalURL:    final.String(),
	}, nil
}

func tooBig(size, max int64) *Error {
	return newError(CodeDownloadFileSizeLimitExceeded,
		fmt.Sprintf("Downloaded file is too big: %d > %d.", size, max), nil)
}

// mapError turns a failed request or body read into an *Error. ctx is the
// request's context.
func mapError(ctx context.Context, err error) error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	var fd *forbiddenDialError
	if errors.As(err, &fd) {
		return newError(CodeURLHostPrivateIPForbidden, "Only public IPs are allowed.", err)
	}
	if ctx.Err() != nil {
		if errors.Is(context.Cause(ctx), errTimeLimit) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return newError(CodeDownloadFileTimeLimitExceeded, "Download time limit exceeded.",
				fmt.Errorf("%w (%w)", err, context.DeadlineExceeded))
		}
		return newError(CodeDownloadFileHTTPNetworkError, "Network error: request canceled.",
			fmt.Errorf("%w (%w)", err, ctx.Err()))
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
		return newError(CodeHostnameNotFound, "Host does not exist.", err)
	}
	return newError(CodeDownloadFileHTTPNetworkError, "Network error: "+networkReason(err)+".", err)
}

// networkReason describes a network failure in a few words, without the
// addresses and internals a raw error message would reveal.
func networkReason(err error) string {
	var (
		dnsErr   *net.DNSError
		certErr  *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invalid  x509.CertificateInvalidError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &dnsErr):
		return "host name lookup failed"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.As(err, &certErr), errors.As(err, &unknown), errors.As(err, &hostErr), errors.As(err, &invalid):
		return "TLS certificate verification failed"
	case errors.As(err, &recErr), errors.As(err, &alertErr):
		return "TLS handshake failed"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed unexpectedly"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "connection timed out"
	default:
		return "request failed"
	}
}

// body enforces MaxBytes while streaming, maps read errors and releases the
// request's context on Close.
type body struct {
	rc     io.ReadCloser
	ctx    context.Context
	cancel context.CancelFunc
	max    int64 // 0 = unlimited
	n      int64
	err    error
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.max > 0 {
		// Read at most one byte beyond the limit, enough to tell that the
		// body is too big.
		if rem := b.max - b.n + 1; int64(len(p)) > rem {
			p = p[:rem]
		}
	}
	k, err := b.rc.Read(p)
	b.n += int64(k)
	if b.max > 0 && b.n > b.max {
		k -= int(b.n - b.max)
		b.err = tooBig(b.n, b.max)
		return k, b.err
	}
	if err != nil && err != io.EOF {
		b.err = mapError(b.ctx, fmt.Errorf("reading body: %w", err))
		return k, b.err
	}
	return k, err
}

func (b *body) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

// filename picks the file name from a Content-Disposition header, else from
// the last segment of the final URL's path.
func filename(disposition string, final *url.URL) string {
	if disposition != "" {
		_, params, err := mime.ParseMediaType(disposition)
		if err != nil {
			// Tolerate a missing disposition type: `filename="a.jpg"`.
			_, params, err = mime.ParseMediaType("attachment; " + disposition)
		}
		if err == nil {
			if name := cleanFilename(params["filename"]); name != "" {
				return name
			}
		}
	}
	if final == nil {
		return ""
	}
	p := final.EscapedPath()
	seg := p[strings.LastIndexByte(p, '/')+1:]
	if s, err := url.PathUnescape(seg); err == nil {
		seg = s
	}
	return cleanFilename(seg)
}

// cleanFilename keeps the last path element of name (either slash) and drops
// control characters.
func cleanFilename(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = name[strings.LastIndexByte(name, '/')+1:]
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "." || name == ".." {
		return ""
	}
	return name
}

// IsForbidden reports whether ip is not a public unicast address: it is
// invalid, zoned, loopback, private, link-local, CGNAT, unspecified,
// multicast, broadcast, reserved, set aside for documentation or
// benchmarking, or an IPv6 form (IPv4-mapped, 6to4, NAT64) embedding such an
// IPv4 address. IPv6 addresses outside 2000::/3, the only range allocated for
// global unicast, are forbidden (this includes the deprecated IPv4-compatible
// ::a.b.c.d form), except NAT64 64:ff9b::/96, judged by its IPv4 part.
func IsForbidden(ip netip.Addr) bool {
	if !ip.IsValid() || ip.Zone() != "" {
		return true
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return inAny(ip, forbiddenV4)
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return IsForbidden(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		return IsForbidden(netip.AddrFrom4([4]byte(b[2:6])))
	case !globalUnicast.Contains(ip):
		return true
	}
	return inAny(ip, forbiddenV6)
}

func inAny(ip netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

var (
	forbiddenV4 = prefixes(
		"0.0.0.0/8",       // "this network", unspecified
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // shared address space (CGNAT)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation (TEST-NET-1)
		"192.88.99.0/24",  // deprecated 6to4 relay anycast
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation (TEST-NET-2)
		"203.0.113.0/24",  // documentation (TEST-NET-3)
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, includes broadcast 255.255.255.255
	)
	forbiddenV6 = prefixes( // within 2000::/3
		"2001::/23",     // IETF protocol assignments: Teredo, benchmarking, ORCHID…
		"2001:db8::/32", // documentation
		"3fff::/20",     // documentation
	)
	globalUnicast = netip.MustParsePrefix("2000::/3")
	nat64         = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour     = netip.MustParsePrefix("2002::/16")
)

func prefixes(ss ...string) []netip.Prefix {
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

// toASCII lowercases host and converts labels with non-ASCII characters to
// their Punycode form (RFC 3492), as DNS needs. It does not apply the full
// IDNA mapping tables.
func toASCII(host string) (string, error) {
	if isASCII(host) {
		return strings.ToLower(host), nil
	}
	if !utf8.ValidString(host) {
		return "", errors.New("invalid UTF-8 in host")
	}
	labels := strings.Split(strings.ToLower(host), ".")
	for i, l := range labels {
		if isASCII(l) {
			continue
		}
		enc, err := punycode(l)
		if err != nil {
			return "", err
		}
		labels[i] = "xn--" + enc
	}
	return strings.Join(labels, "."), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Punycode parameters, RFC 3492 section 5.
const (
	pcBase        = 36
	pcTMin        = 1
	pcTMax        = 26
	pcSkew        = 38
	pcDamp        = 700
	pcInitialBias = 72
	pcInitialN    = 128
)

// punycode encodes one label per RFC 3492 section 6.3.
func punycode(label string) (string, error) {
	runes := []rune(label)
	out := make([]byte, 0, len(label)+8)
	for _, r := range runes {
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
		}
	}
	basic := len(out)
	handled := basic
	if basic > 0 {
		out = append(out, '-')
	}
	n, delta, bias := rune(pcInitialN), 0, pcInitialBias
	for handled < len(runes) {
		m := rune(unicode.MaxRune + 1)
		for _, r := range runes {
			if r >= n && r < m {
				m = r
			}
		}
		if int(m-n) > (1<<31-1-delta)/(handled+1) {
			return "", errors.New("punycode: overflow")
		}
		delta += int(m-n) * (handled + 1)
		n = m
		for _, r := range runes {
			if r < n {
				delta++
			}
			if r != n {
				continue
			}
			q := delta
			for k := pcBase; ; k += pcBase {
				t := k - bias
				if t < pcTMin {
					t = pcTMin
				} else if t > pcTMax {
					t = pcTMax
				}
				if q < t {
					break
				}
				out = append(out, punyDigit(t+(q-t)%(pcBase-t)))
				q = (q - t) / (pcBase - t)
			}
			out = append(out, punyDigit(q))
			bias = punyAdapt(delta, handled+1, handled == basic)
			delta = 0
			handled++
		}
		delta++
		n++
	}
	return string(out), nil
}

func punyDigit(d int) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}

func punyAdapt(delta, points int, first bool) int {
	if first {
		delta /= pcDamp
	} else {
		delta /= 2
	}
	delta += delta / points
	k := 0
	for delta > ((pcBase-pcTMin)*pcTMax)/2 {
		delta /= pcBase - pcTMin
		k += pcBase
	}
	return k + (pcBase-pcTMin+1)*delta/(delta+pcSkew)
}

// denied reports whether ip (unmapped) falls in one of the networks.
func denied(nets []netip.Prefix, ip netip.Addr) bool {
	ip = ip.Unmap()
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}
