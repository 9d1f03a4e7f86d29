package main

// alarm_manager.go adds the AlarmManager and Alarm objects that vcsim 0.24.2 lacks (its
// ServiceContent names an AlarmManager but nothing answers there). HDM defines alarms on the
// root folder that fire on its own EventEx types ("<extensionKey>.migration.failed").
//
// Semantics follow vCenter:
//   - CreateAlarm(entity, spec) creates an Alarm ("alarm-N") whose info carries the spec plus
//     key, alarm, entity, lastModifiedTime/User. An empty name is InvalidName; a second alarm
//     of the same name on the same entity is DuplicateName; an unknown entity is
//     ManagedObjectNotFound.
//   - GetAlarm(entity) lists the alarms defined on entity (all alarms when entity is unset).
//   - Alarm.RemoveAlarm deletes it and clears what it triggered; Alarm.ReconfigureAlarm
//     replaces its spec (same name checks).
//   - Triggering (eventPosted, called by hdm_services.go after a successful PostEvent): an
//     enabled alarm whose expression is an EventAlarmExpression (or an Or of them) with
//     eventType = the event's type name (EventEx, ExtendedEvent, VmPoweredOnEvent, ...) and,
//     when set, eventTypeId = the event's eventTypeId, fires on the event's entity of the
//     expression's objectType (EventEx objectId/objectType first, then vm, host,
//     computeResource, datacenter, ds, net) if that entity is the alarm's entity or below it
//     (folder parents, and for a VM also its resource pool and host chains). The entity's
//     triggeredAlarmState gets an AlarmState {key "<alarm>.<entity>", entity, alarm,
//     overallStatus = the expression's status (red if unset), time, acknowledged false}, and
//     so does every ancestor's (vCenter propagates triggered alarms up the inventory); the
//     same alarm firing again updates status and time. The entity's overallStatus becomes the
//     worst of the states triggered on itself. Comparisons are not evaluated.
//   - AcknowledgeAlarm(alarm, entity) marks the state acknowledged (by the session's user);
//     GetAlarmState lists an entity's states. (SetAlarmStatus is newer than govmomi 0.24's
//     vim25 definitions, so the strict layer does not know it.)
// Every change goes through simulator.Map.Update, so WaitForUpdatesEx reports it.

import (
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// AlarmManager answers at the ServiceContent's alarmManager MoRef.
type AlarmManager struct {
	mo.AlarmManager

	mu     sync.Mutex
	alarms []*Alarm // in creation order
}

// Alarm is one alarm definition. The Go type name gives it "alarm-N" MoRefs.
type Alarm struct {
	mo.Alarm

	manager *AlarmManager
}

// currentAlarmManager is the lab's AlarmManager (nil before installAlarmManager).
func currentAlarmManager() *AlarmManager {
	si := simulator.Map.Get(vim25ServiceInstance()).(*simulator.ServiceInstance)
	if si.Content.AlarmManager == nil {
		return nil
	}
	m, _ := simulator.Map.Get(*si.Content.AlarmManager).(*AlarmManager)
	return m
}

func installAlarmManager() {
	si := simulator.Map.Get(vim25ServiceInstance()).(*simulator.ServiceInstance)
	ref := types.ManagedObjectReference{Type: "AlarmManager", Value: "AlarmManager"}
	if si.Content.AlarmManager != nil {
		ref = *si.Content.AlarmManager
	} else {
		si.Content.AlarmManager = &ref
	}
	m := &AlarmManager{}
	m.Self = ref
	m.Description = types.AlarmDescription{}
	simulator.Map.Put(m)
}

func managedObjectNotFound(ref types.ManagedObjectReference) *soap.Fault {
	return simulator.Fault(fmt.Sprintf("The object '%s' has already been deleted or has not been completely created", ref.Value),
		&types.ManagedObjectNotFound{Obj: ref})
}

// checkSpec validates a spec for entity; self is the alarm being reconfigured (nil on create).
func (m *AlarmManager) checkSpec(spec *types.AlarmSpec, entity types.ManagedObjectReference, self *Alarm) *soap.Fault {
	if spec.Name == "" {
		return simulator.Fault("The name '' is not valid", &types.InvalidName{Name: spec.Name, Entity: &entity})
	}
	for _, a := range m.alarms {
		if a != self && a.Info.Entity == entity && a.Info.Name == spec.Name {
			return simulator.Fault(fmt.Sprintf("An alarm named '%s' already exists", spec.Name),
				&types.DuplicateName{Name: spec.Name, Object: a.Self})
		}
	}
	if spec.Expression == nil {
		return simulator.Fault("A specified parameter was not correct: spec.expression",
			&types.InvalidArgument{InvalidProperty: "spec.expression"})
	}
	return nil
}

func (m *AlarmManager) CreateAlarm(ctx *simulator.Context, req *types.CreateAlarm) soap.HasFault {
	body := new(methods.CreateAlarmBody)
	if _, ok := simulator.Map.Get(req.Entity).(mo.Entity); !ok {
		body.Fault_ = managedObjectNotFound(req.Entity)
		return body
	}
	spec := *req.Spec.GetAlarmSpec()
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := m.checkSpec(&spec, req.Entity, nil); f != nil {
		body.Fault_ = f
		return body
	}
	a := &Alarm{manager: m}
	a.Info = types.AlarmInfo{AlarmSpec: spec, Entity: req.Entity, LastModifiedTime: time.Now(), LastModifiedUser: userOf(ctx)}
	simulator.Map.Put(a) // assigns alarm-N
	simulator.Map.Update(a, []types.PropertyChange{
		{Name: "info.key", Val: a.Self.Value},
		{Name: "info.alarm", Val: a.Self},
	})
	m.alarms = append(m.alarms, a)
	body.Res = &types.CreateAlarmResponse{Returnval: a.Self}
	return body
}

func userOf(ctx *simulator.Context) string {
	if ctx != nil && ctx.Session != nil {
		return ctx.Session.UserName
	}
	return ""
}

func (m *AlarmManager) GetAlarm(req *types.GetAlarm) soap.HasFault {
	body := new(methods.GetAlarmBody)
	m.mu.Lock()
	defer m.mu.Unlock()
	res := &types.GetAlarmResponse{}
	for _, a := range m.alarms {
		if req.Entity == nil || a.Info.Entity == *req.Entity {
			res.Returnval = append(res.Returnval, a.Self)
		}
	}
	body.Res = res
	return body
}

func (m *AlarmManager) GetAlarmState(req *types.GetAlarmState) soap.HasFault {
	body := new(methods.GetAlarmStateBody)
	e, ok := simulator.Map.Get(req.Entity).(mo.Entity)
	if !ok {
		body.Fault_ = managedObjectNotFound(req.Entity)
		return body
	}
	body.Res = &types.GetAlarmStateResponse{Returnval: append([]types.AlarmState(nil), e.Entity().TriggeredAlarmState...)}
	return body
}

func (m *AlarmManager) AcknowledgeAlarm(ctx *simulator.Context, req *types.AcknowledgeAlarm) soap.HasFault {
	body := new(methods.AcknowledgeAlarmBody)
	user := userOf(ctx)
	if f := m.changeState(req.Alarm, req.Entity, func(s *types.AlarmState) bool {
		now := time.Now()
		s.Acknowledged = types.NewBool(true)
		s.AcknowledgedByUser = user
		s.AcknowledgedTime = &now
		return true
	}); f != nil {
		body.Fault_ = f
		return body
	}
	body.Res = new(types.AcknowledgeAlarmResponse)
	return body
}

// changeState applies f to the state of alarm on entity; f returning false removes the state.
// Without a triggered state there is nothing to change: InvalidArgument (alarm/entity).
func (m *AlarmManager) changeState(alarm, entity types.ManagedObjectReference, f func(*types.AlarmState) bool) *soap.Fault {
	if _, ok := simulator.Map.Get(alarm).(*Alarm); !ok {
		return managedObjectNotFound(alarm)
	}
	obj, ok := simulator.Map.Get(entity).(mo.Entity)
	if !ok {
		return managedObjectNotFound(entity)
	}
	var state *types.AlarmState
	for _, s := range obj.Entity().TriggeredAlarmState {
		if s.Alarm == alarm && s.Entity == entity {
			s := s
			state = &s
		}
	}
	if state == nil {
		return simulator.Fault(fmt.Sprintf("A specified parameter was not correct: alarm %s has not triggered on %s", alarm.Value, entity.Value),
			&types.InvalidArgument{InvalidProperty: "alarm"})
	}
	keep := f(state)
	// The same state is listed on the entity and on every ancestor (propagated up the inventory).
	for _, scope := range alarmScopes(obj) {
		simulator.Map.WithLock(scope, func() {
			states := append([]types.AlarmState(nil), scope.Entity().TriggeredAlarmState...)
			for i := range states {
				if states[i].Alarm == alarm && states[i].Entity == entity {
					if keep {
						states[i] = *state
					} else {
						states = append(states[:i], states[i+1:]...)
					}
					setAlarmStates(scope, states)
					return
				}
			}
		})
	}
	return nil
}

// statusRank orders statuses from best to worst.
var statusRank = map[types.ManagedEntityStatus]int{
	types.ManagedEntityStatusGray: 0, types.ManagedEntityStatusGreen: 1,
	types.ManagedEntityStatusYellow: 2, types.ManagedEntityStatusRed: 3,
}

// setAlarmStates writes triggeredAlarmState and the overallStatus it implies: the worst of
// the states triggered on obj itself (states propagated from descendants do not count).
func setAlarmStates(obj mo.Entity, states []types.AlarmState) {
	overall := types.ManagedEntityStatusGreen
	self := obj.Entity().Self
	for _, s := range states {
		if s.Entity == self && statusRank[s.OverallStatus] > statusRank[overall] {
			overall = s.OverallStatus
		}
	}
	simulator.Map.Update(obj, []types.PropertyChange{
		{Name: "triggeredAlarmState", Val: states},
		{Name: "overallStatus", Val: overall},
	})
}

func (a *Alarm) RemoveAlarm(req *types.RemoveAlarm) soap.HasFault {
	m := a.manager
	m.mu.Lock()
	for i, x := range m.alarms {
		if x == a {
			m.alarms = append(m.alarms[:i], m.alarms[i+1:]...)
			break
		}
	}
	m.mu.Unlock()
	// Clear what it triggered, then forget the object.
	for _, kind := range []string{"Folder", "Datacenter", "ClusterComputeResource", "ComputeResource", "HostSystem",
		"ResourcePool", "VirtualMachine", "Datastore", "Network"} {
		for _, e := range simulator.Map.All(kind) {
			simulator.Map.WithLock(e, func() {
				states := e.Entity().TriggeredAlarmState
				var keep []types.AlarmState
				for _, s := range states {
					if s.Alarm != a.Self {
						keep = append(keep, s)
					}
				}
				if len(keep) != len(states) {
					setAlarmStates(e, keep)
				}
			})
		}
	}
	simulator.Map.Remove(a.Self)
	return &methods.RemoveAlarmBody{Res: new(types.RemoveAlarmResponse)}
}

func (a *Alarm) ReconfigureAlarm(ctx *simulator.Context, req *types.ReconfigureAlarm) soap.HasFault {
	body := new(methods.ReconfigureAlarmBody)
	spec := *req.Spec.GetAlarmSpec()
	m := a.manager
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := m.checkSpec(&spec, a.Info.Entity, a); f != nil {
		body.Fault_ = f
		return body
	}
	info := a.Info
	info.AlarmSpec = spec
	info.LastModifiedTime = time.Now()
	info.LastModifiedUser = userOf(ctx)
	simulator.Map.Update(a, []types.PropertyChange{{Name: "info", Val: info}})
	body.Res = new(types.ReconfigureAlarmResponse)
	return body
}

// eventExpressions returns the EventAlarmExpressions of an alarm expression (Or expressions
// are flattened; And and metric/state expressions never fire on events here).
func eventExpressions(e types.BaseAlarmExpression) []*types.EventAlarmExpression {
	switch x := e.(type) {
	case *types.EventAlarmExpression:
		return []*types.EventAlarmExpression{x}
	case *types.OrAlarmExpression:
		var out []*types.EventAlarmExpression
		for _, sub := range x.Expression {
			out = append(out, eventExpressions(sub)...)
		}
		return out
	}
	return nil
}

// eventTypeID is the eventTypeId of EventEx/ExtendedEvent, "" for other events.
func eventTypeID(ev types.BaseEvent) string {
	switch x := ev.(type) {
	case *types.EventEx:
		return x.EventTypeId
	case *types.ExtendedEvent:
		return x.EventTypeId
	}
	return ""
}

// eventEntities lists the entities an event is about, most specific first.
func eventEntities(ev types.BaseEvent) []types.ManagedObjectReference {
	var out []types.ManagedObjectReference
	if x, ok := ev.(*types.EventEx); ok && x.ObjectId != "" && x.ObjectType != "" {
		out = append(out, types.ManagedObjectReference{Type: x.ObjectType, Value: x.ObjectId})
	}
	if x, ok := ev.(*types.ExtendedEvent); ok {
		out = append(out, x.ManagedObject)
	}
	e := ev.GetEvent()
	if e.Vm != nil {
		out = append(out, e.Vm.Vm)
	}
	if e.Host != nil {
		out = append(out, e.Host.Host)
	}
	if e.ComputeResource != nil {
		out = append(out, e.ComputeResource.ComputeResource)
	}
	if e.Datacenter != nil {
		out = append(out, e.Datacenter.Datacenter)
	}
	if e.Ds != nil {
		out = append(out, e.Ds.Datastore)
	}
	if e.Net != nil {
		out = append(out, e.Net.Network)
	}
	return out
}

// alarmScopes lists entity and its ancestors: folder parents, and for a VM also its resource
// pool and host chains (an alarm on a cluster covers its VMs), each once.
func alarmScopes(entity mo.Entity) []mo.Entity {
	var out []mo.Entity
	seen := map[types.ManagedObjectReference]bool{}
	var walk func(ref *types.ManagedObjectReference)
	walk = func(ref *types.ManagedObjectReference) {
		for ref != nil && !seen[*ref] {
			seen[*ref] = true
			e, ok := simulator.Map.Get(*ref).(mo.Entity)
			if !ok {
				return
			}
			out = append(out, e)
			if vm, ok := e.(*simulator.VirtualMachine); ok {
				walk(vm.ResourcePool)
				walk(vm.Runtime.Host)
			}
			ref = e.Entity().Parent
		}
	}
	self := entity.Entity().Self
	walk(&self)
	return out
}

// covers reports whether an alarm defined on scope applies to entity (scope is among
// alarmScopes(entity)).
func covers(scope types.ManagedObjectReference, entity mo.Entity) bool {
	for _, e := range alarmScopes(entity) {
		if e.Entity().Self == scope {
			return true
		}
	}
	return false
}

// eventPosted fires the alarms that ev triggers (see the file comment).
func (m *AlarmManager) eventPosted(ev types.BaseEvent) {
	kind := reflect.TypeOf(ev).Elem().Name()
	id := eventTypeID(ev)
	entities := eventEntities(ev)
	now := time.Now()

	type hit struct {
		alarm  types.ManagedObjectReference
		entity mo.Entity
		status types.ManagedEntityStatus
	}
	var hits []hit
	m.mu.Lock()
	for _, a := range m.alarms {
		if !a.Info.Enabled {
			continue
		}
		for _, x := range eventExpressions(a.Info.Expression) {
			if x.EventType != kind || (x.EventTypeId != "" && x.EventTypeId != id) {
				continue
			}
			for _, ref := range entities {
				if x.ObjectType != "" && ref.Type != x.ObjectType {
					continue
				}
				e, ok := simulator.Map.Get(ref).(mo.Entity)
				if !ok || !covers(a.Info.Entity, e) {
					continue
				}
				status := x.Status
				if status == "" {
					status = types.ManagedEntityStatusRed
				}
				hits = append(hits, hit{a.Self, e, status})
				break
			}
		}
	}
	m.mu.Unlock()

	for _, h := range hits {
		self := h.entity.Entity().Self
		state := types.AlarmState{
			Key: h.alarm.Value + "." + self.Value, Entity: self, Alarm: h.alarm,
			OverallStatus: h.status, Time: now, Acknowledged: types.NewBool(false),
		}
		// The state shows on the entity and is propagated up the inventory to every ancestor,
		// as vCenter's triggeredAlarmState ("triggered by this entity or by its descendants").
		for _, scope := range alarmScopes(h.entity) {
			simulator.Map.WithLock(scope, func() {
				states := append([]types.AlarmState(nil), scope.Entity().TriggeredAlarmState...)
				found := false
				for i := range states {
					if states[i].Alarm == h.alarm && states[i].Entity == self {
						states[i].OverallStatus = h.status
						states[i].Time = now
						found = true
					}
				}
				if !found {
					states = append(states, state)
				}
				setAlarmStates(scope, states)
			})
		}
	}
}
