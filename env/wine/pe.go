// Package wine holds what running the Windows build under Wine needs that
// Wine lacks. Debian's wine64 8.0 has no bcryptprimitives.dll, and the Go
// runtime (since Go 1.22) loads it at start for ProcessPrng, its only
// source of randomness on Windows; without it every Go program dies before
// main. BcryptPrimitivesDLL builds a stand-in: a DLL with no code whose one
// export forwards ProcessPrng to advapi32's SystemFunction036 (RtlGenRandom),
// which Wine has. The two take the same arguments (buffer, length) and both
// return nonzero on success, so the forward is enough.
package wine

import (
	"bytes"
	"encoding/binary"
)

// Layout (Microsoft's "PE Format" specification): the headers in the first
// file block, one read-only section holding the export directory in the
// second, mapped at rvaExports.
const (
	fileAlign  = 0x200
	sectAlign  = 0x1000
	rvaExports = sectAlign
	peOffset   = 0x40 // e_lfanew: the PE header follows the 64-byte DOS header
	imageBase  = 0x180000000
	optSize    = 240 // PE32+ optional header with 16 data directories
)

// DLL file characteristics and section flags from the specification.
const (
	machineAMD64          = 0x8664
	fileExecutableImage   = 0x0002
	fileLargeAddressAware = 0x0020
	fileDLL               = 0x2000
	dllDynamicBase        = 0x0040
	dllNXCompat           = 0x0100
	dllHighEntropyVA      = 0x0020
	scnInitializedData    = 0x00000040
	scnMemRead            = 0x40000000
	subsystemWindowsCUI   = 3
	exportDirectorySize   = 40
)

// Forward is one export that forwards to another DLL's export.
type Forward struct {
	Name string // the export's name, e.g. "ProcessPrng"
	To   string // "dll.Export", e.g. "advapi32.SystemFunction036"
}

// BcryptPrimitivesDLL is the bytes of bcryptprimitives.dll for Wine.
func BcryptPrimitivesDLL() []byte {
	return ForwarderDLL("bcryptprimitives.dll", Forward{Name: "ProcessPrng", To: "advapi32.SystemFunction036"})
}

// ForwarderDLL builds an x86-64 DLL named name that has no code and no
// entry point, only exports forwarded elsewhere (sorted by Name, as the
// loader's binary search of the name table requires).
func ForwarderDLL(name string, fwds ...Forward) []byte {
	n := uint32(len(fwds))
	// The export section: directory, address table, name pointer table,
	// ordinal table, then the strings. A function RVA inside the export
	// directory's range is a forwarder string, not code.
	eat := uint32(rvaExports + exportDirectorySize)
	ent := eat + 4*n
	ords := ent + 4*n
	strs := ords + 2*n
	var sb bytes.Buffer
	str := func(s string) uint32 {
		at := strs + uint32(sb.Len())
		sb.WriteString(s)
		sb.WriteByte(0)
		return at
	}
	nameRVA := str(name)
	var eatB, entB, ordB bytes.Buffer
	for i, f := range fwds {
		binary.Write(&eatB, binary.LittleEndian, str(f.To))
		binary.Write(&entB, binary.LittleEndian, str(f.Name))
		binary.Write(&ordB, binary.LittleEndian, uint16(i))
	}
	var sec bytes.Buffer
	le := func(v any) { binary.Write(&sec, binary.LittleEndian, v) }
	le([4]uint32{0, 0, 0, nameRVA}) // Characteristics, TimeDateStamp, Major/MinorVersion, Name
	le([5]uint32{1, n, n, eat, ent})
	le(ords)
	sec.Write(eatB.Bytes())
	sec.Write(entB.Bytes())
	sec.Write(ordB.Bytes())
	sec.Write(sb.Bytes())
	secLen := uint32(sec.Len())
	rawLen := alignUp(secLen, fileAlign)
	sec.Write(make([]byte, rawLen-secLen))

	var h bytes.Buffer
	w := func(v any) { binary.Write(&h, binary.LittleEndian, v) }
	dos := make([]byte, peOffset)
	copy(dos, "MZ")
	binary.LittleEndian.PutUint32(dos[0x3c:], peOffset)
	h.Write(dos)
	h.WriteString("PE\x00\x00")
	// COFF header.
	w(uint16(machineAMD64))
	w(uint16(1))       // one section
	w([2]uint32{0, 0}) // TimeDateStamp (0: reproducible), PointerToSymbolTable
	w(uint32(0))       // NumberOfSymbols
	w(uint16(optSize))
	w(uint16(fileExecutableImage | fileLargeAddressAware | fileDLL))
	// Optional header, PE32+.
	w(uint16(0x20b))
	w([2]uint8{14, 0})                                 // linker version
	w([3]uint32{0, rawLen, 0})                         // SizeOfCode, SizeOfInitializedData, SizeOfUninitializedData
	w([2]uint32{0, 0})                                 // AddressOfEntryPoint (none), BaseOfCode
	w(uint64(imageBase))                               //
	w([2]uint32{sectAlign, fileAlign})                 //
	w([6]uint16{6, 0, 0, 0, 6, 0})                     // OS, image, subsystem versions
	w(uint32(0))                                       // Win32VersionValue
	w(uint32(rvaExports + alignUp(secLen, sectAlign))) // SizeOfImage
	w(uint32(fileAlign))                               // SizeOfHeaders
	w(uint32(0))                                       // CheckSum (not checked for DLLs outside the kernel)
	w(uint16(subsystemWindowsCUI))
	w(uint16(dllDynamicBase | dllNXCompat | dllHighEntropyVA))
	w([4]uint64{0x100000, 0x1000, 0x100000, 0x1000}) // stack and heap reserve/commit
	w(uint32(0))                                     // LoaderFlags
	w(uint32(16))                                    // NumberOfRvaAndSizes
	w([2]uint32{rvaExports, secLen})                 // export table
	w(make([]uint32, 2*15))                          // the other directories: none
	// Section header.
	var sname [8]byte
	copy(sname[:], ".edata")
	h.Write(sname[:])
	w([4]uint32{secLen, rvaExports, rawLen, fileAlign}) // VirtualSize, VirtualAddress, SizeOfRawData, PointerToRawData
	w([2]uint32{0, 0})                                  // relocations, line numbers
	w([2]uint16{0, 0})
	w(uint32(scnInitializedData | scnMemRead))
	h.Write(make([]byte, fileAlign-h.Len()))
	return append(h.Bytes(), sec.Bytes()...)
}

func alignUp(v, a uint32) uint32 { return (v + a - 1) &^ (a - 1) }
