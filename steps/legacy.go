package steps

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/cucumber/godog"
	"github.com/miconform/miconform/internal/azhttp"
	"github.com/tidwall/gjson"
)

// Legacy endpoint steps: the 2017 tutorial's managed identity VM extension
// (localhost:50342), installed through Resource Manager as the portal's
// "Enable MSI" did, and what a VM without it answers.
func registerLegacy(sc *godog.ScenarioContext) {
	sc.Step(re(`^the operator installs the "([^"]*)" VM extension on the VM$`), installExtension)
	sc.Step(re(`^the operator removes the "([^"]*)" VM extension from the VM$`), removeExtension)
	sc.Step(re(`^the operator lists the VM's extensions$`), listExtensions)
	sc.Step(re(`^none of the VM's extensions is from publisher "([^"]*)"$`), noExtensionFrom)
	sc.Step(re(`^the VM has no managed identity VM extension$`), noIdentityExtension)
	sc.Step(re(`^the VM sends POST "([^"]*)" with header "([^"]*)" and the form body "([^"]*)"$`), vmPostForm)
	sc.Step(re(`^the connection is refused$`), connectionRefused)
}

const extensionPublisher = "Microsoft.ManagedIdentity"

func (s *scenario) extensionsPath() string {
	return s.vars["VM-RESOURCE-ID"] + "/extensions"
}

// installExtension is the 2017 portal's "Managed Service Identity: Yes",
// which installed the extension (and enabled the identity, which the
// Background does); the extension is removed after the scenario.
func installExtension(ctx context.Context, typ string) error {
	s := from(ctx)
	if err := s.skipUnlessProvisioning("the " + typ + " VM extension installed"); err != nil {
		return err
	}
	path := s.extensionsPath() + "/" + typ + "?api-version=" + computeAPI
	x, err := s.operator(ctx, http.MethodPut, path, map[string]any{
		"location": s.vars["LOCATION"],
		"properties": map[string]any{
			"publisher": extensionPublisher, "type": typ, "typeHandlerVersion": "1.0",
			"autoUpgradeMinorVersion": true, "settings": map[string]any{"port": 50342},
		},
	})
	if err != nil {
		return err
	}
	s.onCleanup("remove the "+typ+" VM extension", func(ctx context.Context) error {
		_, err := s.operator(ctx, http.MethodDelete, path, nil)
		return err
	})
	// Compute installs in the background (201, "Creating", an
	// Azure-AsyncOperation to poll), as `az vm extension set` waits for.
	if x.Status == http.StatusOK || x.Status == http.StatusCreated {
		if x, err = s.awaitOperation(ctx, x, path); err != nil {
			return err
		}
	}
	if st := gjson.GetBytes(x.Body, "properties.provisioningState").String(); st != "Succeeded" {
		return fmt.Errorf("the extension's provisioningState is %q, want Succeeded", st)
	}
	return nil
}

// removeExtension is the portal's Extensions page > Uninstall.
func removeExtension(ctx context.Context, typ string) error {
	s := from(ctx)
	path := s.extensionsPath() + "/" + typ + "?api-version=" + computeAPI
	x, err := s.operator(ctx, http.MethodDelete, path, nil)
	if err != nil {
		return err
	}
	// Compute accepts the removal (202, Azure-AsyncOperation) and the
	// extension is gone when the operation succeeds.
	if x.Status != http.StatusAccepted {
		return fmt.Errorf("removing the %s extension answered %d, want 202: %.300s", typ, x.Status, x.Body)
	}
	async, err := s.armRelative(x.Header.Get("Azure-AsyncOperation"))
	if err != nil {
		return fmt.Errorf("removing the %s extension: %w", typ, err)
	}
	// Followed to its end, the status resource is read once more.
	if x, err = s.awaitOperation(ctx, x, async); err != nil {
		return err
	}
	if st := gjson.GetBytes(x.Body, "status").String(); st != "Succeeded" {
		return fmt.Errorf("removing the %s extension ended %q", typ, st)
	}
	if x, err = s.operator(ctx, http.MethodGet, path, nil); x == nil || x.Status != http.StatusNotFound {
		return fmt.Errorf("the %s extension is still there after its removal: %v", typ, err)
	}
	return nil
}

// listExtensions is the portal's Extensions page: Virtual Machine
// Extensions - List.
func listExtensions(ctx context.Context) error {
	s := from(ctx)
	x, err := s.operator(ctx, http.MethodGet, s.extensionsPath()+"?api-version="+computeAPI, nil)
	s.last = x
	return err
}

// noExtensionFrom checks the list Resource Manager returned (the portal's
// Extensions page) for any extension of a publisher.
func noExtensionFrom(ctx context.Context, publisher string) error {
	j, err := from(ctx).json()
	if err != nil {
		return err
	}
	if !j.Get("value").IsArray() {
		return fmt.Errorf("the answer has no extension list: %.300s", j.Raw)
	}
	for _, x := range j.Get("value").Array() {
		if strings.EqualFold(x.Get("properties.publisher").String(), publisher) {
			return fmt.Errorf("the VM has the %s extension %q (type %q)", publisher, x.Get("name").String(), x.Get("properties.type").String())
		}
	}
	return nil
}

// noIdentityExtension states the VM is as every VM has been since the
// extension's retirement in January 2019: no Microsoft.ManagedIdentity
// extension in its list.
func noIdentityExtension(ctx context.Context) error {
	s := from(ctx)
	path := s.extensionsPath() + "?api-version=" + computeAPI
	var x *azhttp.Exchange
	var err error
	if s.provisioning() {
		x, err = s.operator(ctx, http.MethodGet, path, nil)
	} else if x, err = s.asVM(ctx, path); err == nil && x.Status == http.StatusForbidden {
		return skipf("verify-only run: the VM's identity may not list its own extensions")
	}
	if err != nil {
		return err
	}
	for _, e := range gjson.GetBytes(x.Body, "value").Array() {
		if strings.EqualFold(e.Get("properties.publisher").String(), extensionPublisher) {
			return fmt.Errorf("the VM has the %s extension %q installed", extensionPublisher, e.Get("name").String())
		}
	}
	return nil
}

// vmPostForm is what the older CLIs sent the extension: a POST with an
// application/x-www-form-urlencoded body.
func vmPostForm(ctx context.Context, rawURL, header, body string) error {
	s := from(ctx)
	u, err := s.expand(rawURL)
	if err != nil {
		return err
	}
	b, err := s.expand(body)
	if err != nil {
		return err
	}
	form, err := url.ParseQuery(b)
	if err != nil {
		return fmt.Errorf("form body %q: %w", b, err)
	}
	name, value, ok := strings.Cut(header, ":")
	if !ok {
		return fmt.Errorf("header %q is not of the form Name: value", header)
	}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	h.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	s.requested = form.Get("resource")
	s.last = azhttp.Send(ctx, s.t.HTTPClient(), s.log, http.MethodPost, u, h, []byte(form.Encode()))
	return nil
}

func connectionRefused(ctx context.Context) error {
	s := from(ctx)
	if s.last == nil {
		return fmt.Errorf("no request has been sent yet")
	}
	if s.last.Err == nil {
		return fmt.Errorf("%s %s answered %d; want the connection refused", s.last.Method, s.last.URL, s.last.Status)
	}
	if !s.last.Refused() {
		return fmt.Errorf("%s %s failed with %v, not connection refused", s.last.Method, s.last.URL, s.last.Err)
	}
	return nil
}
