package main

// disk.go gives the simulator's VM disks real bytes. vcsim creates "<vm>.vmdk" and
// "<vm>-flat.vmdk" empty; the lab writes a monolithicFlat descriptor into the first and fills
// the flat extent to the disk's capacity with pseudo-random bytes seeded by the VM name, so
// every start yields the same content and copies can be checked byte for byte.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"os"
	"strings"
)

const chunk = 1 << 20 // write unit: 1 MiB

// diskSeed is the seed of a VM's disk content: FNV-1a 64 of the VM name.
func diskSeed(name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name))
	return h.Sum64()
}

// fillDisk writes size bytes of the seeded splitmix64 stream into w.
func fillDisk(w *bufio.Writer, seed uint64, size int64) error {
	buf := make([]byte, chunk)
	state := seed
	for left := size; left > 0; {
		for i := 0; i+8 <= len(buf); i += 8 {
			state += 0x9E3779B97F4A7C15
			z := state
			z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
			z = (z ^ (z >> 27)) * 0x94D049BB133111EB
			binary.LittleEndian.PutUint64(buf[i:], z^(z>>31))
		}
		n := int64(len(buf))
		if left < n {
			n = left
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		left -= n
	}
	return w.Flush()
}

// writeDisk writes the descriptor at vmdkPath and the flat extent next to it.
func writeDisk(vmdkPath, vmName string, capacity int64) error {
	if !strings.HasSuffix(vmdkPath, ".vmdk") {
		return fmt.Errorf("disk %s: not a .vmdk path", vmdkPath)
	}
	flatPath := strings.TrimSuffix(vmdkPath, ".vmdk") + "-flat.vmdk"
	f, err := os.Create(flatPath)
	if err != nil {
		return err
	}
	if err := fillDisk(bufio.NewWriterSize(f, chunk), diskSeed(vmName), capacity); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(vmdkPath, []byte(descriptor(flatPath, vmName, capacity)), 0o644)
}

// descriptor returns a VMDK descriptor for a monolithic flat disk of capacity bytes.
func descriptor(flatPath, vmName string, capacity int64) string {
	sectors := capacity / 512
	cylinders := sectors / (255 * 63)
	if cylinders < 1 {
		cylinders = 1
	}
	seed := diskSeed(vmName)
	base := flatPath[strings.LastIndex(flatPath, "/")+1:]
	return fmt.Sprintf(`# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=%08x
parentCID=ffffffff
createType="vmfs"

# Extent description
RW %d VMFS "%s"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.geometry.cylinders = "%d"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.thinProvisioned = "0"
ddb.uuid = "%s"
ddb.virtualHWVersion = "13"
`, uint32(seed), sectors, base, cylinders, ddbUUID(seed))
}

// ddbUUID formats 16 bytes derived from seed the way VMDK descriptors write ddb.uuid.
func ddbUUID(seed uint64) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seed)
	binary.BigEndian.PutUint64(b[8:], ^seed)
	parts := make([]string, 16)
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02x", x)
	}
	return strings.Join(parts[:8], " ") + "-" + strings.Join(parts[8:], " ")
}
