package apiclient

import (
	"context"
	"errors"
	"fmt"
)

// ErrEndlessList marks a list the server pages wrong: pages that repeat
// connectors already listed, or more pages than any tenant has. Paging stops there;
// nothing read so far is trusted to be complete.
var ErrEndlessList = errors.New("the server's connector list does not end")

// MaxListPages bounds one listing: 400 pages of 250 are 100,000 connectors,
// twenty times the largest tenant the tool is sized for (5,000). A server
// that keeps answering full pages past it is paging wrong.
const MaxListPages = 400

type listTotalKey struct{}

// WithListTotal returns a context under which a listing tells f the total
// the server declares (X-Total-Count) as soon as a page carries one, so a
// progress display knows it from the first page. The total may be wrong:
// f hears what the server said.
func WithListTotal(ctx context.Context, f func(total int)) context.Context {
	return context.WithValue(ctx, listTotalKey{}, f)
}

// fetchPage asks for the page at offset; total is the declared
// X-Total-Count, or -1.
type fetchPage func(ctx context.Context, offset int) (Page, error)

// pageAll pages through a list with fetch and yields each connector once, in
// order, until a short page. A scriptName already yielded is not yielded
// again: a connector created or deleted during the listing shifts the pages
// by a few places, and a repeat is then expected. What is not expected, and
// ends the listing with ErrEndlessList:
//   - a page more than half made of connectors already listed (a server that
//     answers every page with the same connectors);
//   - more than maxPages pages.
//
// A declared X-Total-Count that the pages contradict (a page of connectors
// with a total of 0, more connectors than declared) is only a count that
// lies: warn (which may be nil) is told once, and paging goes on while pages
// bring new connectors; the two guards above still end a list that never
// ends.
//
// Connectors without a scriptName are yielded as they come (the caller
// decides about them) and count as new.
func pageAll(ctx context.Context, fetch fetchPage, pageSize, maxPages int, warn func(string), yield func(V3ConnectorDto, error) bool) {
	seen := map[string]bool{}
	offset, total := 0, -1
	warned := false
	for page := 1; ; page++ {
		if page > maxPages {
			yield(V3ConnectorDto{}, fmt.Errorf("list connectors: %w: still full pages after %d pages (%d connectors); stopped, no tenant has that many", ErrEndlessList, maxPages, len(seen)))
			return
		}
		p, err := fetch(ctx, offset)
		if err != nil {
			yield(V3ConnectorDto{}, err)
			return
		}
		if p.Total >= 0 {
			total = p.Total
			if f, ok := ctx.Value(listTotalKey{}).(func(int)); ok {
				f(total)
			}
		}
		repeated := 0
		fresh := make([]V3ConnectorDto, 0, len(p.Items))
		for _, it := range p.Items {
			if it.ScriptName != "" && seen[it.ScriptName] {
				repeated++
				continue
			}
			if it.ScriptName != "" {
				seen[it.ScriptName] = true
			}
			fresh = append(fresh, it)
		}
		if repeated > 0 && repeated*2 > len(p.Items) {
			yield(V3ConnectorDto{}, fmt.Errorf("list connectors: %w: the page at offset %d repeats %d of its %d connectors from earlier pages; stopped after %d pages", ErrEndlessList, offset, repeated, len(p.Items), page))
			return
		}
		if total >= 0 && offset+len(fresh) > total && len(fresh) > 0 && !warned {
			warned = true
			if warn != nil {
				warn(fmt.Sprintf("the server declared %d connectors (X-Total-Count) but the page at offset %d lists more; the count is wrong, paging goes on while pages bring new connectors", total, offset))
			}
		}
		for _, it := range fresh {
			if !yield(it, nil) {
				return
			}
		}
		if len(p.Items) < pageSize {
			return
		}
		offset += len(p.Items)
	}
}
