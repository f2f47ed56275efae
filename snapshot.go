package main

import "strings"

// tenantOperand is how a command line names a live tenant instead of an
// archive: `tenant:` (the tenant the flags configure) or `tenant:NAME` (that
// tenant of the tenants file, whatever the flags say).
const tenantOperand = "tenant:"

func isTenantOperand(arg string) bool { return strings.HasPrefix(arg, tenantOperand) }
