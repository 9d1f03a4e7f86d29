package main

// guest_cbt_intercept.go routes the calls of guest operations (guest_operations.go) and
// changed-block tracking (changed_block_tracking.go) out of the harness's /sdk handler
// (intercept.go) and watches the VM calls whose effects they follow (power, snapshots,
// reconfigure). vcsim cannot be extended for VirtualMachine methods (it casts to its own
// type), so they are intercepted here before or after vcsim answers.

import (
	"net/http"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

// labExtras is the state of guest operations and CBT of one lab.
type labExtras struct {
	guests *guestOps
	cbt    *changeTracker
}

func newLabExtras(dataDir string, closing <-chan struct{}) (*labExtras, error) {
	g, err := newGuestOps(dataDir, closing)
	if err != nil {
		return nil, err
	}
	return &labExtras{guests: g, cbt: newChangeTracker()}, nil
}

// authedBody decodes the request of an authenticated call; otherwise it answers the fault
// itself (NotAuthenticated, or InvalidRequest for a body it cannot decode) and returns nil.
func authedBody(w http.ResponseWriter, c call, body []byte, authed bool) *simulator.Method {
	if !authed {
		notAuthenticated(w, c.this)
		return nil
	}
	m, err := simulator.UnmarshalBody(types.TypeFunc(), body)
	if err != nil {
		writeMethodFault(w, err.Error(), &types.InvalidRequest{})
		return nil
	}
	return m
}

var guestManagerTypes = map[string]bool{"GuestProcessManager": true, "GuestFileManager": true}

// serveExtras answers c if it belongs to guest operations or CBT and returns true; it may
// also pass c on to vcsim itself to watch the outcome. authed: the request has a session.
func (v *vcenter) serveExtras(w http.ResponseWriter, r *http.Request, c call, body []byte, authed bool) bool {
	x := v.extras
	if x == nil {
		return false
	}
	switch {
	case guestManagerTypes[c.this.Type]:
		if m := authedBody(w, c, body, authed); m != nil {
			x.guests.serveGuestCall(w, r.Host, m.Body)
		}
		return true
	case c.this.Type != "VirtualMachine" && c.this.Type != "VirtualMachineSnapshot":
		return false
	}
	switch c.name {
	case "QueryChangedDiskAreas":
		if m := authedBody(w, c, body, authed); m != nil {
			x.cbt.queryChangedDiskAreas(w, m.Body.(*types.QueryChangedDiskAreas))
		}
		return true
	case "CreateSnapshot_Task":
		if !authed {
			return false
		}
		maps, err := x.cbt.beforeSnapshot(c.this)
		if err != nil {
			writeMethodFault(w, err.Error(), &types.FileFault{})
			return true
		}
		rec := v.record(r)
		if maps != nil {
			if task, ok := taskOf(rec.Body.Bytes()); ok && task.Info.State == types.TaskInfoStateSuccess {
				if snap, ok := task.Info.Result.(types.ManagedObjectReference); ok {
					x.cbt.afterSnapshot(c.this, snap, maps)
				}
			}
		}
		copyRecorded(w, rec)
		return true
	case "RemoveSnapshot_Task", "ReconfigVM_Task":
		rec := v.record(r)
		if task, ok := taskOf(rec.Body.Bytes()); ok && task.Info.State == types.TaskInfoStateSuccess {
			if c.name == "RemoveSnapshot_Task" {
				x.cbt.snapshotRemoved(c.this)
			} else {
				x.cbt.changeTrackingChanged(c.this)
			}
		}
		copyRecorded(w, rec)
		return true
	case "PowerOnVM_Task", "PowerOffVM_Task", "ResetVM_Task", "SuspendVM_Task", "ShutdownGuest", "RebootGuest", "StandbyGuest":
		// powerChanged reads the resulting power state, whatever the call's outcome.
		rec := v.record(r)
		if rec.Code == http.StatusOK {
			x.guests.powerChanged(c.this)
		}
		copyRecorded(w, rec)
		return true
	}
	return false
}

// taskOf returns the (completed: vcsim runs tasks inline) task an answer names.
func taskOf(body []byte) (*simulator.Task, bool) {
	id := returnval(body)
	if id == "" {
		return nil, false
	}
	t, ok := simulator.Map.Get(types.ManagedObjectReference{Type: "Task", Value: id}).(*simulator.Task)
	return t, ok
}
