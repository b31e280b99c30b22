package emulator

// loginService is Microsoft Entra's login host (the token issuer). The
// directory it signs in is the tenant's, restored before any service's.
func loginService(e *Emulator) *service {
	return &service{name: "login", title: "Microsoft Entra", hosts: []string{e.Cloud.LoginHost}, handler: e.Issuer, fault: e.Issuer.WriteFault}
}
