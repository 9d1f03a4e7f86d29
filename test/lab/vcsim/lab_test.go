package main

import (
	"bufio"
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// startTestLab starts site on 127.0.0.1:0 through startLab, the binary's code path, and
// logs in with the lab's credentials. Both are closed when the test ends.
func startTestLab(t *testing.T, site, dataDir string) (*Lab, *govmomi.Client) {
	t.Helper()
	opts := DefaultOptions()
	opts.DataDir = dataDir
	opts.DiskMiB = 24
	lab, err := startLab(site, opts)
	if err != nil {
		t.Fatalf("startLab(%s): %v", site, err)
	}
	t.Cleanup(lab.Close)
	c, err := login(lab, opts.Username, opts.Password)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	t.Cleanup(func() { _ = c.Logout(context.Background()) })
	return lab, c
}

func login(lab *Lab, user, pass string) (*govmomi.Client, error) {
	u := *lab.URL
	u.User = url.UserPassword(user, pass)
	return govmomi.NewClient(context.Background(), &u, true)
}

func names(t *testing.T, refs []object.Reference, c *govmomi.Client) []string {
	t.Helper()
	var out []string
	for _, r := range refs {
		var e mo.ManagedEntity
		if err := c.RetrieveOne(context.Background(), r.Reference(), []string{"name"}, &e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Name)
	}
	return out
}

func TestInventoryPrem(t *testing.T) {
	ctx := context.Background()
	lab, c := startTestLab(t, "prem", t.TempDir())
	f := find.NewFinder(c.Client, true)

	dc, err := f.Datacenter(ctx, "prem-dc")
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	cluster, err := f.ClusterComputeResource(ctx, "prem-cluster")
	if err != nil {
		t.Fatal(err)
	}
	hosts, err := cluster.Hosts(ctx)
	if err != nil || len(hosts) != 2 {
		t.Fatalf("hosts = %d, %v; want 2", len(hosts), err)
	}
	dss, err := f.DatastoreList(ctx, "*")
	if err != nil || len(dss) != 1 || dss[0].Name() != "prem-ds" {
		t.Fatalf("datastores = %v, %v; want [prem-ds]", dss, err)
	}
	if _, err := f.Network(ctx, "VM Network"); err != nil {
		t.Fatalf("VM Network: %v", err)
	}
	vms, err := f.VirtualMachineList(ctx, "*")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]types.VirtualMachinePowerState{
		"app-01": types.VirtualMachinePowerStatePoweredOff,
		"db-01":  types.VirtualMachinePowerStatePoweredOn,
		"web-01": types.VirtualMachinePowerStatePoweredOn,
		"web-02": types.VirtualMachinePowerStatePoweredOff,
	}
	if len(vms) != len(want) {
		t.Fatalf("got %d VMs, want %d", len(vms), len(want))
	}
	for _, vm := range vms {
		var o mo.VirtualMachine
		if err := vm.Properties(ctx, vm.Reference(), []string{"name", "runtime.powerState", "config.hardware.device"}, &o); err != nil {
			t.Fatal(err)
		}
		state, ok := want[o.Name]
		if !ok {
			t.Errorf("unexpected VM %q", o.Name)
			continue
		}
		if o.Runtime.PowerState != state {
			t.Errorf("%s: power state %s, want %s", o.Name, o.Runtime.PowerState, state)
		}
		disks := object.VirtualDeviceList(o.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil))
		if len(disks) != 1 {
			t.Fatalf("%s: %d disks", o.Name, len(disks))
		}
		disk := disks[0].(*types.VirtualDisk)
		wantMiB := map[string]int64{"app-01": 24, "db-01": 64, "web-01": 32, "web-02": 32}[o.Name]
		if disk.CapacityInBytes != wantMiB<<20 || disk.CapacityInKB != wantMiB<<10 {
			t.Errorf("%s: capacity %d B / %d KB, want %d MiB", o.Name, disk.CapacityInBytes, disk.CapacityInKB, wantMiB)
		}
		var p object.DatastorePath
		p.FromString(disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).FileName)
		flat := filepath.Join(lab.Datastore, strings.TrimSuffix(p.Path, ".vmdk")+"-flat.vmdk")
		st, err := os.Stat(flat)
		if err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		if st.Size() != disk.CapacityInBytes {
			t.Errorf("%s: flat file %d bytes, capacity %d", o.Name, st.Size(), disk.CapacityInBytes)
		}
		checkDiskContent(t, flat, o.Name)
	}
}

// checkDiskContent compares the first MiB of a flat file with the seeded stream.
func checkDiskContent(t *testing.T, path, vm string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, chunk)
	if _, err := f.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := fillDisk(bufio.NewWriter(&want), diskSeed(vm), chunk); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("%s: disk content differs from its seeded stream", vm)
	}
	if bytes.Count(got, []byte{0}) > len(got)/64 {
		t.Errorf("%s: disk content looks empty", vm)
	}
}

func TestInventoryCloud(t *testing.T) {
	ctx := context.Background()
	_, c := startTestLab(t, "cloud", t.TempDir())
	f := find.NewFinder(c.Client, true)
	dc, err := f.Datacenter(ctx, "cloud-dc")
	if err != nil {
		t.Fatal(err)
	}
	f.SetDatacenter(dc)
	cluster, err := f.ClusterComputeResource(ctx, "cloud-cluster")
	if err != nil {
		t.Fatal(err)
	}
	hosts, _ := cluster.Hosts(ctx)
	if got := names(t, toRefs(hosts), c); len(got) != 2 || got[0] != "cloud-esx-01" {
		t.Errorf("hosts = %v", got)
	}
	if _, err := f.Datastore(ctx, "cloud-ds"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Network(ctx, "VM Network"); err != nil {
		t.Fatal(err)
	}
	vms, err := f.VirtualMachineList(ctx, "*")
	if len(vms) != 0 {
		t.Fatalf("cloud has VMs: %v %v", vms, err)
	}
}

func toRefs(hosts []*object.HostSystem) []object.Reference {
	var out []object.Reference
	for _, h := range hosts {
		out = append(out, h)
	}
	return out
}

func TestLoginRefused(t *testing.T) {
	lab, _ := startTestLab(t, "cloud", t.TempDir())
	for _, cred := range [][2]string{
		{"administrator@vsphere.local", "wrong"},
		{"user", "pass"}, // vcsim's default login
		{"root", "HdmLab!2026"},
	} {
		_, err := login(lab, cred[0], cred[1])
		if err == nil {
			t.Fatalf("login %s/%s succeeded", cred[0], cred[1])
		}
		if !soap.IsSoapFault(err) {
			t.Fatalf("login %s: %v is not a SOAP fault", cred[0], err)
		}
		if _, ok := soap.ToSoapFault(err).VimFault().(types.InvalidLogin); !ok {
			t.Errorf("login %s: fault %#v, want InvalidLogin", cred[0], soap.ToSoapFault(err).VimFault())
		}
	}
}
