package blob_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/miconform/miconform/env/emulator"
	"github.com/miconform/miconform/env/emulator/recording"
)

// TestAnswersAsRecorded holds Put Blob, Put Block, List Blobs and List
// Containers against live answers recorded by the SDKs at the same
// x-ms-version: status, header names and XML element paths.
func TestAnswersAsRecorded(t *testing.T) {
	f := newFixture(t, "AzureCloud")
	f.grant("Storage Blob Data Contributor", f.vmOID, f.acctID)
	tok := f.vmToken("https://storage.azure.com/")
	h := func(version string, kv ...string) http.Header {
		out := bearer(tok, version)
		out.Set("x-ms-client-request-id", "86a1fdab-048b-445a-81d2-3c619ab6455f")
		for i := 0; i+1 < len(kv); i += 2 {
			out.Set(kv[i], kv[i+1])
		}
		return out
	}
	load := func(file string) recording.Answer {
		a, err := recording.Load(file)
		require.NoError(t, err)
		return a
	}
	// Headers of features the emulated account has off: blob versioning
	// (x-ms-version-id, VersionId, IsCurrentVersion) and CORS rules.
	noFeatures := []string{"x-ms-version-id", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers"}

	t.Run("Put Blob", func(t *testing.T) {
		want := load("testdata/put_blob_2021-12-02_recorded.json")
		r := f.do("PUT", f.blobURL("recorded/0"), h("2021-12-02", "x-ms-blob-type", "BlockBlob", "Content-Type", "application/octet-stream"), []byte{})
		assert.Equal(t, want.Status, r.status, string(r.body))
		assert.Empty(t, want.HeaderDiffs(r.header, true, noFeatures...), want.Source)
		assert.Equal(t, want.Headers["x-ms-content-crc64"], r.header.Get("x-ms-content-crc64"), "CRC-64 of no bytes")
		assert.Equal(t, want.Headers["Content-MD5"], r.header.Get("Content-MD5"))
	})
	t.Run("Get Blob", func(t *testing.T) {
		want := load("testdata/get_blob_2021-12-02_recorded.json")
		require.Equal(t, 201, f.do("PUT", f.blobURL("recorded/hw"), h("2021-12-02", "x-ms-blob-type", "BlockBlob", "Content-Type", "application/octet-stream"), []byte("Hello World")).status)
		r := f.do("GET", f.blobURL("recorded/hw"), h("2021-12-02"), nil)
		assert.Equal(t, want.Status, r.status, string(r.body))
		assert.Empty(t, want.HeaderDiffs(r.header, true, append(noFeatures, "x-ms-is-current-version")...), want.Source)
		assert.Equal(t, want.Headers["Content-MD5"], r.header.Get("Content-MD5"))
	})
	t.Run("Put Block", func(t *testing.T) {
		want := load("testdata/put_block_2020-04-08_recorded.json")
		r := f.do("PUT", f.blobURL("recorded/1")+"?comp=block&blockid=YmxvY2stMQ%3D%3D", h("2020-04-08"), []byte("Hello World!"))
		assert.Equal(t, want.Status, r.status, string(r.body))
		assert.Empty(t, want.HeaderDiffs(r.header, true), want.Source)
		assert.Equal(t, "peH8Xsgc5QI=", r.header.Get("x-ms-content-crc64"), "Azure's CRC-64 of Hello World!")
	})
	t.Run("Put Block with Content-MD5 answers Content-MD5", func(t *testing.T) {
		r := f.do("PUT", f.blobURL("recorded/1")+"?comp=block&blockid=YmxvY2stMg%3D%3D", h("2020-04-08", "Content-MD5", "7Qdih1MuhjZehB6Sv8UNjA=="), []byte("Hello World!"))
		require.Equal(t, 201, r.status, string(r.body))
		assert.Equal(t, "7Qdih1MuhjZehB6Sv8UNjA==", r.header.Get("Content-MD5"))
		assert.Empty(t, r.header.Get("x-ms-content-crc64"))
	})
	t.Run("Put Block before 2019-02-02 answers Content-MD5", func(t *testing.T) {
		r := f.do("PUT", f.blobURL("recorded/1")+"?comp=block&blockid=YmxvY2stMw%3D%3D", h("2018-11-09"), []byte("Hello World!"))
		require.Equal(t, 201, r.status, string(r.body))
		assert.Equal(t, "7Qdih1MuhjZehB6Sv8UNjA==", r.header.Get("Content-MD5"))
		assert.Empty(t, r.header.Get("x-ms-content-crc64"))
	})
	t.Run("List Blobs", func(t *testing.T) {
		want := load("testdata/list_blobs_2021-12-02_recorded.json")
		r := f.do("GET", f.base+emulator.SeedContainer+"?restype=container&comp=list&prefix=recorded/0", h("2021-12-02"), nil)
		assert.Equal(t, want.Status, r.status, string(r.body))
		assert.Empty(t, want.HeaderDiffs(r.header, true, noFeatures...), want.Source)
		assert.Empty(t, want.XMLDiffs(r.body, "EnumerationResults/Prefix", "EnumerationResults/Blobs/Blob/VersionId", "EnumerationResults/Blobs/Blob/IsCurrentVersion"), want.Source)
		assert.Contains(t, string(r.body), "<Etag>0x", "List Blobs' Etag is unquoted")
		assert.True(t, strings.HasPrefix(string(r.body), "\uFEFF<?xml"), "recorded listings start with a BOM")
	})
	t.Run("List Blobs at 2017-11-09 has no CRC64 or OrMetadata", func(t *testing.T) {
		r := f.do("GET", f.base+emulator.SeedContainer+"?restype=container&comp=list&prefix=recorded/0", h("2017-11-09"), nil)
		require.Equal(t, 200, r.status, string(r.body))
		for _, el := range []string{"Content-CRC64", "OrMetadata"} {
			assert.NotContains(t, string(r.body), "<"+el)
		}
		assert.Contains(t, string(r.body), "<Creation-Time>")
		assert.Contains(t, string(r.body), "<AccessTier>Hot</AccessTier>")
	})
	t.Run("List Containers", func(t *testing.T) {
		want := load("testdata/list_containers_2021-12-02_recorded.json")
		r := f.do("GET", f.base+"?comp=list", h("2021-12-02"), nil)
		assert.Equal(t, want.Status, r.status, string(r.body))
		assert.Empty(t, want.HeaderDiffs(r.header, true, noFeatures...), want.Source)
		assert.Empty(t, want.XMLDiffs(r.body), want.Source)
		assert.True(t, strings.HasPrefix(string(r.body), "\uFEFF<?xml"), "recorded listings start with a BOM")
	})
	t.Run("List Containers at 2019-02-02 has no encryption scope", func(t *testing.T) {
		r := f.do("GET", f.base+"?comp=list", h("2019-02-02"), nil)
		require.Equal(t, 200, r.status, string(r.body))
		assert.NotContains(t, string(r.body), "DefaultEncryptionScope")
		assert.NotContains(t, string(r.body), "ImmutableStorageWithVersioningEnabled")
		assert.Contains(t, string(r.body), "<HasLegalHold>false</HasLegalHold>")
	})
}
