package blobstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Target is a custom storage that files are copied out to (remote copy):
// a local directory (file:///path) or an S3 bucket (s3://bucket?…). Unlike a
// Bucket, its object names are paths chosen by the user's pattern.
type Target interface {
	// Exists reports whether an object is already at name.
	Exists(ctx context.Context, name string) (bool, error)
	// Put writes size bytes from r durably at name.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
	// URL names the object for API answers ("s3://bucket/key", "file:///dir/name").
	URL(name string) string
}

// CleanTargetPath checks a pattern-made object name: relative, slash
// separated, without empty, "." or ".." segments or control characters.
func CleanTargetPath(name string) (string, error) {
	if name == "" || strings.HasPrefix(name, "/") || len(name) > 1024 {
		return "", fmt.Errorf("blobstore: bad object name %q", name)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("blobstore: bad object name %q", name)
		}
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7f || c == '\\' {
			return "", fmt.Errorf("blobstore: bad object name %q", name)
		}
	}
	return name, nil
}

// OpenTarget opens a custom storage by URL.
func OpenTarget(ctx context.Context, rawURL string) (Target, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("blobstore: target url: %w", err)
	}
	switch u.Scheme {
	case "file":
		if u.Path == "" || !filepath.IsAbs(u.Path) {
			return nil, fmt.Errorf("blobstore: file target needs an absolute path: %q", rawURL)
		}
		return dirTarget(filepath.Clean(u.Path)), nil
	case "s3":
		b, err := OpenS3(ctx, rawURL)
		if err != nil {
			return nil, err
		}
		return s3Target{b}, nil
	}
	return nil, fmt.Errorf("blobstore: unsupported target %q (want file:// or s3://)", rawURL)
}

type dirTarget string

func (d dirTarget) path(name string) (string, error) {
	name, err := CleanTargetPath(name)
	if err != nil {
		return "", err
	}
	return filepath.Join(string(d), filepath.FromSlash(name)), nil
}

func (d dirTarget) Exists(ctx context.Context, name string) (bool, error) {
	p, err := d.path(name)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (d dirTarget) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	p, err := d.path(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("blobstore: target dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".satchel-*")
	if err != nil {
		return fmt.Errorf("blobstore: target temp: %w", err)
	}
	n, err := io.Copy(tmp, r)
	if err == nil && n != size {
		err = fmt.Errorf("copied %d bytes, want %d", n, size)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("blobstore: target write: %w", err)
	}
	return publish(tmp.Name(), p)
}

func (d dirTarget) URL(name string) string {
	return "file://" + path.Join(filepath.ToSlash(string(d)), name)
}

type s3Target struct{ b *S3 }

func (t s3Target) Exists(ctx context.Context, name string) (bool, error) {
	name, err := CleanTargetPath(name)
	if err != nil {
		return false, err
	}
	_, err = t.b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(t.b.bucket), Key: aws.String(t.b.prefix + name)})
	if err == nil {
		return true, nil
	}
	if isNotFound(err) {
		return false, nil
	}
	return false, fmt.Errorf("blobstore: head target: %w", err)
}

func (t s3Target) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	name, err := CleanTargetPath(name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &s3Writer{b: t.b, ctx: ctx, cancel: cancel, key: t.b.prefix + name, sem: make(chan struct{}, writerInflight)}
	n, err := io.Copy(w, r)
	if err == nil && n != size {
		err = fmt.Errorf("copied %d bytes, want %d", n, size)
	}
	if err != nil {
		w.Abort()
		return fmt.Errorf("blobstore: target write: %w", err)
	}
	return w.Commit()
}

func (t s3Target) URL(name string) string {
	return "s3://" + t.b.bucket + "/" + t.b.prefix + name
}
