package blob

import (
	"hash/crc64"
	"net/http"
	"strconv"
)

// appendVersion refuses append blob operations in versions before append
// blobs existed (blob-service-error-codes, FeatureVersionMismatch).
func appendVersion(r *request) *Error {
	if r.version != "" && r.version < "2015-02-21" {
		return errorf(409, "FeatureVersionMismatch", "The operation for AppendBlob requires at least version 2015-02-21.")
	}
	return nil
}

// appendCondition reads x-ms-blob-condition-maxsize or -appendpos: a
// non-negative byte count, or -1 when absent.
func appendCondition(h http.Header, name string) (int64, *Error) {
	v := h.Get(name)
	if v == "" {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return -1, errInvalidHeader(name, v)
	}
	return n, nil
}

// maxAppendBlock is the largest block Append Block takes: 100 MiB from
// version 2022-11-02, 4 MiB before.
// https://learn.microsoft.com/rest/api/storageservices/append-block#remarks
func maxAppendBlock(version string) int {
	if version != "" && version < "2022-11-02" {
		return 4 << 20
	}
	return 100 << 20
}

// AppendBlock: https://learn.microsoft.com/rest/api/storageservices/append-block
func (s *Service) AppendBlock(r *request) reply {
	if e := appendVersion(r); e != nil {
		return fail(e)
	}
	maxSize, e := appendCondition(r.Header, "x-ms-blob-condition-maxsize")
	if e != nil {
		return fail(e)
	}
	pos, e := appendCondition(r.Header, "x-ms-blob-condition-appendpos")
	if e != nil {
		return fail(e)
	}
	lease, e := s.leaseCond(r)
	if e != nil {
		return fail(e)
	}
	if limit := maxAppendBlock(r.version); r.ContentLength > int64(limit) {
		return fail(errorf(413, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.", "MaxLimit", strconv.Itoa(limit)))
	}
	data, e := readBody(r)
	if e != nil {
		return fail(e)
	}
	if limit := maxAppendBlock(r.version); len(data) > limit {
		return fail(errorf(413, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit.", "MaxLimit", strconv.Itoa(limit)))
	}
	if len(data) == 0 {
		// A block holds at least one byte [unverified: the code Azure
		// answers an empty Append Block with].
		return fail(errInvalidHeader("Content-Length", "0"))
	}
	b, err := s.Store.AppendBlock(r.acct.Name, r.container, r.blob, data, func(b *Blob) error {
		if e := ifConditions(r, *b); e != nil {
			return e
		}
		if err := lease(b); err != nil {
			return err
		}
		size := b.Size()
		if maxSize >= 0 && size+int64(len(data)) > maxSize {
			return errorf(412, "MaxBlobSizeConditionNotMet", "The max blob size condition specified was not met.")
		}
		if pos >= 0 && size != pos {
			return errorf(412, "AppendPositionConditionNotMet", "The append position condition specified was not met.")
		}
		return nil
	})
	if err != nil {
		return fail(storeError(err))
	}
	h := blockHashHeaders(r, contentMD5(data), crc64.Checksum(data, crc64Table))
	h.Set("ETag", b.ETag)
	h.Set("Last-Modified", httpTime(b.LastModified))
	h.Set("x-ms-blob-append-offset", strconv.FormatInt(b.Size()-int64(len(data)), 10))
	h.Set("x-ms-blob-committed-block-count", strconv.Itoa(len(b.blocks)))
	return reply{status: 201, header: h}
}
