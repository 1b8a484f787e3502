package satchel_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportBoundaries checks the package graph: the domain, the
// application services, the API packages and the stores build without cgo
// (libvips is reached only through an app.Inspector the server hands in),
// and the REST API does not lean on the Upload API.
func TestImportBoundaries(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list packages with")
	}
	const mod = "github.com/satchel-project/satchel"
	list := func(pkg string) map[string]string {
		t.Helper()
		out, err := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}} {{.Standard}} {{len .CgoFiles}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		deps := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			if len(f) != 3 {
				t.Fatalf("go list %s: unexpected line %q", pkg, line)
			}
			deps[f[0]] = f[1] + " " + f[2]
		}
		return deps
	}
	for _, pkg := range []string{".", "./app", "./uploadapi", "./restapi", "./legacyapi", "./blobstore", "./sqlstore"} {
		for dep, info := range list(pkg) {
			standard, ncgo, _ := strings.Cut(info, " ")
			// The standard library's cgo files (net, os/user) have pure-Go
			// alternatives; a cgo package of ours or a third party's has not.
			if standard == "false" && ncgo != "0" {
				t.Errorf("%s imports %s, which uses cgo", pkg, dep)
			}
		}
	}
	if _, ok := list("./restapi")[mod+"/uploadapi"]; ok {
		t.Errorf("restapi imports uploadapi; shared HTTP helpers belong in internal/httpx")
	}
}
