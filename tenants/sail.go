package tenants

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	// A maintained fork of gopkg.in/yaml.v3 that kin-openapi already brings
	// into the build: reading the sail CLI's file needs no new module.
	yaml "github.com/oasdiff/yaml3"
)

// SailEnvironment is one environment of the sail CLI's configuration
// (~/.sailpoint/config.yaml): the tenant's API base URL and, in older sail
// versions, the personal access token's client id. Secrets the file may hold
// are never read into it.
type SailEnvironment struct {
	Name     string
	BaseURL  string
	ClientID string // "" when sail keeps it in the system keyring
	Active   bool   // sail's active environment
}

// SailConfigPath is where the sail CLI keeps its configuration.
func SailConfigPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory to find the sail CLI's configuration: %w", err)
	}
	return filepath.Join(home, ".sailpoint", "config.yaml"), nil
}

// ReadSail reads the environments of the sail CLI configuration at path.
func ReadSail(path string) ([]SailEnvironment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("sail configuration %s: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("sail configuration %s: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("sail configuration %s: larger than %d bytes: this is not a sail configuration", path, maxFileSize)
	}
	return ParseSail(data, path)
}

// sailFile is the part of sail's configuration connvault reads. sail writes
// it with viper, which lower-cases every key.
type sailFile struct {
	ActiveEnvironment string `yaml:"activeenvironment"`
	Environments      map[string]struct {
		BaseURL string `yaml:"baseurl"`
		Pat     struct {
			ClientID string `yaml:"clientid"`
		} `yaml:"pat"`
	} `yaml:"environments"`
}

var yamlLine = regexp.MustCompile(`line \d+`)

// ParseSail decodes a sail configuration's bytes; source names the file in
// errors. Environments come sorted by name; ones without a base URL are left
// out. The YAML decoder's message is not passed on: it can quote values, and
// this file may hold secrets.
func ParseSail(data []byte, source string) ([]SailEnvironment, error) {
	var sf sailFile
	if err := yaml.Unmarshal(data, &sf); err != nil {
		where := ""
		if l := yamlLine.FindString(err.Error()); l != "" {
			where = " at " + l
		}
		return nil, fmt.Errorf("sail configuration %s: not the sail CLI's YAML layout%s (expected environments: NAME: baseurl: URL)", source, where)
	}
	active := strings.ToLower(sf.ActiveEnvironment)
	var out []SailEnvironment
	for name, e := range sf.Environments {
		if strings.TrimSpace(e.BaseURL) == "" {
			continue
		}
		out = append(out, SailEnvironment{
			Name:     name,
			BaseURL:  strings.TrimSpace(e.BaseURL),
			ClientID: strings.TrimSpace(e.Pat.ClientID),
			Active:   strings.ToLower(name) == active,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SailName turns a sail environment name into a valid tenant name where that
// is possible by lower-casing it and replacing other characters with '-'.
func SailName(env string) (string, error) {
	b := []byte(strings.ToLower(env))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			b[i] = '-'
		}
	}
	name := strings.Trim(string(b), "-")
	if err := ValidName(name); err != nil {
		return "", fmt.Errorf("sail environment %q: %w", env, err)
	}
	return name, nil
}
