package convert

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// outFormats are the document target formats.
var outFormats = map[string]bool{
	"pdf": true, "doc": true, "docx": true, "odt": true, "rtf": true, "txt": true,
	"xls": true, "xlsx": true, "ods": true, "jpg": true, "png": true,
}

// Source families and the formats each converts to.
var (
	textFormats  = []string{"doc", "docx", "odt", "pdf", "rtf", "txt", "jpg", "png"}
	sheetFormats = []string{"ods", "pdf", "xls", "xlsx", "jpg", "png"}
	slideFormats = []string{"pdf", "jpg", "png"}
	pdfFormats   = []string{"jpg", "png"}
	sourceFamily = map[string][]string{
		"doc": textFormats, "docx": textFormats, "odt": textFormats, "fodt": textFormats, "rtf": textFormats, "txt": textFormats,
		"wpd": textFormats, "dot": textFormats, "dotx": textFormats, "ott": textFormats, "html": textFormats,
		"xls": sheetFormats, "xlsx": sheetFormats, "ods": sheetFormats, "fods": sheetFormats, "csv": sheetFormats, "ots": sheetFormats,
		"ppt": slideFormats, "pptx": slideFormats, "odp": slideFormats, "fodp": slideFormats, "pps": slideFormats, "ppsx": slideFormats,
		"pdf": pdfFormats,
	}
	mimeFormats = map[string]string{
		"application/pdf": "pdf", "application/msword": "doc", "application/rtf": "rtf", "text/rtf": "rtf", "text/plain": "txt",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
		"application/vnd.oasis.opendocument.text":                                 "odt",
		"application/vnd.ms-excel":                                                "xls",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":       "xlsx",
		"application/vnd.oasis.opendocument.spreadsheet":                          "ods",
		"text/csv":                      "csv",
		"application/vnd.ms-powerpoint": "ppt",
		"application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
		"application/vnd.oasis.opendocument.presentation":                           "odp",
	}
)

// SourceFormat names a document's format from its file name and MIME type;
// "" when it is not a document the converter reads.
func SourceFormat(filename, mime string) string {
	ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(filename), "."))
	if _, ok := sourceFamily[ext]; ok {
		return ext
	}
	if f, ok := mimeFormats[strings.ToLower(strings.TrimSpace(strings.Split(mime, ";")[0]))]; ok {
		return f
	}
	return ""
}

// TargetFormats lists what a source format converts to.
func TargetFormats(source string) []string { return sourceFamily[source] }

// CanConvert reports whether source converts to target.
func CanConvert(source, target string) bool {
	for _, f := range sourceFamily[source] {
		if f == target {
			return true
		}
	}
	return false
}

// DocumentOptions bound the document converter.
type DocumentOptions struct {
	// Soffice is LibreOffice's program (default: soffice in PATH).
	Soffice string
	// Workers is the number of converter slots, each with its own
	// LibreOffice profile (default 2).
	Workers int
	// Timeout bounds one LibreOffice run (default 2 min).
	Timeout time.Duration
	// MaxPages caps the pages of a document converted to PDF or images
	// (default 500).
	MaxPages int
	// Resolution of page images in DPI (default 100).
	Resolution int
	// Dir holds the slots' profiles (required).
	Dir string
	Log *slog.Logger
}

// Documents converts documents with LibreOffice (headless, one process per
// job, in one of a bounded pool of slots whose profiles stay warm between
// jobs) and renders PDF pages with poppler's pdftoppm.
type Documents struct {
	o       DocumentOptions
	slots   chan int
	unshare bool
}

// NewDocuments returns a document converter.
func NewDocuments(o DocumentOptions) *Documents {
	if o.Soffice == "" {
		o.Soffice = "soffice"
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.MaxPages <= 0 {
		o.MaxPages = 500
	}
	if o.Resolution <= 0 {
		o.Resolution = 100
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	d := &Documents{o: o, slots: make(chan int, o.Workers)}
	for i := 0; i < o.Workers; i++ {
		d.slots <- i
	}
	// Converters get no network where the kernel lets us take it away.
	if err := exec.Command("unshare", "-n", "true").Run(); err == nil {
		d.unshare = true
	} else {
		o.Log.Warn("document converter runs with network access: unshare -n is not permitted here", "err", err)
	}
	return d
}

// Available reports whether LibreOffice and poppler are installed.
func (d *Documents) Available() error {
	for _, p := range []string{d.o.Soffice, "pdftoppm", "pdfinfo"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("%w: %s", ErrUnavailable, p)
		}
	}
	return nil
}

// macroPolicy is the profile's configuration: macros never run (security
// level "very high" and execution disabled), no update checks, no links to
// untrusted content.
const macroPolicy = `<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="DisableMacrosExecution" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="UseLocking" oor:op="fuse"><value>false</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
`

func (d *Documents) profile(slot int) (string, error) {
	dir := filepath.Join(d.o.Dir, "profile-"+strconv.Itoa(slot))
	user := filepath.Join(dir, "user")
	if err := os.MkdirAll(user, 0o700); err != nil {
		return "", fmt.Errorf("convert: profile: %w", err)
	}
	// The policy is written before every run, so a document cannot keep a
	// changed configuration for the next one.
	if err := os.WriteFile(filepath.Join(user, "registrymodifications.xcu"), []byte(macroPolicy), 0o600); err != nil {
		return "", fmt.Errorf("convert: profile: %w", err)
	}
	return dir, nil
}

// soffice converts in (inside dir) to format with LibreOffice and returns
// the output's path.
func (d *Documents) soffice(ctx context.Context, dir, in, format string) (string, error) {
	var slot int
	select {
	case slot = <-d.slots:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { d.slots <- slot }()
	prof, err := d.profile(slot)
	if err != nil {
		return "", err
	}
	outDir := filepath.Join(dir, "out-"+format)
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return "", fmt.Errorf("convert: %w", err)
	}
	filter := format
	if format == "txt" {
		filter = "txt:Text (encoded):UTF8"
	}
	args := []string{"--headless", "--invisible", "--nologo", "--norestore", "--nodefault", "--nolockcheck", "--nofirststartwizard",
		"-env:UserInstallation=file://" + prof, "--convert-to", filter, "--outdir", outDir, in}
	name := d.o.Soffice
	if d.unshare {
		args = append([]string{"-n", name}, args...)
		name = "unshare"
	}
	env := []string{"HOME=" + dir, "TMPDIR=" + dir, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8", "SAL_USE_VCLPLUGIN=svp"}
	if _, err := run(ctx, d.o.Timeout, "LibreOffice", dir, env, name, args...); err != nil {
		if _, ok := err.(*Error); ok {
			// A crash or a hang may leave the profile broken: start afresh.
			os.RemoveAll(prof)
		}
		return "", err
	}
	out := filepath.Join(outDir, strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))+"."+format)
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		return "", failf("LibreOffice could not convert the document to %s.", format)
	}
	return out, nil
}

var pagesRe = regexp.MustCompile(`(?m)^Pages:\s+(\d+)`)

// Pages counts the pages of a PDF.
func Pages(ctx context.Context, dir, pdf string) (int, error) {
	out, err := run(ctx, time.Minute, "Reading the PDF", dir, nil, "pdfinfo", pdf)
	if err != nil {
		return 0, err
	}
	m := pagesRe.FindSubmatch(out)
	if m == nil {
		return 0, failf("The PDF has no pages.")
	}
	return strconv.Atoi(string(m[1]))
}

// DocumentResult is a converted document: one file, or one image per page.
type DocumentResult struct {
	Files []string
	// Pages of the PDF the images were made from (0 for other targets).
	Pages int
}

// Convert converts src (of format source) into dir as r asks. An image
// target gives page r.Page (the first when 0), or every page with all.
func (d *Documents) Convert(ctx context.Context, src, source, dir string, r *Request, all bool) (*DocumentResult, error) {
	if !CanConvert(source, r.Format) {
		return nil, failf("A %s document does not convert to %s.", source, r.Format)
	}
	in := filepath.Join(dir, "source."+source)
	if err := os.Link(src, in); err != nil {
		if err := copyFile(src, in); err != nil {
			return nil, fmt.Errorf("convert: copy source: %w", err)
		}
	}
	image := r.Format == "jpg" || r.Format == "png"
	if !image {
		out, err := d.soffice(ctx, dir, in, r.Format)
		if err != nil {
			return nil, err
		}
		if r.Format == "pdf" {
			n, err := Pages(ctx, dir, out)
			if err != nil {
				return nil, err
			}
			if n > d.o.MaxPages {
				return nil, failf("The document has %d pages, more than the limit of %d.", n, d.o.MaxPages)
			}
			return &DocumentResult{Files: []string{out}, Pages: n}, nil
		}
		return &DocumentResult{Files: []string{out}}, nil
	}
	pdf := in
	if source != "pdf" {
		var err error
		if pdf, err = d.soffice(ctx, dir, in, "pdf"); err != nil {
			return nil, err
		}
	}
	n, err := Pages(ctx, dir, pdf)
	if err != nil {
		return nil, err
	}
	if n > d.o.MaxPages {
		return nil, failf("The document has %d pages, more than the limit of %d.", n, d.o.MaxPages)
	}
	first, last := 1, 1
	if r.Page > 0 {
		if r.Page > n {
			return nil, failf("The document has %d pages; there is no page %d.", n, r.Page)
		}
		first, last = r.Page, r.Page
	}
	if all {
		first, last = 1, n
	}
	pagesDir := filepath.Join(dir, "pages")
	if err := os.MkdirAll(pagesDir, 0o700); err != nil {
		return nil, fmt.Errorf("convert: %w", err)
	}
	kind := "-png"
	if r.Format == "jpg" {
		kind = "-jpeg"
	}
	if _, err := run(ctx, d.o.Timeout, "Rendering pages", dir, nil, "pdftoppm", kind, "-r", strconv.Itoa(d.o.Resolution),
		"-f", strconv.Itoa(first), "-l", strconv.Itoa(last), pdf, filepath.Join(pagesDir, "page")); err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(pagesDir, "page-*"))
	if err != nil || len(files) != last-first+1 {
		return nil, failf("Rendering pages gave %d images, not %d.", len(files), last-first+1)
	}
	sort.Slice(files, func(i, j int) bool { return pageNum(files[i]) < pageNum(files[j]) })
	return &DocumentResult{Files: files, Pages: n}, nil
}

func pageNum(p string) int {
	b := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
	n, _ := strconv.Atoi(b[strings.LastIndexByte(b, '-')+1:])
	return n
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
