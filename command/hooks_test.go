package command

import (
	"context"
	"net/http"
	"net/url"
	"sync/atomic"

	"github.com/connvault/connvault/sandbox"
)

// Request hooks recognise an operation through sandbox.RouteOf, never by
// one layout's paths: the suite runs with the default --api-version (auto,
// which lists through /connectors/v1 and falls back to v3), and a hook must
// catch the same request whichever layout carried it.

// docOps are the GET and PUT operationIds of each document, by the path
// segment that names it.
var docOps = map[string][2]string{
	"source-config":      {"getConnectorSourceConfig", "putConnectorSourceConfig"},
	"source-template":    {"getConnectorSourceTemplate", "putConnectorSourceTemplate"},
	"correlation-config": {"getConnectorCorrelationConfig", "putConnectorCorrelationConfig"},
}

// isList: a GET of the connector list.
func isList(r *http.Request) bool { return sandbox.RouteOf(r).Op == "getConnectorList" }

// isCreate: a POST creating a connector.
func isCreate(r *http.Request) bool { return sandbox.RouteOf(r).Op == "createCustomConnector" }

// isDetail: a GET of connector sn's detail.
func isDetail(r *http.Request, sn string) bool {
	rt := sandbox.RouteOf(r)
	return rt.Op == "getConnector" && rt.ScriptName == sn
}

// isDoc: a GET of connector sn's document doc ("source-config", ...).
func isDoc(r *http.Request, sn, doc string) bool {
	rt := sandbox.RouteOf(r)
	return docOps[doc][0] != "" && rt.Op == docOps[doc][0] && rt.ScriptName == sn
}

// isDocPut: a PUT of connector sn's document doc.
func isDocPut(r *http.Request, sn, doc string) bool {
	rt := sandbox.RouteOf(r)
	return docOps[doc][1] != "" && rt.Op == docOps[doc][1] && rt.ScriptName == sn
}

// detailPath is the path of connector sn's detail in the layout r came
// through: where a hostile server redirects a request to.
func detailPath(r *http.Request, sn string) string {
	if sandbox.RouteOf(r).Layout == "v1" {
		return "/connectors/v1/" + url.PathEscape(sn)
	}
	return "/" + sandbox.RouteOf(r).Layout + "/connectors/" + url.PathEscape(sn)
}

// cancelAtRequest is Ctrl-C while a run is under way: at the tenant's n-th
// API request (token requests not counted) it calls cancel and holds that
// request until the client gives up on it, so the cancel always lands
// mid-run. (Polling the request count from a goroutine let a fast run, or a
// slow poller on a loaded machine, finish the run before the cancel came.)
func cancelAtRequest(tn *sandbox.Tenant, n int32, cancel context.CancelFunc) {
	var seen atomic.Int32
	tn.SetHook(func(w http.ResponseWriter, r *http.Request) bool {
		if sandbox.RouteOf(r).Op == "requestAccessToken" || seen.Add(1) != n {
			return false
		}
		cancel()
		<-r.Context().Done()
		return true
	})
}
