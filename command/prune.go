package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/archivestore"
	"github.com/connvault/connvault/dirlock"
	"github.com/connvault/connvault/retention"
	"github.com/connvault/connvault/storage"
)

// pruneKeepFlags maps each --keep-* flag to its Policy field, in the order
// the policy and the help list them.
var pruneKeepFlags = []struct {
	name  string
	usage string
	field func(*retention.Policy) *int
}{
	{"keep-last", "keep the `N` newest archives", func(p *retention.Policy) *int { return &p.Last }},
	{"keep-hourly", "keep the newest archive of each of the last `N` hours that have one", func(p *retention.Policy) *int { return &p.Hourly }},
	{"keep-daily", "keep the newest archive of each of the last `N` days that have one", func(p *retention.Policy) *int { return &p.Daily }},
	{"keep-weekly", "keep the newest archive of each of the last `N` ISO weeks that have one", func(p *retention.Policy) *int { return &p.Weekly }},
	{"keep-monthly", "keep the newest archive of each of the last `N` months that have one", func(p *retention.Policy) *int { return &p.Monthly }},
	{"keep-yearly", "keep the newest archive of each of the last `N` years that have one", func(p *retention.Policy) *int { return &p.Yearly }},
}

// pruneCommand is `connvault prune DIR --keep-* N ...`: restic-style retention
// over a directory of connvault archives.
func pruneCommand() *cli.Command {
	flags := make([]cli.Flag, 0, len(pruneKeepFlags)+4)
	for _, k := range pruneKeepFlags {
		flags = append(flags, &cli.IntFlag{Name: k.name, Usage: k.usage})
	}
	flags = append(flags,
		&cli.StringFlag{Name: "tenant", Usage: "prune only the archives of tenant `NAME` (the part before -connectors- in the file name)"},
		&cli.BoolFlag{Name: "dry-run", Aliases: []string{"n"}, Usage: "show what would be removed, remove nothing"},
		&cli.BoolFlag{Name: "json", Usage: "print the result as JSON"},
		&cli.BoolFlag{Name: "wait", Usage: "if another connvault run holds DIR's lock, wait for it instead of failing"},
		&cli.BoolFlag{Name: "all-tenants", Usage: "prune each tenant of the tenants file, one after another: in DIR, or in each tenant's bucket prefix when DIR holds {tenant} (as export --all-tenants writes)"},
	)
	return &cli.Command{
		Name:      "prune",
		Usage:     "remove old archives from a directory by a keep policy",
		ArgsUsage: "DIR",
		Description: `Applies a retention policy to the connvault archives in DIR
(<tenant>-connectors-<UTC time>.tar.zst), separately for each tenant, and removes
the archives no rule keeps. The rules work like restic forget's: --keep-daily 7
keeps the newest archive of each of the 7 most recent days that have one, and so
on; an archive kept by several rules is kept once. When a rule has room left after
the oldest archive, the oldest is kept too. Times are UTC, from the file names.

Other files in DIR (temp files of a running export, anything not named like an
archive) are never touched. prune takes DIR's lock, so it never runs during an
export into DIR: it fails at once if one is running, or waits with --wait.

DIR may be a bucket URL (s3://bucket/prefix, gs://, azblob://): the same rules
apply to the objects directly under the prefix. A bucket has no lock, so let the
scheduler keep runs on one prefix apart (see README, Archives in object storage).

Example: connvault prune /var/backups/connvault --keep-daily 7 --keep-weekly 5 --keep-monthly 12

Exit codes: 0 done, 1 error (some archive could not be removed; DIR locked), 2 usage (no --keep-* flag, DIR does not exist).`,
		Flags: flags,
		OnUsageError: func(c *cli.Context, err error, _ bool) error {
			return pruneUsage("%v", unknownFlag(c, err))
		},
		Action: runPrune,
	}
}

func pruneUsage(format string, args ...any) error {
	return cli.Exit("prune: "+fmt.Sprintf(format, args...)+"; see 'connvault prune --help'", 2)
}

// errPruneHelp reports --help written after DIR, which urfave/cli did not see.
var errPruneHelp = errors.New("help requested")

func runPrune(c *cli.Context) error {
	dir, err := prunePositional(c)
	if errors.Is(err, errPruneHelp) {
		cli.HelpPrinter(c.App.Writer, cli.CommandHelpTemplate, c.Command)
		return nil
	}
	if err != nil {
		return err
	}
	var p retention.Policy
	for _, k := range pruneKeepFlags {
		n := c.Int(k.name)
		if n < 0 {
			return pruneUsage("--%s must be 0 or more, got %d", k.name, n)
		}
		*k.field(&p) = n
	}
	if p == (retention.Policy{}) {
		return pruneUsage("no --keep-* flag given, which would remove every archive; for example --keep-daily 7 --keep-weekly 5 --keep-monthly 12")
	}
	// --tenant before the command, after DIR, or $CONNVAULT_TENANT: the
	// one resolution every command uses, so no spelling prunes every tenant.
	given := givenFlags(c)
	if tenant, ok := given["tenant"]; ok {
		if t, _, ok := retention.ParseName(retention.FileName(tenant, time.Unix(0, 0))); !ok || t != tenant {
			return pruneUsage("--tenant %q is not a tenant name: use lower-case letters, digits and '-', as in the archive names", tenant)
		}
	}
	// The session's logger, so the temporary files line below follows
	// --log-level and --log-format like every command's messages.
	sess, err := newSession(c)
	if err != nil {
		return pruneUsage("%v", err)
	}
	tenant := sess.settings.Tenant.Value

	if c.Bool("all-tenants") {
		return pruneAllTenants(c, sess, dir, p)
	}
	opts := []retention.Option{}
	if tenant != "" {
		opts = append(opts, retention.OnlyTenant(tenant))
	}
	return pruneOne(c, sess, dir, p, opts)
}

// pruneAllTenants prunes each tenant of the tenants file in its place, one
// after another; a failure does not stop the others, and the exit code is
// the worst.
func pruneAllTenants(c *cli.Context, sess *session, dir string, p retention.Policy) error {
	cfg, err := sess.settings.TenantsFile()
	if err != nil {
		return err
	}
	names := cfg.Names()
	if len(names) == 0 {
		return pruneUsage("--all-tenants: the tenants file %s names no tenant", sess.settings.Config.Value)
	}
	var failed []string
	for _, name := range names {
		where := strings.ReplaceAll(dir, "{tenant}", name)
		if err := pruneOne(c, sess, where, p, []retention.Option{retention.OnlyTenant(name)}); err != nil {
			sess.log.Error(fmt.Sprintf("tenant %s: %v", name, err))
			failed = append(failed, name)
		}
	}
	if len(failed) > 0 {
		return &quietError{code: exitError, msg: "prune failed for " + strings.Join(failed, ", ")}
	}
	return nil
}

// pruneOne applies the policy to one directory or bucket prefix and prints
// the result.
func pruneOne(c *cli.Context, sess *session, dir string, p retention.Policy, opts []retention.Option) error {
	dryRun := c.Bool("dry-run")
	if err := archivestore.MustExist("prune DIR", dir); err != nil {
		return pruneUsage("%v", err)
	}
	res, err := retention.Prune(c.Context, dir, p, dryRun, opts...)
	var locked *dirlock.LockedError
	if errors.As(err, &locked) && c.Bool("wait") {
		// Say why a scheduled run seems stuck before blocking.
		fmt.Fprintf(c.App.ErrWriter, "connvault: %s is locked by another connvault run (pid %d); waiting for it\n", dir, locked.PID)
		res, err = retention.Prune(c.Context, dir, p, dryRun, append(opts, retention.WaitForLock(true))...)
	}
	if res == nil {
		// retention's errors already name DIR (or are the lock's own message).
		return err
	}
	logPruneTemps(sess.log, res)
	warnPruneOutsiders(sess.log, res)
	var werr error
	if c.Bool("json") {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		werr = enc.Encode(res)
	} else {
		werr = printPruneText(c.App.Writer, res)
	}
	if werr != nil {
		return fmt.Errorf("prune %s: writing the result: %w", dir, werr)
	}
	printPruneSummary(c.App.ErrWriter, res)
	return err
}

// prunePositional returns DIR. urfave/cli stops reading flags at the first
// argument, so flags written after DIR (as in the documented
// `connvault prune DIR --keep-daily 7`) are applied here.
func prunePositional(c *cli.Context) (string, error) {
	var positional []string
	args := c.Args().Slice()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := pruneFlag(c.Command, name)
		if f == nil {
			return "", pruneUsage("%v", unknownFlag(c, fmt.Errorf("flag provided but not defined: %s", a)))
		}
		if slices.Contains(f.Names(), "help") {
			return "", errPruneHelp
		}
		if _, isBool := f.(*cli.BoolFlag); isBool {
			if !hasVal {
				val = "true"
			}
		} else if !hasVal {
			if i+1 >= len(args) {
				return "", pruneUsage("flag needs an argument: %s", a)
			}
			i++
			val = args[i]
		}
		if err := c.Set(f.Names()[0], val); err != nil {
			return "", pruneUsage("%v", badFlagValue(c.Command.Flags, f.Names()[0], val))
		}
	}
	switch len(positional) {
	case 0:
		return "", pruneUsage("missing DIR, the directory of archives to prune")
	case 1:
		return positional[0], nil
	default:
		return "", pruneUsage("takes one DIR, got %d arguments: %s", len(positional), strings.Join(positional, " "))
	}
}

func pruneFlag(cmd *cli.Command, name string) cli.Flag {
	for _, f := range cmd.Flags {
		for _, n := range f.Names() {
			if n == name {
				return f
			}
		}
	}
	return nil
}

func printPruneText(w io.Writer, res *retention.Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Applying policy to %s: %s\n", res.Dir, res.Policy)
	if res.DryRun {
		b.WriteString("Dry run: nothing is removed.\n")
	}
	if len(res.Tenants) == 0 {
		b.WriteString("No connvault archives found.\n")
	}
	verb := "remove"
	if res.DryRun {
		verb = "would remove"
	}
	if len(res.Future) > 0 {
		fmt.Fprintf(&b, "\nDated in the future (kept, no keep slot): %s\n", plural(len(res.Future), "archive"))
		writePruneTable(&b, res.Future, false)
	}
	if len(res.Ignored) > 0 {
		fmt.Fprintf(&b, "\nNamed like archives but not archives (left alone): %s\n", plural(len(res.Ignored), "file"))
		for _, ig := range res.Ignored {
			fmt.Fprintf(&b, "  %s: %s\n", storage.BaseName(ig.Path), ig.Reason)
		}
	}
	for _, tr := range res.Tenants {
		fmt.Fprintf(&b, "\n%s: keep %s\n", tr.Tenant, plural(len(tr.Keep), "archive"))
		writePruneTable(&b, tr.Keep, true)
		if len(tr.Remove) > 0 {
			fmt.Fprintf(&b, "\n%s: %s %s\n", tr.Tenant, verb, plural(len(tr.Remove), "archive"))
			writePruneTable(&b, tr.Remove, false)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writePruneTable(w io.Writer, entries []retention.Entry, reasons bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	if reasons {
		fmt.Fprintln(tw, "TIME (UTC)\tARCHIVE\tREASONS")
	} else {
		fmt.Fprintln(tw, "TIME (UTC)\tARCHIVE")
	}
	for _, e := range entries {
		row := e.Time.UTC().Format(time.DateTime) + "\t" + storage.BaseName(e.Path)
		if reasons {
			row += "\t" + strings.Join(e.Reasons, ", ")
		}
		fmt.Fprintln(tw, row)
	}
	tw.Flush()
}

func printPruneSummary(w io.Writer, res *retention.Result) {
	var keep, remove int
	for _, tr := range res.Tenants {
		keep += len(tr.Keep)
		remove += len(tr.Remove)
	}
	for _, fe := range res.Errors {
		fmt.Fprintf(w, "connvault: could not remove %s: %s\n", fe.Path, fe.Error)
	}
	switch {
	case res.DryRun:
		fmt.Fprintf(w, "connvault: dry run: would remove %s, keep %d\n", plural(remove, "archive"), keep)
	default:
		fmt.Fprintf(w, "connvault: removed %s, kept %d\n", plural(remove-len(res.Errors), "archive"), keep)
	}
}

// logPruneTemps says once what a killed run left and prune removed before
// pruning: one line whatever their number, so the archives' own lines stay
// the output.
func logPruneTemps(log *slog.Logger, res *retention.Result) {
	if n := len(res.Temps); n > 0 {
		log.Info(fmt.Sprintf("removed %d temporary files left by killed runs: %s", n, strings.Join(res.Temps, ", ")))
	}
	if res.TempsErr != nil {
		log.Warn("could not remove a temporary file left by a killed run: " + res.TempsErr.Error())
	}
}

// warnPruneOutsiders names what prune kept out of the policy: archives a
// wrong clock dated in the future, and files that only look like archives.
func warnPruneOutsiders(log *slog.Logger, res *retention.Result) {
	if n := len(res.Future); n > 0 {
		names := make([]string, n)
		for i, e := range res.Future {
			names[i] = storage.BaseName(e.Path)
		}
		log.Warn(fmt.Sprintf("%s dated after now: kept, but they take no keep slot; check the clock of the machine that made them: %s",
			plural(n, "archive"), strings.Join(names, ", ")))
	}
	if n := len(res.Ignored); n > 0 {
		parts := make([]string, n)
		for i, ig := range res.Ignored {
			parts[i] = storage.BaseName(ig.Path) + " (" + ig.Reason + ")"
		}
		log.Warn(fmt.Sprintf("%s named like archives but not archives: left alone, no keep slot: %s", plural(n, "file"), strings.Join(parts, "; ")))
	}
}
