package app

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/blobstore"
)

// DefaultCopyPattern names remote copies when the caller gives no pattern.
const DefaultCopyPattern = "${default}"

var patternToken = regexp.MustCompile(`\$\{([^}]*)\}`)

// copyName expands a remote-copy pattern for a file.
func copyName(pattern string, f *satchel.File, effects string) (string, error) {
	ext := path.Ext(f.Filename)
	stem := strings.TrimSuffix(f.Filename, ext)
	expand := func(p string) (string, error) {
		var bad string
		out := patternToken.ReplaceAllStringFunc(p, func(tok string) string {
			switch name := tok[2 : len(tok)-1]; name {
			case "default":
				return "${uuid}/${auto_filename}"
			case "auto_filename":
				return "${filename}${effects}${ext}"
			case "uuid", "filename", "effects", "ext":
				return tok
			default:
				bad = tok
				return tok
			}
		})
		if bad != "" {
			return "", withValue(invalid(satchel.ReasonCopyPatternToken, "pattern", "Invalid pattern provided: unknown token %s.", bad), bad)
		}
		return out, nil
	}
	// Two passes: ${default} expands to ${auto_filename}, which expands further.
	p, err := expand(pattern)
	if err != nil {
		return "", err
	}
	if p, err = expand(p); err != nil {
		return "", err
	}
	p = strings.NewReplacer("${uuid}", f.UUID, "${filename}", stem, "${effects}", effects, "${ext}", ext).Replace(p)
	p = strings.TrimPrefix(p, "/")
	if _, err := blobstore.CleanTargetPath(p); err != nil {
		return "", withValue(invalid(satchel.ReasonCopyPatternInvalid, "pattern", "Invalid pattern provided: %q does not make a valid object name.", pattern), pattern)
	}
	return p, nil
}

// RemoteCopy copies a file to one of the project's custom storages under the
// name its pattern gives. created is false when an object of that name was
// already there (it is left as it is).
func (a *App) RemoteCopy(ctx context.Context, p *satchel.Project, source, target, pattern string) (result string, created bool, err error) {
	if source == "" {
		return "", false, invalid(satchel.ReasonCopyParamRequired, "source", "source is required.")
	}
	if target == "" {
		return "", false, invalid(satchel.ReasonCopyParamRequired, "target", "target is required.")
	}
	storageURL, ok := p.Storages[target]
	if !ok {
		return "", false, withValue(newError(satchel.KindNotFound, satchel.ReasonCopyTargetUnknown, "Project has no storage with provided name."), target)
	}
	m, ok := ParseGroupMember(source)
	if !ok {
		return "", false, errCopySource(source)
	}
	f, err := a.Store.File(ctx, p.ID, m.FileUUID)
	if err != nil || f.Removed != nil {
		return "", false, errCopySource(source)
	}
	if pattern == "" {
		pattern = DefaultCopyPattern
	}
	effects := ""
	if m.DefaultEffects != "" {
		effects = "-/" + m.DefaultEffects
	}
	name, err := copyName(pattern, f, effects)
	if err != nil {
		return "", false, err
	}
	dst, err := blobstore.OpenTarget(ctx, storageURL)
	if err != nil {
		return "", false, fmt.Errorf("app: open storage %q: %w", target, err)
	}
	exists, err := dst.Exists(ctx, name)
	if err != nil {
		return "", false, fmt.Errorf("app: storage %q: %w", target, err)
	}
	if exists {
		return dst.URL(name), false, nil
	}
	r, _, size, err := a.copySource(ctx, f, m.DefaultEffects)
	if err != nil {
		return "", false, err
	}
	defer r.Close()
	if err := dst.Put(ctx, name, r, size); err != nil {
		return "", false, fmt.Errorf("app: copy to %q: %w", target, err)
	}
	return dst.URL(name), true, nil
}
