package main

// authorization.go implements AuthorizationManager.DisableMethods and EnableMethods, the
// internal vSphere API (namespace urn:internalvim25, as in govmomi's
// object/authorization_manager_internal.go) that solutions use to stop users from, e.g.,
// powering on a VM while it migrates. vcsim has neither.
//
// vCenter keeps the disabled methods per (entity, method, sourceId): a method stays disabled
// while any source disables it, and EnableMethods only lifts the caller's own sourceId. A
// disabled method called on the entity fails with MethodDisabled{source}. The entity's
// disabledMethod property lists them (vcsim models it; changes go through Map.Update so
// WaitForUpdatesEx reports them). Enforcement is in intercept.go, before vcsim sees the call,
// for every method on every entity (VirtualMachine cannot be wrapped, see PLATFORM.md).
// sessionScope is accepted and ignored (the disable lasts until EnableMethods).

import (
	"reflect"
	"sort"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/types"
)

// Request types of the internal methods, fields in govmomi's order (the strict layer checks
// requests against them; the Go names follow vim25's <Method>RequestType convention).
type DisabledMethodRequest struct {
	Method   string `xml:"method"`
	ReasonId string `xml:"reasonId"`
}

type DisableMethodsRequestType struct {
	This         types.ManagedObjectReference   `xml:"_this"`
	Entity       []types.ManagedObjectReference `xml:"entity"`
	Method       []DisabledMethodRequest        `xml:"method"`
	SourceId     string                         `xml:"sourceId"`
	SessionScope bool                           `xml:"sessionScope,omitempty"`
}

type EnableMethodsRequestType struct {
	This     types.ManagedObjectReference   `xml:"_this"`
	Entity   []types.ManagedObjectReference `xml:"entity"`
	Method   []string                       `xml:"method"`
	SourceId string                         `xml:"sourceId"`
}

// Responses: govmomi reads them as urn:vim25 <Method>Response without content.
type DisableMethodsResponse struct{}
type EnableMethodsResponse struct{}

var internalTypes = map[string]reflect.Type{
	"DisableMethods":            reflect.TypeOf(DisableMethodsRequestType{}),
	"DisableMethodsRequestType": reflect.TypeOf(DisableMethodsRequestType{}),
	"EnableMethods":             reflect.TypeOf(EnableMethodsRequestType{}),
	"EnableMethodsRequestType":  reflect.TypeOf(EnableMethodsRequestType{}),
	"DisabledMethodRequest":     reflect.TypeOf(DisabledMethodRequest{}),
}

// internalSchema checks requests in urn:internalvim25: only the two methods exist there.
func internalSchema() *schema {
	s := newSchema(nsIntVim, func(name string) (reflect.Type, bool) {
		if t, ok := internalTypes[name]; ok {
			return t, true
		}
		return types.TypeFunc()(name)
	})
	s.methods = map[string]bool{"DisableMethods": true, "EnableMethods": true}
	return s
}

// disabledMethods is the registry: entity → method → sourceId → reasonId.
type disabledMethods struct {
	mu   sync.Mutex
	m    map[types.ManagedObjectReference]map[string]map[string]string
	base map[types.ManagedObjectReference][]string // the entity's own disabledMethod before ours
}

func newDisabledMethods() *disabledMethods {
	return &disabledMethods{
		m:    map[types.ManagedObjectReference]map[string]map[string]string{},
		base: map[types.ManagedObjectReference][]string{},
	}
}

// disable records methods on entity for source and publishes disabledMethod.
func (d *disabledMethods) disable(e mo.Entity, methods []DisabledMethodRequest, source string) {
	ref := e.Entity().Self
	d.mu.Lock()
	if _, ok := d.base[ref]; !ok {
		d.base[ref] = append([]string(nil), e.Entity().DisabledMethod...)
	}
	if d.m[ref] == nil {
		d.m[ref] = map[string]map[string]string{}
	}
	for _, m := range methods {
		if d.m[ref][m.Method] == nil {
			d.m[ref][m.Method] = map[string]string{}
		}
		d.m[ref][m.Method][source] = m.ReasonId
	}
	list := d.listLocked(ref)
	d.mu.Unlock()
	publishDisabled(e, list)
}

// enable lifts source's disables of methods on entity.
func (d *disabledMethods) enable(e mo.Entity, methods []string, source string) {
	ref := e.Entity().Self
	d.mu.Lock()
	for _, m := range methods {
		if srcs := d.m[ref][m]; srcs != nil {
			delete(srcs, source)
			if len(srcs) == 0 {
				delete(d.m[ref], m)
			}
		}
	}
	if _, touched := d.base[ref]; !touched {
		d.mu.Unlock()
		return
	}
	list := d.listLocked(ref)
	d.mu.Unlock()
	publishDisabled(e, list)
}

// check returns the source that disables method on ref (the first by name if several).
func (d *disabledMethods) check(ref types.ManagedObjectReference, method string) (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	srcs := d.m[ref][method]
	if len(srcs) == 0 {
		return "", false
	}
	var names []string
	for s := range srcs {
		names = append(names, s)
	}
	sort.Strings(names)
	return names[0], true
}

func (d *disabledMethods) listLocked(ref types.ManagedObjectReference) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range d.base[ref] {
		if !seen[m] {
			seen[m] = true
			out = append(out, m)
		}
	}
	var ours []string
	for m := range d.m[ref] {
		if !seen[m] {
			seen[m] = true
			ours = append(ours, m)
		}
	}
	sort.Strings(ours)
	return append(out, ours...)
}

func publishDisabled(e mo.Entity, list []string) {
	simulator.Map.WithLock(e, func() {
		simulator.Map.Update(e, []types.PropertyChange{{Name: "disabledMethod", Val: list}})
	})
}

// entityOf returns the managed entity ref names, or a ManagedObjectNotFound fault.
func entityOf(ref types.ManagedObjectReference) (mo.Entity, *types.ManagedObjectNotFound) {
	if e, ok := simulator.Map.Get(ref).(mo.Entity); ok {
		return e, nil
	}
	return nil, &types.ManagedObjectNotFound{Obj: ref}
}
