package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/connvault/connvault/settings"
)

// origins is one list of where each setting came from, under key in a
// --json document.
type origins struct {
	key      string
	settings *settings.Settings
	// hideClientID keeps the client id's value out too: doctor's report is
	// made to be pasted into a support ticket, where it names no credential.
	hideClientID bool
}

// settingsOf is the "settings" member of every --json document: the settings
// the command ran with.
func settingsOf(st *settings.Settings) origins { return origins{key: "settings", settings: st} }

// ticketSettingsOf is settingsOf for a report meant for a support ticket.
func ticketSettingsOf(st *settings.Settings) origins {
	return origins{key: "settings", settings: st, hideClientID: true}
}

// writeJSONWithOrigins writes the JSON object write produces with where each
// setting came from added at its end. It is the one way every command's
// --json says it (export, restore, promote, doctor), whoever builds the
// document: importer writes restore's, the workflows' results export's and
// promote's. Secrets appear as "(hidden)" only: Public hides their values.
func writeJSONWithOrigins(w io.Writer, write func(io.Writer) error, add ...origins) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	doc := bytes.TrimSpace(buf.Bytes())
	if len(doc) < 2 || doc[0] != '{' || doc[len(doc)-1] != '}' {
		return fmt.Errorf("the --json document is not a JSON object: %.40q", doc)
	}
	out := bytes.NewBuffer(bytes.TrimSpace(doc[:len(doc)-1]))
	for _, o := range add {
		if o.settings == nil {
			continue
		}
		var v bytes.Buffer
		enc := json.NewEncoder(&v)
		enc.SetEscapeHTML(false)
		pub := o.settings.Public()
		for i := range pub {
			if o.hideClientID && pub[i].Name == "client-id" && pub[i].Value != "" {
				pub[i].Value = "(hidden)"
			}
		}
		if err := enc.Encode(pub); err != nil {
			return err
		}
		if out.Len() > 1 { // more than the opening brace: a member before
			out.WriteByte(',')
		}
		k, _ := json.Marshal(o.key)
		out.Write(k)
		out.WriteByte(':')
		out.Write(bytes.TrimSpace(v.Bytes()))
	}
	out.WriteByte('}')
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, out.Bytes(), "", "  "); err != nil {
		return fmt.Errorf("the --json document: %w", err)
	}
	pretty.WriteByte('\n')
	_, err := w.Write(pretty.Bytes())
	return err
}

// jsonOf is write for a value encoded as every --json output is.
func jsonOf(v any) func(io.Writer) error {
	return func(w io.Writer) error { return writeJSON(w, v) }
}
