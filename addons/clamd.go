// Package addons holds the adapters of Satchel's add-ons: clamd (virus
// scan), Amazon Rekognition (labels, moderation labels), remove.bg
// (background removal) and operator-defined HTTP add-ons. Each adapter
// turns a file's bytes into an answer; package app keeps the executions,
// the results in the file's appdata and the events.
package addons

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// ErrNotConfigured is returned by adapters the operator has not set up.
var ErrNotConfigured = errors.New("add-on not configured")

// Clamd scans streams with a clamd daemon (INSTREAM command).
type Clamd struct {
	network, address string
	// ChunkSize is the size of the INSTREAM chunks (default 64 KiB).
	ChunkSize int
	// MaxSize is the most bytes sent; it should not exceed clamd's
	// StreamMaxLength, past which clamd stops reading (default 25 MiB).
	MaxSize int64
	// Timeout bounds one command (default 2 minutes).
	Timeout time.Duration
}

// NewClamd returns a client of the clamd at addr, "unix:/path" or
// "tcp:host:port"; an empty addr gives ErrNotConfigured.
func NewClamd(addr string) (*Clamd, error) {
	if addr == "" {
		return nil, ErrNotConfigured
	}
	network, address, ok := strings.Cut(addr, ":")
	if !ok || address == "" || (network != "unix" && network != "tcp") {
		return nil, fmt.Errorf("addons: clamd address %q: want unix:/path or tcp:host:port", addr)
	}
	return &Clamd{network: network, address: address, ChunkSize: 64 << 10, MaxSize: 25 << 20, Timeout: 2 * time.Minute}, nil
}

// ScanResult is clamd's verdict on a stream.
type ScanResult struct {
	Infected bool
	// Signature names what was found.
	Signature string
}

// ErrTooLarge is returned when a stream exceeds MaxSize or clamd's limit.
var ErrTooLarge = errors.New("addons: file too large to scan")

// clamdConn is a connection for one command; Close also forgets ctx.
type clamdConn struct {
	net.Conn
	stop func() bool
}

func (c clamdConn) Close() error { c.stop(); return c.Conn.Close() }

func (c *Clamd) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, c.network, c.address)
	if err != nil {
		return nil, fmt.Errorf("addons: clamd: %w", err)
	}
	dl := time.Now().Add(c.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	conn.SetDeadline(dl)
	// A cancelled context ends the command at once.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return clamdConn{conn, stop}, nil
}

// reply reads clamd's NUL-terminated answer.
func reply(conn net.Conn) (string, error) {
	s, err := bufio.NewReader(conn).ReadString(0)
	if err != nil && !(errors.Is(err, io.EOF) && s != "") {
		return "", fmt.Errorf("addons: clamd reply: %w", err)
	}
	return strings.TrimRight(s, "\x00\n"), nil
}

// Version returns clamd's engine version ("1.0.7").
func (c *Clamd) Version(ctx context.Context) (string, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("zVERSION\x00")); err != nil {
		return "", fmt.Errorf("addons: clamd: %w", err)
	}
	s, err := reply(conn)
	if err != nil {
		return "", err
	}
	// "ClamAV 1.0.7/27102/Mon Nov 20 09:36:08 2023"
	s = strings.TrimPrefix(s, "ClamAV ")
	v, _, _ := strings.Cut(s, "/")
	return v, nil
}

// Scan streams r to clamd in chunks and returns its verdict.
func (c *Clamd) Scan(ctx context.Context, r io.Reader) (*ScanResult, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	w := bufio.NewWriterSize(conn, c.ChunkSize+4)
	if _, err := w.WriteString("zINSTREAM\x00"); err != nil {
		return nil, fmt.Errorf("addons: clamd: %w", err)
	}
	buf := make([]byte, c.ChunkSize)
	var sent int64
	var hdr [4]byte
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if sent += int64(n); sent > c.MaxSize {
				return nil, ErrTooLarge
			}
			binary.BigEndian.PutUint32(hdr[:], uint32(n))
			w.Write(hdr[:])
			if _, err := w.Write(buf[:n]); err != nil {
				// clamd closes the stream past its own limit, after saying so.
				if s, rerr := reply(conn); rerr == nil && strings.Contains(s, "size limit") {
					return nil, ErrTooLarge
				}
				return nil, fmt.Errorf("addons: clamd: %w", err)
			}
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return nil, fmt.Errorf("addons: read file: %w", rerr)
		}
	}
	binary.BigEndian.PutUint32(hdr[:], 0)
	w.Write(hdr[:])
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("addons: clamd: %w", err)
	}
	s, err := reply(conn)
	if err != nil {
		return nil, err
	}
	return parseVerdict(s)
}

// parseVerdict reads "stream: OK", "stream: <name> FOUND" or "… ERROR".
func parseVerdict(s string) (*ScanResult, error) {
	s = strings.TrimPrefix(s, "stream: ")
	switch {
	case s == "OK":
		return &ScanResult{}, nil
	case strings.HasSuffix(s, " FOUND"):
		return &ScanResult{Infected: true, Signature: strings.TrimSuffix(s, " FOUND")}, nil
	case strings.Contains(s, "size limit"):
		return nil, ErrTooLarge
	default:
		return nil, fmt.Errorf("addons: clamd answered %q", s)
	}
}
