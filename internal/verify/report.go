package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is one scenario's outcome.
//
// RecoveryMS is the time from the failure being in effect (the agent's
// Stop or the host's Cut has returned) to the end of the first request
// that succeeded, was served by a surviving app, and showed the session
// with every attribute the user had stored. Scenarios that inject no
// failure report 0. It is measured by one probing user whose session
// lives on the app or host being broken; the steady stream's figures are
// in Requests, Errors and WorstMS.
type Result struct {
	Name     string `json:"name"`
	Pass     bool   `json:"pass"`
	Skipped  bool   `json:"skipped,omitempty"`
	Requests int    `json:"requests"`
	Errors   int    `json:"errors"`
	// Lost counts answers whose session had lost stored attributes.
	Lost       int    `json:"lost"`
	WorstMS    int64  `json:"worst_ms"`
	RecoveryMS int64  `json:"recovery_ms"`
	Detail     string `json:"detail"`

	Worst    time.Duration `json:"-"`
	Recovery time.Duration `json:"-"`
}

// Report is the outcome of a verify run, in scenario order.
type Report struct {
	Scenarios []Result `json:"scenarios"`
}

// Passed reports whether every scenario passed (skipped ones count as
// passed: nothing failed).
func (r *Report) Passed() bool {
	for _, s := range r.Scenarios {
		if !s.Pass {
			return false
		}
	}
	return true
}

// WriteJSON prints the report as {"scenarios":[...]}.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable prints the report as an aligned table and a summary line.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tPASS\tREQUESTS\tERRORS\tWORST_MS\tRECOVERY_MS\tDETAIL")
	failed := 0
	for _, s := range r.Scenarios {
		verdict := "ok"
		switch {
		case s.Skipped:
			verdict = "skip"
		case !s.Pass:
			verdict = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\n", s.Name, verdict, s.Requests, s.Errors,
			s.WorstMS, recoveryCell(s), oneLine(s.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if failed == 0 {
		_, err := fmt.Fprintf(w, "\nAll %d scenarios passed.\n", len(r.Scenarios))
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d of %d scenarios failed.\n", failed, len(r.Scenarios))
	return err
}

func recoveryCell(s Result) string {
	if s.RecoveryMS == 0 {
		return "-"
	}
	return fmt.Sprint(s.RecoveryMS)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// finish fills the millisecond fields from the durations.
func (r *Result) finish() {
	r.WorstMS = r.Worst.Milliseconds()
	r.RecoveryMS = r.Recovery.Milliseconds()
	if r.Recovery > 0 && r.RecoveryMS == 0 {
		r.RecoveryMS = 1 // recovered within the first millisecond: still not "none"
	}
}
