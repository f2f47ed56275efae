package retention

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy says how many archives to keep per tenant, with the meaning of
// restic's forget options: Last keeps the Last newest archives; each of the
// others keeps the newest archive of each of the N most recent hours, days,
// ISO weeks, months or years that have one. An archive kept by several rules
// is kept once, with every reason. As in restic, when a rule still has room
// left after the oldest archive (the history is shorter than the rule), the
// oldest archive is kept as well, so a young history is never cut short.
// Periods are UTC, taken from the archive names.
type Policy struct {
	Last    int `json:"last"`
	Hourly  int `json:"hourly"`
	Daily   int `json:"daily"`
	Weekly  int `json:"weekly"`
	Monthly int `json:"monthly"`
	Yearly  int `json:"yearly"`
}

// Validate refuses negative counts and a policy that keeps nothing, which
// would delete every archive.
func (p Policy) Validate() error {
	var bad []string
	for _, r := range p.rules() {
		if r.count < 0 {
			bad = append(bad, fmt.Sprintf("%s is %d", r.name, r.count))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("invalid retention policy: %s; counts must be 0 or more", strings.Join(bad, ", "))
	}
	if p.empty() {
		return errors.New("empty retention policy would remove every archive: keep at least one (last, hourly, daily, weekly, monthly or yearly)")
	}
	return nil
}

// String describes the policy, as in "keep 2 latest, 7 daily, 4 weekly archives".
func (p Policy) String() string {
	var parts []string
	for _, r := range p.rules() {
		if r.count > 0 {
			name := r.name
			if name == "last" {
				name = "latest" // "keep 3 latest", as restic says
			}
			parts = append(parts, fmt.Sprintf("%d %s", r.count, name))
		}
	}
	if len(parts) == 0 {
		return "empty policy (keep everything)"
	}
	return "keep " + strings.Join(parts, ", ") + " archives"
}

func (p Policy) empty() bool {
	for _, r := range p.rules() {
		if r.count > 0 {
			return false
		}
	}
	return true
}

// rule is one --keep-* bucket: period maps an archive (by time, and by its
// position for "last") to the period it falls in.
type rule struct {
	name   string
	count  int
	period func(t time.Time, nr int) string
}

func (p Policy) rules() []rule {
	return []rule{
		{"last", p.Last, func(_ time.Time, nr int) string { return fmt.Sprint(nr + 1) }},
		{"hourly", p.Hourly, func(t time.Time, _ int) string { return t.Format("2006-01-02T15") }},
		{"daily", p.Daily, func(t time.Time, _ int) string { return t.Format("2006-01-02") }},
		{"weekly", p.Weekly, func(t time.Time, _ int) string {
			y, w := t.ISOWeek()
			return fmt.Sprintf("%04d-W%02d", y, w)
		}},
		{"monthly", p.Monthly, func(t time.Time, _ int) string { return t.Format("2006-01") }},
		{"yearly", p.Yearly, func(t time.Time, _ int) string { return t.Format("2006") }},
	}
}

// Archive is one archive file found in a directory.
type Archive struct {
	Path   string
	Tenant string
	Time   time.Time // UTC, from the file name
}

// Decision is what the policy does with one archive. Reasons name the rules
// that keep it, such as "last 1", "daily 2026-11-21", "weekly 2026-W47",
// "monthly 2026-11" (a rule that keeps the oldest archive for lack of history
// says "oldest daily 2026-01-03"); they are empty when Keep is false.
type Decision struct {
	Path    string
	Tenant  string
	Time    time.Time
	Keep    bool
	Reasons []string
}

// Plan applies p to each tenant's archives separately and returns one
// Decision per archive: tenants in name order, each tenant's archives newest
// first (equal times by path). It does not touch the file system.
//
// A policy that keeps nothing (see Validate) keeps everything with the reason
// "empty policy", as restic does, so a mistake never plans to delete it all;
// negative counts count as 0.
func Plan(archives []Archive, p Policy) []Decision {
	sorted := slices.Clone(archives)
	slices.SortFunc(sorted, func(a, b Archive) int {
		if c := strings.Compare(a.Tenant, b.Tenant); c != 0 {
			return c
		}
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Path, b.Path)
	})
	out := make([]Decision, 0, len(sorted))
	for start := 0; start < len(sorted); {
		end := start + 1
		for end < len(sorted) && sorted[end].Tenant == sorted[start].Tenant {
			end++
		}
		out = append(out, planTenant(sorted[start:end], p)...)
		start = end
	}
	return out
}

// planTenant is restic's ApplyPolicy for one group, newest first: a rule with
// count left keeps an archive whenever its period differs from the period of
// the last archive that rule kept, which is the newest archive of that period.
func planTenant(list []Archive, p Policy) []Decision {
	out := make([]Decision, len(list))
	if p.empty() {
		for i, a := range list {
			out[i] = Decision{Path: a.Path, Tenant: a.Tenant, Time: a.Time.UTC(), Keep: true, Reasons: []string{"empty policy"}}
		}
		return out
	}
	type bucket struct {
		rule
		left int
		last string
	}
	var buckets []bucket
	for _, r := range p.rules() {
		if r.count > 0 {
			buckets = append(buckets, bucket{rule: r, left: r.count})
		}
	}
	for nr, a := range list {
		t := a.Time.UTC()
		d := Decision{Path: a.Path, Tenant: a.Tenant, Time: t}
		oldest := nr == len(list)-1
		for i := range buckets {
			b := &buckets[i]
			if b.left == 0 {
				continue
			}
			val := b.period(t, nr)
			switch {
			case val != b.last:
				d.Reasons = append(d.Reasons, b.name+" "+val)
			case oldest:
				d.Reasons = append(d.Reasons, "oldest "+b.name+" "+val)
			default:
				continue
			}
			b.last = val
			b.left--
		}
		d.Keep = len(d.Reasons) > 0
		out[nr] = d
	}
	return out
}
