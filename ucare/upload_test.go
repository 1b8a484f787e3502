package ucare_test

import (
	"testing"

	"github.com/satchel-project/satchel/ucare"
)

// The uploads against a real Satchel are tested in the server module's
// sdktest package.

func TestUploadVectors(t *testing.T) {
	t.Parallel()
	if got := ucare.UploadSignature("project_secret_key", 1454903856); got != "d39a461d41f607338abffee5f31da4d4e46535651c87346e76906bf75c064d47" {
		t.Fatalf("upload signature %s", got)
	}
	if got := ucare.UploadSignature("demosecretkey", 60); got != "7d2e71d1843788a02d0c7fe6f5d71edf657363a369112e78d4f37ace3f884b00" {
		t.Fatalf("upload signature %s", got)
	}
	if got := ucare.RESTSignature("demoprivatekey", "GET", nil, "application/json", "Mon, 05 Nov 2018 13:14:41 GMT", "/files/?limit=1&stored=true"); got != "3cbc4d2cf91f80c1ba162b926f8a975e8bec7995" {
		t.Fatalf("REST signature %s", got)
	}
}
