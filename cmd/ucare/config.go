package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// settings are the connection settings of the CLI.
type settings struct {
	PubKey       string
	Secret       string
	APIBase      string
	UploadBase   string
	CDNBase      string
	APIVersion   string
	VerifyAPI    bool
	VerifyUpload bool
	// Sources names where each setting came from (for --show_config and errors).
	Sources map[string]string
}

func defaultSettings() *settings {
	return &settings{VerifyAPI: true, VerifyUpload: true, Sources: map[string]string{}}
}

// set applies one key=value from source.
func (s *settings) set(key, value, source string) error {
	switch key {
	case "pub_key":
		s.PubKey = value
	case "secret":
		s.Secret = value
	case "api_base":
		s.APIBase = value
	case "upload_base":
		s.UploadBase = value
	case "cdn_base":
		s.CDNBase = value
	case "api_version":
		s.APIVersion = value
	case "verify_api_ssl", "verify_upload_ssl":
		b, ok := parseBool(value)
		if !ok {
			return fmt.Errorf("%s: %s must be a boolean, not %q", source, key, value)
		}
		if key == "verify_api_ssl" {
			s.VerifyAPI = b
		} else {
			s.VerifyUpload = b
		}
	default:
		return nil
	}
	s.Sources[key] = source
	return nil
}

// parseBool reads the booleans of configparser and pyuploadcare's CLI.
func parseBool(v string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "yes", "true", "on":
		return true, true
	case "0", "no", "false", "off":
		return false, true
	}
	return false, false
}

// loadINI applies the [ucare] section of an INI file; a missing file is fine.
func (s *settings) loadINI(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return fmt.Errorf("%s:%d: bad section header %q", path, n, line)
			}
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		if section != "ucare" {
			continue
		}
		i := strings.IndexAny(line, "=:")
		if i < 0 {
			return fmt.Errorf("%s:%d: expected key = value, got %q", path, n, line)
		}
		key := strings.ToLower(strings.TrimSpace(line[:i]))
		if err := s.set(key, strings.TrimSpace(line[i+1:]), path); err != nil {
			return err
		}
	}
	return sc.Err()
}

// envNames maps environment variables to settings (the first name of each
// key is pyuploadcare's).
var envNames = []struct{ env, key string }{
	{"UPLOADCARE_PUBLIC_KEY", "pub_key"},
	{"UPLOADCARE_PUB_KEY", "pub_key"},
	{"UPLOADCARE_SECRET_KEY", "secret"},
	{"UPLOADCARE_SECRET", "secret"},
	{"UPLOADCARE_API_BASE", "api_base"},
	{"UPLOADCARE_UPLOAD_BASE", "upload_base"},
	{"UPLOADCARE_CDN_BASE", "cdn_base"},
	{"UPLOADCARE_API_VERSION", "api_version"},
	{"UPLOADCARE_VERIFY_API_SSL", "verify_api_ssl"},
	{"UPLOADCARE_VERIFY_UPLOAD_SSL", "verify_upload_ssl"},
}

func (s *settings) loadEnv(getenv func(string) string) error {
	for _, e := range envNames {
		if v := getenv(e.env); v != "" {
			if err := s.set(e.key, v, "$"+e.env); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadSettings reads ~/.uploadcare, then ./uploadcare.ini, then the
// environment, then the flags: later sources win.
func loadSettings(e *env, g *globals) (*settings, error) {
	s := defaultSettings()
	if e.home != "" {
		if err := s.loadINI(filepath.Join(e.home, ".uploadcare")); err != nil {
			return nil, err
		}
	}
	if err := s.loadINI(filepath.Join(e.wd, "uploadcare.ini")); err != nil {
		return nil, err
	}
	if err := s.loadEnv(e.getenv); err != nil {
		return nil, err
	}
	for key, v := range map[string]string{
		"pub_key": g.pubKey, "secret": g.secret, "api_base": g.apiBase, "upload_base": g.uploadBase,
		"cdn_base": g.cdnBase, "api_version": g.apiVersion,
	} {
		if v != "" {
			s.set(key, v, "--"+key)
		}
	}
	if g.noCheckAPI {
		s.VerifyAPI = false
		s.Sources["verify_api_ssl"] = "--no_check_api_certificate"
	}
	if g.noCheckUpload {
		s.VerifyUpload = false
		s.Sources["verify_upload_ssl"] = "--no_check_upload_certificate"
	}
	return s, nil
}
