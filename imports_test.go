package satchel

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCoreSpeaksNoHTTP keeps the wire out of the core: the root package and
// app describe errors by kind and reason, and only the API surfaces turn them
// into status codes, so neither may import net/http.
func TestCoreSpeaksNoHTTP(t *testing.T) {
	for _, dir := range []string{".", "app"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range af.Imports {
				if p, _ := strconv.Unquote(imp.Path.Value); p == "net/http" || strings.HasPrefix(p, "net/http/") {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
}
