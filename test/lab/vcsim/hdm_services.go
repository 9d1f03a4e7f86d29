package main

// hdm_services.go is the HTTP layer for alarms, storage policies and PBM, between the strict
// /sdk check (strict.go) and the harness's vCenter layer (intercept.go):
//
//   - POST /pbm (and /pbm/sdk): checked like /sdk against govmomi's pbm types (element order,
//     unknown elements, required fields, value kinds, xsi:type; InvalidRequest otherwise).
//     Except PbmRetrieveServiceContent, a call needs the vCenter session in the
//     vcSessionCookie SOAP header, as vCenter's PBM does (NotAuthenticated otherwise); the
//     header's session is handed to vcsim as its session cookie.
//   - PostEvent that succeeded: the alarms the event triggers fire (alarm_manager.go).
//   - ReconfigVM_Task: storage policies in the spec (deviceChange[].profile, vmProfile) must
//     name existing profiles (else InvalidArgument profile, nothing changes); when the
//     reconfiguration task succeeded they are recorded as PBM associations (pbm.go).

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"

	pbmtypes "github.com/vmware/govmomi/pbm/types"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const nsPbm = "urn:pbm"

var pbmPaths = map[string]bool{"/pbm": true, "/pbm/sdk": true}

type hdmServices struct {
	next     http.Handler
	sessions *sessions
	pbm      *schema
}

// newHdmServices returns next behind the alarm/PBM layer.
func newHdmServices(next http.Handler) http.Handler {
	return &hdmServices{next: next, sessions: newSessions(), pbm: pbmSchema()}
}

// pbmSchema checks urn:pbm requests against govmomi's pbm types (registered as "pbm:<Name>").
func pbmSchema() *schema {
	vim := types.TypeFunc()
	return newSchema(nsPbm, func(name string) (reflect.Type, bool) {
		if t, ok := vim("pbm:" + name); ok {
			return t, true
		}
		if name == "ManagedObjectReference" {
			return vim(name)
		}
		return nil, false
	})
}

func (h *hdmServices) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || (!pbmPaths[r.URL.Path] && !strictPaths[r.URL.Path]) {
		h.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	_ = r.Body.Close()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if pbmPaths[r.URL.Path] {
		h.servePBM(w, r, body)
		return
	}
	c, ok := parseCall(body)
	if !ok || c.ns != nsVim25 {
		h.next.ServeHTTP(w, r)
		return
	}
	switch c.name {
	case "PostEvent":
		rec := record(h.next, r)
		if rec.Code == http.StatusOK {
			if m, err := simulator.UnmarshalBody(types.TypeFunc(), body); err == nil {
				if req, ok := m.Body.(*types.PostEvent); ok {
					if am := currentAlarmManager(); am != nil {
						am.eventPosted(req.EventToPost)
					}
				}
			}
		}
		copyRecorded(w, rec)
	case "ReconfigVM_Task":
		h.reconfigure(w, r, c, body)
	default:
		h.next.ServeHTTP(w, r)
	}
}

func record(next http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	return rec
}

func (h *hdmServices) servePBM(w http.ResponseWriter, r *http.Request, body []byte) {
	if len(body) > maxBody {
		writeFault(w, &requestError{msg: "Request body too large"})
		return
	}
	method, err := h.pbm.validateEnvelope(body)
	if err != nil {
		writeFault(w, err)
		return
	}
	if method != "PbmRetrieveServiceContent" {
		m, err := simulator.UnmarshalBody(func(name string) (reflect.Type, bool) {
			return types.TypeFunc()("pbm:" + name)
		}, body)
		if err != nil {
			writeFault(w, &requestError{msg: err.Error()})
			return
		}
		if _, ok := h.sessions.active(m.Header.Cookie); !ok {
			writeMethodFault(w, "The session is not authenticated.", &types.NotAuthenticated{
				NoPermission: types.NoPermission{Object: m.This, PrivilegeId: "StorageProfile.View"},
			})
			return
		}
		r.Header.Del("Cookie")
		r.AddCookie(&http.Cookie{Name: soap.SessionCookieName, Value: m.Header.Cookie})
	}
	h.next.ServeHTTP(w, r)
}

// profileChange is one storage policy assignment in a ReconfigVM_Task spec.
type profileChange struct {
	entity    pbmtypes.PbmServerObjectRef
	profileID string // "" = remove
}

// profileChanges extracts the policy assignments of spec on vm.
func profileChanges(vm string, spec *types.VirtualMachineConfigSpec) ([]profileChange, string) {
	var out []profileChange
	add := func(entity pbmtypes.PbmServerObjectRef, specs []types.BaseVirtualMachineProfileSpec) string {
		for _, p := range specs {
			switch x := p.(type) {
			case *types.VirtualMachineDefinedProfileSpec:
				out = append(out, profileChange{entity, x.ProfileId})
			case *types.VirtualMachineEmptyProfileSpec:
				out = append(out, profileChange{entity, ""})
			default:
				return fmt.Sprintf("%T", p)
			}
		}
		return ""
	}
	if bad := add(pbmtypes.PbmServerObjectRef{ObjectType: string(pbmtypes.PbmObjectTypeVirtualMachine), Key: vm}, spec.VmProfile); bad != "" {
		return nil, bad
	}
	for _, dc := range spec.DeviceChange {
		d := dc.GetVirtualDeviceConfigSpec()
		if len(d.Profile) == 0 || d.Device == nil {
			continue
		}
		if _, ok := d.Device.(*types.VirtualDisk); !ok {
			continue
		}
		key := fmt.Sprintf("%s:%d", vm, d.Device.GetVirtualDevice().Key)
		entity := pbmtypes.PbmServerObjectRef{ObjectType: string(pbmtypes.PbmObjectTypeVirtualDiskId), Key: key}
		if d.Operation == types.VirtualDeviceConfigSpecOperationRemove {
			out = append(out, profileChange{entity, ""})
			continue
		}
		if bad := add(entity, d.Profile); bad != "" {
			return nil, bad
		}
	}
	return out, ""
}

func (h *hdmServices) reconfigure(w http.ResponseWriter, r *http.Request, c call, body []byte) {
	st := labPbm()
	var req *types.ReconfigVM_Task
	if m, err := simulator.UnmarshalBody(types.TypeFunc(), body); err == nil {
		req, _ = m.Body.(*types.ReconfigVM_Task)
	}
	if req == nil || st == nil {
		h.next.ServeHTTP(w, r)
		return
	}
	changes, bad := profileChanges(c.this.Value, &req.Spec)
	if bad != "" {
		writeMethodFault(w, "A specified parameter was not correct: profile ("+strings.TrimPrefix(bad, "*types.")+" is not supported by the lab)",
			&types.InvalidArgument{InvalidProperty: "profile"})
		return
	}
	for _, ch := range changes {
		if ch.profileID != "" && !st.profileExists(ch.profileID) {
			writeMethodFault(w, fmt.Sprintf("A specified parameter was not correct: profile (storage policy %s not found)", ch.profileID),
				&types.InvalidArgument{InvalidProperty: "profile"})
			return
		}
	}
	rec := record(h.next, r)
	if rec.Code == http.StatusOK && len(changes) > 0 {
		ref := types.ManagedObjectReference{Type: "Task", Value: returnval(rec.Body.Bytes())}
		if task, ok := simulator.Map.Get(ref).(*simulator.Task); ok && task.Info.State == types.TaskInfoStateSuccess {
			for _, ch := range changes {
				_ = st.assign(ch.entity, ch.profileID)
			}
		}
	}
	copyRecorded(w, rec)
}
