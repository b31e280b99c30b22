package emulator

import (
	"github.com/miconform/miconform/env/emulator/arm"
)

// armService is Resource Manager, on the cloud's management host. It keeps
// every resource, so its log is restored before the other services'.
func armService(e *Emulator) *service {
	e.ARM = arm.New(e.Cloud, e.ids.SubscriptionID, e.Dir, e.Issuer, e.RBAC)
	return &service{
		name: "arm", title: "Resource Manager", hosts: []string{e.Cloud.ARMHost}, handler: e.ARM, fault: e.ARM.WriteFault,
		log: "arm", restore: e.ARM.Persist,
	}
}
