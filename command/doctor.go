package command

import (
	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/doctor"
)

// doctorCommand checks a tenant read-only, for a first run or a support
// ticket; the work is in package doctor.
func doctorCommand() *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check, read-only, whether a tenant behaves as connvault expects (exit 0: export and restore can work)",
		ArgsUsage: " ",
		Description: "Checks the token (lifetime, user level and scopes), which API layouts answer the list and\n" +
			"correlation-config, the connector counts, whether sampled details carry the same bytes as the\n" +
			"sub-resources (export --from-detail), rate-limit headers, latency and clock skew. The report holds\n" +
			"the base URL but no secret and no token: it is safe to paste into a support ticket.\n\n" +
			"Exit codes: 0 export and restore can work (warnings may be listed); 1 a check failed (each with what to do)\n" +
			"or the tenant could not be reached; 2 usage; 130 interrupted.",
		Flags: withGlobals(
			&cli.IntFlag{Name: "sample", Value: 5, Usage: "connectors whose details are compared with their sub-resources"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON on stdout"},
		),
		Action: runDoctor,
	}
}

func runDoctor(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("doctor takes no arguments (got %q)", c.Args().First())
	}
	if n := c.Int("sample"); n < 1 || n > 1000 {
		return usagef("--sample %d: use a number from 1 to 1000", n)
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	t, err := connect(c.Context, c, s)
	if err != nil {
		return err
	}
	defer t.close()
	r, err := doctor.Run(c.Context, t.Client, doctor.Options{Sample: c.Int("sample")})
	if err != nil {
		return err
	}
	if t.Name == "sandbox" {
		r.BaseURL = "sandbox"
	}
	if c.Bool("json") {
		if err := writeJSONWithOrigins(s.stdout, jsonOf(r), ticketSettingsOf(t.settings)); err != nil {
			return err
		}
	} else if err := doctor.WriteText(s.stdout, r); err != nil {
		return err
	}
	if !r.OK {
		return &quietError{code: exitError}
	}
	return nil
}
