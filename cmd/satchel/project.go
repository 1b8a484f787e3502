package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/server"
)

// projectCLI holds the project commands. A setting flag left out keeps the
// project's current value (update) or the default (create).
type projectCLI struct {
	Create     projectCreate `cmd:"" help:"Create a project and print its keys."`
	List       projectList   `cmd:"" help:"List projects."`
	Update     projectUpdate `cmd:"" help:"Change a project's settings."`
	RotateKeys projectRotate `cmd:"" name:"rotate-keys" help:"Issue new keys for a project and print them."`
}

// projectSettings are what create and update may set.
type projectSettings struct {
	Name             string   `name:"name" help:"project name"`
	Autostore        *bool    `name:"autostore" placeholder:"true|false" help:"what UPLOADCARE_STORE=auto means"`
	SignedUploads    *bool    `name:"signed-uploads" placeholder:"true|false" help:"require signed uploads"`
	MaxFileSize      *Size    `name:"max-file-size" placeholder:"SIZE" help:"largest file, such as 100MB (0: the server's limit)"`
	AllowedTypes     *string  `name:"allowed-types" placeholder:"PATTERNS" help:"comma-separated MIME patterns such as \"image/*,application/pdf\" (empty: all)"`
	Storage          []string `name:"storage" sep:"none" placeholder:"NAME=URL" help:"add a custom storage for remote copies: name=file:///dir or name=s3://bucket?endpoint=… (repeatable)"`
	SecureDelivery   string   `name:"secure-delivery" placeholder:"SECRET" help:"require signed CDN tokens: a hex secret, \"generate\" for a new one, or \"off\""`
	AnonymousUploads *bool    `name:"anonymous-uploads" placeholder:"true|false" help:"let the JSON:API v1 dialect create files and groups without credentials"`
	AnonymousRate    *int     `name:"anonymous-rate-limit" placeholder:"N" help:"anonymous creates per minute and client address (0: 60; -1: no limit)"`
	AnonymousMaxSize *Size    `name:"anonymous-max-size" placeholder:"SIZE" help:"largest anonymous upload, such as 5MB (0: 10MiB; the project's limit applies as well)"`
	AnonymousTypes   *string  `name:"anonymous-types" placeholder:"PATTERNS" help:"comma-separated MIME patterns anonymous uploads may have, such as \"image/*,application/pdf\" (empty: any the project allows)"`
	Conversion       *bool    `name:"conversion" placeholder:"true|false" help:"allow document and video conversion (a new project allows it)"`
}

// check reports the mistakes the tags cannot express.
func (s *projectSettings) check() []error {
	var errs []error
	for _, v := range s.Storage {
		name, u, ok := strings.Cut(v, "=")
		if !ok || name == "" || !(strings.HasPrefix(u, "file:///") || strings.HasPrefix(u, "s3://")) {
			errs = append(errs, fmt.Errorf("--storage: %q: want name=file:///dir or name=s3://bucket?…", v))
		}
	}
	switch s.SecureDelivery {
	case "", "off", "generate":
	default:
		if _, err := hex.DecodeString(s.SecureDelivery); err != nil || len(s.SecureDelivery) < 32 {
			errs = append(errs, errors.New("--secure-delivery: want a hex secret of at least 16 bytes, \"generate\" or \"off\""))
		}
	}
	return errs
}

// apply sets the given settings on p, printing a generated secret to out.
func (s *projectSettings) apply(p *satchel.Project, out io.Writer) {
	if s.Name != "" {
		p.Name = s.Name
	}
	if s.Autostore != nil {
		p.Autostore = *s.Autostore
	}
	if s.SignedUploads != nil {
		p.SignedUploads = *s.SignedUploads
	}
	if s.MaxFileSize != nil {
		p.MaxFileSize = int64(*s.MaxFileSize)
	}
	if s.Conversion != nil {
		p.NoConversion = !*s.Conversion
	}
	if s.AnonymousUploads != nil {
		p.AnonymousUploads = *s.AnonymousUploads
	}
	if s.AnonymousRate != nil {
		p.AnonymousRateLimit = max(*s.AnonymousRate, -1)
	}
	if s.AnonymousMaxSize != nil {
		p.AnonymousMaxFileSize = int64(*s.AnonymousMaxSize)
	}
	if s.AnonymousTypes != nil {
		p.AnonymousTypes = splitPatterns(*s.AnonymousTypes)
	}
	if p.Storages == nil {
		p.Storages = map[string]string{}
	}
	for _, v := range s.Storage {
		name, u, _ := strings.Cut(v, "=")
		p.Storages[name] = u
	}
	switch s.SecureDelivery {
	case "":
	case "off":
		p.SecureDeliverySecret = ""
	case "generate":
		p.SecureDeliverySecret = server.RandomKey() + server.RandomKey() + server.RandomKey()
		fmt.Fprintf(out, "secure delivery secret: %s\n", p.SecureDeliverySecret)
	default:
		p.SecureDeliverySecret = s.SecureDelivery
	}
	if s.AllowedTypes != nil {
		p.AllowedTypes = splitPatterns(*s.AllowedTypes)
	}
}

// splitPatterns reads a comma-separated list of MIME patterns.
func splitPatterns(list string) []string {
	out := []string{}
	for _, t := range strings.Split(list, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

type projectCreate struct {
	storeConfig     `embed:""`
	PublicKey       string `name:"public-key" help:"public key (random when empty)"`
	SecretKey       string `name:"secret-key" help:"secret key (random when empty)"`
	projectSettings `embed:""`
}

type projectList struct {
	storeConfig `embed:""`
}

type projectUpdate struct {
	storeConfig     `embed:""`
	PublicKey       string `name:"public-key" required:"" help:"public key of the project to change"`
	projectSettings `embed:""`
	RemoveStorage   []string `name:"remove-storage" sep:"none" placeholder:"NAME" help:"remove a custom storage by name (repeatable)"`
}

type projectRotate struct {
	storeConfig `embed:""`
	PublicKey   string `name:"public-key" required:"" help:"public key of the project to re-key"`
	SecretOnly  bool   `name:"secret-only" help:"keep the public key"`
}

// cmdProject runs the project command sub ("create", "list", …) with the
// parsed flags in pc.
func cmdProject(ctx context.Context, pc *projectCLI, sub string, decodeErrs decodeErrors, out io.Writer) error {
	var flags any
	var store *storeConfig
	var extra []error
	switch sub {
	case "create":
		flags, store, extra = &pc.Create, &pc.Create.storeConfig, pc.Create.check()
	case "list":
		flags, store = &pc.List, &pc.List.storeConfig
	case "update":
		flags, store, extra = &pc.Update, &pc.Update.storeConfig, pc.Update.check()
	case "rotate-keys":
		flags, store = &pc.RotateKeys, &pc.RotateKeys.storeConfig
	default:
		return fmt.Errorf("unknown project command %q", sub)
	}
	if err := validateSettings(flags, decodeErrs, extra...); err != nil {
		return err
	}
	db, err := server.OpenStore(ctx, store.DataDir, store.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()

	find := func(pub string) (*satchel.Project, error) {
		p, err := db.ProjectByPublicKey(ctx, pub)
		if err != nil {
			return nil, fmt.Errorf("project %s: %w", pub, err)
		}
		return p, nil
	}
	switch sub {
	case "create":
		c := &pc.Create
		p := &satchel.Project{Name: "project", PublicKey: c.PublicKey, SecretKey: c.SecretKey, Autostore: true}
		c.apply(p, out)
		if p.PublicKey == "" {
			p.PublicKey = server.RandomKey()
		}
		if p.SecretKey == "" {
			p.SecretKey = server.RandomKey()
		}
		if err := db.CreateProject(ctx, p); err != nil {
			return err
		}
		fmt.Fprintf(out, "public key: %s\nsecret key: %s\n", p.PublicKey, p.SecretKey)
	case "list":
		ps, err := db.Projects(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPUBLIC KEY\tAUTOSTORE\tSIGNED UPLOADS\tMAX FILE SIZE\tALLOWED TYPES\tSTORAGES")
		for _, p := range ps {
			var st []string
			for k := range p.Storages {
				st = append(st, k)
			}
			sort.Strings(st)
			fmt.Fprintf(tw, "%d\t%s\t%s\t%t\t%t\t%d\t%s\t%s\n", p.ID, p.Name, p.PublicKey, p.Autostore, p.SignedUploads, p.MaxFileSize, strings.Join(p.AllowedTypes, ","), strings.Join(st, ","))
		}
		return tw.Flush()
	case "update":
		u := &pc.Update
		p, err := find(u.PublicKey)
		if err != nil {
			return err
		}
		u.apply(p, out)
		for _, k := range u.RemoveStorage {
			delete(p.Storages, k)
		}
		return db.UpdateProject(ctx, p)
	case "rotate-keys":
		r := &pc.RotateKeys
		p, err := find(r.PublicKey)
		if err != nil {
			return err
		}
		if !r.SecretOnly {
			p.PublicKey = server.RandomKey()
		}
		p.SecretKey = server.RandomKey()
		if err := db.UpdateProject(ctx, p); err != nil {
			return err
		}
		fmt.Fprintf(out, "public key: %s\nsecret key: %s\n", p.PublicKey, p.SecretKey)
	}
	return nil
}
