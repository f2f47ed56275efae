//go:build tools

// Package main's tools file pins modules that are imported only by code not yet
// written, so `go mod tidy` keeps them while several packages grow at once.
package main

import (
	_ "github.com/aymanbagabas/go-udiff"
	_ "github.com/getkin/kin-openapi/openapi3filter"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/klauspost/compress/zstd"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/urfave/cli/v2"
	_ "golang.org/x/oauth2/clientcredentials"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/term"
	_ "golang.org/x/time/rate"
)
