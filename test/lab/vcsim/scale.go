package main

// scale.go is the -vms N scale model: N more VMs on the prem site (scale-vm-0001 ...),
// spread round-robin over the cluster's hosts, each with one 16 MiB disk on the site's
// datastore and one vmxnet3 NIC on "VM Network"; every other one is powered on. Their flat
// extents are sparse (no content is written), so a 2,000-VM model costs little disk and
// starts in seconds; the inventory benchmark (test/bench) reads their configuration, not bytes.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

const scaleDiskMiB = 16

// scaleVMs returns the specs of n scale VMs.
func scaleVMs(n int) []vmSpec {
	out := make([]vmSpec, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, vmSpec{
			name: fmt.Sprintf("scale-vm-%04d", i), diskMiB: scaleDiskMiB, poweredOn: i%2 == 1,
			memoryMB: 1024, cpus: 1, sparse: true,
		})
	}
	return out
}

// writeSparseDisk writes the descriptor at vmdkPath and a sparse flat extent of capacity bytes.
func writeSparseDisk(vmdkPath, vmName string, capacity int64) error {
	flatPath := strings.TrimSuffix(vmdkPath, ".vmdk") + "-flat.vmdk"
	if err := os.MkdirAll(filepath.Dir(vmdkPath), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(flatPath, nil, 0o644); err != nil {
		return err
	}
	if err := os.Truncate(flatPath, capacity); err != nil {
		return err
	}
	return os.WriteFile(vmdkPath, []byte(descriptor(flatPath, vmName, capacity)), 0o644)
}
