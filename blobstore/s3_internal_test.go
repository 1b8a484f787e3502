package blobstore

import (
	"bytes"
	"io"
	"net"
	"testing"
)

// recordConn is a net.Conn that keeps what is written to it and the size
// of every Write.
type recordConn struct {
	net.Conn
	buf    bytes.Buffer
	writes []int
}

func (c *recordConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, len(p))
	return c.buf.Write(p)
}

// A request body is sent in writes of copyBufSize, not io.Copy's 32 KiB,
// and arrives whole.
func TestCopyConnChunks(t *testing.T) {
	data := make([]byte, 3*copyBufSize+1000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	rc := &recordConn{}
	// A LimitedReader, as the HTTP client hands over a body of known length.
	n, err := copyConn{rc}.ReadFrom(&io.LimitedReader{R: bytes.NewReader(data), N: int64(len(data))})
	if err != nil || n != int64(len(data)) {
		t.Fatalf("ReadFrom: %d, %v", n, err)
	}
	if !bytes.Equal(rc.buf.Bytes(), data) {
		t.Fatal("bytes differ")
	}
	want := []int{copyBufSize, copyBufSize, copyBufSize, 1000}
	if len(rc.writes) != len(want) {
		t.Fatalf("writes %v, want %v", rc.writes, want)
	}
	for i := range want {
		if rc.writes[i] != want[i] {
			t.Fatalf("writes %v, want %v", rc.writes, want)
		}
	}
}
