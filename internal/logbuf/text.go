package logbuf

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// TextHandler writes records exactly as slog.TextHandler does, faster for
// the plain records of access logs: when a record's attributes are all
// strings, integers, booleans, floats or durations (no groups, no
// LogValuers), it is formatted straight into a reused buffer. Any other
// record, and the handlers WithAttrs and WithGroup return, are slog's own
// TextHandler's work.
type TextHandler struct {
	w     io.Writer
	level slog.Leveler
	slow  slog.Handler // slog.TextHandler on w, sharing mu
	mu    *sync.Mutex
	times *secondCache
}

// NewTextHandler returns a handler writing text records of level and above
// to w. Each record is one Write of one line.
func NewTextHandler(w io.Writer, level slog.Leveler) *TextHandler {
	if level == nil {
		level = slog.LevelInfo
	}
	mu := &sync.Mutex{}
	return &TextHandler{w: w, level: level, mu: mu, times: &secondCache{},
		slow: slog.NewTextHandler(lockedWriter{mu, w}, &slog.HandlerOptions{Level: level})}
}

// lockedWriter keeps the two paths' writes apart.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Enabled reports whether level is at least the handler's level.
func (h *TextHandler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// WithAttrs returns slog's TextHandler with attrs.
func (h *TextHandler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.slow.WithAttrs(attrs) }

// WithGroup returns slog's TextHandler with the group.
func (h *TextHandler) WithGroup(name string) slog.Handler { return h.slow.WithGroup(name) }

var textBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// Handle writes r as one line.
func (h *TextHandler) Handle(ctx context.Context, r slog.Record) error {
	plain := true
	r.Attrs(func(a slog.Attr) bool {
		plain = plainAttr(a)
		return plain
	})
	if !plain {
		return h.slow.Handle(ctx, r)
	}
	bp, b := h.begin(r.Time, r.Level, r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b = appendAttr(b, a)
		return true
	})
	return h.end(bp, b)
}

// Log writes what Handle writes for a record of t, level, msg and attrs,
// without building the record (whose attributes past the fifth cost an
// allocation): the access log's path.
func (h *TextHandler) Log(t time.Time, level slog.Level, msg string, attrs ...slog.Attr) error {
	for _, a := range attrs {
		if !plainAttr(a) {
			r := slog.NewRecord(t, level, msg, 0)
			r.AddAttrs(attrs...)
			return h.slow.Handle(context.Background(), r)
		}
	}
	bp, b := h.begin(t, level, msg)
	for _, a := range attrs {
		b = appendAttr(b, a)
	}
	return h.end(bp, b)
}

// plainAttr reports whether a is formatted on the fast path.
func plainAttr(a slog.Attr) bool {
	switch a.Value.Kind() {
	case slog.KindString, slog.KindInt64, slog.KindUint64, slog.KindBool, slog.KindFloat64, slog.KindDuration:
		return a.Key != ""
	}
	return false
}

// begin takes a buffer and writes the time, level and message into it.
func (h *TextHandler) begin(t time.Time, level slog.Level, msg string) (*[]byte, []byte) {
	bp := textBufs.Get().(*[]byte)
	b := (*bp)[:0]
	if !t.IsZero() {
		b = append(b, "time="...)
		b = h.times.appendRFC3339Millis(b, t.Round(0))
		b = append(b, ' ')
	}
	b = append(b, "level="...)
	b = appendText(b, level.String())
	b = append(b, " msg="...)
	return bp, appendText(b, msg)
}

// appendAttr writes one plain attribute.
func appendAttr(b []byte, a slog.Attr) []byte {
	b = append(b, ' ')
	b = appendText(b, a.Key)
	b = append(b, '=')
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		b = appendText(b, v.String())
	case slog.KindInt64:
		b = strconv.AppendInt(b, v.Int64(), 10)
	case slog.KindUint64:
		b = strconv.AppendUint(b, v.Uint64(), 10)
	case slog.KindBool:
		b = strconv.AppendBool(b, v.Bool())
	case slog.KindFloat64:
		b = strconv.AppendFloat(b, v.Float64(), 'g', -1, 64)
	case slog.KindDuration:
		b = append(b, v.Duration().String()...)
	}
	return b
}

// end writes the line and gives the buffer back.
func (h *TextHandler) end(bp *[]byte, b []byte) error {
	b = append(b, '\n')
	h.mu.Lock()
	_, err := h.w.Write(b)
	h.mu.Unlock()
	if cap(b) <= 16<<10 {
		*bp = b
		textBufs.Put(bp)
	}
	return err
}

// appendText appends s as slog's TextHandler does: quoted when needed.
func appendText(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuoting is slog's rule: empty strings, spaces, '=', '"', control
// characters, invalid UTF-8 and unprintable runes are quoted.
func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c == ' ' || c == '=' || c == '"' || c < 0x20 {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// secondCache keeps the text of the last second a line was written in:
// lines of one second share everything of their time but the milliseconds.
type secondCache struct {
	last atomic.Pointer[formattedSecond]
}

// formattedSecond is one second's text in one location: the date and time
// up to the seconds, and the zone offset.
type formattedSecond struct {
	unix       int64
	loc        *time.Location
	head, zone string
}

// appendRFC3339Millis is slog's time format: RFC 3339 with exactly three
// digits of milliseconds.
func (c *secondCache) appendRFC3339Millis(b []byte, t time.Time) []byte {
	t = t.Truncate(time.Millisecond)
	if y := t.Year(); y < 1 || y > 9999 {
		// Outside RFC 3339's four-digit years: as slog writes them.
		n := len(b)
		const prefixLen = len("2006-01-02T15:04:05.000")
		b = t.Add(time.Millisecond/10).AppendFormat(b, time.RFC3339Nano)
		return append(b[:n+prefixLen], b[n+prefixLen+1:]...)
	}
	unix, loc := t.Unix(), t.Location()
	s := c.last.Load()
	if s == nil || s.unix != unix || s.loc != loc {
		text := t.Truncate(time.Second).Format(time.RFC3339)
		const headLen = len("2006-01-02T15:04:05")
		s = &formattedSecond{unix: unix, loc: loc, head: text[:headLen], zone: text[headLen:]}
		c.last.Store(s)
	}
	ms := t.Nanosecond() / int(time.Millisecond)
	b = append(b, s.head...)
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, s.zone...)
}
