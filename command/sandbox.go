package command

import (
	"fmt"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/connvault/connvault/sandbox"
)

// sandboxCommand serves the built-in fake tenant until interrupted, so every
// other command can be tried without a real tenant. Its credentials are not
// secrets; printing them is the point.
func sandboxCommand() *cli.Command {
	return &cli.Command{
		Name:  "sandbox",
		Usage: "serve a fake ISC tenant with realistic connectors on localhost",
		Description: "Serves the in-memory sandbox tenant until Ctrl-C and prints SAIL_BASE_URL, SAIL_CLIENT_ID and\n" +
			"SAIL_CLIENT_SECRET as shell exports; paste them into another shell to point connvault at it.\n" +
			"Nothing is stored: the tenant starts afresh each time.\n" +
			"Exit codes: 0 stopped by Ctrl-C, 1 error (the address is taken), 2 usage.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "listen", Value: "127.0.0.1:0", Usage: "address to listen on (port 0 picks a free one)"},
			&cli.DurationFlag{Name: "latency", Usage: "time from a request's arrival to its answer; the sandbox's own work runs within it, as a real server's does"},
			&cli.DurationFlag{Name: "jitter", Usage: "random extra delay, up to this much, on every request"},
			&cli.IntFlag{Name: "rate-limit", Usage: "requests per --rate-window per client id and API version before 429 (the real gateway allows 100 per 10 s); 0 is off"},
			&cli.DurationFlag{Name: "rate-window", Value: 10 * time.Second, Usage: "the fixed window --rate-limit counts in (the gateway's is 10 s; 1s models a per-second limit)"},
			&cli.Float64Flag{Name: "error-rate", Usage: "share of requests answered 500 or 503, 0..1"},
			&cli.Float64Flag{Name: "drop-rate", Usage: "share of connections closed without an answer, 0..1"},
			&cli.DurationFlag{Name: "token-ttl", Value: 12 * time.Hour, Usage: "lifetime of issued access tokens"},
			&cli.IntFlag{Name: "connectors", Usage: "add this many synthetic connectors"},
			&cli.IntFlag{Name: "doc-size", Value: 20 << 10, Usage: "bytes per synthetic XML document"},
			&cli.IntFlag{Name: "locales", Value: 3, Usage: "translation locales per synthetic connector (1-19)"},
			&cli.BoolFlag{Name: "empty", Usage: "start without the seeded example connectors"},
			&cli.BoolFlag{Name: "json", Usage: "print the settings as one JSON object instead of shell lines"},
			&cli.Int64Flag{Name: "seed", Usage: "seed for fault injection and synthetic content, for reproducible runs"},
			&cli.StringSliceFlag{Name: "layouts", Usage: "serve only these API layouts (v1 = /connectors/v1, v3, v2024, v2025, v2026; repeatable or comma-separated; default all)"},
			&cli.StringSliceFlag{Name: "no-correlation-config", Usage: "answer 404 on the correlation-config route of these layouts (e.g. v3, whose published spec lacks it); details still carry it"},
		},
		Action: runSandbox,
	}
}

func runSandbox(c *cli.Context) error {
	if c.NArg() > 0 {
		return cli.Exit(fmt.Sprintf("sandbox takes no arguments, got %q", c.Args().First()), 2)
	}
	for _, name := range []string{"error-rate", "drop-rate"} {
		if v := c.Float64(name); v < 0 || v > 1 {
			return cli.Exit(fmt.Sprintf("--%s must be between 0 and 1, got %g", name, v), 2)
		}
	}
	for _, name := range []string{"rate-limit", "connectors", "doc-size", "locales"} {
		if c.Int(name) < 0 {
			return cli.Exit(fmt.Sprintf("--%s must not be negative, got %d", name, c.Int(name)), 2)
		}
	}
	if w := c.Duration("rate-window"); w < time.Millisecond {
		return cli.Exit(fmt.Sprintf("--rate-window must be at least 1ms, got %s", w), 2)
	}
	if l := c.Int("locales"); l > 19 {
		return cli.Exit(fmt.Sprintf("--locales must be at most 19 (the API has 19 locales), got %d", l), 2)
	}
	for _, name := range []string{"layouts", "no-correlation-config"} {
		for _, v := range c.StringSlice(name) {
			if !slices.Contains(sandbox.Layouts, v) {
				return cli.Exit(fmt.Sprintf("--%s %q: use %s", name, v, strings.Join(sandbox.Layouts, ", ")), 2)
			}
		}
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := sandbox.Start(ctx, c.String("listen"), sandbox.Options{
		Empty:      c.Bool("empty"),
		Synthetic:  c.Int("connectors"),
		DocSize:    c.Int("doc-size"),
		Locales:    c.Int("locales"),
		Latency:    c.Duration("latency"),
		Jitter:     c.Duration("jitter"),
		RateLimit:  c.Int("rate-limit"),
		RateWindow: c.Duration("rate-window"),
		ErrorRate:  c.Float64("error-rate"),
		DropRate:   c.Float64("drop-rate"),
		TokenTTL:   c.Duration("token-ttl"),
		Seed:       c.Int64("seed"),

		Layouts:             c.StringSlice("layouts"),
		NoCorrelationConfig: c.StringSlice("no-correlation-config"),
	})
	if err != nil {
		return cli.Exit(fmt.Sprintf("%v", err), 1)
	}
	out := c.App.Writer
	if c.Bool("json") {
		if err := writeJSON(out, map[string]string{"SAIL_BASE_URL": srv.URL, "SAIL_CLIENT_ID": srv.ClientID, "SAIL_CLIENT_SECRET": srv.ClientSecret}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(out, "export SAIL_BASE_URL=%s\n", srv.URL)
		fmt.Fprintf(out, "export SAIL_CLIENT_ID=%s\n", srv.ClientID)
		fmt.Fprintf(out, "export SAIL_CLIENT_SECRET=%s\n", srv.ClientSecret)
	}
	layouts := c.StringSlice("layouts")
	if len(layouts) == 0 {
		layouts = sandbox.Layouts
	}
	fmt.Fprintf(c.App.ErrWriter, "connvault: sandbox tenant with %d connectors serving on %s (API layouts %s); Ctrl-C stops it\n",
		len(srv.Tenant.ScriptNames()), srv.URL, strings.Join(layouts, ", "))
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		return cli.Exit(fmt.Sprintf("%v", err), 1)
	}
	fmt.Fprintln(c.App.ErrWriter, "connvault: sandbox stopped")
	return nil
}
