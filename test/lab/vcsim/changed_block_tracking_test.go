package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// taskResult returns a function that waits for a task and returns its result (fatal on error).
func taskResult(t *testing.T) func(*object.Task, error) types.AnyType {
	return func(task *object.Task, err error) types.AnyType {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		info, err := task.WaitForResult(context.Background(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return info.Result
	}
}

func removeSnapshot(ctx context.Context, c *govmomi.Client, snap types.ManagedObjectReference) (*object.Task, error) {
	res, err := methods.RemoveSnapshot_Task(ctx, c.Client, &types.RemoveSnapshot_Task{This: snap})
	if err != nil {
		return nil, err
	}
	return object.NewTask(c.Client, res.Returnval), nil
}

func snapshotDisk(t *testing.T, c *govmomi.Client, snap types.ManagedObjectReference) *types.VirtualDisk {
	t.Helper()
	var s mo.VirtualMachineSnapshot
	if err := c.RetrieveOne(context.Background(), snap, []string{"config"}, &s); err != nil {
		t.Fatal(err)
	}
	disks := object.VirtualDeviceList(s.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil))
	if len(disks) != 1 {
		t.Fatalf("snapshot has %d disks", len(disks))
	}
	return disks[0].(*types.VirtualDisk)
}

func changedAreas(t *testing.T, c *govmomi.Client, vm *object.VirtualMachine, snap *types.ManagedObjectReference,
	key int32, capacity int64, changeID string) ([]types.DiskChangeExtent, int) {
	t.Helper()
	var out []types.DiskChangeExtent
	calls := 0
	for off := int64(0); off < capacity; {
		res, err := methods.QueryChangedDiskAreas(context.Background(), c.Client, &types.QueryChangedDiskAreas{
			This: vm.Reference(), Snapshot: snap, DeviceKey: key, StartOffset: off, ChangeId: changeID,
		})
		if err != nil {
			t.Fatal(err)
		}
		calls++
		info := res.Returnval
		if info.StartOffset != off || info.Length <= 0 {
			t.Fatalf("answer %+v for offset %d", info, off)
		}
		for _, a := range info.ChangedArea {
			if n := len(out); n > 0 && out[n-1].Start+out[n-1].Length == a.Start {
				out[n-1].Length += a.Length
			} else {
				out = append(out, types.DiskChangeExtent{Start: a.Start, Length: a.Length})
			}
		}
		off += info.Length
	}
	return out, calls
}

func TestChangedBlockTracking(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, c := startTestLab(t, "prem", dir) // app-01: 24 MiB, powered off
	vm := findVM(t, c, "app-01")
	waitTask := taskResult(t)
	flat := filepath.Join(dir, "prem-ds", "app-01", "app-01-flat.vmdk")
	const capacity = 24 << 20

	// Without CBT a snapshot has no change id and a query is a FileFault on the ctk file.
	snap0 := waitTask(vm.CreateSnapshot(ctx, "no-cbt", "", false, false)).(types.ManagedObjectReference)
	disk := snapshotDisk(t, c, snap0)
	if id := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).ChangeId; id != "" {
		t.Fatalf("changeId without CBT: %q", id)
	}
	_, err := methods.QueryChangedDiskAreas(ctx, c.Client, &types.QueryChangedDiskAreas{This: vm.Reference(), DeviceKey: disk.Key, ChangeId: "*"})
	if f, ok := faultOf(t, err).(types.FileFault); !ok || !strings.HasSuffix(f.File, "app-01-ctk.vmdk") {
		t.Fatalf("fault %#v, want FileFault on the ctk file", faultOf(t, err))
	}
	waitTask(removeSnapshot(ctx, c, snap0))

	// Enable CBT.
	waitTask(vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ChangeTrackingEnabled: types.NewBool(true)}))
	var vmo mo.VirtualMachine
	if err := vm.Properties(ctx, vm.Reference(), []string{"config.changeTrackingEnabled"}, &vmo); err != nil {
		t.Fatal(err)
	}
	if vmo.Config.ChangeTrackingEnabled == nil || !*vmo.Config.ChangeTrackingEnabled {
		t.Fatal("config.changeTrackingEnabled not set")
	}

	// Zero two blocks so "*" has a hole, then snapshot 1.
	f, err := os.OpenFile(flat, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	write := func(off int64, b []byte) {
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	write(1<<20, make([]byte, 2*cbtBlock))
	snap1 := waitTask(vm.CreateSnapshot(ctx, "s1", "", false, false)).(types.ManagedObjectReference)
	disk = snapshotDisk(t, c, snap1)
	id1 := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo).ChangeId
	if !strings.HasPrefix(id1, "52 ") || !strings.HasSuffix(id1, "/1") {
		t.Fatalf("changeId %q", id1)
	}

	all, _ := changedAreas(t, c, vm, &snap1, disk.Key, capacity, "*")
	want := []types.DiskChangeExtent{{Start: 0, Length: 1 << 20}, {Start: 1<<20 + 2*cbtBlock, Length: capacity - (1<<20 + 2*cbtBlock)}}
	if !reflect.DeepEqual(all, want) {
		t.Fatalf(`"*" areas %+v, want %+v`, all, want)
	}

	// Real writes: one byte in block 3, blocks 100-101, the last block.
	write(3*cbtBlock+17, []byte{0xAA ^ 0x55})
	write(100*cbtBlock, make([]byte, 2*cbtBlock))
	write(capacity-10, []byte("0123456789"))
	_ = f.Close()
	wantChanged := []types.DiskChangeExtent{
		{Start: 3 * cbtBlock, Length: cbtBlock}, {Start: 100 * cbtBlock, Length: 2 * cbtBlock}, {Start: capacity - cbtBlock, Length: cbtBlock},
	}
	// Against the current state (powered-off VM, no snapshot).
	got, _ := changedAreas(t, c, vm, nil, disk.Key, capacity, id1)
	if !reflect.DeepEqual(got, wantChanged) {
		t.Fatalf("changed since %s: %+v, want %+v", id1, got, wantChanged)
	}
	// Snapshot 2 and the VADP query (snapshot 2, change id of snapshot 1); snapshot 1 itself has no changes.
	snap2 := waitTask(vm.CreateSnapshot(ctx, "s2", "", false, false)).(types.ManagedObjectReference)
	id2 := snapshotDisk(t, c, snap2).Backing.(*types.VirtualDiskFlatVer2BackingInfo).ChangeId
	if id2 == id1 || !strings.HasSuffix(id2, "/2") || id2[:len(id2)-2] != id1[:len(id1)-2] {
		t.Fatalf("second changeId %q after %q", id2, id1)
	}
	got, calls := changedAreas(t, c, vm, &snap2, disk.Key, capacity, id1)
	if !reflect.DeepEqual(got, wantChanged) || calls != 2 {
		t.Fatalf("snapshot 2 since %s: %+v in %d calls, want %+v", id1, got, calls, wantChanged)
	}
	if got, _ := changedAreas(t, c, vm, &snap1, disk.Key, capacity, id1); len(got) != 0 {
		t.Fatalf("snapshot 1 since its own change id: %+v", got)
	}

	// Unknown change id, bad device key, bad offset.
	_, err = methods.QueryChangedDiskAreas(ctx, c.Client, &types.QueryChangedDiskAreas{This: vm.Reference(), Snapshot: &snap2, DeviceKey: disk.Key, ChangeId: "52 00/9"})
	if _, ok := faultOf(t, err).(types.FileFault); !ok {
		t.Fatalf("fault %T, want FileFault", faultOf(t, err))
	}
	_, err = methods.QueryChangedDiskAreas(ctx, c.Client, &types.QueryChangedDiskAreas{This: vm.Reference(), Snapshot: &snap2, DeviceKey: 4242, ChangeId: "*"})
	if f, ok := faultOf(t, err).(types.InvalidArgument); !ok || f.InvalidProperty != "deviceKey" {
		t.Fatalf("fault %#v, want InvalidArgument deviceKey", faultOf(t, err))
	}
	_, err = methods.QueryChangedDiskAreas(ctx, c.Client, &types.QueryChangedDiskAreas{This: vm.Reference(), Snapshot: &snap2, DeviceKey: disk.Key, StartOffset: capacity, ChangeId: "*"})
	if f, ok := faultOf(t, err).(types.InvalidArgument); !ok || f.InvalidProperty != "startOffset" {
		t.Fatalf("fault %#v, want InvalidArgument startOffset", faultOf(t, err))
	}

	// RemoveSnapshot works; change ids stay valid for the current state.
	waitTask(removeSnapshot(ctx, c, snap1))
	if got, _ := changedAreas(t, c, vm, nil, disk.Key, capacity, id2); len(got) != 0 {
		t.Fatalf("changed since %s: %+v", id2, got)
	}

	// A powered-on VM needs a snapshot to query against.
	db := findVM(t, c, "db-01")
	waitTask(db.Reconfigure(ctx, types.VirtualMachineConfigSpec{ChangeTrackingEnabled: types.NewBool(true)}))
	dbSnap := waitTask(db.CreateSnapshot(ctx, "s", "", false, false)).(types.ManagedObjectReference)
	dbDisk := snapshotDisk(t, c, dbSnap)
	_, err = methods.QueryChangedDiskAreas(ctx, c.Client, &types.QueryChangedDiskAreas{This: db.Reference(), DeviceKey: dbDisk.Key, ChangeId: "*"})
	if _, ok := faultOf(t, err).(types.InvalidPowerState); !ok {
		t.Fatalf("fault %T, want InvalidPowerState", faultOf(t, err))
	}
	// 64 MiB disk: "*" answers in four 16 MiB windows.
	if all, calls := changedAreas(t, c, db, &dbSnap, dbDisk.Key, 64<<20, "*"); len(all) != 1 || all[0].Length != 64<<20 || calls != 4 {
		t.Fatalf("db-01 * = %+v in %d calls", all, calls)
	}

	// Turning CBT off forgets the change ids.
	waitTask(vm.Reconfigure(ctx, types.VirtualMachineConfigSpec{ChangeTrackingEnabled: types.NewBool(false)}))
	_, err = methods.QueryChangedDiskAreas(ctx, c.Client, &types.QueryChangedDiskAreas{This: vm.Reference(), Snapshot: &snap2, DeviceKey: disk.Key, ChangeId: id1})
	if _, ok := faultOf(t, err).(types.FileFault); !ok {
		t.Fatalf("fault %T, want FileFault", faultOf(t, err))
	}
}
