package retention

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// simulatedYear is a directory's worth of archives from a year of nightly
// runs made with a fake clock:
//   - acme: every night at 03:15 from 2025-11-23 to 2026-11-22 (365 nights),
//     an extra run at 15:40 on the 1st of each month, and two more runs on the
//     last day (09:00 and 21:30);
//   - globex: every night at 01:00 from 2026-06-01 to 2026-11-22, except an
//     outage from 2026-09-10 to 2026-09-20.
func simulatedYear() []Archive {
	var out []Archive
	add := func(tenant string, t time.Time) {
		out = append(out, Archive{Path: "/backups/" + FileName(tenant, t), Tenant: tenant, Time: t})
	}
	first := time.Date(2025, 11, 23, 3, 15, 0, 0, time.UTC)
	for night := 0; night < 365; night++ {
		t := first.AddDate(0, 0, night)
		add("acme", t)
		if t.Day() == 1 {
			add("acme", time.Date(t.Year(), t.Month(), 1, 15, 40, 0, 0, time.UTC))
		}
	}
	add("acme", time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
	add("acme", time.Date(2026, 11, 22, 21, 30, 0, 0, time.UTC))

	outageFrom := time.Date(2026, 9, 10, 0, 0, 0, 0, time.UTC)
	outageTo := time.Date(2026, 9, 21, 0, 0, 0, 0, time.UTC)
	for t := time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC); t.Before(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)); t = t.AddDate(0, 0, 1) {
		if t.After(outageFrom) && t.Before(outageTo) {
			continue
		}
		add("globex", t)
	}
	return out
}

// expectedKeep computes, without Plan's algorithm, what a policy keeps of
// one tenant's archives: for each rule, group the archives by period, take
// the newest archive of each of the N newest periods, and if there were fewer
// than N periods also keep the oldest archive. It returns path -> reasons in
// rule order.
func expectedKeep(archives []Archive, p Policy) map[string][]string {
	type periodRule struct {
		name  string
		n     int
		label func(time.Time) string
	}
	rules := []periodRule{
		{"hourly", p.Hourly, func(t time.Time) string {
			return fmt.Sprintf("%04d-%02d-%02dT%02d", t.Year(), int(t.Month()), t.Day(), t.Hour())
		}},
		{"daily", p.Daily, func(t time.Time) string {
			return fmt.Sprintf("%04d-%02d-%02d", t.Year(), int(t.Month()), t.Day())
		}},
		{"weekly", p.Weekly, func(t time.Time) string {
			y, w := t.ISOWeek()
			return fmt.Sprintf("%04d-W%02d", y, w)
		}},
		{"monthly", p.Monthly, func(t time.Time) string { return fmt.Sprintf("%04d-%02d", t.Year(), int(t.Month())) }},
		{"yearly", p.Yearly, func(t time.Time) string { return fmt.Sprintf("%04d", t.Year()) }},
	}
	byTime := slices.Clone(archives)
	sort.Slice(byTime, func(i, j int) bool { return byTime[i].Time.After(byTime[j].Time) })
	keep := map[string][]string{}
	for i := 0; i < p.Last && i < len(byTime); i++ {
		keep[byTime[i].Path] = append(keep[byTime[i].Path], fmt.Sprintf("last %d", i+1))
	}
	for _, r := range rules {
		if r.n == 0 {
			continue
		}
		newest := map[string]Archive{}
		for _, a := range archives {
			l := r.label(a.Time)
			if cur, ok := newest[l]; !ok || a.Time.After(cur.Time) {
				newest[l] = a
			}
		}
		labels := make([]string, 0, len(newest))
		for l := range newest {
			labels = append(labels, l)
		}
		// Every label format above sorts lexically in time order.
		sort.Sort(sort.Reverse(sort.StringSlice(labels)))
		for i := 0; i < r.n && i < len(labels); i++ {
			a := newest[labels[i]]
			keep[a.Path] = append(keep[a.Path], r.name+" "+labels[i])
		}
		if len(labels) < r.n {
			oldest := byTime[len(byTime)-1]
			if l := r.label(oldest.Time); newest[l].Path != oldest.Path {
				keep[oldest.Path] = append(keep[oldest.Path], "oldest "+r.name+" "+l)
			}
		}
	}
	return keep
}

func TestPlanSimulatedYear(t *testing.T) {
	archives := simulatedYear()
	tenants := map[string][]Archive{}
	for _, a := range archives {
		tenants[a.Tenant] = append(tenants[a.Tenant], a)
	}
	if len(tenants["acme"]) != 379 || len(tenants["globex"]) != 164 {
		t.Fatalf("simulated year has %d acme and %d globex archives, want 379 and 164", len(tenants["acme"]), len(tenants["globex"]))
	}

	tests := []struct {
		name   string
		policy Policy
		// Counts worked out by hand from the calendar; nil when the overlap
		// of combined rules makes them tedious (the per-archive check below
		// still applies).
		wantKeep map[string]int
	}{
		{"last 3", Policy{Last: 3}, map[string]int{"acme": 3, "globex": 3}},
		{"hourly 24", Policy{Hourly: 24}, map[string]int{"acme": 24, "globex": 24}},
		{"daily 7", Policy{Daily: 7}, map[string]int{"acme": 7, "globex": 7}},
		// globex: 22 days of November, 31 of October, 19 of September, 8 of August.
		{"daily 80 across an outage", Policy{Daily: 80}, map[string]int{"acme": 80, "globex": 80}},
		{"weekly 4", Policy{Weekly: 4}, map[string]int{"acme": 4, "globex": 4}},
		// globex only has 6 months: 6 plus its oldest archive (1 June).
		{"monthly 12", Policy{Monthly: 12}, map[string]int{"acme": 12, "globex": 7}},
		// acme: 2026, 2025 and its oldest; globex: 2026 and its oldest.
		{"yearly 5", Policy{Yearly: 5}, map[string]int{"acme": 3, "globex": 2}},
		// More days than exist: every day's newest run plus each tenant's oldest
		// archive, which is the newest of its day for both.
		{"daily 1000", Policy{Daily: 1000}, map[string]int{"acme": 365, "globex": 164}},
		{"daily 7 weekly 4 monthly 12", Policy{Daily: 7, Weekly: 4, Monthly: 12}, nil},
		{"last 2 daily 14 weekly 8 monthly 24 yearly 10", Policy{Last: 2, Daily: 14, Weekly: 8, Monthly: 24, Yearly: 10}, nil},
		{"hourly 36 daily 3 weekly 53", Policy{Hourly: 36, Daily: 3, Weekly: 53}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			decisions := Plan(archives, tt.policy)
			if len(decisions) != len(archives) {
				t.Fatalf("Plan returned %d decisions for %d archives", len(decisions), len(archives))
			}
			got := map[string]map[string][]string{}
			for _, d := range decisions {
				if got[d.Tenant] == nil {
					got[d.Tenant] = map[string][]string{}
				}
				if d.Keep {
					got[d.Tenant][d.Path] = d.Reasons
				} else if len(d.Reasons) != 0 {
					t.Errorf("%s removed but has reasons %q", d.Path, d.Reasons)
				}
			}
			for tenant, list := range tenants {
				want := expectedKeep(list, tt.policy)
				if diff := cmp.Diff(want, got[tenant]); diff != "" {
					t.Errorf("tenant %s: kept archives and reasons differ (-want +got):\n%s", tenant, diff)
				}
				if n, ok := tt.wantKeep[tenant]; ok && len(got[tenant]) != n {
					t.Errorf("tenant %s: kept %d archives, want %d", tenant, len(got[tenant]), n)
				}
			}
		})
	}
}

func TestPlanOrderAndDeterminism(t *testing.T) {
	archives := simulatedYear()
	p := Policy{Daily: 7, Weekly: 4, Monthly: 6}
	want := Plan(archives, p)
	for i := 1; i < len(want); i++ {
		a, b := want[i-1], want[i]
		if a.Tenant > b.Tenant || a.Tenant == b.Tenant && !a.Time.After(b.Time) {
			t.Fatalf("decisions %d and %d out of order: %s %v then %s %v", i-1, i, a.Tenant, a.Time, b.Tenant, b.Time)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		shuffled := slices.Clone(archives)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if diff := cmp.Diff(want, Plan(shuffled, p)); diff != "" {
			t.Fatalf("Plan depends on input order (-first +shuffled):\n%s", diff)
		}
	}
}

func TestPlanReasons(t *testing.T) {
	mk := func(s string) Archive {
		ts, err := time.Parse(timeLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		return Archive{Path: FileName("acme", ts), Tenant: "acme", Time: ts}
	}
	archives := []Archive{
		mk("20261122T031500Z"),
		mk("20261121T031500Z"),
		mk("20261121T010000Z"),
		mk("20251229T031500Z"), // Monday: ISO week 1 of 2026
		mk("20251228T031500Z"), // Sunday: ISO week 52 of 2025
	}
	got := map[string][]string{}
	for _, d := range Plan(archives, Policy{Last: 1, Daily: 2, Weekly: 5, Monthly: 2}) {
		got[strings.TrimPrefix(d.Path, "acme-connectors-")] = d.Reasons
	}
	want := map[string][]string{
		"20261122T031500Z.tar.zst": {"last 1", "daily 2026-11-22", "weekly 2026-W47", "monthly 2026-11"},
		"20261121T031500Z.tar.zst": {"daily 2026-11-21"},
		"20261121T010000Z.tar.zst": nil,
		"20251229T031500Z.tar.zst": {"weekly 2026-W01", "monthly 2025-12"},
		// Weekly still has room at the oldest archive, which is also the
		// newest of its week: kept for its week, not as "oldest".
		"20251228T031500Z.tar.zst": {"weekly 2025-W52"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("reasons differ (-want +got):\n%s", diff)
	}
}

func TestPlanKeepsOldestWhenHistoryIsShort(t *testing.T) {
	// Three runs on one day with daily 7: the newest for the day, and the
	// oldest because the rule still had room, as restic does.
	var archives []Archive
	for _, h := range []int{1, 9, 17} {
		ts := time.Date(2026, 11, 22, h, 0, 0, 0, time.UTC)
		archives = append(archives, Archive{Path: FileName("acme", ts), Tenant: "acme", Time: ts})
	}
	var kept []string
	for _, d := range Plan(archives, Policy{Daily: 7}) {
		if d.Keep {
			kept = append(kept, d.Time.Format("15")+": "+strings.Join(d.Reasons, ", "))
		}
	}
	want := []string{"17: daily 2026-11-22", "01: oldest daily 2026-11-22"}
	if diff := cmp.Diff(want, kept); diff != "" {
		t.Fatalf("kept (-want +got):\n%s", diff)
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		p       Policy
		wantErr string
	}{
		{Policy{}, "empty retention policy"},
		{Policy{Daily: -1}, "daily is -1"},
		{Policy{Last: -2, Yearly: -1}, "last is -2, yearly is -1"},
		{Policy{Daily: 7, Weekly: -1}, "weekly is -1"},
		{Policy{Last: 1}, ""},
		{Policy{Yearly: 3}, ""},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if tt.wantErr == "" {
			if err != nil {
				t.Errorf("%+v: unexpected error %v", tt.p, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%+v: error %v, want one containing %q", tt.p, err, tt.wantErr)
		}
	}
}

func TestPlanEmptyPolicyKeepsEverything(t *testing.T) {
	archives := simulatedYear()
	for _, d := range Plan(archives, Policy{Daily: -3}) {
		if !d.Keep || !slices.Equal(d.Reasons, []string{"empty policy"}) {
			t.Fatalf("%s: keep=%v reasons=%q, want kept for \"empty policy\"", d.Path, d.Keep, d.Reasons)
		}
	}
}

func TestPolicyString(t *testing.T) {
	if got, want := (Policy{Last: 2, Daily: 7, Weekly: 4, Monthly: 12}).String(), "keep 2 latest, 7 daily, 4 weekly, 12 monthly archives"; got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
}
