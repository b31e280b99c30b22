// Command runner runs the managed-identity tutorials as Gherkin features.
//
//	go run ./runner                       every tutorial on an in-process emulator
//	go run ./runner --cloud AzureChinaCloud --tags @tutorial:rm-user-identity
//	go run ./runner --target azure        on the Azure VM this runs on (--provision or --verify-only)
//	go run ./runner sweep --older-than 6h delete resource groups runs left behind
//	go run ./runner emulate               serve the emulator alone
//	go run ./runner sandbox -- bash       a shell on the emulated VM
//	go run ./runner coverage              which tutorial blocks and claims the scenarios check
//	go run ./runner --articles DIR        run against edited copies of the tutorial articles
package main

import (
	"flag"
	"os"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "emulate" {
		os.Exit(emulate(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "sandbox" {
		os.Exit(sandboxCmd(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "coverage" {
		os.Exit(coverage(os.Args[2:]))
	}
	if len(os.Args) > 1 && os.Args[1] == "sweep" {
		os.Exit(sweep(os.Args[2:]))
	}
	os.Exit(run(os.Args[1:]))
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
