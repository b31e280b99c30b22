// Command runner runs the managed-identity tutorials as Gherkin features.
//
//	go run ./runner                       every tutorial on an in-process emulator
//	go run ./runner --cloud AzureChinaCloud --tags @tutorial:rm-user-identity
//	go run ./runner --target azure        on the Azure VM this runs on (--provision or --verify-only)
//	go run ./runner list                  the tutorials, scenarios (file:line) and tags
//	go run ./runner sweep --older-than 6h delete resource groups runs left behind
//	go run ./runner emulate               serve the emulator alone
//	go run ./runner sandbox -- bash       a shell on the emulated VM
//
// `runner --help` and `runner <command> --help` say more; cli.go holds the
// command table.
package main

import (
	"flag"
	"os"
)

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// isTerminal reports whether f is a character device (colors help a person
// reading a terminal and garble CI logs and files).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
