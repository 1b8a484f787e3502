package inspect

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// writeTemp writes data to a file named name in a fresh temporary directory.
func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// gradient is an RGBA test picture.
func gradient(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 200})
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// insertPNGChunk adds a chunk right after IHDR.
func insertPNGChunk(data []byte, typ string, body []byte) []byte {
	const afterIHDR = 8 + 4 + 4 + 13 + 4
	var c bytes.Buffer
	binary.Write(&c, binary.BigEndian, uint32(len(body)))
	c.WriteString(typ)
	c.Write(body)
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(body)
	binary.Write(&c, binary.BigEndian, crc.Sum32())
	out := append([]byte{}, data[:afterIHDR]...)
	out = append(out, c.Bytes()...)
	return append(out, data[afterIHDR:]...)
}

// physChunk states a resolution in pixels per metre.
func physChunk(ppm uint32) []byte {
	b := make([]byte, 9)
	binary.BigEndian.PutUint32(b[0:], ppm)
	binary.BigEndian.PutUint32(b[4:], ppm)
	b[8] = 1
	return b
}

// insertJPEGSegment adds a marker segment right after SOI.
func insertJPEGSegment(data []byte, marker byte, body []byte) []byte {
	seg := []byte{0xFF, marker, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(body)+2))
	seg = append(seg, body...)
	out := append([]byte{}, data[:2]...)
	out = append(out, seg...)
	return append(out, data[2:]...)
}

// jfifBody is a JFIF APP0 payload with the given density.
func jfifBody(unit byte, x, y uint16) []byte {
	b := []byte("JFIF\x00\x01\x01")
	b = append(b, unit, byte(x>>8), byte(x), byte(y>>8), byte(y), 0, 0)
	return b
}

// TIFF field types.
const (
	tBYTE     = 1
	tASCII    = 2
	tSHORT    = 3
	tLONG     = 4
	tRATIONAL = 5
)

type tiffEntry struct {
	tag   uint16
	typ   uint16
	count uint32
	data  []byte // little endian; pointers are patched in
}

func shortEntry(tag, v uint16) tiffEntry {
	return tiffEntry{tag, tSHORT, 1, binary.LittleEndian.AppendUint16(nil, v)}
}

func asciiEntry(tag uint16, s string) tiffEntry {
	return tiffEntry{tag, tASCII, uint32(len(s) + 1), append([]byte(s), 0)}
}

func rationalEntry(tag uint16, v ...[2]uint32) tiffEntry {
	var b []byte
	for _, r := range v {
		b = binary.LittleEndian.AppendUint32(b, r[0])
		b = binary.LittleEndian.AppendUint32(b, r[1])
	}
	return tiffEntry{tag, tRATIONAL, uint32(len(v)), b}
}

func pointerEntry(tag uint16) tiffEntry {
	return tiffEntry{tag, tLONG, 1, make([]byte, 4)}
}

// ifdSize is how many bytes an IFD and its out-of-line values take.
func ifdSize(entries []tiffEntry) int {
	n := 2 + 12*len(entries) + 4
	for _, e := range entries {
		if len(e.data) > 4 {
			n += len(e.data) + len(e.data)%2
		}
	}
	return n
}

// encodeIFD lays out an IFD that starts at offset start.
func encodeIFD(start int, entries []tiffEntry) []byte {
	var head, tail []byte
	head = binary.LittleEndian.AppendUint16(head, uint16(len(entries)))
	dataOff := start + 2 + 12*len(entries) + 4
	for _, e := range entries {
		head = binary.LittleEndian.AppendUint16(head, e.tag)
		head = binary.LittleEndian.AppendUint16(head, e.typ)
		head = binary.LittleEndian.AppendUint32(head, e.count)
		if len(e.data) <= 4 {
			v := make([]byte, 4)
			copy(v, e.data)
			head = append(head, v...)
			continue
		}
		head = binary.LittleEndian.AppendUint32(head, uint32(dataOff+len(tail)))
		tail = append(tail, e.data...)
		if len(e.data)%2 == 1 {
			tail = append(tail, 0)
		}
	}
	head = binary.LittleEndian.AppendUint32(head, 0) // no next IFD
	return append(head, tail...)
}

// exifBody builds an APP1 "Exif" payload: IFD0 entries plus optional Exif
// and GPS sub-IFDs, each entry list sorted by tag.
func exifBody(ifd0, exif, gps []tiffEntry) []byte {
	if len(exif) > 0 {
		ifd0 = append(ifd0, pointerEntry(0x8769))
	}
	if len(gps) > 0 {
		ifd0 = append(ifd0, pointerEntry(0x8825))
	}
	off := 8
	exifOff := off + ifdSize(ifd0)
	gpsOff := exifOff
	if len(exif) > 0 {
		gpsOff += ifdSize(exif)
	}
	for i := range ifd0 {
		switch ifd0[i].tag {
		case 0x8769:
			ifd0[i].data = binary.LittleEndian.AppendUint32(nil, uint32(exifOff))
		case 0x8825:
			ifd0[i].data = binary.LittleEndian.AppendUint32(nil, uint32(gpsOff))
		}
	}
	tiff := []byte("II\x2A\x00\x08\x00\x00\x00")
	tiff = append(tiff, encodeIFD(off, ifd0)...)
	if len(exif) > 0 {
		tiff = append(tiff, encodeIFD(exifOff, exif)...)
	}
	if len(gps) > 0 {
		tiff = append(tiff, encodeIFD(gpsOff, gps)...)
	}
	return append([]byte("Exif\x00\x00"), tiff...)
}
