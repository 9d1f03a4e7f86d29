package main

// changed_block_tracking.go adds changed-block tracking (CBT), which vcsim lacks:
//
//   - ReconfigVM_Task with changeTrackingEnabled is vcsim's (config.changeTrackingEnabled).
//     Turning it off forgets the disk's change ids; turning it on again starts a new epoch
//     (a new change id UUID), as vCenter resets the ctk file.
//   - CreateSnapshot_Task on a VM with CBT on: before vcsim takes the snapshot, the harness
//     reads every disk's flat extent and keeps a block map (SHA-256 per 64 KiB block, and
//     whether the block is all zeros). Each disk gets a change id "<ctk uuid>/<n>" (vCenter's
//     format: 16 hex bytes "52 a1 ...-.. ../<sequence>"), shown as backing.changeId of the
//     disk in the snapshot's config (the snapshot gets its own copy of the device list).
//   - QueryChangedDiskAreas(snapshot?, deviceKey, startOffset, changeId): the changed areas of
//     the disk between the state recorded for changeId and the state of `snapshot` (its block
//     map) — or, without snapshot, the disk's current flat file on a powered-off VM
//     (vCenter only computes against the "current" state when the VM is off; a powered-on VM
//     gets InvalidPowerState). Changes are found by comparing block hashes, so they come
//     from real writes to the flat file (datastore /folder PUT, NFC, guest writes). Adjacent
//     changed blocks are merged. changeId "*" returns the allocated (non-zero) areas.
//     An answer covers at most 16 MiB of the disk from startOffset (`length` says how
//     much): callers page with startOffset+length until the disk's capacity, as they must
//     against vCenter, which also answers in parts.
//   - Faults: unknown VM ManagedObjectNotFound; CBT off, a snapshot taken without CBT, or an
//     unknown change id FileFault on the disk's ctk file (vCenter: "Error caused by file
//     .../<disk>-ctk.vmdk"); a deviceKey that is no disk, or startOffset outside the disk,
//     InvalidArgument.
//   - RemoveSnapshot_Task is vcsim's; the change ids stay valid (vCenter keeps them in the
//     ctk file), the snapshot's map is dropped with the snapshot.

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"

	"github.com/google/uuid"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	cbtBlock  = 64 << 10 // tracking granularity
	cbtWindow = 16 << 20 // most disk bytes one QueryChangedDiskAreas answer covers
)

// blockMap is the state of a disk at one moment.
type blockMap struct {
	size   int64
	hashes [][sha256.Size]byte
	zero   []bool
}

// diskTrack is the tracking state of one disk (one ctk file).
type diskTrack struct {
	uuid string
	seq  int
	maps map[string]*blockMap // change id → state
}

type changeTracker struct {
	mu sync.Mutex
	// VM MoRef value → device key → track
	disks map[string]map[int32]*diskTrack
	// snapshot MoRef value → device key → change id
	snaps map[string]map[int32]string
}

func newChangeTracker() *changeTracker {
	return &changeTracker{disks: map[string]map[int32]*diskTrack{}, snaps: map[string]map[int32]string{}}
}

// readBlockMap hashes the file at p in cbtBlock blocks; size is the disk's capacity (missing
// bytes read as zeros).
func readBlockMap(p string, size int64) (*blockMap, error) {
	return readBlocks(p, size, 0, -1)
}

// readBlocks hashes blocks from..to-1 of the file at p (to < 0: to the end); the map covers the
// whole disk, other blocks are left unset.
func readBlocks(p string, size int64, from, to int) (*blockMap, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n := int((size + cbtBlock - 1) / cbtBlock)
	if to < 0 || to > n {
		to = n
	}
	m := &blockMap{size: size, hashes: make([][sha256.Size]byte, n), zero: make([]bool, n)}
	if _, err := f.Seek(int64(from)*cbtBlock, io.SeekStart); err != nil {
		return nil, err
	}
	buf := make([]byte, cbtBlock)
	zeros := make([]byte, cbtBlock)
	for i := from; i < to; i++ {
		want := int64(cbtBlock)
		if rest := size - int64(i)*cbtBlock; rest < want {
			want = rest
		}
		b := buf[:want]
		k, err := io.ReadFull(f, b)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return nil, err
		}
		for j := k; j < len(b); j++ {
			b[j] = 0
		}
		m.hashes[i] = sha256.Sum256(b)
		m.zero[i] = bytes.Equal(b, zeros[:len(b)])
	}
	return m, nil
}

// vmDisk is what CBT needs of one virtual disk.
type vmDisk struct {
	key      int32
	capacity int64
	flat     string // local path of the flat extent
	ctk      string // datastore path of the ctk file (for faults)
}

func disksOf(vm *simulator.VirtualMachine) ([]vmDisk, bool, types.VirtualMachinePowerState) {
	var out []vmDisk
	var cbt bool
	var state types.VirtualMachinePowerState
	simulator.Map.WithLock(vm, func() {
		state = vm.Runtime.PowerState
		cbt = vm.Config.ChangeTrackingEnabled != nil && *vm.Config.ChangeTrackingEnabled
		for _, d := range object.VirtualDeviceList(vm.Config.Hardware.Device).SelectByType((*types.VirtualDisk)(nil)) {
			disk := d.(*types.VirtualDisk)
			b, ok := disk.Backing.(types.BaseVirtualDeviceFileBackingInfo)
			if !ok {
				continue
			}
			name := b.GetVirtualDeviceFileBackingInfo().FileName
			local, err := datastorePath(name)
			if err != nil {
				continue
			}
			if _, err := os.Stat(flatPath(local)); err == nil {
				local = flatPath(local)
			}
			out = append(out, vmDisk{key: disk.Key, capacity: disk.CapacityInBytes, flat: local,
				ctk: name[:len(name)-len(".vmdk")] + "-ctk.vmdk"})
		}
	})
	return out, cbt, state
}

func newCtkUUID() string {
	u := uuid.New()
	u[0] = 0x52
	var parts [16]string
	for i, b := range u {
		parts[i] = fmt.Sprintf("%02x", b)
	}
	s := ""
	for i, p := range parts {
		switch {
		case i == 0:
		case i == 8:
			s += "-"
		default:
			s += " "
		}
		s += p
	}
	return s
}

// beforeSnapshot reads the block maps of a CBT-enabled VM's disks (nil if CBT is off).
func (t *changeTracker) beforeSnapshot(vmRef types.ManagedObjectReference) (map[int32]*blockMap, error) {
	vm, ok := simulator.Map.Get(vmRef).(*simulator.VirtualMachine)
	if !ok {
		return nil, nil
	}
	disks, cbt, _ := disksOf(vm)
	if !cbt {
		t.forget(vmRef.Value)
		return nil, nil
	}
	maps := map[int32]*blockMap{}
	for _, d := range disks {
		m, err := readBlockMap(d.flat, d.capacity)
		if err != nil {
			return nil, err
		}
		maps[d.key] = m
	}
	return maps, nil
}

func (t *changeTracker) forget(vm string) {
	t.mu.Lock()
	delete(t.disks, vm)
	t.mu.Unlock()
}

// afterSnapshot gives the new snapshot its change ids and publishes them in its config.
func (t *changeTracker) afterSnapshot(vmRef, snapRef types.ManagedObjectReference, maps map[int32]*blockMap) {
	snap, ok := simulator.Map.Get(snapRef).(*simulator.VirtualMachineSnapshot)
	if !ok {
		return
	}
	ids := map[int32]string{}
	t.mu.Lock()
	if t.disks[vmRef.Value] == nil {
		t.disks[vmRef.Value] = map[int32]*diskTrack{}
	}
	for key, m := range maps {
		tr := t.disks[vmRef.Value][key]
		if tr == nil {
			tr = &diskTrack{uuid: newCtkUUID(), maps: map[string]*blockMap{}}
			t.disks[vmRef.Value][key] = tr
		}
		tr.seq++
		id := fmt.Sprintf("%s/%d", tr.uuid, tr.seq)
		tr.maps[id] = m
		ids[key] = id
	}
	t.snaps[snapRef.Value] = ids
	t.mu.Unlock()

	simulator.Map.WithLock(snap, func() {
		cfg := snap.Config
		devices := make([]types.BaseVirtualDevice, len(cfg.Hardware.Device))
		for i, d := range cfg.Hardware.Device {
			devices[i] = d
			disk, ok := d.(*types.VirtualDisk)
			if !ok {
				continue
			}
			id, ok := ids[disk.Key]
			if !ok {
				continue
			}
			c := *disk
			if b, ok := disk.Backing.(*types.VirtualDiskFlatVer2BackingInfo); ok {
				nb := *b
				nb.ChangeId = id
				c.Backing = &nb
			}
			devices[i] = &c
		}
		cfg.Hardware.Device = devices
		simulator.Map.Update(snap, []types.PropertyChange{{Name: "config", Val: cfg}})
	})
}

// changeTrackingChanged drops the tracking state of a VM whose CBT was turned off.
func (t *changeTracker) changeTrackingChanged(vmRef types.ManagedObjectReference) {
	vm, ok := simulator.Map.Get(vmRef).(*simulator.VirtualMachine)
	if !ok {
		return
	}
	if _, cbt, _ := disksOf(vm); !cbt {
		t.forget(vmRef.Value)
	}
}

func (t *changeTracker) snapshotRemoved(snap types.ManagedObjectReference) {
	t.mu.Lock()
	delete(t.snaps, snap.Value)
	t.mu.Unlock()
}

// queryChangedDiskAreas answers QueryChangedDiskAreas.
func (t *changeTracker) queryChangedDiskAreas(w http.ResponseWriter, req *types.QueryChangedDiskAreas) {
	res, f := t.query(req)
	if f != nil {
		writeMethodFault(w, f.msg, f.fault)
		return
	}
	writeResult(w, &types.QueryChangedDiskAreasResponse{Returnval: *res})
}

func (t *changeTracker) query(req *types.QueryChangedDiskAreas) (*types.DiskChangeInfo, *guestFault) {
	vm, ok := simulator.Map.Get(req.This).(*simulator.VirtualMachine)
	if !ok {
		return nil, &guestFault{fmt.Sprintf("The object '%s' has already been deleted or has not been completely created", req.This.Value),
			&types.ManagedObjectNotFound{Obj: req.This}}
	}
	disks, cbt, state := disksOf(vm)
	var disk *vmDisk
	for i := range disks {
		if disks[i].key == req.DeviceKey {
			disk = &disks[i]
		}
	}
	if disk == nil {
		return nil, &guestFault{"A specified parameter was not correct: deviceKey", &types.InvalidArgument{InvalidProperty: "deviceKey"}}
	}
	ctkFault := &guestFault{fmt.Sprintf("Error caused by file %s", disk.ctk), &types.FileFault{File: disk.ctk}}
	if !cbt {
		return nil, ctkFault
	}
	if req.StartOffset < 0 || req.StartOffset >= disk.capacity {
		return nil, &guestFault{"A specified parameter was not correct: startOffset", &types.InvalidArgument{InvalidProperty: "startOffset"}}
	}

	t.mu.Lock()
	tr := t.disks[req.This.Value][req.DeviceKey]
	var target, from *blockMap
	var snapKnown bool
	if req.Snapshot != nil {
		id, ok := t.snaps[req.Snapshot.Value][req.DeviceKey]
		snapKnown = ok && tr != nil
		if snapKnown {
			target = tr.maps[id]
		}
	}
	if req.ChangeId != "*" && tr != nil {
		from = tr.maps[req.ChangeId]
	}
	t.mu.Unlock()

	if req.Snapshot != nil {
		snap, ok := simulator.Map.Get(*req.Snapshot).(*simulator.VirtualMachineSnapshot)
		if !ok || snap.Vm != req.This {
			return nil, &guestFault{fmt.Sprintf("The object '%s' has already been deleted or has not been completely created", req.Snapshot.Value),
				&types.ManagedObjectNotFound{Obj: *req.Snapshot}}
		}
		if !snapKnown || target == nil {
			return nil, ctkFault
		}
	} else {
		if state != types.VirtualMachinePowerStatePoweredOff {
			return nil, &guestFault{fmt.Sprintf("The attempted operation cannot be performed in the current state (%s).", powerStateText(state)),
				&types.InvalidPowerState{RequestedState: types.VirtualMachinePowerStatePoweredOff, ExistingState: state}}
		}
	}
	if req.ChangeId != "*" && from == nil {
		return nil, ctkFault
	}

	end := req.StartOffset + cbtWindow
	if end > disk.capacity {
		end = disk.capacity
	}
	if target == nil { // the current disk: hash only the blocks of this answer
		m, err := readBlocks(disk.flat, disk.capacity, int(req.StartOffset/cbtBlock), int((end+cbtBlock-1)/cbtBlock))
		if err != nil {
			return nil, &guestFault{err.Error(), &types.FileFault{File: disk.ctk}}
		}
		target = m
	}
	info := &types.DiskChangeInfo{StartOffset: req.StartOffset, Length: end - req.StartOffset}
	for b := int(req.StartOffset / cbtBlock); int64(b)*cbtBlock < end; b++ {
		var changed bool
		if from == nil {
			changed = !target.zero[b]
		} else {
			changed = b >= len(from.hashes) || from.hashes[b] != target.hashes[b]
		}
		if !changed {
			continue
		}
		s, e := int64(b)*cbtBlock, int64(b+1)*cbtBlock
		if s < req.StartOffset {
			s = req.StartOffset
		}
		if e > end {
			e = end
		}
		if n := len(info.ChangedArea); n > 0 && info.ChangedArea[n-1].Start+info.ChangedArea[n-1].Length == s {
			info.ChangedArea[n-1].Length += e - s
		} else {
			info.ChangedArea = append(info.ChangedArea, types.DiskChangeExtent{Start: s, Length: e - s})
		}
	}
	return info, nil
}
