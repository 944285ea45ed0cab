package hclspec

import "testing"

// BenchmarkLoad measures parse, evaluation and validation of the example
// configurations: every plan and apply starts with one Load.
func BenchmarkLoad(b *testing.B) {
	for _, dir := range []string{"classic", "large"} {
		b.Run(dir, func(b *testing.B) {
			for b.Loop() {
				if _, _, diags := Load("../examples/"+dir, VarInputs{}); diags.HasErrors() {
					b.Fatal(diags)
				}
			}
		})
	}
}
