package satchel_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// docLink matches the target of an inline Markdown link or image,
// "[text](target)" or "[text](target "title")", and of a reference
// definition, "[label]: target".
var docLink = regexp.MustCompile(`\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)|(?m)^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)`)

// TestDocsStandAlone checks that the README and docs/ need nothing outside
// the repository: no mention of the project-internal shared/ folder, and
// every relative link names a file or directory that exists.
func TestDocsStandAlone(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{"README.md"}, files...)
	for _, name := range files {
		for _, problem := range docProblems(t, name) {
			t.Errorf("%s: %s", name, problem)
		}
	}
}

// docProblems lists what in the Markdown file name points outside the
// repository or at nothing.
func docProblems(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var problems []string
	for i, line := range strings.Split(text, "\n") {
		if strings.Contains(line, "shared/") {
			problems = append(problems, "line "+strconv.Itoa(i+1)+" mentions shared/, which is not part of the repository")
		}
	}
	for _, m := range docLink.FindAllStringSubmatch(text, -1) {
		target := m[1]
		if target == "" {
			target = m[2]
		}
		if target == "" || strings.HasPrefix(target, "#") || strings.Contains(target, "://") ||
			strings.HasPrefix(target, "mailto:") {
			continue
		}
		target, _, _ = strings.Cut(target, "#")
		target, _, _ = strings.Cut(target, "?")
		if filepath.IsAbs(target) {
			problems = append(problems, "link "+target+" is an absolute path")
			continue
		}
		path := filepath.Join(filepath.Dir(name), filepath.FromSlash(target))
		if rel, err := filepath.Rel(".", path); err != nil || strings.HasPrefix(rel, "..") {
			problems = append(problems, "link "+target+" leaves the repository")
			continue
		}
		if _, err := os.Stat(path); err != nil {
			problems = append(problems, "link "+target+" names nothing in the repository")
		}
	}
	return problems
}

// TestDocProblemsCatchesBadLinks checks the checker on a file with every
// kind of mistake it looks for.
func TestDocProblemsCatchesBadLinks(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "bad.md")
	doc := "See `shared/spec/cdn.md`.\n[gone](missing.md) [ok](bad.md#x) [web](https://example.com/a.md) [here](#top)\n" +
		"[ref]: ../../outside.md\n"
	if err := os.WriteFile(name, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	got := docProblems(t, "bad.md")
	want := []string{
		"line 1 mentions shared/, which is not part of the repository",
		"link missing.md names nothing in the repository",
		"link ../../outside.md leaves the repository",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
