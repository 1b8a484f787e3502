package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/satchel-project/satchel/ucare"
)

// defaultPattern names synced files when the path has no pattern.
const defaultPattern = "${uuid}${ext}"

var patternRe = regexp.MustCompile(`\$\{\w+\}`)

func setupSync(fs *flag.FlagSet) func(*cli, []string) error {
	var l listFlags
	l.register(fs, true)
	replace := fs.Bool("replace", false, "replace files that exist")
	uuids := fs.String("uuids", "", "sync only these files (UUIDs, space or comma separated)")
	effects := fs.String("effects", "", "CDN operations applied to images, e.g. resize/200x/-/rotate/90/")
	fs.Bool("no-input", false, "do not ask for input (ucare never asks)")
	return func(c *cli, args []string) error {
		pattern := "."
		if len(args) == 1 {
			pattern = args[0]
		}
		eff := strings.Trim(strings.TrimPrefix(*effects, "-/"), "/")
		if eff != "" {
			t, err := ucare.ParseTransformation(eff)
			if err != nil {
				return usagef("--effects: %v", err)
			}
			eff = t.String()
		}
		s := &syncer{c: c, pattern: pattern, effects: eff, replace: *replace}
		if *uuids != "" {
			for _, id := range strings.FieldsFunc(*uuids, func(r rune) bool { return r == ',' || r == ' ' }) {
				f, err := c.client.FileInfo(c.ctx, id, nil)
				if err != nil {
					s.failed(id, "", err)
					continue
				}
				s.sync(f)
			}
		} else {
			opts, err := l.fileOptions()
			if err != nil {
				return err
			}
			n := 0
			for f, err := range c.client.ListFiles(c.ctx, opts) {
				if err != nil {
					return err
				}
				s.sync(f)
				n++
				if l.limit > 0 && n >= l.limit {
					break
				}
			}
		}
		if c.g.json {
			if err := c.printJSON(s.results); err != nil {
				return err
			}
		}
		return s.err
	}
}

// syncResult is one file of sync's JSON answer.
type syncResult struct {
	UUID   string `json:"uuid"`
	Path   string `json:"path,omitempty"`
	URL    string `json:"url,omitempty"`
	Status string `json:"status"` // downloaded, skipped, failed
	Reason string `json:"reason,omitempty"`
}

type syncer struct {
	c       *cli
	pattern string
	effects string
	replace bool
	results []syncResult
	err     error
}

func (s *syncer) failed(id, p string, err error) {
	s.results = append(s.results, syncResult{UUID: id, Path: p, Status: "failed", Reason: err.Error()})
	if !s.c.g.json {
		fmt.Fprintf(s.c.e.stderr, "ERROR: %s: %v\n", id, strings.TrimPrefix(err.Error(), "ucare: "))
	}
	if s.err == nil {
		s.err = err
	}
}

func (s *syncer) skipped(f *ucare.File, p, reason string) {
	s.results = append(s.results, syncResult{UUID: f.UUID, Path: p, Status: "skipped", Reason: reason})
	if !s.c.g.json {
		fmt.Fprintln(s.c.e.stderr, reason)
	}
}

func (s *syncer) sync(f *ucare.File) {
	if f.IsRemoved() {
		s.skipped(f, "", fmt.Sprintf("File %s is removed: skipped.", f.UUID))
		return
	}
	effects := ""
	if f.IsImage && s.effects != "" {
		effects = s.effects
	}
	local, err := buildPath(s.pattern, f, effects)
	if err != nil {
		s.failed(f.UUID, "", err)
		return
	}
	if _, err := os.Stat(local); err == nil && !s.replace {
		s.skipped(f, local, fmt.Sprintf("File `%s` already exists. To override it use `--replace` option", local))
		return
	}
	if dir := filepath.Dir(local); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			s.failed(f.UUID, local, err)
			return
		}
	}
	var t *ucare.Transformation
	if effects != "" {
		t, _ = ucare.ParseTransformation(effects)
	}
	u := s.c.client.CDNURL(f.UUID, t)
	if err := s.download(u, local, f.Size); err != nil {
		s.failed(f.UUID, local, err)
		return
	}
	s.results = append(s.results, syncResult{UUID: f.UUID, Path: local, URL: u, Status: "downloaded"})
	if !s.c.g.json {
		s.c.printf("%s -> %s\n", f.UUID, local)
	}
}

// download writes a CDN URL to local through a temporary file.
func (s *syncer) download(u, local string, size int64) error {
	tmp, err := os.CreateTemp(filepath.Dir(local), ".ucare-sync-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	var w io.Writer = tmp
	bar := s.c.newBar(filepath.Base(local))
	if bar != nil {
		w = &barWriter{w: tmp, bar: bar, total: size}
	}
	_, err = s.c.client.Download(s.c.ctx, u, w)
	bar.finish()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), local)
}

// buildPath expands the sync pattern for f: ${uuid}, ${filename} (the
// original name), ${ext} (its extension with the dot) and ${effects} (the
// operations applied). A path without any pattern is a directory that gets
// "${uuid}${ext}". Values never climb out of the pattern's directories.
func buildPath(pattern string, f *ucare.File, effects string) (string, error) {
	if !patternRe.MatchString(pattern) {
		pattern = filepath.Join(pattern, defaultPattern)
	}
	name := safeName(f.OriginalFilename)
	ext := path.Ext(name)
	var bad error
	out := patternRe.ReplaceAllStringFunc(pattern, func(tok string) string {
		switch tok {
		case "${uuid}":
			return f.UUID
		case "${filename}":
			return name
		case "${ext}":
			return ext
		case "${effects}":
			for _, seg := range strings.Split(effects, "/") {
				if seg == "." || seg == ".." {
					bad = usagef("effects %q cannot be a path", effects)
				}
			}
			return strings.TrimSuffix(effects, "/")
		}
		return tok
	})
	if bad != nil {
		return "", bad
	}
	return filepath.Clean(out), nil
}

// safeName keeps a file name inside its directory.
func safeName(n string) string {
	n = strings.Map(func(r rune) rune {
		switch r {
		case '/', '\\', 0:
			return '_'
		}
		return r
	}, n)
	if n == "." || n == ".." {
		return "_"
	}
	return n
}
