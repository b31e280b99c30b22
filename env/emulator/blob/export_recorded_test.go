package blob

// LatestVersion is the newest x-ms-version the emulator answers, the one
// the Go SDK (azblob) in go.mod sends.
const LatestVersion = latestVersion
