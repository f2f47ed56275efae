package archive

import (
	"context"
	"io"
)

// Each hands the connectors of r, an archive or a snapshot directory, to fn
// in r's order. It stops at the first error r or fn returns, and when ctx is
// done, checked before each connector; after the last connector it returns
// nil.
func Each(ctx context.Context, r SnapshotReader, fn func(*Connector) error) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(c); err != nil {
			return err
		}
	}
}
