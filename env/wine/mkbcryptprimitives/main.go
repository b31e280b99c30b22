// Command mkbcryptprimitives writes bcryptprimitives.dll for a Wine prefix
// (see package wine): go run ./env/wine/mkbcryptprimitives PATH.
package main

import (
	"fmt"
	"os"

	"github.com/miconform/miconform/env/wine"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mkbcryptprimitives PATH (e.g. $WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll)")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], wine.BcryptPrimitivesDLL(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "mkbcryptprimitives:", err)
		os.Exit(1)
	}
}
