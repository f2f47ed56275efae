package workflow

import (
	"context"
	"sync"
	"time"

	"github.com/connvault/connvault/archive"
	"github.com/connvault/connvault/domain"
	"github.com/connvault/connvault/export"
)

// What Export (into an archive) and ExportDir (into a snapshot directory)
// share: the snapshot's starting metadata, the run of the export pipeline
// and what the run found, recorded in the snapshot. Each keeps its own
// destination, error wording and result.

// snapshotSink is a snapshot being written: an *archive.Writer or an
// *archive.DirWriter.
type snapshotSink interface {
	Add(ctx context.Context, c *archive.Connector) error
	SetPartial(skipped []archive.Skipped)
	SetSkipped(skipped []archive.Skipped)
	SetSource(s archive.Source)
	SetFetch(mode string, sources []domain.DocumentSource)
}

var (
	_ snapshotSink = (*archive.Writer)(nil)
	_ snapshotSink = (*archive.DirWriter)(nil)
)

// exportMeta is the metadata an export of t starts its snapshot with.
func exportMeta(env *Env, t *Tenant, sel archive.Selection, now time.Time) archive.Meta {
	return archive.Meta{
		ToolVersion: env.ToolVersion,
		CreatedAt:   now,
		Source:      archive.Source{BaseURL: t.sourceURL(), APIVersion: t.Client.APIVersion()},
		Selection:   sel,
	}
}

// runExport exports the connectors of t that sel selects into w and returns
// the pipeline's result and the scriptNames asked for by name that the
// tenant does not have (the caller decides whether that fails the export).
// Interrupted, it returns an *ExportInterruptedError counting the connectors
// fetched.
func runExport(ctx context.Context, env *Env, t *Tenant, sel archive.Selection, noList, keepGoing, fromDetail bool, w snapshotSink) (*export.Result, []string, error) {
	seen := map[string]bool{} // the scriptNames written
	var seenMu sync.Mutex
	bar := env.progress("exporting", t.Client.Stats)
	er, err := export.Run(ctx, t.Client, export.Options{
		Filters:      sel.Filters,
		ScriptNames:  sel.ScriptNames,
		ListDisabled: noList,
		Locales:      sel.Locales,
		Concurrency:  env.Concurrency,
		KeepGoing:    keepGoing,
		FromDetail:   fromDetail,
		Logger:       env.log(),
		Progress:     bar.Update,
	}, func(conn *archive.Connector) error {
		seenMu.Lock()
		seen[conn.ScriptName] = true
		seenMu.Unlock()
		return w.Add(ctx, conn)
	})
	bar.Finish()
	if err != nil {
		if ctx.Err() != nil {
			seenMu.Lock()
			defer seenMu.Unlock()
			return nil, nil, &ExportInterruptedError{Fetched: len(seen)}
		}
		return nil, nil, err
	}
	var missing []string
	for _, sn := range sel.ScriptNames {
		if !seen[sn] {
			missing = append(missing, sn)
		}
	}
	return er, missing, nil
}

// recordRun records in w what the run found: the connectors that failed
// (the snapshot is partial when any did or a scriptName asked for is
// missing) or were skipped, the layout the run used and how the documents
// were read. src is the snapshot's source so far. It returns whether the
// snapshot is partial and the layout.
func recordRun(w snapshotSink, t *Tenant, src archive.Source, er *export.Result, missing []string) (partial bool, apiVersion string) {
	partial = er.Partial() || len(missing) > 0
	if partial {
		w.SetPartial(er.Skipped)
	} else {
		w.SetSkipped(er.Skipped)
	}
	// Under --api-version auto the layout is known once a request went out.
	src.APIVersion = t.Client.APIVersion()
	w.SetSource(src)
	w.SetFetch(er.Fetch, er.Sources)
	return partial, src.APIVersion
}
