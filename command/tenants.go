package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/connvault/connvault/apiclient"
	"github.com/connvault/connvault/settings"
	"github.com/connvault/connvault/tenants"
)

// checkTimeout bounds one tenant's credential check: a tenant that does not
// answer must not hold up the listing of the others.
const checkTimeout = 30 * time.Second

func tenantsCommand() *cli.Command {
	onUsage := func(c *cli.Context, err error, _ bool) error { return usageError(unknownFlag(c, err)) }
	configFlag := &cli.StringFlag{Name: "config", Usage: "the tenants `FILE` (default: $" + tenants.EnvConfig + ", else tenants.json in connvault's folder of the user configuration directory)"}
	return &cli.Command{
		Name:  "tenants",
		Usage: "list the named tenants and check their credentials; add or remove one",
		Description: "The tenants file names tenants for --tenant NAME, tenant:NAME operands and promote. It holds each\n" +
			"tenant's base URL, client id and where its secret comes from (an environment variable or a file),\n" +
			"never the secret itself. `connvault tenants` lists them and checks each one's credentials with a\n" +
			"token and one list call. Exit code: 0 all work, 1 some do not, 2 usage.",
		Flags: withGlobals(
			&cli.BoolFlag{Name: "no-check", Usage: "list only, without contacting the tenants"},
			&cli.BoolFlag{Name: "json", Usage: "print the list as JSON on stdout"},
		),
		Action: runTenantsList,
		Subcommands: []*cli.Command{
			{
				Name:         "ls",
				OnUsageError: onUsage,
				Usage:        "list the named tenants and check their credentials (the same as `connvault tenants`)",
				Description:  "Exit codes: 0 all work, 1 some do not, 2 usage.",
				Flags: withGlobals(
					&cli.BoolFlag{Name: "no-check", Usage: "list only, without contacting the tenants"},
					&cli.BoolFlag{Name: "json", Usage: "print the list as JSON on stdout"},
				),
				Action: runTenantsList,
			},
			{
				Name:         "add",
				OnUsageError: onUsage,
				Usage:        "add a named tenant to the tenants file",
				ArgsUsage:    "NAME",
				Description: "NAME (a-z, 0-9, '-') labels the tenant's archives. Give the secret's source, never the secret:\n" +
					"--client-secret-env VAR (the variable is read when the tenant is used) or --client-secret-file FILE.\n" +
					"--from-sail ENV takes the base URL (and client id, when sail kept one) from the sail CLI's environment.\n" +
					"Exit codes: 0 added, 1 error (the file could not be written), 2 usage (a bad name, no secret source,\n" +
					"a tenant of that name without --force).",
				// Own flags only: the global --base-url and --client-id read
				// SAIL_* from the environment, which must not leak into the file.
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "base-url", Usage: "the tenant's API base URL, e.g. https://acme.api.identitynow.com"},
					&cli.StringFlag{Name: "client-id", Usage: "the OAuth2 client id"},
					&cli.StringFlag{Name: "client-secret-env", Usage: "read the secret from the environment variable `VAR`"},
					&cli.StringFlag{Name: "client-secret-file", Usage: "read the secret from `FILE` (keep it mode 0600)"},
					&cli.StringFlag{Name: "api-version", Usage: "API version for this tenant: " + strings.Join(apiclient.APIVersions, ", ") + " (default: --api-version)"},
					&cli.BoolFlag{Name: "protected", Usage: "writes to this tenant need --yes-protected NAME"},
					&cli.BoolFlag{Name: "force", Usage: "replace a tenant of the same name"},
					&cli.StringFlag{Name: "from-sail", Usage: "take the base URL (and client id) from the sail CLI environment `ENV`"},
					&cli.StringFlag{Name: "sail-config", Usage: "the sail CLI configuration `FILE` (default: ~/.sailpoint/config.yaml)"},
					configFlag,
				},
				Action: runTenantsAdd,
			},
			{
				Name:         "rm",
				OnUsageError: onUsage,
				Usage:        "remove a named tenant from the tenants file",
				Description:  "Exit codes: 0 removed, 1 error (the file could not be written), 2 usage (no such tenant).",
				ArgsUsage:    "NAME",
				Flags:        []cli.Flag{configFlag},
				Action:       runTenantsRm,
			},
		},
	}
}

// tenantStatus is one line of the listing and one element of --json.
type tenantStatus struct {
	Name       string `json:"name"`
	BaseURL    string `json:"baseUrl"`
	ClientID   string `json:"clientId"`
	SecretFrom string `json:"secretFrom"`
	APIVersion string `json:"apiVersion,omitempty"`
	Protected  bool   `json:"protected"`
	Checked    bool   `json:"checked"`
	OK         bool   `json:"ok"`
	// Connectors is the tenant's count of listed (RELEASED) connectors.
	Connectors int    `json:"connectors,omitempty"`
	Error      string `json:"error,omitempty"`
}

func runTenantsList(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("unknown tenants command %q: use ls, add or rm", c.Args().First())
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	cfg, err := s.settings.TenantsFile()
	if err != nil {
		return err
	}
	path := s.settings.Config.Value
	if u := os.Getenv(settings.EnvBaseURL); u != "" {
		s.log.Info(fmt.Sprintf("%s is set (%s): it is used when no --tenant is given, and --tenant naming another tenant is refused while it is set", settings.EnvBaseURL, u))
	}
	if len(cfg.Tenants) == 0 {
		s.log.Info(fmt.Sprintf("no tenants in %s: add one with `connvault tenants add NAME --base-url URL --client-id ID --client-secret-env VAR`", path))
	}

	out := make([]tenantStatus, len(cfg.Tenants))
	for i, tn := range cfg.Tenants {
		out[i] = tenantStatus{Name: tn.Name, BaseURL: tn.BaseURL, ClientID: tn.ClientID, SecretFrom: tn.SecretSource(),
			APIVersion: tn.APIVersion, Protected: tn.Protected}
	}
	if !c.Bool("no-check") {
		g, ctx := errgroup.WithContext(c.Context)
		g.SetLimit(4)
		for i, tn := range cfg.Tenants {
			g.Go(func() error {
				n, err := checkTenant(ctx, c, s, tn)
				out[i].Checked = true
				if err != nil {
					out[i].Error = oneLine(err)
				} else {
					out[i].OK, out[i].Connectors = true, n
				}
				return nil
			})
		}
		_ = g.Wait()
		if err := c.Context.Err(); err != nil {
			return err
		}
	}

	if err := printTenants(s.stdout, out, c.Bool("json")); err != nil {
		return err
	}
	failed := 0
	for _, st := range out {
		if st.Checked && !st.OK {
			failed++
		}
	}
	if failed > 0 {
		s.log.Warn(fmt.Sprintf("%d of %d tenants failed the credential check (see above)", failed, len(out)))
		return &quietError{code: exitError}
	}
	return nil
}

// checkTenant proves a tenant's credentials work: a token and one list call,
// which also gives the number of listed connectors.
func checkTenant(ctx context.Context, c *cli.Context, s *session, tn tenants.Tenant) (int, error) {
	in := resolveInput(c, s.given, s.log)
	in.Named, in.Sandbox = tn.Name, false
	st, err := settings.Resolve(in)
	if err == nil {
		err = st.ResolveTenant()
	}
	if err != nil {
		return 0, err
	}
	cfg := clientConfig(s, st)
	cfg.BaseURL, cfg.ClientID, cfg.ClientSecret = st.BaseURL.Value, st.ClientID.Value, st.ClientSecret.Value
	// A check should answer quickly: one retry at most, short waits.
	cfg.MaxAttempts, cfg.MaxWait = 2, 5*time.Second
	client, err := apiclient.New(cfg)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	page, err := client.ListConnectors(ctx, apiclient.ListQuery{Limit: 1, Count: true})
	if err != nil {
		return 0, err
	}
	return max(page.Total, len(page.Items)), nil
}

func runTenantsAdd(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("tenants add needs one tenant NAME, got %d arguments", c.NArg())
	}
	name := c.Args().First()
	s, err := newSession(c)
	if err != nil {
		return err
	}
	if err := tenants.ValidName(name); err != nil {
		return usageError(err)
	}
	tn := tenants.Tenant{
		Name:            name,
		BaseURL:         c.String("base-url"),
		ClientID:        c.String("client-id"),
		ClientSecretEnv: c.String("client-secret-env"),
		APIVersion:      c.String("api-version"),
		Protected:       c.Bool("protected"),
	}
	force := c.Bool("force")
	if f := c.String("client-secret-file"); f != "" {
		// The file is read later from wherever connvault runs: keep it absolute.
		abs, err := filepath.Abs(f)
		if err != nil {
			return usagef("--client-secret-file %s: %w", f, err)
		}
		tn.ClientSecretFile = abs
	}
	if env := c.String("from-sail"); env != "" {
		if err := fillFromSail(c.String("sail-config"), &tn, env); err != nil {
			return err
		}
	}
	switch {
	case tn.ClientSecretEnv == "" && tn.ClientSecretFile == "":
		return usagef("tenant %q: say where its secret comes from: --client-secret-env VAR or --client-secret-file FILE (the secret itself is never stored)", name)
	case tn.ClientSecretEnv != "" && tn.ClientSecretFile != "":
		return usagef("--client-secret-env and --client-secret-file exclude each other: give one")
	}

	path := c.String("config")
	if path == "" {
		if path, err = tenantsPath(c); err != nil {
			return err
		}
	}
	err = tenants.Update(c.Context, path, func(cfg *tenants.Config) error {
		if err := cfg.Put(tn, force); err != nil {
			return usageError(err)
		}
		return nil
	})
	if err != nil {
		return tenantsFileError(err)
	}
	// The secret source may be set up later; say so now rather than at the
	// first export.
	if tn.ClientSecretEnv != "" && os.Getenv(tn.ClientSecretEnv) == "" {
		s.log.Warn(fmt.Sprintf("environment variable %s is not set here: set it to the client secret before using tenant %s", tn.ClientSecretEnv, name))
	}
	if tn.ClientSecretFile != "" {
		if f, err := os.Open(tn.ClientSecretFile); err != nil {
			s.log.Warn(fmt.Sprintf("client secret file: %v: create it before using tenant %s", err, name))
		} else {
			if loose, mode := tenants.LooseMode(f); loose {
				s.log.Warn(fmt.Sprintf("client secret file %s is readable by others (mode %04o): chmod 600 it", tn.ClientSecretFile, mode))
			}
			f.Close()
		}
	}
	what := "added"
	if force {
		what = "saved"
	}
	s.log.Info(fmt.Sprintf("%s tenant %s to %s; check it with `connvault tenants`", what, name, path))
	return nil
}

// fillFromSail takes the base URL, and the client id when sail kept one in
// its file, from the sail CLI's environment env. Flags given explicitly win.
func fillFromSail(path string, tn *tenants.Tenant, env string) error {
	if path == "" {
		p, err := tenants.SailConfigPath()
		if err != nil {
			return usageError(err)
		}
		path = p
	}
	envs, err := tenants.ReadSail(path)
	if err != nil {
		return usageError(err)
	}
	var names []string
	for _, e := range envs {
		if e.Name != env {
			names = append(names, e.Name)
			continue
		}
		if tn.BaseURL == "" {
			tn.BaseURL = e.BaseURL
		}
		if tn.ClientID == "" {
			tn.ClientID = e.ClientID
		}
		if tn.ClientID == "" {
			return usagef("sail environment %q has no client id in %s (sail keeps it in the system keyring): give --client-id", env, path)
		}
		return nil
	}
	have := strings.Join(names, ", ")
	if have == "" {
		have = "none with a base URL"
	}
	return usagef("no sail environment %q in %s (have: %s)", env, path, have)
}

func runTenantsRm(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("tenants rm needs one tenant NAME, got %d arguments", c.NArg())
	}
	name := c.Args().First()
	s, err := newSession(c)
	if err != nil {
		return err
	}
	path := c.String("config")
	if path == "" {
		if path, err = tenantsPath(c); err != nil {
			return err
		}
	}
	err = tenants.Update(c.Context, path, func(cfg *tenants.Config) error {
		if err := cfg.Remove(name); err != nil {
			return usagef("%s: %w", path, err)
		}
		return nil
	})
	if err != nil {
		return tenantsFileError(err)
	}
	s.log.Info(fmt.Sprintf("removed tenant %s from %s", name, path))
	return nil
}

// printTenants writes the listing as JSON or as a table.
func printTenants(w io.Writer, out []tenantStatus, asJSON bool) error {
	if asJSON {
		return writeJSON(w, out)
	}
	if len(out) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tBASE URL\tCLIENT ID\tSECRET FROM\tPROTECTED\tCHECK")
	for _, st := range out {
		prot := "-"
		if st.Protected {
			prot = "yes"
		}
		check := "not checked"
		switch {
		case st.OK:
			check = fmt.Sprintf("ok, %d connectors listed", st.Connectors)
		case st.Checked:
			check = "FAILED: " + st.Error
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", st.Name, st.BaseURL, st.ClientID, st.SecretFrom, prot, check)
	}
	return tw.Flush()
}

// tenantsFileError gives a tenants file the user must fix exit code 2, like
// any other bad input; a failure to write it stays an error.
func tenantsFileError(err error) error {
	var bad *tenants.BadFileError
	if errors.As(err, &bad) {
		return usageError(err)
	}
	return err
}
