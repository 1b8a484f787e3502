package ucare_test

import (
	"testing"

	"github.com/satchel-project/satchel/ucare"
)

// The REST calls against a real Satchel are tested in the server module's
// sdktest package.

func TestNewClientChecks(t *testing.T) {
	t.Parallel()
	if _, err := ucare.NewClient(ucare.Config{}); err == nil {
		t.Fatal("no public key accepted")
	}
	if _, err := ucare.NewClient(ucare.Config{PublicKey: "p", APIBase: "ftp://x"}); err == nil {
		t.Fatal("ftp base accepted")
	}
	c, err := ucare.NewClient(ucare.Config{PublicKey: "p"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.Config()
	if cfg.UploadBase != ucare.DefaultUploadBase || cfg.APIBase != ucare.DefaultAPIBase || cfg.CDNBase != ucare.DefaultCDNBase || cfg.APIVersion != "0.7" {
		t.Fatalf("defaults: %+v", cfg)
	}
	c, _ = ucare.NewClient(ucare.Config{PublicKey: "p", CDNBase: "https://cdn.example.com/prefix/"})
	if got := c.CDNURL("22240276-2f06-41f8-9411-755c8ce926ed", nil); got != "https://cdn.example.com/prefix/22240276-2f06-41f8-9411-755c8ce926ed/" {
		t.Fatalf("CDN URL %s", got)
	}
}
