package cdn

import (
	"archive/tar"
	"archive/zip"
	"context"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/satchel-project/satchel"
)

// MaxArchiveSize bounds the total uncompressed size of a group archive.
const MaxArchiveSize = 2 << 30

// maxArchiveName bounds the bytes of one archive entry name (a common
// file-name limit of file systems that archives are extracted on).
const maxArchiveName = 255

// maxArchiveExt is the longest extension kept apart when a name is cut or
// given a " (n)" suffix.
const maxArchiveExt = 16

// archiveNames gives each member a unique entry name that is safe to extract
// with tar, unzip and the like: one plain path element, never "." or "..",
// no leading dot, no control characters, at most maxArchiveName bytes, and
// unique without regard to case (so it is unique on case-insensitive file
// systems too). Duplicates get " (n)" before the extension.
func archiveNames(files []*satchel.File) []string {
	used := map[string]bool{}
	names := make([]string, len(files))
	for i, f := range files {
		if f == nil {
			continue
		}
		name := safeEntryName(f.OriginalFilename)
		if name == "" {
			name = safeEntryName(f.Filename)
		}
		if name == "" {
			name = safeEntryName(f.UUID)
		}
		if name == "" {
			name = "file"
		}
		stem, ext := splitExt(name)
		for n := 1; used[strings.ToLower(name)]; n++ {
			name = joinName(stem, fmt.Sprintf(" (%d)", n), ext)
		}
		used[strings.ToLower(name)] = true
		names[i] = name
	}
	return names
}

// safeEntryName reduces a client-supplied file name to one safe path
// element, or "" when nothing usable is left. Only the last element of a
// path (with "/" or "\\" separators) is kept; control and format characters
// and invalid UTF-8 are dropped; leading dots and spaces and trailing dots
// and spaces are trimmed, which also rules out "." and "..".
func safeEntryName(raw string) string {
	raw = strings.ToValidUTF8(raw, "")
	raw = strings.ReplaceAll(raw, "\\", "/")
	raw = strings.TrimRight(raw, "/")
	if i := strings.LastIndexByte(raw, '/'); i >= 0 {
		raw = raw[i+1:]
	}
	name := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == utf8.RuneError ||
			r == '\u2028' || r == '\u2029' {
			return -1
		}
		return r
	}, raw)
	name = strings.TrimLeft(name, ". ")
	name = strings.TrimRight(name, ". ")
	if len(name) > maxArchiveName {
		stem, ext := splitExt(name)
		name = joinName(stem, "", ext)
	}
	return name
}

// splitExt splits name into stem and a short extension (with its dot).
func splitExt(name string) (string, string) {
	ext := path.Ext(name)
	if ext == name || len(ext) > maxArchiveExt {
		return name, ""
	}
	return strings.TrimSuffix(name, ext), ext
}

// joinName returns stem+suffix+ext, cutting stem (at a rune boundary, then
// of trailing dots and spaces) so the result fits in maxArchiveName bytes.
func joinName(stem, suffix, ext string) string {
	if room := maxArchiveName - len(suffix) - len(ext); len(stem) > room {
		stem = strings.ToValidUTF8(stem[:room], "")
		stem = strings.TrimRight(stem, ". ")
	}
	if stem == "" && suffix == "" {
		stem = "file"
	}
	return stem + suffix + ext
}

// serveArchive streams a group's original files as zip or tar without
// buffering whole files.
func (h *Handler) serveArchive(w http.ResponseWriter, r *http.Request, g *satchel.Group, files []*satchel.File, format, name string) {
	var total int64
	for _, f := range files {
		if f != nil {
			total += f.Size
		}
	}
	if total > MaxArchiveSize {
		h.fail(w, http.StatusRequestEntityTooLarge, "Group is too large to archive.")
		return
	}
	if name == "" {
		name = "archive." + format
	}
	names := archiveNames(files)
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", fmt.Sprintf("public, max-age=%d", h.maxAge()))
	hd.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, satchel.SanitizeFilename(name)))
	if r.Method == http.MethodHead {
		hd.Set("Content-Type", archiveType(format))
		return
	}
	hd.Set("Content-Type", archiveType(format))
	var err error
	switch format {
	case "zip":
		err = h.writeZip(r.Context(), w, files, names)
	default:
		err = h.writeTar(r.Context(), w, files, names)
	}
	if err != nil {
		// Headers are gone: all we can do is cut the stream short.
		h.Log.Error("cdn archive", "group", g.ID, "err", err)
		panic(http.ErrAbortHandler)
	}
}

func archiveType(format string) string {
	if format == "zip" {
		return "application/zip"
	}
	return "application/x-tar"
}

func (h *Handler) writeZip(ctx context.Context, w io.Writer, files []*satchel.File, names []string) error {
	zw := zip.NewWriter(w)
	for i, f := range files {
		if f == nil {
			continue
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: names[i], Method: zip.Store, Modified: f.Uploaded})
		if err != nil {
			return err
		}
		if err := h.copyBlob(ctx, fw, f); err != nil {
			return err
		}
	}
	return zw.Close()
}

func (h *Handler) writeTar(ctx context.Context, w io.Writer, files []*satchel.File, names []string) error {
	tw := tar.NewWriter(w)
	for i, f := range files {
		if f == nil {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: names[i], Mode: 0o644, Size: f.Size, ModTime: f.Uploaded.Truncate(time.Second), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if err := h.copyBlob(ctx, tw, f); err != nil {
			return err
		}
	}
	return tw.Close()
}

func (h *Handler) copyBlob(ctx context.Context, w io.Writer, f *satchel.File) error {
	b, err := h.Bucket.Open(ctx, f.BlobKey)
	if err != nil {
		return fmt.Errorf("open %s: %w", f.UUID, err)
	}
	defer b.Close()
	n, err := io.CopyBuffer(w, b, make([]byte, 256<<10))
	if err == nil && n != f.Size {
		err = fmt.Errorf("%s: copied %d of %d bytes", f.UUID, n, f.Size)
	}
	return err
}
