package main

import "os"

// The suite's request hooks match the yearly layout's paths
// ("/connectors/<scriptName>" as a suffix), which the per-service layout
// (/connectors/v1/<scriptName>) does not end with: the suite runs on v3, as it
// did before auto became the default, and the tests of the layout choice
// below pass --api-version themselves.
func init() {
	if os.Getenv("SAIL_API_VERSION") == "" {
		os.Setenv("SAIL_API_VERSION", "v3")
	}
}
