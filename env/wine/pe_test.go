package wine

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"testing"
)

// The DLL parses as a PE32+ x86-64 DLL without code or entry point, and its
// export directory names ProcessPrng as a forwarder to
// advapi32.SystemFunction036, read back the way the loader reads it.
func TestBcryptPrimitivesDLL(t *testing.T) {
	b := BcryptPrimitivesDLL()
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 || f.Characteristics&pe.IMAGE_FILE_DLL == 0 {
		t.Fatalf("machine %#x characteristics %#x: want an AMD64 DLL", f.Machine, f.Characteristics)
	}
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		t.Fatalf("optional header %T, want PE32+", f.OptionalHeader)
	}
	if oh.AddressOfEntryPoint != 0 || oh.SizeOfCode != 0 {
		t.Errorf("entry point %#x, code size %d: want a DLL without code", oh.AddressOfEntryPoint, oh.SizeOfCode)
	}
	dir := oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_EXPORT]
	if len(f.Sections) != 1 {
		t.Fatalf("%d sections, want 1", len(f.Sections))
	}
	s := f.Sections[0]
	data, err := s.Data()
	if err != nil {
		t.Fatal(err)
	}
	at := func(rva uint32) []byte {
		if rva < s.VirtualAddress || rva >= s.VirtualAddress+s.VirtualSize {
			t.Fatalf("RVA %#x outside the section", rva)
		}
		return data[rva-s.VirtualAddress:]
	}
	cstr := func(rva uint32) string { p := at(rva); return string(p[:bytes.IndexByte(p, 0)]) }
	ed := at(dir.VirtualAddress)
	u32 := func(off int) uint32 { return binary.LittleEndian.Uint32(ed[off:]) }
	if got := cstr(u32(12)); got != "bcryptprimitives.dll" {
		t.Errorf("DLL name %q", got)
	}
	if u32(20) != 1 || u32(24) != 1 {
		t.Fatalf("%d functions, %d names; want 1 and 1", u32(20), u32(24))
	}
	fn := binary.LittleEndian.Uint32(at(u32(28)))
	if fn < dir.VirtualAddress || fn >= dir.VirtualAddress+dir.Size {
		t.Errorf("ProcessPrng's RVA %#x is outside the export directory: the loader would take it for code", fn)
	}
	if got := cstr(fn); got != "advapi32.SystemFunction036" {
		t.Errorf("forwarder %q", got)
	}
	if got := cstr(binary.LittleEndian.Uint32(at(u32(32)))); got != "ProcessPrng" {
		t.Errorf("export name %q", got)
	}
	if ord := binary.LittleEndian.Uint16(at(u32(36))); ord != 0 {
		t.Errorf("name ordinal %d, want 0", ord)
	}
	if int64(oh.SizeOfImage) < int64(s.VirtualAddress+s.VirtualSize) || oh.SizeOfImage%oh.SectionAlignment != 0 {
		t.Errorf("SizeOfImage %#x does not cover the section", oh.SizeOfImage)
	}
}
