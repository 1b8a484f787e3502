package logbuf

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"testing"
	"time"
)

// TestTextHandlerMatchesSlog: every record gives the very bytes
// slog.TextHandler writes, on the fast path and off it.
func TestTextHandlerMatchesSlog(t *testing.T) {
	when := time.Date(2026, 12, 3, 7, 11, 36, 118_400_000, time.UTC)
	strs := []string{"", "plain", "GET /", "/a43caec9-a002/-/resize/400x300/", "a=b", `say "hi"`, `back\slash`,
		"tab\there", "new\nline", "ünïcödé", "nbsp\u00a0x", "bad\xffutf8", "\x7f", "ctl\x01", "µs"}
	var recs []slog.Record
	for _, s := range strs {
		r := slog.NewRecord(when, slog.LevelInfo, "http request", 0)
		r.AddAttrs(slog.String("method", "GET"), slog.String("path", s), slog.String(s+"k", "v"),
			slog.Int("status", 404), slog.Int64("bytes", -7), slog.Uint64("u", math.MaxUint64),
			slog.Duration("duration", 61800*time.Nanosecond), slog.Bool("ok", true), slog.Float64("f", 0.1),
			slog.String("request_id", "4ae84da66a53fe508c54cf85"), slog.String("project", "pub"))
		recs = append(recs, r)
	}
	local := slog.NewRecord(when.In(time.FixedZone("X", 3600)).Add(999_999), slog.LevelWarn+2, "", 0)
	local.AddAttrs(slog.Duration("d", 0), slog.Float64("nan", math.NaN()))
	recs = append(recs, local, slog.NewRecord(time.Time{}, slog.LevelError, "no time", 0))
	odd := slog.NewRecord(when, slog.LevelInfo, "odd", 0)
	odd.AddAttrs(slog.Group("g", slog.Int("a", 1)), slog.Any("err", context.Canceled), slog.Time("t", when), slog.String("", "x"))
	recs = append(recs, odd)

	// Lines of one second, of the next ones and of other zones share the
	// cached text of a second only where it is the same.
	for i, zone := range []*time.Location{time.UTC, time.FixedZone("Y", -5*3600-30*60), time.UTC, time.Local} {
		for _, d := range []time.Duration{0, 999_999, time.Millisecond, 999 * time.Millisecond, time.Second, time.Hour + 7*time.Millisecond} {
			recs = append(recs, slog.NewRecord(when.Add(d+time.Duration(i)*time.Nanosecond).In(zone), slog.LevelInfo, "t", 0))
		}
	}
	recs = append(recs, slog.NewRecord(time.Date(12345, 1, 2, 3, 4, 5, 6e6, time.UTC), slog.LevelInfo, "far", 0))
	var sharedOut bytes.Buffer
	shared := NewTextHandler(&sharedOut, nil)
	for _, r := range recs {
		var want, got bytes.Buffer
		slog.NewTextHandler(&want, nil).Handle(context.Background(), r)
		n := sharedOut.Len()
		shared.Handle(context.Background(), r)
		if line := sharedOut.String()[n:]; line != want.String() {
			t.Errorf("shared handler: got  %q\nwant %q", line, want.String())
		}
		attrs := []slog.Attr{}
		r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
		NewTextHandler(&got, nil).Log(r.Time, r.Level, r.Message, attrs...)
		if got.String() != want.String() {
			t.Errorf("Log: got  %q\nwant %q", got.String(), want.String())
		}
	}
	for _, r := range recs {
		var want, got bytes.Buffer
		slog.NewTextHandler(&want, nil).Handle(context.Background(), r)
		NewTextHandler(&got, nil).Handle(context.Background(), r)
		if got.String() != want.String() {
			t.Errorf("got  %q\nwant %q", got.String(), want.String())
		}
	}
	var want, got bytes.Buffer
	r := slog.NewRecord(when, slog.LevelInfo, "m", 0)
	r.AddAttrs(slog.Int("k", 1))
	slog.NewTextHandler(&want, nil).WithAttrs([]slog.Attr{slog.String("node", "a b")}).WithGroup("g").Handle(context.Background(), r)
	NewTextHandler(&got, nil).WithAttrs([]slog.Attr{slog.String("node", "a b")}).WithGroup("g").Handle(context.Background(), r)
	if got.String() != want.String() {
		t.Errorf("With/WithGroup: got %q, want %q", got.String(), want.String())
	}
	if NewTextHandler(&got, slog.LevelWarn).Enabled(context.Background(), slog.LevelInfo) {
		t.Error("info enabled at warn level")
	}
}
