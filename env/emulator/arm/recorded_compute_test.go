package arm_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator/arm"
	rec "github.com/miconform/miconform/env/emulator/recording"
)

// Virtual machines, disks and network interfaces against the recordings in
// testdata/compute_*.json and testdata/network_*.json: each test replays
// what the recording's client sent and compares status, header names and
// the body's field paths and JSON types.

// armWide are headers Resource Manager's front door adds to every
// provider's answers (its subscription-wide throttling counts), and the
// echo of a client request id our test client does not send: they say
// nothing about Compute or Network, and the shared writer owns them.
var armWide = []string{
	"x-ms-ratelimit-remaining-subscription-reads", "x-ms-ratelimit-remaining-subscription-writes",
	"x-ms-ratelimit-remaining-subscription-deletes", "x-ms-client-request-id",
}

// sameHeaders requires every header the recorded answer has (but armWide
// and the volatile ones recording.Answer ignores) in the emulator's.
func sameHeaders(t testing.TB, what string, recorded any, got http.Header, ignore ...string) {
	t.Helper()
	hs := map[string]string{}
	m, _ := get(recorded, "headers").(map[string]any)
	require.NotEmpty(t, m, "%s: the excerpt has headers", what)
	for k, v := range m {
		hs[k], _ = v.(string)
	}
	assert.Empty(t, rec.Answer{Headers: hs}.HeaderDiffs(got, false, append(ignore, armWide...)...), what)
}

func status(v any) int { f, _ := get(v, "status").(float64); return int(f) }

func paths(v any, key string) []string {
	var out []string
	for _, p := range get(v, key).([]any) {
		out = append(out, p.(string))
	}
	return out
}

// vmRequest is the recorded create's request body (ssh key shortened),
// with nicID as its network interface.
func vmRequest(nicID string) map[string]any {
	return map[string]any{"tags": map[string]any{}, "location": "eastus", "properties": map[string]any{
		"hardwareProfile": map[string]any{"vmSize": "Standard_F2"},
		"storageProfile": map[string]any{
			"imageReference": map[string]any{"publisher": "Canonical", "offer": "UbuntuServer", "sku": "16.04-LTS", "version": "latest"},
			"osDisk":         map[string]any{"osType": "Linux", "caching": "ReadWrite", "createOption": "FromImage", "managedDisk": map[string]any{"storageAccountType": "Standard_LRS"}},
		},
		"osProfile": map[string]any{"computerName": "testVM", "adminUsername": "adminuser", "linuxConfiguration": map[string]any{
			"disablePasswordAuthentication": true,
			"ssh":                           map[string]any{"publicKeys": []any{map[string]any{"path": "/home/adminuser/.ssh/authorized_keys", "keyData": "ssh-rsa AAAAB3NzaC1yc2E you@me.com"}}},
		}},
		"networkProfile": map[string]any{"networkInterfaces": []any{map[string]any{"id": nicID, "properties": map[string]any{"primary": true}}}},
	}}
}

// nicRequest is the recorded NIC create's request body.
func nicRequest(w *world) map[string]any {
	return map[string]any{"location": "eastus", "properties": map[string]any{"ipConfigurations": []any{map[string]any{
		"name": "internal", "properties": map[string]any{"subnet": map[string]any{"id": w.rg() + "/providers/Microsoft.Network/virtualNetworks/testVNet/subnets/testSubnet"}},
	}}}}
}

// createNIC creates an unattached NIC at api (a 201 the test checks
// elsewhere) and returns its id.
func createNIC(t *testing.T, w *world, name, api string) string {
	t.Helper()
	id := w.rg() + "/providers/Microsoft.Network/networkInterfaces/" + name
	a := w.call("PUT", id+"?api-version="+api, nicRequest(w))
	require.Equal(t, 201, a.status, "%s", a.raw)
	return id
}

func TestNICCreateAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, &arm.LROTiming{Polls: 1, RetryAfter: 1})
	r := recording(t, "network_nic_create.json")
	const api = "2023-02-01"
	a := w.call("PUT", w.rg()+"/providers/Microsoft.Network/networkInterfaces/testNic?api-version="+api, nicRequest(w))
	put := get(r, "put")
	require.Equal(t, status(put), a.status, "%s", a.raw)
	sameHeaders(t, "the NIC's 201", put, a.header)
	sameShape(t, "the NIC's 201", get(put, "body"), a.json(t), nil, nil)
	assert.Equal(t, "Succeeded", str(a.json(t), "properties", "provisioningState"), "a NIC is Succeeded in its 201 already")
	_, hasTags := a.json(t).(map[string]any)["tags"]
	assert.False(t, hasTags, "no tags given, none shown")
	async := a.header.Get("Azure-AsyncOperation")
	sameURLShape(t, "Azure-AsyncOperation", str(put, "headers", "Azure-AsyncOperation"), async, api)
	assert.Empty(t, a.header.Get("Retry-After"), "not recorded on the NIC's 201")

	w.pollStatus(t, async, r, "inProgress", "succeeded")

	// An update of an existing NIC is 200, with its operation to poll.
	u := w.call("PUT", w.rg()+"/providers/Microsoft.Network/networkInterfaces/testNic?api-version="+api, nicRequest(w))
	require.Equal(t, 200, u.status, "%s", u.raw)
	sameShape(t, "the NIC's update", get(put, "body"), u.json(t), nil, nil)
	assert.NotEmpty(t, u.header.Get("Azure-AsyncOperation"))
}

func TestVMCreateAsRecorded(t *testing.T) {
	t.Parallel()
	// Two "in progress" observations: a GET of the VM, then a poll.
	w := startWorld(t, &arm.LROTiming{Polls: 2, RetryAfter: 1})
	r := recording(t, "compute_vm_create.json")
	skip := paths(r, "requestOnly")
	const api = "2023-03-01"
	nic := createNIC(t, w, "testNic", "2023-02-01")
	path := w.rg() + "/providers/Microsoft.Compute/virtualMachines/testVM?api-version=" + api

	a := w.call("PUT", path, vmRequest(nic))
	put := get(r, "put")
	require.Equal(t, status(put), a.status, "%s", a.raw)
	sameHeaders(t, "the VM's 201", put, a.header)
	sameShape(t, "the VM's 201", get(put, "body"), a.json(t), skip, nil)
	assert.Equal(t, "Creating", str(a.json(t), "properties", "provisioningState"))
	assert.Equal(t, map[string]any{}, get(a.json(t), "tags"), "the tags given ({})")
	async := a.header.Get("Azure-AsyncOperation")
	sameURLShape(t, "Azure-AsyncOperation", str(put, "headers", "Azure-AsyncOperation"), async, api)
	retryAfter(t, "PUT", put.(map[string]any), a)

	g := w.call("GET", path, nil)
	require.Equal(t, 200, g.status)
	assert.Equal(t, "Creating", str(g.json(t), "properties", "provisioningState"), "read while it is created")

	w.pollStatus(t, async, r, "inProgress", "succeeded")

	g = w.call("GET", path, nil)
	require.Equal(t, 200, g.status)
	sameShape(t, "the created VM", get(r, "get", "body"), g.json(t), skip, nil)
	assert.Equal(t, "Succeeded", str(g.json(t), "properties", "provisioningState"))
	diskID := str(g.json(t), "properties", "storageProfile", "osDisk", "managedDisk", "id")
	assert.Equal(t, 200, w.call("GET", diskID+"?api-version=2024-03-02", nil).status, "the OS disk exists")

	// An operation that never was is a 404.
	n := w.call("GET", "/subscriptions/"+w.e.SubscriptionID()+"/providers/Microsoft.Compute/locations/eastus/operations/00000000-0000-4000-8000-000000000000?api-version="+api, nil)
	assert.Equal(t, 404, n.status)
	assert.NotEmpty(t, str(n.json(t), "error", "code"))
}

func TestVMUpdateAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, &arm.LROTiming{Polls: 1, RetryAfter: 1})
	r := recording(t, "compute_vm_update.json")
	create := recording(t, "compute_vm_create.json")
	const api = "2023-03-01"
	vm := w.e.World.VMResourceID + "?api-version=" + api
	a := w.call("PATCH", vm, map[string]any{"properties": map[string]any{"hardwareProfile": map[string]any{"vmSize": "Standard_F1"}}})
	patch := get(r, "patch")
	require.Equal(t, status(patch), a.status, "%s", a.raw)
	sameHeaders(t, "the PATCH's 200", patch, a.header)
	// The seeded VM has managed identities and asked for its NIC to go
	// with it (deleteOption); the recorded one was deallocated, which
	// hides its OS disk's size and storage account type.
	sameShape(t, "the PATCH's 200", get(patch, "body"), a.json(t),
		append(paths(r, "requestOnly"), "properties.networkProfile.networkInterfaces[].properties"),
		append(paths(r, "deallocatedOnly"), "identity"))
	assert.Equal(t, "Updating", str(a.json(t), "properties", "provisioningState"))
	assert.Equal(t, "Standard_F1", str(a.json(t), "properties", "hardwareProfile", "vmSize"))
	async := a.header.Get("Azure-AsyncOperation")
	sameURLShape(t, "Azure-AsyncOperation", str(patch, "headers", "Azure-AsyncOperation"), async, api)
	assert.Empty(t, a.header.Get("Location"), "not recorded")

	for _, step := range []string{"inProgress", "succeeded"} {
		p := w.call("GET", async, nil)
		want := get(create, step)
		require.Equal(t, status(want), p.status, "%s", p.raw)
		sameShape(t, "the status ("+step+")", get(want, "body"), p.json(t), nil, nil)
	}
	g := w.call("GET", vm, nil)
	assert.Equal(t, "Succeeded", str(g.json(t), "properties", "provisioningState"))
	assert.Equal(t, "Standard_F1", str(g.json(t), "properties", "hardwareProfile", "vmSize"))

	// A PUT of an existing VM updates it the same way: 200, Updating.
	u := w.call("PUT", vm, map[string]any{"location": w.e.World.Location, "tags": map[string]any{"env": "test"}})
	require.Equal(t, 200, u.status, "%s", u.raw)
	assert.Equal(t, "Updating", str(u.json(t), "properties", "provisioningState"))
	assert.NotEmpty(t, u.header.Get("Azure-AsyncOperation"))
}

func TestVMDeleteAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, &arm.LROTiming{Polls: 2, RetryAfter: 1})
	r := recording(t, "compute_vm_delete.json")
	update := recording(t, "compute_vm_update.json")
	const api = "2023-03-01"
	vm := w.e.World.VMResourceID + "?api-version=" + api
	a := w.call("DELETE", vm, nil)
	del := get(r, "delete")
	require.Equal(t, status(del), a.status, "%s", a.raw)
	assert.Empty(t, a.raw, "the 202 has no body")
	sameHeaders(t, "the DELETE's 202", del, a.header)
	async, loc := a.header.Get("Azure-AsyncOperation"), a.header.Get("Location")
	sameURLShape(t, "Azure-AsyncOperation", str(del, "headers", "Azure-AsyncOperation"), async, api)
	sameURLShape(t, "Location", str(del, "headers", "Location"), loc, api)
	retryAfter(t, "DELETE", del.(map[string]any), a)

	// The Location answers 202 while the delete runs, the status
	// resource InProgress, then Succeeded, and the Location 200 and no body.
	l := w.call("GET", loc, nil)
	assert.Equal(t, 202, l.status, "%s", l.raw)
	sameURLShape(t, "the Location's Location", str(del, "headers", "Location"), l.header.Get("Location"), api)
	w.pollStatus(t, async, r, "inProgress", "succeeded")
	l = w.call("GET", loc, nil)
	done := get(update, "monitorDone")
	require.Equal(t, status(done), l.status, "%s", l.raw)
	assert.Empty(t, l.raw)
	sameHeaders(t, "the Location when done", done, l.header)

	assert.Equal(t, 404, w.call("GET", vm, nil).status)
	assert.Equal(t, 204, w.call("DELETE", vm, nil).status, "nothing left to delete")
}

func TestVMListAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, nil)
	r := recording(t, "compute_vm_list.json")
	l := w.call("GET", w.rg()+"/providers/Microsoft.Compute/virtualMachines?api-version=2023-03-01", nil)
	require.Equal(t, status(r), l.status, "%s", l.raw)
	sameHeaders(t, "the list", r, l.header)
	sameShape(t, "the list", get(r, "body"), l.json(t),
		append(paths(r, "requestOnly"), "value[].properties.networkProfile.networkInterfaces[].properties"), []string{"value[].identity"})
	assert.Len(t, get(l.json(t), "value"), 1, "the seeded VM")
}

func TestDiskAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, &arm.LROTiming{Polls: 1, RetryAfter: 1})
	r := recording(t, "compute_disk_delete.json")
	list := recording(t, "compute_disk_list.json")
	const api = "2021-08-01"
	g := w.call("GET", w.e.World.OSDiskResourceID+"?api-version="+api, nil)
	require.Equal(t, status(get(r, "get")), g.status, "%s", g.raw)
	sameHeaders(t, "the disk", get(r, "get"), g.header)
	sameShape(t, "the disk", get(r, "get", "body"), g.json(t), nil, append(paths(r, "osDiskOnly"), paths(r, "laterOnly")...))

	l := w.call("GET", w.rg()+"/providers/Microsoft.Compute/disks?api-version="+api, nil)
	require.Equal(t, status(list), l.status, "%s", l.raw)
	sameHeaders(t, "the list", list, l.header)
	sameShape(t, "the list", get(list, "body"), l.json(t), nil, paths(list, "osDiskOnly"))

	// A disk left behind by its VM (deleteOption Detach) can be deleted.
	nic := createNIC(t, w, "detachNic", "2023-02-01")
	vm := w.rg() + "/providers/Microsoft.Compute/virtualMachines/detach?api-version=2023-03-01"
	require.Equal(t, 201, w.call("PUT", vm, vmRequest(nic)).status)
	g = w.call("GET", vm, nil)
	disk := str(g.json(t), "properties", "storageProfile", "osDisk", "managedDisk", "id")
	require.NotEmpty(t, disk)
	assert.Equal(t, 409, w.call("DELETE", disk+"?api-version="+api, nil).status, "attached")
	require.Equal(t, 202, w.call("DELETE", vm, nil).status)
	assert.Equal(t, "Unattached", str(w.call("GET", disk+"?api-version="+api, nil).json(t), "properties", "diskState"))

	a := w.call("DELETE", disk+"?api-version="+api, nil)
	del := get(r, "delete")
	require.Equal(t, status(del), a.status, "%s", a.raw)
	assert.Empty(t, a.raw)
	sameHeaders(t, "the disk's 202", del, a.header)
	sameURLShape(t, "Azure-AsyncOperation", str(del, "headers", "Azure-AsyncOperation"), a.header.Get("Azure-AsyncOperation"), api)
	sameURLShape(t, "Location", str(del, "headers", "Location"), a.header.Get("Location"), api)
	assert.Empty(t, a.header.Get("Retry-After"), "not recorded")
	p := w.call("GET", a.header.Get("Azure-AsyncOperation"), nil)
	require.Equal(t, 200, p.status, "%s", p.raw)
	assert.Equal(t, "InProgress", str(p.json(t), "status"))
	p = w.call("GET", a.header.Get("Azure-AsyncOperation"), nil)
	done := get(r, "succeeded")
	require.Equal(t, status(done), p.status)
	sameHeaders(t, "the status", done, p.header)
	sameShape(t, "the status", get(done, "body"), p.json(t), nil, nil)
	assert.Equal(t, 404, w.call("GET", disk+"?api-version="+api, nil).status)
	assert.Equal(t, 204, w.call("DELETE", disk+"?api-version="+api, nil).status)
}

func TestNICDeleteAndListAsRecorded(t *testing.T) {
	t.Parallel()
	w := startWorld(t, &arm.LROTiming{Polls: 1, RetryAfter: 1})
	r := recording(t, "network_nic_delete_list.json")
	create := recording(t, "network_nic_create.json")
	skip := paths(r, "requestOnly")
	const api = "2020-04-01"
	list := w.rg() + "/providers/Microsoft.Network/networkInterfaces?api-version=" + api

	// The seeded NIC, attached to the seeded VM, as an attached NIC is
	// listed; an unattached one has no MAC address, primary or VM yet.
	l := w.call("GET", list, nil)
	require.Equal(t, status(get(r, "list")), l.status, "%s", l.raw)
	sameHeaders(t, "the list", get(r, "list"), l.header)
	v := get(l.json(t), "value").([]any)
	require.Len(t, v, 1)
	sameShape(t, "the attached NIC", get(r, "attached"), v[0], skip, nil)
	id := createNIC(t, w, "loose", api)
	g := w.call("GET", id+"?api-version="+api, nil)
	require.Equal(t, 200, g.status)
	sameShape(t, "the unattached NIC", get(r, "unattached"), g.json(t), skip, nil)

	a := w.call("DELETE", id+"?api-version="+api, nil)
	del := get(r, "delete")
	require.Equal(t, status(del), a.status, "%s", a.raw)
	assert.Empty(t, a.raw)
	sameHeaders(t, "the NIC's 202", del, a.header)
	sameURLShape(t, "Azure-AsyncOperation", str(del, "headers", "Azure-AsyncOperation"), a.header.Get("Azure-AsyncOperation"), api)
	sameURLShape(t, "Location", str(del, "headers", "Location"), a.header.Get("Location"), api)
	for _, step := range []string{"inProgress", "succeeded"} {
		p := w.call("GET", a.header.Get("Azure-AsyncOperation"), nil)
		want := get(create, step)
		require.Equal(t, status(want), p.status, "%s", p.raw)
		sameShape(t, "the status ("+step+")", get(want, "body"), p.json(t), nil, nil)
		assert.Equal(t, str(want, "body", "status"), str(p.json(t), "status"))
	}
	// Read as az reads it (final state via Location): 204 once done.
	cli := recording(t, "network_nic_delete_cli.json")
	res := w.call("GET", a.header.Get("Location"), nil)
	want := get(cli, "result")
	require.Equal(t, status(want), res.status, "%s", res.raw)
	assert.Empty(t, res.raw)
	sameHeaders(t, "the Location once done", want, res.header)
	sameURLShape(t, "its Azure-AsyncOperation", str(want, "headers", "azure-asyncoperation"), res.header.Get("Azure-AsyncOperation"), api)
	sameURLShape(t, "its Location", str(want, "headers", "location"), res.header.Get("Location"), api)
	p := w.call("GET", a.header.Get("Azure-AsyncOperation"), nil)
	done := get(cli, "succeeded")
	sameHeaders(t, "the status once done", done, p.header, paths(cli, "transportOnly")...)
	sameShape(t, "the status once done", get(done, "body"), p.json(t), nil, nil)
	l = w.call("GET", list, nil)
	assert.Len(t, get(l.json(t), "value").([]any), 1, "only the seeded NIC is left")
	assert.Equal(t, 204, w.call("DELETE", id+"?api-version="+api, nil).status)
}

// pollStatus GETs an operation's status resource once per recorded step
// (the recording r's exchanges of those names) and holds each answer
// against it: status, headers, body shape, the status value and
// Retry-After.
func (w *world) pollStatus(t *testing.T, async string, r any, steps ...string) {
	t.Helper()
	for _, step := range steps {
		p := w.call("GET", async, nil)
		want := get(r, step)
		require.Equal(t, status(want), p.status, "%s", p.raw)
		sameHeaders(t, "the status ("+step+")", want, p.header)
		sameShape(t, "the status ("+step+")", get(want, "body"), p.json(t), nil, nil)
		assert.Equal(t, str(want, "body", "status"), str(p.json(t), "status"))
		retryAfter(t, step, want.(map[string]any), p)
	}
}
