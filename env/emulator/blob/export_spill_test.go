package blob

// SkipWithoutSpills is skipWithoutSpills for the blob_test package.
var SkipWithoutSpills = skipWithoutSpills
