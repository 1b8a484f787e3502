package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/satchel-project/satchel/ucare"
)

func init() {
	commands = []*command{
		{name: "list_files", help: "list files", needsSecret: true, maxArgs: 0, setup: setupListFiles},
		{name: "list_groups", help: "list groups", needsSecret: true, maxArgs: 0, setup: setupListGroups},
		{name: "get", args: "<uuid or CDN URL>", help: "show a file's info", needsSecret: true, minArgs: 1, maxArgs: 1, setup: setupGet},
		{name: "store", args: "<uuid or CDN URL>...", help: "store files", needsSecret: true, minArgs: 1, maxArgs: -1, setup: setupStore},
		{name: "delete", args: "<uuid or CDN URL>...", help: "delete files", needsSecret: true, minArgs: 1, maxArgs: -1, setup: setupDelete},
		{name: "upload_from_url", args: "<url>", help: "upload a file from a URL", minArgs: 1, maxArgs: 1, setup: setupUploadFromURL},
		{name: "upload", args: "<file or ->", help: "upload a file (\"-\": standard input)", minArgs: 1, maxArgs: 1, setup: setupUpload},
		{name: "create_group", args: "<uuid or CDN URL>...", help: "create a group of files", minArgs: 1, maxArgs: -1, setup: setupCreateGroup},
		{name: "sync", args: "[path pattern]", help: "download files to local paths built from ${uuid}, ${filename}, ${ext}, ${effects}", needsSecret: true, maxArgs: 1, setup: setupSync},
	}
}

// triBool is pyuploadcare's bool_or_none: True, False or None.
type triBool struct{ v **bool }

func (t triBool) String() string {
	if t.v == nil || *t.v == nil {
		return "None"
	}
	if **t.v {
		return "True"
	}
	return "False"
}

func (t triBool) Set(s string) error {
	if strings.EqualFold(s, "none") || s == "" {
		*t.v = nil
		return nil
	}
	b, ok := parseBool(s)
	if !ok {
		return fmt.Errorf("%q is not True, False or None", s)
	}
	*t.v = &b
	return nil
}

// intOrNone is pyuploadcare's int_or_none: a number, or None (no limit).
type intOrNone struct{ v *int }

func (n intOrNone) String() string {
	if n.v == nil || *n.v <= 0 {
		return "None"
	}
	return strconv.Itoa(*n.v)
}

func (n intOrNone) Set(s string) error {
	if strings.EqualFold(s, "none") {
		*n.v = 0
		return nil
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 {
		return fmt.Errorf("%q is not a number or None", s)
	}
	*n.v = i
	return nil
}

// notFlag is a bool flag that clears its variable (--nowait, --nostore…).
type notFlag struct{ v *bool }

func (n notFlag) String() string   { return "false" }
func (n notFlag) IsBoolFlag() bool { return true }
func (n notFlag) Set(s string) error {
	b, ok := parseBool(s)
	if !ok {
		return fmt.Errorf("%q is not a boolean", s)
	}
	*n.v = !b
	return nil
}

// listFlags are the filters of list_files, list_groups and sync.
type listFlags struct {
	startingPoint, ordering string
	limit, requestLimit     int
	stored, removed         *bool
}

func (l *listFlags) register(fs *flag.FlagSet, files bool) {
	l.limit, l.requestLimit = 100, 100
	fs.StringVar(&l.startingPoint, "starting_point", "", "start after this point (a datetime, or a size when ordering by size)")
	fs.StringVar(&l.ordering, "ordering", "", "sort order, e.g. -datetime_uploaded")
	fs.Var(intOrNone{&l.limit}, "limit", "how many to show (None: all)")
	fs.Var(intOrNone{&l.requestLimit}, "request_limit", "how many per request")
	if files {
		no := false
		l.removed = &no
		fs.Var(triBool{&l.stored}, "stored", "True: stored files only, False: temporary files only, None: both")
		fs.Var(triBool{&l.removed}, "removed", "True: removed files only")
	}
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"}

func parseTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("--starting_point %q is not a datetime (e.g. 2024-05-01T10:00:00)", s)
}

func (l *listFlags) fileOptions() (*ucare.ListFilesOptions, error) {
	o := &ucare.ListFilesOptions{Ordering: l.ordering, Stored: l.stored, Limit: l.requestLimit}
	if l.removed != nil {
		o.Removed = *l.removed
	}
	if l.requestLimit > 1000 {
		o.Limit = 1000
	}
	if l.startingPoint != "" {
		if strings.TrimPrefix(l.ordering, "-") == "size" {
			n, err := strconv.ParseInt(l.startingPoint, 10, 64)
			if err != nil {
				return nil, usagef("--starting_point %q is not a size", l.startingPoint)
			}
			o.FromSize = &n
		} else {
			t, err := parseTime(l.startingPoint)
			if err != nil {
				return nil, err
			}
			o.From = t
		}
	}
	return o, nil
}

// printJSON writes v as indented JSON.
func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (c *cli) printf(format string, args ...any) { fmt.Fprintf(c.e.stdout, format, args...) }

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

func fileState(f *ucare.File) string {
	switch {
	case f.IsRemoved():
		return "removed"
	case f.IsStored():
		return "stored"
	}
	return "temporary"
}

func setupListFiles(fs *flag.FlagSet) func(*cli, []string) error {
	var l listFlags
	l.register(fs, true)
	return func(c *cli, _ []string) error {
		opts, err := l.fileOptions()
		if err != nil {
			return err
		}
		files := []*ucare.File{}
		for f, err := range c.client.ListFiles(c.ctx, opts) {
			if err != nil {
				return err
			}
			files = append(files, f)
			if l.limit > 0 && len(files) >= l.limit {
				break
			}
		}
		if c.g.json {
			return c.printJSON(files)
		}
		tw := tabwriter.NewWriter(c.e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "UUID\tSIZE\tSTATE\tUPLOADED\tFILENAME")
		for _, f := range files {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", f.UUID, f.Size, fileState(f), fmtTime(f.DatetimeUploaded), f.OriginalFilename)
		}
		return tw.Flush()
	}
}

func setupListGroups(fs *flag.FlagSet) func(*cli, []string) error {
	var l listFlags
	l.register(fs, false)
	return func(c *cli, _ []string) error {
		opts := &ucare.ListGroupsOptions{Ordering: l.ordering, Limit: min(l.requestLimit, 1000)}
		if l.startingPoint != "" {
			t, err := parseTime(l.startingPoint)
			if err != nil {
				return err
			}
			opts.From = t
		}
		groups := []*ucare.Group{}
		for g, err := range c.client.ListGroups(c.ctx, opts) {
			if err != nil {
				return err
			}
			groups = append(groups, g)
			if l.limit > 0 && len(groups) >= l.limit {
				break
			}
		}
		if c.g.json {
			return c.printJSON(groups)
		}
		tw := tabwriter.NewWriter(c.e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tFILES\tCREATED")
		for _, g := range groups {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", g.ID, g.FilesCount, fmtTime(g.DatetimeCreated))
		}
		return tw.Flush()
	}
}

func setupGet(fs *flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, args []string) error {
		f, err := c.client.FileInfo(c.ctx, args[0], nil)
		if err != nil {
			return err
		}
		if c.g.json {
			return c.printJSON(f)
		}
		c.printFile(f)
		return nil
	}
}

// printFile prints a file's info for humans.
func (c *cli) printFile(f *ucare.File) {
	tw := tabwriter.NewWriter(c.e.stdout, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("uuid", f.UUID)
	row("filename", f.OriginalFilename)
	row("size", strconv.FormatInt(f.Size, 10))
	row("mime_type", f.MimeType)
	row("state", fileState(f))
	row("uploaded", fmtTime(f.DatetimeUploaded))
	if f.DatetimeStored != nil {
		row("stored", fmtTime(f.DatetimeStored))
	}
	if f.DatetimeRemoved != nil {
		row("removed", fmtTime(f.DatetimeRemoved))
	}
	row("is_image", strconv.FormatBool(f.IsImage))
	row("is_ready", strconv.FormatBool(f.IsReady))
	if f.OriginalFileURL != nil {
		row("url", *f.OriginalFileURL)
	}
	if f.ContentInfo != nil && f.ContentInfo.Image != nil {
		im := f.ContentInfo.Image
		row("image", fmt.Sprintf("%dx%d %s", im.Width, im.Height, im.Format))
	}
	for _, k := range sortedKeys(f.Metadata) {
		row("metadata."+k, f.Metadata[k])
	}
	if len(f.Tags) > 0 {
		row("tags", strings.Join(f.Tags, ", "))
	}
	tw.Flush()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// waitFlags are store's and delete's --timeout, --wait and --nowait.
type waitFlags struct {
	timeout int
	wait    bool
}

func (w *waitFlags) register(fs *flag.FlagSet, def int) {
	w.wait = true
	fs.IntVar(&w.timeout, "timeout", def, "seconds to wait for the operation")
	fs.BoolVar(&w.wait, "wait", true, "wait for the operation to complete")
	fs.Var(notFlag{&w.wait}, "nowait", "do not wait for the operation to complete")
}

// batchOutput is the JSON answer of store and delete.
type batchOutput struct {
	Files    []*ucare.File     `json:"files"`
	Problems map[string]string `json:"problems"`
}

func setupStore(fs *flag.FlagSet) func(*cli, []string) error {
	var w waitFlags
	w.register(fs, 5)
	return func(c *cli, args []string) error {
		return c.batch(args, true, w)
	}
}

func setupDelete(fs *flag.FlagSet) func(*cli, []string) error {
	var w waitFlags
	w.register(fs, 5)
	return func(c *cli, args []string) error {
		return c.batch(args, false, w)
	}
}

func (c *cli) batch(args []string, store bool, w waitFlags) error {
	var res *ucare.BatchResult
	var err error
	if store {
		res, err = c.client.StoreFiles(c.ctx, args)
	} else {
		res, err = c.client.DeleteFiles(c.ctx, args)
	}
	if err != nil {
		return err
	}
	if store && w.wait {
		// Stores are asynchronous on some servers: wait until each file says so.
		deadline := time.Now().Add(time.Duration(w.timeout) * time.Second)
		for i, f := range res.Files {
			for !f.IsStored() {
				if time.Now().After(deadline) {
					return &ucare.TimeoutError{Op: "storing " + f.UUID}
				}
				time.Sleep(100 * time.Millisecond)
				if f, err = c.client.FileInfo(c.ctx, f.UUID, nil); err != nil {
					return err
				}
				res.Files[i] = f
			}
		}
	}
	verb := "deleted"
	if store {
		verb = "stored"
	}
	if c.g.json {
		if err := c.printJSON(batchOutput{Files: res.Files, Problems: res.Problems}); err != nil {
			return err
		}
	} else {
		for _, f := range res.Files {
			c.printf("%s %s\n", verb, f.UUID)
		}
		for _, k := range sortedKeys(res.Problems) {
			fmt.Fprintf(c.e.stderr, "not %s: %s: %s\n", verb, k, res.Problems[k])
		}
	}
	if len(res.Problems) > 0 {
		return &problemsError{n: len(res.Problems), verb: verb, notFound: allMissing(res.Problems)}
	}
	return nil
}

func allMissing(p map[string]string) bool {
	for _, v := range p {
		if !strings.Contains(strings.ToLower(v), "missing") && !strings.Contains(strings.ToLower(v), "not found") {
			return false
		}
	}
	return true
}

// problemsError is a batch with refused files: exit 4 when they were all
// unknown, else 1.
type problemsError struct {
	n        int
	verb     string
	notFound bool
}

func (e *problemsError) Error() string { return fmt.Sprintf("%d file(s) not %s", e.n, e.verb) }

// uploadFlags are the flags shared by upload and upload_from_url.
type uploadFlags struct {
	store, nostore, info, cdnurl bool
}

func (u *uploadFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&u.store, "store", false, "store the uploaded file (without --store or --nostore the project's auto-store setting decides)")
	fs.BoolVar(&u.nostore, "nostore", false, "keep the uploaded file temporary")
	fs.BoolVar(&u.info, "info", false, "print the uploaded file's info (needs the secret key)")
	fs.Var(notFlag{&u.info}, "noinfo", "do not print the file's info")
	fs.BoolVar(&u.cdnurl, "cdnurl", false, "store the file and print its CDN URL")
}

func (u *uploadFlags) check() error {
	if u.store && u.nostore || u.cdnurl && u.nostore {
		return usagef("--nostore contradicts --store and --cdnurl")
	}
	return nil
}

func (u *uploadFlags) storeMode() ucare.StoreMode {
	switch {
	case u.store || u.cdnurl:
		return ucare.StoreTrue
	case u.nostore:
		return ucare.StoreFalse
	}
	return ucare.StoreAuto
}

// uploadOutput is the JSON answer of upload and upload_from_url.
type uploadOutput struct {
	Token  string              `json:"token,omitempty"`
	UUID   string              `json:"uuid,omitempty"`
	CDNURL string              `json:"cdn_url,omitempty"`
	Upload *ucare.UploadedFile `json:"upload,omitempty"`
	File   *ucare.File         `json:"file,omitempty"`
}

// finishUpload prints what the upload flags ask for.
func (c *cli) finishUpload(u uploadFlags, f *ucare.UploadedFile) error {
	if u.info && c.s.Secret == "" {
		return usagef("--info needs the secret key")
	}
	out := uploadOutput{UUID: f.UUID, Upload: f}
	if u.cdnurl {
		out.CDNURL = c.client.CDNURL(f.UUID, nil)
	}
	if u.info {
		info, err := c.client.FileInfo(c.ctx, f.UUID, nil)
		if err != nil {
			return err
		}
		out.File = info
	}
	if c.g.json {
		return c.printJSON(out)
	}
	c.printf("%s\n", f.UUID)
	if u.store || u.cdnurl {
		c.printf("File stored successfully.\n")
	}
	if out.File != nil {
		c.printFile(out.File)
	}
	if u.cdnurl {
		c.printf("CDN url: %s\n", out.CDNURL)
	}
	return nil
}

func setupUpload(fs *flag.FlagSet) func(*cli, []string) error {
	var u uploadFlags
	u.register(fs)
	return func(c *cli, args []string) error {
		if err := u.check(); err != nil {
			return err
		}
		var r io.Reader
		opts := &ucare.UploadOptions{Store: u.storeMode()}
		if args[0] == "-" {
			r = c.e.stdin
			opts.Filename = "stdin"
		} else {
			fh, err := os.Open(args[0])
			if err != nil {
				return usagef("%v", err)
			}
			defer fh.Close()
			r = fh
			opts.Filename = filepath.Base(args[0])
		}
		bar := c.newBar(opts.Filename)
		if bar != nil {
			opts.Progress = func(p ucare.Progress) { bar.set(p.Done, p.Total) }
		}
		f, err := c.client.Upload(c.ctx, r, opts)
		bar.finish()
		if err != nil {
			return err
		}
		return c.finishUpload(u, f)
	}
}

func setupUploadFromURL(fs *flag.FlagSet) func(*cli, []string) error {
	var u uploadFlags
	u.register(fs)
	timeout := fs.Int("timeout", 30, "seconds to wait for the upload")
	wait := true
	fs.BoolVar(&wait, "wait", true, "wait for the upload to finish")
	fs.Var(notFlag{&wait}, "nowait", "print the task token and return")
	return func(c *cli, args []string) error {
		if err := u.check(); err != nil {
			return err
		}
		opts := &ucare.FromURLOptions{Store: u.storeMode(), Timeout: time.Duration(*timeout) * time.Second}
		token, err := c.client.UploadFromURL(c.ctx, args[0], opts)
		var dup *ucare.DuplicateFileError
		if errors.As(err, &dup) {
			return c.finishUpload(u, dup.File)
		}
		if err != nil {
			return err
		}
		if !wait && !u.store && !u.info && !u.cdnurl {
			if c.g.json {
				return c.printJSON(uploadOutput{Token: token})
			}
			c.printf("%s\n", token)
			return nil
		}
		bar := c.newBar(args[0])
		if bar != nil {
			opts.Progress = func(p ucare.Progress) { bar.set(p.Done, p.Total) }
		}
		f, err := c.client.WaitFromURL(c.ctx, token, opts)
		bar.finish()
		if err != nil {
			return err
		}
		return c.finishUpload(u, f)
	}
}

func setupCreateGroup(fs *flag.FlagSet) func(*cli, []string) error {
	return func(c *cli, args []string) error {
		g, err := c.client.CreateGroup(c.ctx, args)
		if err != nil {
			return err
		}
		if c.g.json {
			return c.printJSON(g)
		}
		c.printf("%s\n", g.ID)
		tw := tabwriter.NewWriter(c.e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "files:\t%d\n", g.FilesCount)
		fmt.Fprintf(tw, "cdn_url:\t%s\n", c.client.GroupURL(g.ID))
		for i, f := range g.Files {
			if f != nil {
				fmt.Fprintf(tw, "  %d:\t%s\t%s\n", i, f.UUID, f.OriginalFilename)
			}
		}
		return tw.Flush()
	}
}
