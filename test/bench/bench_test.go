//go:build bench

package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// TestBenchCluster is make bench-cluster: every scenario under both controllers
// and the floor, in both modes, several rounds, then the report in docs/bench.
func TestBenchCluster(t *testing.T) {
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	rounds, _ := strconv.Atoi(envOr("MSTS_BENCH_ROUNDS", "3"))
	scale, _ := strconv.ParseFloat(envOr("MSTS_BENCH_SCALE", "1"), 64)
	only := envOr("MSTS_BENCH_SCENARIOS", "")
	out := envOr("MSTS_BENCH_OUT", filepath.Join(repo, "docs", "bench"))
	modes := []Mode{Unthrottled, KCMDefaults}
	switch envOr("MSTS_BENCH_MODES", "") {
	case "unthrottled":
		modes = modes[:1]
	case "qps20":
		modes = modes[1:]
	}
	var runs []Run
	var flags []string
	// MSTS_BENCH_WITH keeps the runs of an earlier results.json in the report, for the
	// modes this run does not measure: one mode at a time fits a session.
	if with := os.Getenv("MSTS_BENCH_WITH"); with != "" {
		kept, keptFlags, err := earlierRuns(with, modes)
		if err != nil {
			t.Fatal(err)
		}
		runs, flags = kept, keptFlags
	}
	for _, mode := range modes {
		c := &Cluster{Repo: repo, Dir: filepath.Join(repo, ".cache", "bench-cluster"), Name: "msts-bench", Nodes: 100, Mode: mode,
			ControllerBin: filepath.Join(repo, "bin", "ministatefulset-controller"), Logf: t.Logf}
		ctx := context.Background()
		if err := c.Up(ctx); err != nil {
			c.Down()
			t.Fatal(err)
		}
		flags = append(flags, mode.Name+": "+strings.Join(c.Flags(), ", "))
		env, err := c.Env(10*time.Minute, 20*time.Minute)
		if err != nil {
			c.Down()
			t.Fatal(err)
		}
		for _, sc := range Scenarios(scale) {
			if only != "" && !strings.Contains(","+only+",", ","+sc.Name+",") {
				continue
			}
			n := rounds
			if sc.floorless {
				if mode != Unthrottled {
					continue // the steady state does not depend on the limits
				}
				n = 1
			}
			for round := 1; round <= n; round++ {
				order := []Controller{BuiltIn, Mini, Floor}
				if round%2 == 0 {
					order = []Controller{Mini, BuiltIn, Floor}
				}
				for _, who := range order {
					if who == Floor && sc.floorless {
						continue
					}
					rs, err := env.RunScenario(ctx, sc, who, mode.Name, round)
					runs = append(runs, rs...)
					if err != nil {
						// The other scenarios still run; the report has what was measured.
						t.Errorf("%s, round %d: %v", mode.Name, round, err)
					}
					write(t, out, runs, meta(rounds, flags))
				}
			}
		}
		c.Down()
	}
	write(t, out, runs, meta(rounds, flags))
	t.Logf("wrote %s", out)
	fmt.Println(Markdown(runs, meta(rounds, flags)))
}

// earlierRuns reads the runs of a results.json that are of none of modes, and the
// flags of their modes.
func earlierRuns(path string, modes []Mode) ([]Run, []string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var all []Run
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var kept []Run
	seen := map[string]bool{}
	for _, r := range all {
		if !slices.ContainsFunc(modes, func(m Mode) bool { return m.Name == r.Mode }) {
			kept = append(kept, r)
			seen[r.Mode] = true
		}
	}
	var flags []string
	for _, m := range []Mode{Unthrottled, KCMDefaults} {
		if seen[m.Name] {
			c := &Cluster{Nodes: 100, Mode: m}
			flags = append(flags, m.Name+": "+strings.Join(c.Flags(), ", ")+" (from "+filepath.Base(path)+")")
		}
	}
	return kept, flags, nil
}

func meta(rounds int, flags []string) Meta {
	return Meta{When: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Machine: Machine(), Kubernetes: "v1.37.2",
		Go: runtime.Version(), Command: "make bench-cluster" + cmdArgs(), Rounds: rounds, Flags: flags}
}

// write writes the figures so far: a long run that fails late keeps what it measured.
func write(t *testing.T, out string, runs []Run, m Meta) {
	raw, _ := json.MarshalIndent(runs, "", " ")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"results.json": raw, "figures.md": []byte(Markdown(runs, m)), "ratios.svg": []byte(SVG(runs))} {
		if err := os.WriteFile(filepath.Join(out, name), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func cmdArgs() string {
	var parts []string
	for _, v := range []string{"ROUNDS", "SCALE", "SCENARIOS", "MODES", "WITH"} {
		if x := os.Getenv("MSTS_BENCH_" + v); x != "" {
			parts = append(parts, "BENCH_"+v+"="+x)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}
