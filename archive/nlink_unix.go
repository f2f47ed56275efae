//go:build unix

package archive

import (
	"io/fs"
	"syscall"
)

// hardLinks is the number of names the file has; 1 where that is unknown.
func hardLinks(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Nlink)
	}
	return 1
}
