// Package archive writes and reads connvault archives: one *.tar.zst file per
// snapshot of a tenant's custom connectors, with a manifest first that lists
// every entry's size and SHA-256 and a content digest that does not depend on
// time. docs/archive-format.md is the format's specification.
//
// Writing streams: Create, then Add each connector (content is spooled to a
// temporary file, not kept in memory), then Close, which commits the file
// atomically, or Abort. Reading is defensive and streams too: Open checks the
// manifest, Next returns one checked connector at a time; ReadFile reads a
// whole Snapshot; Verify collects every problem instead of stopping at the
// first. Failures about an archive's content are *Error values whose Kind is
// one of the Err* sentinels, for errors.Is.
package archive
