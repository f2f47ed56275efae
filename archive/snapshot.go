package archive

import "github.com/connvault/connvault/domain"

// The snapshot types are the domain's (package domain); these names keep
// archive's callers reading archive.Connector and archive.Snapshot.
type (
	Connector = domain.Connector
	Source    = domain.Source
	Selection = domain.Selection
	Skipped   = domain.Skipped
	Meta      = domain.Meta
	Snapshot  = domain.Snapshot
	Manifest  = domain.Manifest
	Entry     = domain.Entry
)

const (
	FormatName = "connvault-archive"
	MinVersion = 1
	MaxVersion = 1
)
