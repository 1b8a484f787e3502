package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/satchel-project/satchel"
	"github.com/satchel-project/satchel/server"
)

func cmdProject(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: satchel project create|list|update|rotate-keys [flags]")
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := flag.NewFlagSet("project "+sub, flag.ContinueOnError)
	dataDir := fs.String("data-dir", env("SATCHEL_DATA_DIR", "./satchel-data"), "data directory (SATCHEL_DATA_DIR)")
	name := fs.String("name", "", "project name")
	pub := fs.String("public-key", "", "public key (create: chosen key; update/rotate-keys: the project to change)")
	secret := fs.String("secret-key", "", "secret key (create only; random when empty)")
	autostore := fs.String("autostore", "", "true or false")
	signed := fs.String("signed-uploads", "", "true or false: require signed uploads")
	conversion := fs.String("conversion", "", "true or false: allow document and video conversion (on by default)")
	maxSize := fs.Int64("max-file-size", -1, "largest file in bytes (0: server default)")
	types := fs.String("allowed-types", "\x00", `comma-separated MIME patterns such as "image/*,application/pdf" (empty: all)`)
	secretOnly := fs.Bool("secret-only", false, "rotate-keys: keep the public key")
	addStorage := map[string]string{}
	fs.Func("storage", "add a custom storage for remote copies: name=file:///dir or name=s3://bucket?endpoint=… (repeatable)", func(v string) error {
		name, u, ok := strings.Cut(v, "=")
		if !ok || name == "" || !(strings.HasPrefix(u, "file:///") || strings.HasPrefix(u, "s3://")) {
			return fmt.Errorf("want name=file:///dir or name=s3://bucket?…")
		}
		addStorage[name] = u
		return nil
	})
	secure := fs.String("secure-delivery", "", `require signed CDN tokens: a hex secret, "generate" for a new one, or "off"`)
	var dropStorage []string
	fs.Func("remove-storage", "remove a custom storage by name (repeatable)", func(v string) error {
		dropStorage = append(dropStorage, v)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	store, err := server.OpenStore(ctx, *dataDir, env("SATCHEL_DATABASE_URL", ""))
	if err != nil {
		return err
	}
	defer store.Close()

	apply := func(p *satchel.Project) error {
		if *name != "" {
			p.Name = *name
		}
		for _, b := range []struct {
			v   string
			dst *bool
		}{{*autostore, &p.Autostore}, {*signed, &p.SignedUploads}} {
			switch b.v {
			case "":
			case "true", "1", "yes":
				*b.dst = true
			case "false", "0", "no":
				*b.dst = false
			default:
				return fmt.Errorf("want true or false, got %q", b.v)
			}
		}
		switch *conversion {
		case "":
		case "true", "1", "yes":
			p.NoConversion = false
		case "false", "0", "no":
			p.NoConversion = true
		default:
			return fmt.Errorf("--conversion: want true or false, got %q", *conversion)
		}
		if *maxSize >= 0 {
			p.MaxFileSize = *maxSize
		}
		if p.Storages == nil {
			p.Storages = map[string]string{}
		}
		for k, v := range addStorage {
			p.Storages[k] = v
		}
		for _, k := range dropStorage {
			delete(p.Storages, k)
		}
		switch *secure {
		case "":
		case "off":
			p.SecureDeliverySecret = ""
		case "generate":
			p.SecureDeliverySecret = server.RandomKey() + server.RandomKey() + server.RandomKey()
			fmt.Printf("secure delivery secret: %s\n", p.SecureDeliverySecret)
		default:
			if _, err := hex.DecodeString(*secure); err != nil || len(*secure) < 32 {
				return fmt.Errorf("--secure-delivery wants a hex secret of at least 16 bytes")
			}
			p.SecureDeliverySecret = *secure
		}
		if *types != "\x00" {
			p.AllowedTypes = []string{}
			for _, t := range strings.Split(*types, ",") {
				if t = strings.TrimSpace(t); t != "" {
					p.AllowedTypes = append(p.AllowedTypes, t)
				}
			}
		}
		return nil
	}
	find := func() (*satchel.Project, error) {
		if *pub == "" {
			return nil, fmt.Errorf("--public-key names the project")
		}
		p, err := store.ProjectByPublicKey(ctx, *pub)
		if err != nil {
			return nil, fmt.Errorf("project %s: %w", *pub, err)
		}
		return p, nil
	}
	switch sub {
	case "create":
		p := &satchel.Project{Name: "project", PublicKey: *pub, SecretKey: *secret, Autostore: true}
		if err := apply(p); err != nil {
			return err
		}
		if p.PublicKey == "" {
			p.PublicKey = server.RandomKey()
		}
		if p.SecretKey == "" {
			p.SecretKey = server.RandomKey()
		}
		if err := store.CreateProject(ctx, p); err != nil {
			return err
		}
		fmt.Printf("public key: %s\nsecret key: %s\n", p.PublicKey, p.SecretKey)
	case "list":
		ps, err := store.Projects(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
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
		p, err := find()
		if err != nil {
			return err
		}
		if err := apply(p); err != nil {
			return err
		}
		return store.UpdateProject(ctx, p)
	case "rotate-keys":
		p, err := find()
		if err != nil {
			return err
		}
		if !*secretOnly {
			p.PublicKey = server.RandomKey()
		}
		p.SecretKey = server.RandomKey()
		if err := store.UpdateProject(ctx, p); err != nil {
			return err
		}
		fmt.Printf("public key: %s\nsecret key: %s\n", p.PublicKey, p.SecretKey)
	default:
		fmt.Fprintf(os.Stderr, "satchel project: unknown subcommand %q\n", sub)
		return errUsage
	}
	return nil
}
