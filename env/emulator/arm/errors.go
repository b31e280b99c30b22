package arm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/miconform/miconform/env/emulator/directory"
)

// Error is Resource Manager's error body: {"error":{"code":...,"message":...}}.
// https://github.com/Azure/azure-resource-manager-rpc/blob/master/v1.0/common-api-details.md#error-response-content
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Challenge, when set, is sent as WWW-Authenticate (401 answers).
	Challenge string `json:"-"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an ARM error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Response is what every handler returns; one writer turns it into bytes, so
// every answer carries ARM's headers and every error ARM's shape
// (the fake-gcs-server jsonResponse pattern).
type Response struct {
	status int
	body   any
	header http.Header
	err    *Error
}

// OK is a 200 answer with a JSON body.
func OK(body any) Response { return Response{status: http.StatusOK, body: body} }

// Created is a 201 answer with a JSON body.
func Created(body any) Response { return Response{status: http.StatusCreated, body: body} }

// Fail is an error answer in ARM's shape.
func Fail(e *Error) Response { return Response{err: e} }

// Status is an answer without a body (202, 204, ...), with extra headers.
func Status(code int, header http.Header) Response { return Response{status: code, header: header} }

func (s *Server) write(w http.ResponseWriter, r *http.Request, resp Response) {
	h := w.Header()
	reqID := directory.NewGUID()
	// Headers ARM sets on every answer.
	h.Set("x-ms-request-id", reqID)
	h.Set("x-ms-correlation-request-id", reqID)
	h.Set("x-ms-routing-request-id", "WESTUS:"+time.Now().UTC().Format("20060102T150405Z")+":"+reqID)
	h.Set("Cache-Control", "no-cache")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "-1")
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
	h.Set("X-Content-Type-Options", "nosniff")
	for _, name := range rateLimitHeaders(r) {
		h.Set(name, "11999")
	}
	for k, v := range resp.header {
		h[k] = v
	}
	if resp.err != nil {
		if resp.err.Challenge != "" {
			h.Set("WWW-Authenticate", resp.err.Challenge)
		}
		h.Set("x-ms-failure-cause", failureCause(resp.err))
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(resp.err.Status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": resp.err})
		return
	}
	if resp.body == nil {
		w.WriteHeader(resp.status)
		return
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(resp.status)
	if r.Method != http.MethodHead {
		_ = json.NewEncoder(w).Encode(resp.body)
	}
}

// rateLimitHeaders name the throttling budgets Resource Manager reports on
// every answer: per subscription for paths under one (and, since 2024, the
// global budget beside it), per tenant for the others (GET /subscriptions,
// /tenants); reads, writes or deletes by method (Azure/azure-sdk-for-net
// sdk/resourcemanager/Azure.ResourceManager/tests/SessionRecords/ResourceGroupOperationsTests/DeleteRg[2022-09-01].json,
// SubscriptionCollectionTests/List.json; Azure/azure-cli
// src/azure-cli/azure/cli/command_modules/vm/tests/latest/recordings/test_vm_extension_instance_name.yaml).
func rateLimitHeaders(r *http.Request) []string {
	kind := "writes"
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		kind = "reads"
	case http.MethodDelete:
		kind = "deletes"
	}
	if segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); len(segs) >= 2 && strings.EqualFold(segs[0], "subscriptions") {
		return []string{"x-ms-ratelimit-remaining-subscription-" + kind, "x-ms-ratelimit-remaining-subscription-global-" + kind}
	}
	return []string{"x-ms-ratelimit-remaining-tenant-" + kind}
}

func failureCause(e *Error) string {
	if e.Status >= 500 {
		return "service"
	}
	return "gateway"
}

// Common errors, with the messages ARM sends.

// ErrResourceGroupNotFound is ARM's 404 for a missing resource group.
func ErrResourceGroupNotFound(name string) *Error {
	return Errorf(404, "ResourceGroupNotFound", "Resource group '%s' could not be found.", name)
}

// ErrResourceNotFound is ARM's 404 for a missing resource.
func ErrResourceNotFound(typ, name, rg string) *Error {
	return Errorf(404, "ResourceNotFound", "The Resource '%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typ, name, rg)
}

func errInvalidRequestContent(detail string) *Error {
	return Errorf(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized: '%s'.", detail)
}
