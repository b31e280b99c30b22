package emulator

import "github.com/miconform/miconform/env/emulator/graph"

// graphService is Microsoft Graph, reading the tenant's directory.
func graphService(e *Emulator) *service {
	e.Graph = graph.New(e.Cloud, e.Issuer)
	return &service{name: "graph", title: "Microsoft Graph", hosts: []string{e.Graph.Host()}, handler: e.Graph, fault: e.Graph.WriteFault}
}
