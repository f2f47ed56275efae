package sandbox

import (
	"net/http"
	"slices"
)

// serves reports whether the tenant answers rt's route: its layout is
// among Options.Layouts, and correlation-config is not withheld there.
func (t *Tenant) serves(rt routed) bool {
	if len(t.opts.Layouts) > 0 && !slices.Contains(t.opts.Layouts, rt.version) {
		return false
	}
	if (rt.op == opGetCorrelation || rt.op == opPutCorrelation) && slices.Contains(t.opts.NoCorrelationConfig, rt.version) {
		return false
	}
	return true
}

// userLevels are the user levels the connector operations accept.
var userLevels = []string{"ORG_ADMIN", "SOURCE_ADMIN", "SOURCE_SUBADMIN"}

// authorize answers 403 when the token's user level or scopes do not cover
// op, as the tenant does (NOTES: userAuth only; levels ORG_ADMIN,
// SOURCE_ADMIN, SOURCE_SUBADMIN; scope idn:connector-config:read for GETs,
// :manage for everything).
func (t *Tenant) authorize(w http.ResponseWriter, tok tokenInfo, op string) bool {
	level := false
	for _, a := range tok.authorities {
		if slices.Contains(userLevels, a) {
			level = true
		}
	}
	if !level {
		writeError(w, http.StatusForbidden, "403 Forbidden",
			"The server understood the request but refuses to authorize it: the token has no user level of ORG_ADMIN, SOURCE_ADMIN or SOURCE_SUBADMIN")
		return false
	}
	need := "idn:connector-config:manage"
	if slices.Contains(tok.scopes, "sp:scopes:all") || slices.Contains(tok.scopes, need) {
		return true
	}
	if !isWrite(op) && slices.Contains(tok.scopes, "idn:connector-config:read") {
		return true
	}
	if !isWrite(op) {
		need = "idn:connector-config:read or " + need
	}
	writeError(w, http.StatusForbidden, "403 Forbidden", "The server understood the request but refuses to authorize it: the token lacks the scope "+need)
	return false
}
