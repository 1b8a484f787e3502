package inspect

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"os"
)

// maxHeaderScan bounds how far the resolution scanners read into a file.
const maxHeaderScan = 1 << 20

// jpegJFIFDensity returns the resolution stated by the JFIF APP0 segment
// of the JPEG at path in dots per inch; ok is false when there is no JFIF
// segment or it states an aspect ratio only.
func jpegJFIFDensity(path string) (x, y float64, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	r := bufio.NewReader(io.LimitReader(f, maxHeaderScan))
	var soi [2]byte
	if _, err := io.ReadFull(r, soi[:]); err != nil || soi != [2]byte{0xFF, 0xD8} {
		return 0, 0, false
	}
	for {
		b, err := r.ReadByte()
		if err != nil {
			return 0, 0, false
		}
		if b != 0xFF {
			return 0, 0, false
		}
		marker, err := r.ReadByte()
		for err == nil && marker == 0xFF { // fill bytes
			marker, err = r.ReadByte()
		}
		if err != nil {
			return 0, 0, false
		}
		switch {
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7):
			continue // markers without a length
		case marker == 0xDA || marker == 0xD9:
			return 0, 0, false // start of scan or end of image: no JFIF
		}
		var lb [2]byte
		if _, err := io.ReadFull(r, lb[:]); err != nil {
			return 0, 0, false
		}
		n := int(binary.BigEndian.Uint16(lb[:])) - 2
		if n < 0 {
			return 0, 0, false
		}
		if marker != 0xE0 || n < 12 {
			if _, err := r.Discard(n); err != nil {
				return 0, 0, false
			}
			continue
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(r, seg); err != nil {
			return 0, 0, false
		}
		if !bytes.HasPrefix(seg, []byte("JFIF\x00")) {
			continue
		}
		unit := seg[7]
		xd := float64(binary.BigEndian.Uint16(seg[8:10]))
		yd := float64(binary.BigEndian.Uint16(seg[10:12]))
		switch unit {
		case 1:
			return xd, yd, true
		case 2:
			return xd * 2.54, yd * 2.54, true
		}
		return 0, 0, false
	}
}

// pngPhysDPI returns the resolution stated by the pHYs chunk of the PNG at
// path in dots per inch; ok is false when there is none before the image
// data or it states an aspect ratio only.
func pngPhysDPI(path string) (x, y float64, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	r := bufio.NewReader(io.LimitReader(f, maxHeaderScan))
	var sig [8]byte
	if _, err := io.ReadFull(r, sig[:]); err != nil || string(sig[:]) != "\x89PNG\r\n\x1a\n" {
		return 0, 0, false
	}
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return 0, 0, false
		}
		n := int64(binary.BigEndian.Uint32(ch[:4]))
		typ := string(ch[4:8])
		switch typ {
		case "IDAT", "IEND":
			return 0, 0, false
		case "pHYs":
			if n != 9 {
				return 0, 0, false
			}
			var d [9]byte
			if _, err := io.ReadFull(r, d[:]); err != nil {
				return 0, 0, false
			}
			if d[8] != 1 { // 1 = metre; 0 = aspect ratio only
				return 0, 0, false
			}
			px := float64(binary.BigEndian.Uint32(d[0:4]))
			py := float64(binary.BigEndian.Uint32(d[4:8]))
			return px * 0.0254, py * 0.0254, true
		}
		if n > maxHeaderScan {
			return 0, 0, false
		}
		if _, err := r.Discard(int(n) + 4); err != nil { // data and CRC
			return 0, 0, false
		}
	}
}
