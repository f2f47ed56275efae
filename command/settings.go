package command

import (
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/settings"
)

func settingsCommand() *cli.Command {
	return &cli.Command{
		Name:      "settings",
		Usage:     "show every setting, its value and where it came from (flag, environment, tenants file, default)",
		ArgsUsage: " ",
		Description: "Resolves the settings exactly as every other command does (a flag before or after the command >\n" +
			"the environment > the tenants file > the default) and prints them without contacting any tenant.\n" +
			"The client secret's value is never shown, only where it comes from.\n" +
			"Exit codes: 0 resolved, 2 usage (a bad value, or a tenant and a base URL naming different tenants).",
		Flags:  withGlobals(&cli.BoolFlag{Name: "json", Usage: "print the settings as JSON on stdout"}),
		Action: runSettings,
	}
}

// settingsJSON is `settings --json`.
type settingsJSON struct {
	Settings []settings.Setting `json:"settings"`
}

func runSettings(c *cli.Context) error {
	if c.NArg() > 0 {
		return usagef("settings takes no arguments (got %q)", c.Args().First())
	}
	s, err := newSession(c)
	if err != nil {
		return err
	}
	if err := s.settings.ResolveTenant(); err != nil {
		return err
	}
	list := s.settings.Public()
	if c.Bool("json") {
		return writeJSON(s.stdout, settingsJSON{Settings: list})
	}
	tw := tabwriter.NewWriter(s.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tFROM")
	for _, v := range list {
		from := string(v.Origin)
		if v.Detail != "" {
			from += " " + v.Detail
		}
		val := v.Value
		if val == "" {
			val = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", v.Name, val, from)
	}
	return tw.Flush()
}
