// Command labrun is a temporary development helper: lab up, run a script, lab down.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"

	"github.com/stickyform/stickyform/internal/lab"
)

func main() {
	ctx := context.Background()
	unlock, err := lab.Lock(ctx, func() { fmt.Println("waiting for lab lock") })
	if err != nil {
		panic(err)
	}
	defer unlock()
	l, _, err := lab.Up(ctx, lab.Options{})
	if err != nil {
		fmt.Println("up:", err)
		lab.Down(ctx, "")
		os.Exit(1)
	}
	fmt.Println("lab up:", l.KeyFile)
	cmd := exec.Command("bash", "-c", os.Args[1])
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	err = cmd.Run()
	fmt.Println("script:", err)
	if len(os.Args) > 2 && os.Args[2] == "keep" {
		return
	}
	left, err := lab.Down(ctx, "")
	fmt.Println("down:", left, err)
}
