package domain

import "time"

// Connector is everything connvault keeps of one connector. It is the unit that
// export writes, and that diff and restore read. Byte slices are kept exactly as
// the server sent them: XML is never re-serialised. A nil document means the
// server had none (or it was not fetched); an empty, non-nil one means the
// server returned an empty body.
type Connector struct {
	// ScriptName keys the connector's folder in the archive.
	ScriptName string
	// Detail is the ConnectorDetail JSON (GET /connectors/{scriptName}),
	// canonicalised (object keys sorted, compact, trailing newline) so
	// that the same server content always gives the same bytes.
	Detail []byte
	// The three XML documents, raw.
	SourceConfig      []byte
	SourceTemplate    []byte
	CorrelationConfig []byte
	// Translations maps a locale (one of the API's 19) to its properties text.
	Translations map[string][]byte
}

// Source describes where a snapshot came from. It never holds credentials.
type Source struct {
	BaseURL    string `json:"baseUrl"`
	APIVersion string `json:"apiVersion"`
}

// Selection records what the export was asked for, so a reader knows whether an
// absent connector was out of scope or gone.
type Selection struct {
	Filters     string   `json:"filters,omitempty"`
	ScriptNames []string `json:"scriptNames,omitempty"`
	Locales     []string `json:"locales,omitempty"`
	// Names, when set, limits the listed connectors to these names (a
	// pre-restore snapshot holds only the connectors the restore could
	// touch). ScriptNames are read whatever their name.
	Names []string `json:"names,omitempty"`
}

// Skipped is a connector the export meant to save but did not.
type Skipped struct {
	ScriptName string `json:"scriptName"`
	Name       string `json:"name,omitempty"`
	Reason     string `json:"reason"`
}

// Meta is what the caller of Create says about a snapshot; the writer adds the
// entries, counts and digest to make the manifest.
type Meta struct {
	ToolVersion string    `json:"toolVersion"`
	CreatedAt   time.Time `json:"createdAt"`
	Source      Source    `json:"source"`
	Selection   Selection `json:"selection"`
	// Partial is set when some connectors failed and the export went on
	// (--keep-going); Skipped lists them, and the 404s.
	Partial bool      `json:"partial"`
	Skipped []Skipped `json:"skipped,omitempty"`
	// Fetch is how the documents were read (FetchFull, FetchFromDetail);
	// empty in archives made before it was recorded, which read in full.
	Fetch string `json:"fetch,omitempty"`
	// DocumentSources lists every document read otherwise than Fetch says
	// (see DocumentSource).
	DocumentSources []DocumentSource `json:"documentSources,omitempty"`
}

// Snapshot is a whole archive in memory, for diff and restore.
type Snapshot struct {
	Manifest   Manifest
	Connectors []*Connector
}

// Manifest is the first entry of every archive (manifest.json);
// docs/archive-format.md documents each field.
type Manifest struct {
	Format        string `json:"format"`        // always archive.FormatName
	FormatVersion int    `json:"formatVersion"` // see archive.MinVersion..MaxVersion
	Meta
	ConnectorCount int     `json:"connectorCount"`
	Entries        []Entry `json:"entries"`
	// ContentDigest is "sha256:<hex>" over the sorted (path, SHA-256) pairs of
	// all entries; it does not depend on CreatedAt or any other metadata.
	ContentDigest string `json:"contentDigest"`
}

// Entry is one file of the archive, as the manifest lists it.
type Entry struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}
