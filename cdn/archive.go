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

	"github.com/satchel-project/satchel"
)

// MaxArchiveSize bounds the total uncompressed size of a group archive.
const MaxArchiveSize = 2 << 30

// archiveNames gives each member a unique entry name from its file name.
func archiveNames(files []*satchel.File) []string {
	seen := map[string]int{}
	names := make([]string, len(files))
	for i, f := range files {
		if f == nil {
			continue
		}
		name := satchel.BaseName(f.OriginalFilename)
		if name == "" || name == "." {
			name = f.Filename
		}
		if n := seen[name]; n > 0 {
			ext := path.Ext(name)
			name = fmt.Sprintf("%s (%d)%s", strings.TrimSuffix(name, ext), n, ext)
		}
		seen[satchel.BaseName(f.OriginalFilename)]++
		seen[name]++
		names[i] = name
	}
	return names
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
