package imaging

import (
	"encoding/binary"
	"strings"
	"unicode/utf16"
)

// isSRGBProfile reports whether an embedded ICC profile describes sRGB
// itself ("sRGB IEC61966-2.1", "sRGB built-in", ...): most camera and
// editor output carries one, and converting from it to sRGB is a costly
// no-op the engine skips.
func isSRGBProfile(p []byte) bool {
	if len(p) < 132 || string(p[36:40]) != "acsp" || string(p[16:20]) != "RGB " {
		return false
	}
	be := binary.BigEndian
	n := int(be.Uint32(p[128:132]))
	for i := 0; i < n && 132+12*(i+1) <= len(p); i++ {
		e := p[132+12*i:]
		if string(e[0:4]) != "desc" {
			continue
		}
		off, size := int(be.Uint32(e[4:8])), int(be.Uint32(e[8:12]))
		if off < 0 || size < 12 || off+size > len(p) || off+size < off {
			return false
		}
		return strings.Contains(profileText(p[off:off+size]), "sRGB")
	}
	return false
}

// profileText decodes a textDescriptionType (ICC v2) or the first record
// of a multiLocalizedUnicodeType (v4).
func profileText(t []byte) string {
	be := binary.BigEndian
	switch string(t[0:4]) {
	case "desc":
		n := int(be.Uint32(t[8:12]))
		if n < 0 || 12+n > len(t) {
			return ""
		}
		return strings.TrimRight(string(t[12:12+n]), "\x00")
	case "mluc":
		if len(t) < 28 || be.Uint32(t[8:12]) == 0 {
			return ""
		}
		n, off := int(be.Uint32(t[20:24])), int(be.Uint32(t[24:28]))
		if n < 0 || off < 0 || off+n > len(t) || off+n < off {
			return ""
		}
		u := make([]uint16, n/2)
		for i := range u {
			u[i] = be.Uint16(t[off+2*i:])
		}
		return string(utf16.Decode(u))
	}
	return ""
}
