package emulator

import (
	"errors"
	"net"
	"strconv"
	"strings"

	"github.com/miconform/miconform/env/emulator/arm"
	"github.com/miconform/miconform/env/emulator/imds"
)

// legacyService is the retired VM extension's token endpoint (legacy.go):
// a listener of its own (Config.LegacyAddr), open while the extension is
// installed on the VM the emulator plays, which a VM reaches at
// localhost:50342 (or the port the extension's settings name).
func legacyService(e *Emulator) *service {
	l := &legacy{e: e, addr: e.cfg.LegacyAddr}
	if l.addr == "" {
		l.addr = "127.0.0.1:0"
	}
	e.legacy = l
	// Resource Manager's put and delete of the extension (or of its VM)
	// open and close the listener.
	watch := func(r arm.Resource) {
		if strings.EqualFold(r.Type, arm.TypeVMExtension) || strings.EqualFold(r.Type, "Microsoft.Compute/virtualMachines") {
			l.sync()
		}
	}
	e.ARM.OnPut(watch)
	e.ARM.OnDelete(watch)
	installed := func() bool { _, _, _, ok := e.installedExtension(); return ok }
	h := l.handler()
	return &service{
		title: "the VM extension",
		endpoints: []endpoint{{
			// The VM's localhost:<extension port>; without the extension
			// the listener's port is reserved, not listening, and refuses.
			match: func(host, port string) bool {
				if !isLoopbackHost(host) {
					return false
				}
				want := imds.ExtensionPort
				if _, _, p, ok := e.installedExtension(); ok {
					want = p
				}
				return port == strconv.Itoa(want)
			},
			listener: e.LegacyAddr,
			handler:  h,
			open:     installed,
		}},
		// Inside `runner sandbox` the VM reaches the endpoint at its own
		// 127.0.0.1:50342; it is open there when the extension is
		// installed as the sandbox starts.
		vm: []VMEndpoint{{
			Addr:   net.JoinHostPort("127.0.0.1", strconv.Itoa(imds.ExtensionPort)),
			Serve:  func(ln net.Listener) { _ = e.vmServer(h).Serve(e.capped(ln, false)) },
			Active: installed,
		}},
		start:     l.start,
		close:     l.close,
		ready:     e.installLegacyExtension,
		vmChanged: l.sync,
	}
}

// installLegacyExtension is Config.LegacyExtension: the extension
// installed on the seeded VM the way the portal's "Enable MSI" did, a PUT
// of the extension resource.
func (e *Emulator) installLegacyExtension() error {
	if !e.cfg.LegacyExtension {
		return nil
	}
	if e.World.VMResourceID == "" {
		return errors.New("emulator: the legacy extension needs the seeded VM (seed tutorials)")
	}
	_, err := e.operatorCall("PUT", e.World.VMResourceID+"/extensions/"+legacyExtensionName+"?api-version=2024-07-01", map[string]any{
		"location": e.World.Location,
		"properties": map[string]any{
			"publisher": imds.ExtensionPublisher, "type": legacyExtensionName, "typeHandlerVersion": legacyExtensionVersion,
			"autoUpgradeMinorVersion": true, "settings": map[string]any{"port": imds.ExtensionPort},
		},
	})
	return err
}
